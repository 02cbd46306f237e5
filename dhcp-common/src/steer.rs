//! The client steering hash.
//!
//! A DHCP client is identified by its client identifier (option 61) when it
//! sends one, else by its hardware address (`chaddr[..hlen]`). Every message
//! of one client must reach the same worker, so the XDP program and the
//! userspace dispatcher hash the same key bytes with this function and take
//! the result modulo the worker count.

const FNV_OFFSET: u32 = 0x811c_9dc5;
const FNV_PRIME: u32 = 0x0100_0193;

/// Starts a hash; feed bytes with [`fnv1a_step`] and end with [`finish`].
///
/// Split into steps so the eBPF side can feed bytes from a bounded loop over
/// packet memory without building a slice.
#[inline(always)]
pub const fn start() -> u32 {
    FNV_OFFSET
}

/// Folds one key byte into the running FNV-1a state.
#[inline(always)]
pub const fn fnv1a_step(state: u32, byte: u8) -> u32 {
    (state ^ byte as u32).wrapping_mul(FNV_PRIME)
}

/// Finalises the hash with murmur3's `fmix32`.
///
/// FNV-1a's low bit is the parity of the key's low bits, so `hash % 2` of
/// sequential MAC addresses alternates in lock-step with the last byte and
/// clusters badly for other moduli; the avalanche step spreads every input
/// bit over the whole word.
#[inline(always)]
pub const fn finish(mut h: u32) -> u32 {
    h ^= h >> 16;
    h = h.wrapping_mul(0x85eb_ca6b);
    h ^= h >> 13;
    h = h.wrapping_mul(0xc2b2_ae35);
    h ^= h >> 16;
    h
}

/// Hashes a whole client key (option 61's value, or `chaddr[..hlen]`).
#[inline]
pub fn client_hash(key: &[u8]) -> u32 {
    let mut h = start();
    for &b in key {
        h = fnv1a_step(h, b);
    }
    finish(h)
}

/// The worker (or AF_XDP socket index) that owns a client.
#[inline]
pub fn worker_for(key: &[u8], workers: u32) -> u32 {
    if workers <= 1 {
        0
    } else {
        client_hash(key) % workers
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_vectors() {
        // FNV-1a 32 of "" is the offset basis; fmix32 of it is fixed.
        assert_eq!(client_hash(b""), finish(FNV_OFFSET));
        assert_ne!(client_hash(b"a"), client_hash(b"b"));
    }

    #[test]
    fn sequential_macs_spread_over_two_workers() {
        let mut counts = [0u32; 2];
        for i in 0u32..1024 {
            let mac = [0x02, 0, 0, (i >> 16) as u8, (i >> 8) as u8, i as u8];
            counts[worker_for(&mac, 2) as usize] += 1;
        }
        // Not a strict alternation (which plain FNV gives), but balanced.
        assert!(counts[0] > 400 && counts[1] > 400, "{counts:?}");
        let alternating = (0u32..64).all(|i| {
            let mac = [0x02, 0, 0, 0, 0, i as u8];
            worker_for(&mac, 2) == i % 2
        });
        assert!(!alternating);
    }
}
