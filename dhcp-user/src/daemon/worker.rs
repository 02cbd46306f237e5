//! What a worker does with one datagram, whatever datapath brought it:
//! decode, engine, counters, event logging. The datapath only moves bytes.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use crossbeam_utils::CachePadded;
use dhcp_wire::{Message, MessageType};

use super::counters::Counters;
use super::log;
use crate::engine::{LeaseChange, RecvMeta, Reply, Shard};
use crate::events::Event;
use crate::state::Shared;

/// Milliseconds since the Unix epoch: the engine's clock. Wall-clock time,
/// because lease expiry times are kept across restarts.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// A worker's engine shard and its bookkeeping.
pub struct Worker {
    shard: Shard,
    counters: Arc<[CachePadded<Counters>]>,
    index: usize,
    events: Vec<Event>,
    changes: Vec<LeaseChange>,
}

impl Worker {
    pub fn new(shard: Shard, counters: Arc<[CachePadded<Counters>]>) -> Worker {
        let index = shard.id();
        Worker {
            shard,
            counters,
            index,
            events: Vec::new(),
            changes: Vec::new(),
        }
    }

    pub fn counters(&self) -> &Counters {
        &self.counters[self.index]
    }

    pub fn index(&self) -> usize {
        self.index
    }

    /// Handles one datagram; the reply, if any, is written into `out`.
    pub fn handle(
        &mut self,
        payload: &[u8],
        meta: &RecvMeta,
        now: u64,
        out: &mut [u8],
    ) -> Option<Reply> {
        let c = &self.counters[self.index];
        Counters::add(&c.received, 1);
        let Ok(msg) = Message::parse(payload) else {
            Counters::add(&c.malformed, 1);
            return None;
        };
        match msg.message_type() {
            Some(MessageType::Discover) => Counters::add(&c.discovers, 1),
            Some(MessageType::Request) => Counters::add(&c.requests, 1),
            Some(MessageType::Decline) => Counters::add(&c.declines, 1),
            Some(MessageType::Release) => Counters::add(&c.releases, 1),
            Some(MessageType::Inform) => Counters::add(&c.informs, 1),
            _ => {}
        }
        let outcome = self.shard.handle(&msg, meta, now, out, &mut self.events);
        for e in self.events.drain(..) {
            log::event(&e);
        }
        // DECLINE and RELEASE are never answered: their silence is no drop.
        let notice = matches!(
            msg.message_type(),
            Some(MessageType::Decline | MessageType::Release)
        );
        if let Some(why) = outcome.silence.filter(|_| !notice) {
            Counters::add(&c.dropped, 1);
            tracing::debug!(reason = ?why, xid = msg.xid(), "no reply");
        }
        if let Some(change) = &outcome.change {
            tracing::debug!(?change, "lease change");
        }
        let reply = outcome.reply?;
        match reply.kind {
            MessageType::Offer => Counters::add(&c.offers, 1),
            MessageType::Ack => Counters::add(&c.acks, 1),
            MessageType::Nak => Counters::add(&c.naks, 1),
            _ => {}
        }
        Some(reply)
    }

    /// The source address of replies sent on a link: the server identifier
    /// the engine put in option 54.
    pub fn server_ip(&self, meta: &RecvMeta) -> std::net::Ipv4Addr {
        self.shard
            .shared()
            .config
            .server
            .server_id
            .unwrap_or(meta.iface_addr)
    }

    /// Applies due timers; returns when the next one is due.
    pub fn tick(&mut self, now: u64) -> Option<u64> {
        self.shard.poll_timers(now, &mut self.changes);
        for change in self.changes.drain(..) {
            tracing::debug!(?change, "lease expired");
        }
        self.shard.next_deadline()
    }

    /// Moves the shard onto a reloaded configuration.
    pub fn rebase(&mut self, shared: Arc<Shared>) {
        self.shard.rebase(shared, &mut self.changes);
        for change in self.changes.drain(..) {
            tracing::info!(?change, "lease ended by the new configuration");
        }
    }
}
