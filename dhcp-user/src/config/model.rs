//! The validated configuration snapshot the engine reads.
//!
//! Built once by [`super::compile`] and never mutated: a reload builds a new
//! snapshot and swaps it in. Everything the hot path needs is precomputed
//! here (option bytes merged by precedence, subnet lookup table, reservation
//! index), so answering a message never parses or merges configuration.

use std::net::Ipv4Addr;
use std::sync::Arc;

use ahash::AHashMap;
use ipnet::Ipv4Net;

use super::policy::{BootFields, Policy, PolicyId};

/// Index of a scope in [`Config::scopes`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ScopeId(pub u32);

impl ScopeId {
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// Server-wide settings.
#[derive(Debug, Clone)]
pub struct ServerParams {
    /// Interfaces to serve; empty means every up, non-loopback IPv4 one.
    pub interfaces: Vec<String>,
    pub server_id: Option<Ipv4Addr>,
    pub offer_timeout_ms: u64,
    pub delayed_offer_limit: usize,
    pub request_drop_timeout_ms: u64,
    pub decline_quarantine_ms: u64,
    /// Pings sent to a newly chosen address before it is offered; 0: off.
    pub conflict_detection_attempts: u8,
    /// How long each ping waits for its reply.
    pub conflict_detection_timeout_ms: u64,
    pub low_address_warning_percent: u8,
    pub unknown_option_event_interval_ms: u64,
    pub state_dir: std::path::PathBuf,
    pub durability: crate::store::Durability,
    pub backup_dir: Option<std::path::PathBuf>,
    pub backup_interval_ms: u64,
    pub cleanup_interval_ms: u64,
    /// `None` when audit logging is off.
    pub audit: Option<crate::audit::AuditSettings>,
    pub mac_filter: super::filter::MacFilter,
}

/// An inclusive address range, as host-order integers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AddrRange {
    pub first: u32,
    pub last: u32,
}

impl AddrRange {
    pub fn contains(&self, addr: u32) -> bool {
        (self.first..=self.last).contains(&addr)
    }

    /// Number of addresses; never zero (`first <= last` is validated).
    pub fn size(&self) -> u32 {
        self.last - self.first + 1
    }

    pub fn overlaps(&self, other: &AddrRange) -> bool {
        self.first <= other.last && other.first <= self.last
    }
}

/// Option values in wire form, sorted by code; later layers already merged
/// over earlier ones (server < scope < reservation).
#[derive(Debug, Clone, Default)]
pub struct OptionSet {
    entries: Vec<(u8, Box<[u8]>)>,
}

impl OptionSet {
    /// Sets `code`, replacing a value from a lower-precedence layer.
    pub fn set(&mut self, code: u8, value: Box<[u8]>) {
        match self.entries.binary_search_by_key(&code, |(c, _)| *c) {
            Ok(i) => self.entries[i].1 = value,
            Err(i) => self.entries.insert(i, (code, value)),
        }
    }

    pub fn get(&self, code: u8) -> Option<&[u8]> {
        self.entries
            .binary_search_by_key(&code, |(c, _)| *c)
            .ok()
            .map(|i| &*self.entries[i].1)
    }

    pub fn iter(&self) -> impl Iterator<Item = (u8, &[u8])> {
        self.entries.iter().map(|(c, v)| (*c, &**v))
    }

    /// This set with `over`'s values taking precedence.
    pub fn overlaid(&self, over: &OptionSet) -> OptionSet {
        let mut merged = self.clone();
        for (code, value) in over.iter() {
            merged.set(code, value.into());
        }
        merged
    }
}

/// A fixed address for one client.
#[derive(Debug, Clone)]
pub struct Reservation {
    pub name: Arc<str>,
    pub ip: Ipv4Addr,
    pub mac: Option<Box<[u8]>>,
    pub client_id: Option<Box<[u8]>>,
    /// Scope options overlaid with the reservation's own.
    pub options: OptionSet,
    /// The reservation's own options only (they outrank policies').
    pub own_options: OptionSet,
}

/// Who may take the addresses of a [`Partition`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PartitionKind {
    /// The scope's addresses outside every policy and BOOTP range: clients
    /// that match no policy with ranges.
    Residual,
    /// The ranges of one scope policy: its clients only.
    Policy(PolicyId),
    /// Dynamic BOOTP addresses: BOOTP clients only.
    Bootp,
}

/// A part of a scope's dynamic addresses, with ranges of its own.
#[derive(Debug, Clone)]
pub struct Partition {
    pub kind: PartitionKind,
    /// Sorted, non-overlapping; may be empty (a residual with nothing left
    /// over).
    pub ranges: Vec<AddrRange>,
}

/// Index of a partition in [`Scope::partitions`].
pub type PartitionIndex = usize;

/// The residual partition is always first.
pub const RESIDUAL: PartitionIndex = 0;

/// BOOTP service of a scope.
#[derive(Debug, Clone)]
pub struct Bootp {
    /// Lease time of BOOTP clients ([`INFINITE_LEASE`](super::INFINITE_LEASE)
    /// by default).
    pub lease_secs: u32,
}

/// One subnet and how its addresses are handed out.
#[derive(Debug, Clone)]
pub struct Scope {
    pub id: ScopeId,
    pub name: Arc<str>,
    pub subnet: Ipv4Net,
    /// Dynamic ranges, sorted, non-overlapping.
    pub ranges: Vec<AddrRange>,
    pub exclusions: Vec<AddrRange>,
    pub active: bool,
    pub authoritative: bool,
    pub lease_secs: u32,
    /// OFFERs of this scope leave this many ms after the DISCOVER.
    pub offer_delay_ms: u32,
    pub renewal_secs: u32,
    pub rebinding_secs: u32,
    /// Server options overlaid with the scope's.
    pub options: OptionSet,
    /// The scope's own options only (server-level policies rank between
    /// them and the server's).
    pub own_options: OptionSet,
    /// siaddr, file and sname of this scope's replies.
    pub boot: BootFields,
    /// `None`: BOOTP requests are not answered here.
    pub bootp: Option<Bootp>,
    /// The dynamic ranges cut by who may use them; [`RESIDUAL`] first. A
    /// scope without policy or BOOTP ranges has only the residual, which is
    /// then all of `ranges`.
    pub partitions: Vec<Partition>,
    /// The enabled policies that apply here, in processing order: the
    /// scope's own, then the server's.
    pub policies: Vec<PolicyId>,
    pub reservations: Vec<Reservation>,
    /// The scopes that share this scope's physical network: itself first,
    /// then its superscope siblings in configuration order.
    pub network: Vec<ScopeId>,
    /// The superscope name used in events about the whole network.
    pub superscope: Option<Arc<str>>,
}

impl Scope {
    pub fn contains(&self, addr: Ipv4Addr) -> bool {
        self.subnet.contains(&addr)
    }

    pub fn is_excluded(&self, addr: u32) -> bool {
        self.exclusions.iter().any(|r| r.contains(addr))
    }

    pub fn in_ranges(&self, addr: u32) -> bool {
        self.ranges.iter().any(|r| r.contains(addr))
    }

    /// The partition whose ranges hold `addr` (a dynamic address).
    pub fn partition_of(&self, addr: u32) -> Option<PartitionIndex> {
        self.partitions
            .iter()
            .position(|p| p.ranges.iter().any(|r| r.contains(addr)))
    }

    /// The partition of `kind` (a policy's ranges, the BOOTP ranges), if
    /// the scope has one.
    pub fn partition(&self, kind: PartitionKind) -> Option<PartitionIndex> {
        self.partitions.iter().position(|p| p.kind == kind)
    }

    /// The partition of dynamic BOOTP addresses of a scope serving BOOTP.
    pub fn bootp_partition(&self) -> Option<PartitionIndex> {
        self.bootp.as_ref()?;
        self.partition(PartitionKind::Bootp)
    }

    /// Whether the scope has ranges set apart for policies or BOOTP (then
    /// its residual warnings, 1342 and 1376, apply).
    pub fn is_partitioned(&self) -> bool {
        self.partitions.len() > 1
    }

    /// A reservation whose address is `ip`.
    pub fn reservation_for_ip(&self, ip: Ipv4Addr) -> Option<&Reservation> {
        self.reservations.iter().find(|r| r.ip == ip)
    }
}

/// Where a reservation lives: scope and position in its list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReservationRef {
    pub scope: ScopeId,
    pub index: u32,
}

/// The validated, immutable configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub server: ServerParams,
    /// Server-level options, before any scope's.
    pub server_options: OptionSet,
    pub scopes: Vec<Scope>,
    /// Every enabled policy, server and scope level; scopes list theirs.
    pub policies: Vec<Policy>,
    /// (network address, prefix length, scope), sorted by network address;
    /// subnets never overlap, so the last entry at or below an address is the
    /// only candidate.
    pub(super) subnet_index: Vec<(u32, u8, ScopeId)>,
    pub(super) by_client_id: AHashMap<Box<[u8]>, Vec<ReservationRef>>,
    pub(super) by_mac: AHashMap<Box<[u8]>, Vec<ReservationRef>>,
    /// Option codes the server knows (assigned or configured), as a bitmap.
    pub(super) known_options: [u64; 4],
}

impl Config {
    pub fn scope(&self, id: ScopeId) -> &Scope {
        &self.scopes[id.index()]
    }

    pub fn policy(&self, id: PolicyId) -> &Policy {
        &self.policies[id.index()]
    }

    /// The scope whose subnet contains `addr`.
    pub fn scope_for(&self, addr: Ipv4Addr) -> Option<&Scope> {
        let a = u32::from(addr);
        let i = self.subnet_index.partition_point(|(net, _, _)| *net <= a);
        let (net, len, id) = *self.subnet_index.get(i.checked_sub(1)?)?;
        let mask = if len == 0 { 0 } else { u32::MAX << (32 - len) };
        (a & mask == net).then(|| self.scope(id))
    }

    /// The reservation for a client on the network of `scope`: by client
    /// identifier first, then by hardware address.
    pub fn reservation(
        &self,
        scope: &Scope,
        client_id: Option<&[u8]>,
        mac: &[u8],
    ) -> Option<&Reservation> {
        let on_network = |refs: &Vec<ReservationRef>| {
            refs.iter()
                .find(|r| scope.network.contains(&r.scope))
                .map(|r| &self.scope(r.scope).reservations[r.index as usize])
        };
        client_id
            .and_then(|id| self.by_client_id.get(id))
            .and_then(on_network)
            .or_else(|| self.by_mac.get(mac).and_then(on_network))
    }

    pub fn is_known_option(&self, code: u8) -> bool {
        self.known_options[(code / 64) as usize] & (1 << (code % 64)) != 0
    }
}
