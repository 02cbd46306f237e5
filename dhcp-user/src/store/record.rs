//! The on-disk form of a lease: key = the address (4 bytes, big-endian, so
//! records sort by address), value = kind, end time and client key.

use std::net::Ipv4Addr;
use std::sync::Arc;

/// What a stored address is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Leased to the client until `expires_ms`.
    Bound = 1,
    /// Declined by the client; out of service until `expires_ms`.
    Quarantined = 2,
}

/// One stored lease or quarantine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredLease {
    pub addr: Ipv4Addr,
    pub kind: Kind,
    /// The engine's client key (see `engine::ClientKey`).
    pub client: Arc<[u8]>,
    /// End of the lease or quarantine, ms since the Unix epoch
    /// (`u64::MAX`: never).
    pub expires_ms: u64,
}

/// Bytes before the client key in a value.
const HEADER: usize = 1 + 8;

impl StoredLease {
    pub fn key(&self) -> [u8; 4] {
        self.addr.octets()
    }

    pub fn value(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(HEADER + self.client.len());
        v.push(self.kind as u8);
        v.extend_from_slice(&self.expires_ms.to_be_bytes());
        v.extend_from_slice(&self.client);
        v
    }

    /// Reads a record back; `None` if it is not one this version wrote.
    pub fn decode(key: &[u8], value: &[u8]) -> Option<StoredLease> {
        let addr = Ipv4Addr::from(<[u8; 4]>::try_from(key).ok()?);
        let kind = match *value.first()? {
            1 => Kind::Bound,
            2 => Kind::Quarantined,
            _ => return None,
        };
        let expires_ms = u64::from_be_bytes(value.get(1..HEADER)?.try_into().ok()?);
        let client = value.get(HEADER..).filter(|c| !c.is_empty())?.into();
        Some(StoredLease {
            addr,
            kind,
            client,
            expires_ms,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_rejects() {
        let l = StoredLease {
            addr: Ipv4Addr::new(10, 0, 0, 7),
            kind: Kind::Quarantined,
            client: Arc::from(&[1u8, 1, 2, 3, 4, 5, 6][..]),
            expires_ms: 1_700_000_000_123,
        };
        assert_eq!(StoredLease::decode(&l.key(), &l.value()), Some(l.clone()));
        assert_eq!(StoredLease::decode(&[1, 2, 3], &l.value()), None);
        assert_eq!(
            StoredLease::decode(&l.key(), &[9, 0, 0, 0, 0, 0, 0, 0, 0, 1]),
            None
        );
        assert_eq!(
            StoredLease::decode(&l.key(), &l.value()[..HEADER]),
            None,
            "no client key"
        );
    }
}
