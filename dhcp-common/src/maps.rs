//! Layout of the XDP program's steering maps: the AF_XDP socket map and the
//! configuration array userspace fills before it attaches the program.
//!
//! Both sides take the map names, the slot meanings and the socket-map index
//! rule from here, so they cannot disagree on where a client's frames go.

/// Name of the `XskMap` of AF_XDP sockets in the XDP object.
pub const XSKS_MAP: &str = "XSKS";

/// Name of the configuration array (`u32` values, one per [`ConfigSlot`]).
pub const CONFIG_MAP: &str = "CONFIG";

/// One slot of the configuration array.
///
/// The discriminant is the slot index. Append new slots at the end and bump
/// [`ConfigSlot::COUNT`].
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConfigSlot {
    /// AF_XDP sockets (= workers) per receive queue. 0 means "not set up":
    /// the program then redirects nothing.
    Workers = 0,
    /// The UDP port the server answers on (67; tests may use another).
    /// 0 means "not set up": the program then classifies nothing as DHCP.
    Port = 1,
}

impl ConfigSlot {
    /// Number of slots in the array.
    pub const COUNT: u32 = 2;

    /// The slot index.
    #[inline(always)]
    pub const fn index(self) -> u32 {
        self as u32
    }
}

/// The socket-map slot of the worker that owns a client whose key hashes to
/// `hash` (see [`crate::steer`]), for a frame that arrived on receive queue
/// `queue`: each queue has its own run of `workers` slots, because the
/// kernel only delivers a frame to a socket bound to the queue it came in
/// on. `workers` must not be 0.
#[inline(always)]
pub const fn xsk_slot(queue: u32, workers: u32, hash: u32) -> u32 {
    queue * workers + hash % workers
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::steer::{client_hash, worker_for};

    #[test]
    fn slot_within_a_queue_is_the_userspace_worker() {
        for workers in 1..=5u32 {
            for mac in 0u8..64 {
                let key = [0x02, 0, 0, 0, 0, mac];
                let hash = client_hash(&key);
                assert_eq!(xsk_slot(0, workers, hash), worker_for(&key, workers));
                assert_eq!(
                    xsk_slot(3, workers, hash),
                    3 * workers + worker_for(&key, workers)
                );
            }
        }
    }
}
