//! The sans-I/O DHCPv4 engine (RFC 2131).
//!
//! A [`Shard`] is handed one decoded message, its receive metadata and the
//! time, and answers with the reply bytes (written into the caller's buffer),
//! where to send them, the durable lease change and the events to log. It
//! owns the lease records of the clients steered to it and shares only the
//! lock-free address pools. It never opens a socket, reads a clock or spawns
//! a thread: the datapaths do that, and tests drive it with packet fixtures.

mod binding;
mod bootp;
mod carry;
mod classify;
mod conflict;
mod discover;
mod inform;
mod key;
mod notice;
mod reply;
mod request;
mod select;
mod timers;

use std::net::{Ipv4Addr, SocketAddrV4};
use std::sync::Arc;

use dhcp_wire::{BOOTREQUEST, Message, MessageType, code};

use crate::config::{Config, Scope};
use crate::events::Event;
use crate::state::Shared;
use crate::state::pool::Tag;
use crate::state::table::{Binding, LeaseTable};

pub use key::{ClientKey, steering_key, stored_steering_key};
pub use reply::Destination;

/// Where and when a message arrived.
#[derive(Debug, Clone, Copy)]
pub struct RecvMeta {
    /// Index of the receiving interface.
    pub ifindex: u32,
    /// An address of the receiving interface: selects the scope of direct
    /// (unrelayed) clients and is the default server identifier.
    pub iface_addr: Ipv4Addr,
    /// The datagram's source.
    pub src: SocketAddrV4,
    /// The datagram's destination address (broadcast or one of ours).
    pub dst: Ipv4Addr,
    /// Arrival time, milliseconds on the same clock as `now`.
    pub arrival_ms: u64,
}

/// A reply written into the caller's buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reply {
    /// `None` for a BOOTP reply.
    pub kind: Option<MessageType>,
    /// Bytes of the buffer the reply occupies.
    pub len: usize,
    pub dest: Destination,
    /// Milliseconds to hold the reply back (a delayed-offer scope).
    pub delay_ms: u32,
    /// Conflict detection: ping this address (the OFFER's, newly chosen
    /// for the client) before the OFFER leaves; see [`Shard::conflict`].
    pub probe: Option<Ipv4Addr>,
}

/// A change to durable lease state: must be stored before the reply leaves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LeaseChange {
    /// A lease was granted or extended. `renewal`: the client already held
    /// this address bound (else it is a new lease). `replaced` is an older
    /// address of the same client that was given back at the same time.
    Bound {
        client: Arc<[u8]>,
        addr: Ipv4Addr,
        expires_ms: u64,
        renewal: bool,
        replaced: Option<Ipv4Addr>,
    },
    Released {
        client: Arc<[u8]>,
        addr: Ipv4Addr,
    },
    Declined {
        client: Arc<[u8]>,
        addr: Ipv4Addr,
        until_ms: u64,
    },
    Expired {
        client: Arc<[u8]>,
        addr: Ipv4Addr,
    },
}

/// An address a client holds, as [`Shard::holdings`] lists it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Holding<'a> {
    /// The client key (see [`ClientKey`]).
    pub client: &'a [u8],
    pub addr: Ipv4Addr,
    /// When the lease or offer ends (ms; `u64::MAX` for infinite leases).
    pub expires_ms: u64,
    /// A bound lease, or a pending offer.
    pub bound: bool,
}

/// Why the engine stayed silent; the datapath counts each reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Silence {
    /// `op` is not BOOTREQUEST.
    NotRequest,
    /// A message type a server does not answer (OFFER, ACK, ...), or not a
    /// valid one.
    NotForServer,
    /// A BOOTP request where no scope serves BOOTP, or, without dynamic
    /// BOOTP ranges, from a client without a reservation.
    BootpNotServed,
    /// No hardware address and no client identifier.
    NoClientIdentity,
    /// A required field or option is missing or malformed.
    Malformed,
    /// The MAC filter does not allow this client.
    Filtered,
    /// No scope serves the client's network.
    NoScope,
    /// The scope is deactivated: no answer at all, not even a NAK.
    ScopeInactive,
    /// No free address for a DISCOVER.
    PoolExhausted,
    /// The client's REQUEST selected another server.
    OtherServerSelected,
    /// The server has no record of the client and is not authoritative.
    NotAuthoritative,
    /// A DECLINE or RELEASE for an address the client does not hold.
    NotHeld,
    /// DECLINE and RELEASE are never answered.
    NoReplyDefined,
    /// A DISCOVER retransmitted while the address offered to the client is
    /// still being pinged: the OFFER leaves when the ping is over.
    Probing,
}

/// Everything the engine decided about one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub reply: Option<Reply>,
    pub change: Option<LeaseChange>,
    pub silence: Option<Silence>,
}

impl Outcome {
    fn silent(why: Silence) -> Outcome {
        Outcome {
            reply: None,
            change: None,
            silence: Some(why),
        }
    }

    fn reply(reply: Reply, change: Option<LeaseChange>) -> Outcome {
        Outcome {
            reply: Some(reply),
            change,
            silence: None,
        }
    }

    fn noted(change: LeaseChange) -> Outcome {
        Outcome {
            reply: None,
            change: Some(change),
            silence: Some(Silence::NoReplyDefined),
        }
    }
}

/// The largest reply the engine writes: an Ethernet MTU minus IPv4 and UDP
/// headers. Callers provide at least this much buffer.
pub const MAX_REPLY_LEN: usize = 1500 - 20 - 8;

/// Lease-table records a shard sizes for up front (its share of the pools,
/// at most this many): enough to absorb the first burst of a storm without
/// rehashing, small enough not to matter for memory (about 10 MB).
const PRESIZED_CLIENTS: usize = 1 << 16;

/// One worker's engine.
#[derive(Debug)]
pub struct Shard {
    shared: Arc<Shared>,
    local: Local,
}

/// The part of a shard no other worker ever touches.
#[derive(Debug)]
struct Local {
    id: usize,
    table: LeaseTable,
    /// Per scope, per partition: where this shard's next free-address
    /// search starts.
    cursors: Vec<Box<[u32]>>,
    /// Event 1000 rate limit: per option code, when it was last reported
    /// and how many reports were suppressed since.
    unknown_option_last: Box<[Option<u64>; 256]>,
    unknown_option_suppressed: Box<[u32; 256]>,
}

impl Shard {
    /// Shard `id` of `shared.shards()`.
    pub fn new(shared: Arc<Shared>, id: usize) -> Shard {
        let addresses: usize = shared
            .config
            .scopes
            .iter()
            .map(|s| shared.pool(s.id).capacity() as usize)
            .sum();
        let local = Local {
            id,
            table: LeaseTable::with_capacity((addresses / shared.shards()).min(PRESIZED_CLIENTS)),
            cursors: cursors(&shared.config),
            unknown_option_last: Box::new([None; 256]),
            unknown_option_suppressed: Box::new([0; 256]),
        };
        Shard { shared, local }
    }

    pub fn id(&self) -> usize {
        self.local.id
    }

    pub fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }

    /// Clients this shard has a record of.
    pub fn clients(&self) -> usize {
        self.local.table.len()
    }

    /// Every address this shard's clients hold: bound leases and pending
    /// offers (what an operator's lease listing shows).
    pub fn holdings(&self) -> impl Iterator<Item = Holding<'_>> {
        self.local.table.records().flat_map(|r| {
            let bound = r
                .binding
                .as_ref()
                .and_then(Binding::bound)
                .map(|h| Holding {
                    client: &r.key,
                    addr: h.addr,
                    expires_ms: h.expires,
                    bound: true,
                });
            let offered = r.offer.map(|h| Holding {
                client: &r.key,
                addr: h.addr,
                expires_ms: h.expires,
                bound: false,
            });
            bound.into_iter().chain(offered)
        })
    }

    /// Answers one message. The reply, if any, is written to `out` (at
    /// least [`MAX_REPLY_LEN`] bytes); events are appended to `events`.
    pub fn handle(
        &mut self,
        msg: &Message<'_>,
        meta: &RecvMeta,
        now: u64,
        out: &mut [u8],
        events: &mut Vec<Event>,
    ) -> Outcome {
        if msg.op() != BOOTREQUEST {
            return Outcome::silent(Silence::NotRequest);
        }
        let kind = msg.message_type();
        if kind.is_none() && msg.option(code::MESSAGE_TYPE).is_some() {
            return Outcome::silent(Silence::NotForServer);
        }
        let Some(key) = ClientKey::of(msg) else {
            return Outcome::silent(Silence::NoClientIdentity);
        };
        if !self.shared.config.server.mac_filter.permits(msg.chaddr()) {
            return Outcome::silent(Silence::Filtered);
        }
        let shared = &*self.shared;
        let local = &mut self.local;
        local.note_unknown_options(shared, msg, now, events);
        let hash = shared.hash_key(key.as_bytes());
        let cx = Ctx {
            shared,
            msg,
            meta,
            now,
            key: &key,
            hash,
            tag: Tag::from_hash(hash),
        };
        match kind {
            // No message type at all: a BOOTP client.
            None => local.bootp(&cx, out, events),
            Some(MessageType::Discover) => local.discover(&cx, out, events),
            Some(MessageType::Request) => local.request(&cx, out, events),
            Some(MessageType::Decline) => local.decline(&cx, events),
            Some(MessageType::Release) => local.release(&cx, events),
            Some(MessageType::Inform) => local.inform(&cx, out),
            Some(_) => Outcome::silent(Silence::NotForServer),
        }
    }
}

/// Fresh search cursors for every partition of every scope.
fn cursors(config: &Config) -> Vec<Box<[u32]>> {
    config
        .scopes
        .iter()
        .map(|s| vec![0; s.partitions.len()].into())
        .collect()
}

impl Local {
    /// Event 1000 for option codes the server has no definition of, at most
    /// once per code per configured interval (per shard).
    fn note_unknown_options(
        &mut self,
        shared: &Shared,
        msg: &Message<'_>,
        now: u64,
        events: &mut Vec<Event>,
    ) {
        let config = &shared.config;
        for (code, value) in msg.options() {
            if config.is_known_option(code) {
                continue;
            }
            let c = code as usize;
            let interval = config.server.unknown_option_event_interval_ms;
            match self.unknown_option_last[c] {
                Some(last) if now.saturating_sub(last) < interval => {
                    self.unknown_option_suppressed[c] += 1;
                }
                _ => {
                    events.push(Event::UnknownOption {
                        code,
                        len: value.len(),
                        data: value.into(),
                        suppressed: self.unknown_option_suppressed[c],
                    });
                    self.unknown_option_last[c] = Some(now);
                    self.unknown_option_suppressed[c] = 0;
                }
            }
        }
    }
}

/// The message being handled and what is known about it.
struct Ctx<'m, 'a> {
    shared: &'m Shared,
    msg: &'m Message<'a>,
    meta: &'m RecvMeta,
    now: u64,
    key: &'m ClientKey,
    /// The key's hash (lease table index).
    hash: u64,
    /// The client's tag in pool slots.
    tag: Tag,
}

impl<'m> Ctx<'m, '_> {
    fn config(&self) -> &Config {
        &self.shared.config
    }

    /// Option 54 of our replies: the configured identifier, else the
    /// address of the interface the request arrived on.
    fn server_id(&self) -> Ipv4Addr {
        self.config()
            .server
            .server_id
            .unwrap_or(self.meta.iface_addr)
    }

    /// The scope serving the client's network (see `select`; ciaddr counts
    /// for a renewing client), if there is one and it is active.
    fn network(&self, use_ciaddr: bool) -> Result<&'m Scope, Silence> {
        let net = select::scope(
            &self.shared.config,
            self.msg,
            self.meta.iface_addr,
            use_ciaddr,
        )
        .ok_or(Silence::NoScope)?;
        if net.active {
            Ok(net)
        } else {
            Err(Silence::ScopeInactive)
        }
    }

    /// Whether a server identifier a client sent names this server.
    fn is_ours(&self, id: Ipv4Addr) -> bool {
        self.config().server.server_id == Some(id)
            || id == self.meta.iface_addr
            || id == self.meta.dst
    }
}

impl Shard {
    /// Withdraws the offer just made to the sender of `msg` (its reply will
    /// not be sent), so the address is free again at once.
    pub fn cancel_offer(&mut self, msg: &Message<'_>) {
        let Some(key) = ClientKey::of(msg) else {
            return;
        };
        let hash = self.shared.hash_key(key.as_bytes());
        if let Some(rec) = self.local.table.find(key.as_bytes(), hash) {
            self.local.withdraw_offer(&self.shared, rec);
        }
    }
}
