//! [`Population`]: who simulated client `n` is.
//!
//! Owns the mapping between a client's index and everything that
//! identifies it on the wire (MAC, client identifier, relay, option 82), in
//! both directions: a reply's `chaddr` leads back to the client's index
//! with no table. It never keeps per-client state (`scenario` does) and
//! never builds bytes (`client` does).

use std::net::Ipv4Addr;

use crate::client::{AgentInfo, SimClient};

/// How the clients of a run look.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Population {
    seed: u8,
    size: u32,
    client_id: bool,
    broadcast: bool,
    /// The relay agents' addresses (giaddr); empty for clients on the
    /// server's link.
    relays: Vec<Ipv4Addr>,
}

impl Population {
    /// `size` clients whose MACs are `02:seed:n:n:n:n`; relayed through
    /// `relays` (client `n` behind relay `n % relays.len()`), or on the
    /// link when `relays` is empty.
    pub fn new(seed: u8, size: u32, relays: Vec<Ipv4Addr>) -> Self {
        Self {
            seed,
            size,
            client_id: false,
            broadcast: false,
            relays,
        }
    }

    /// Clients send option 61 (`01` + MAC).
    pub fn with_client_id(mut self, on: bool) -> Self {
        self.client_id = on;
        self
    }

    /// Clients set the broadcast flag, so direct replies are broadcast.
    pub fn with_broadcast(mut self, on: bool) -> Self {
        self.broadcast = on;
        self
    }

    /// How many clients there are.
    pub fn len(&self) -> u32 {
        self.size
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.size == 0
    }

    /// The relays' addresses, empty when the clients are on the link.
    pub fn relays(&self) -> &[Ipv4Addr] {
        &self.relays
    }

    /// Whether the clients sit behind relays.
    pub fn is_relayed(&self) -> bool {
        !self.relays.is_empty()
    }

    /// The relay client `n` sits behind, by index into [`Self::relays`].
    pub fn relay_of(&self, n: u32) -> Option<usize> {
        (!self.relays.is_empty()).then(|| n as usize % self.relays.len())
    }

    /// Client `n` as it sends its next message, `secs` seconds into its
    /// current attempt.
    pub fn client(&self, n: u32, secs: u16) -> SimClient {
        let mut c = SimClient::new(self.seed, n);
        c.with_client_id = self.client_id;
        c.broadcast = self.broadcast;
        c.secs = secs;
        if let Some(k) = self.relay_of(n) {
            c.giaddr = self.relays[k];
            let id = (k as u32).to_be_bytes();
            c.agent_info = Some(AgentInfo {
                // The port on its relay: clients are dealt out round-robin.
                circuit_id: n / self.relays.len() as u32,
                remote_id: [0x06, self.seed, id[0], id[1], id[2], id[3]],
            });
        }
        c
    }

    /// The index of the client whose MAC is `chaddr`, if it is one of ours.
    pub fn index_of(&self, chaddr: &[u8]) -> Option<u32> {
        match chaddr {
            [0x02, seed, a, b, c, d, ..] if *seed == self.seed => {
                let n = u32::from_be_bytes([*a, *b, *c, *d]);
                (n < self.size).then_some(n)
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reply_chaddr_leads_back_to_its_client() {
        let p = Population::new(9, 1_000_000, vec![]);
        for n in [0, 1, 65_535, 999_999] {
            let c = p.client(n, 0);
            let mut chaddr = [0u8; 16];
            chaddr[..6].copy_from_slice(&c.mac);
            assert_eq!(p.index_of(&chaddr), Some(n));
        }
        assert_eq!(p.index_of(&SimClient::new(9, 1_000_000).mac), None);
        assert_eq!(p.index_of(&SimClient::new(8, 5).mac), None);
        assert_eq!(p.index_of(&[0x02, 9]), None);
    }

    #[test]
    fn relayed_clients_are_spread_over_the_relays_with_option_82() {
        let relays = vec![Ipv4Addr::new(198, 19, 0, 1), Ipv4Addr::new(198, 19, 0, 2)];
        let p = Population::new(1, 10, relays.clone()).with_client_id(true);
        let c4 = p.client(4, 3);
        let c5 = p.client(5, 0);
        assert_eq!(c4.giaddr, relays[0]);
        assert_eq!(c5.giaddr, relays[1]);
        assert_eq!(c4.secs, 3);
        assert!(c4.with_client_id);
        let (a4, a5) = (c4.agent_info.unwrap(), c5.agent_info.unwrap());
        assert_eq!(a4.circuit_id, 2);
        assert_ne!(a4.remote_id, a5.remote_id);
        let direct = Population::new(1, 10, vec![]).client(4, 0);
        assert_eq!(direct.giaddr, Ipv4Addr::UNSPECIFIED);
        assert_eq!(direct.agent_info, None);
    }
}
