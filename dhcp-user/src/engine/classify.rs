//! Which policies a client matches on a scope, and what they decide: the
//! partitions its new addresses come from, its lease time, its options and
//! its boot fields (Windows policy-based assignment).
//!
//! Precedence, as Windows has it: a scope's policies before the server's,
//! each level in processing order; for options, reservation > scope
//! policies > scope > server policies > server. For addresses, the first
//! matched policy with ranges whose ranges have room; a client that matches
//! no policy with ranges takes from the residual ranges.

use std::net::Ipv4Addr;

use crate::config::{
    BootFields, Config, OptionSet, PartitionIndex, PartitionKind, Policy, RESIDUAL, Reservation,
    Scope,
};
use dhcp_wire::Message;

/// The policies of one scope a client matches: bit `i` stands for
/// `scope.policies[i]` (configuration validates at most 128 per scope).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Class {
    matched: u128,
}

impl Class {
    /// Matches `msg` against the policies that apply on `scope`. Scopes
    /// without policies (the common case) cost nothing.
    pub fn of(config: &Config, scope: &Scope, msg: &Message<'_>) -> Class {
        let mut matched = 0u128;
        for (i, id) in scope.policies.iter().enumerate() {
            if config.policy(*id).matches(msg) {
                matched |= 1 << i;
            }
        }
        Class { matched }
    }

    fn policies<'c>(
        self,
        config: &'c Config,
        scope: &'c Scope,
    ) -> impl DoubleEndedIterator<Item = &'c Policy> + 'c {
        scope
            .policies
            .iter()
            .enumerate()
            .filter(move |(i, _)| self.matched & (1 << i) != 0)
            .map(|(_, id)| config.policy(*id))
    }

    /// The partitions a DHCP client may take a new address from, in the
    /// order to try them.
    pub fn partitions<'c>(
        self,
        config: &'c Config,
        scope: &'c Scope,
    ) -> impl Iterator<Item = PartitionIndex> + 'c {
        let mut own = self
            .policies(config, scope)
            .filter(|p| p.has_ranges)
            .filter_map(|p| scope.partition(PartitionKind::Policy(p.id)))
            .peekable();
        let residual = own.peek().is_none().then_some(RESIDUAL);
        residual.into_iter().chain(own)
    }

    /// Whether a new address of partition `part` may go to this client.
    pub fn may_take(self, config: &Config, scope: &Scope, part: PartitionIndex) -> bool {
        self.partitions(config, scope).any(|p| p == part)
    }

    /// The lease time: the first matched policy's that sets one, else the
    /// scope's.
    pub fn lease_secs(self, config: &Config, scope: &Scope) -> u32 {
        self.policies(config, scope)
            .find_map(|p| p.lease_secs)
            .unwrap_or(scope.lease_secs)
    }

    /// The option sets to answer from, highest precedence first.
    pub fn options<'c>(
        self,
        config: &'c Config,
        scope: &'c Scope,
        reservation: Option<&'c Reservation>,
    ) -> OptionLayers<'c> {
        if self.matched == 0 {
            return OptionLayers::One(reservation.map_or(&scope.options, |r| &r.options));
        }
        let mut layers = Vec::with_capacity(4);
        layers.extend(reservation.map(|r| &r.own_options));
        let (own, server): (Vec<&Policy>, Vec<&Policy>) = self
            .policies(config, scope)
            .partition(|p| p.scope.is_some());
        layers.extend(own.iter().map(|p| &p.options));
        if server.is_empty() {
            layers.push(&scope.options);
        } else {
            layers.push(&scope.own_options);
            layers.extend(server.iter().map(|p| &p.options));
            layers.push(&config.server_options);
        }
        OptionLayers::Many(layers)
    }

    /// siaddr, file and sname: the first matched policy's that sets each,
    /// else the scope's.
    pub fn boot<'c>(self, config: &'c Config, scope: &'c Scope) -> Boot<'c> {
        self.policies(config, scope)
            .rev()
            .fold(Boot::from(&scope.boot), |acc, p| acc.overlaid(&p.boot))
    }
}

/// The header's boot fields of one reply (borrowed from configuration).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Boot<'c> {
    pub next_server: Option<Ipv4Addr>,
    pub file: Option<&'c [u8]>,
    pub sname: Option<&'c [u8]>,
}

impl<'c> Boot<'c> {
    fn overlaid(self, over: &'c BootFields) -> Boot<'c> {
        let top = Boot::from(over);
        Boot {
            next_server: top.next_server.or(self.next_server),
            file: top.file.or(self.file),
            sname: top.sname.or(self.sname),
        }
    }
}

impl<'c> From<&'c BootFields> for Boot<'c> {
    fn from(b: &'c BootFields) -> Boot<'c> {
        Boot {
            next_server: b.next_server,
            file: b.boot_file.as_deref(),
            sname: b.server_name.as_deref(),
        }
    }
}

/// Option sets a reply draws from, highest precedence first.
#[derive(Debug, Clone)]
pub enum OptionLayers<'c> {
    /// One merged set: no policy applies.
    One(&'c OptionSet),
    Many(Vec<&'c OptionSet>),
}

impl OptionLayers<'_> {
    fn layers(&self) -> &[&OptionSet] {
        match self {
            OptionLayers::One(set) => std::slice::from_ref(set),
            OptionLayers::Many(sets) => sets,
        }
    }

    pub fn get(&self, code: u8) -> Option<&[u8]> {
        self.layers().iter().find_map(|s| s.get(code))
    }

    /// Every code any layer sets, ascending, once each.
    pub fn codes(&self) -> impl Iterator<Item = u8> + '_ {
        let mut present = [0u64; 4];
        for set in self.layers() {
            for (code, _) in set.iter() {
                present[(code / 64) as usize] |= 1 << (code % 64);
            }
        }
        (0..=255u8).filter(move |c| present[(c / 64) as usize] & (1 << (c % 64)) != 0)
    }
}
