//! Layout of the XDP program's counter map.
//!
//! The map is a per-CPU array of `u64`, one slot per [`Counter`]: the program
//! bumps its own CPU's slot without atomics and userspace sums the slots of
//! all CPUs when it reads. Both sides take the map name, the slot indices and
//! the slot count from here, so they cannot disagree on the layout.

/// Name of the counter map in the XDP object.
pub const COUNTERS_MAP: &str = "COUNTERS";

/// One slot of the counter map.
///
/// The discriminant is the slot index. Append new counters at the end and
/// bump [`Counter::COUNT`]: existing indices must keep their meaning.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Counter {
    /// Every frame the program ran on.
    Frames = 0,
    /// IPv4 UDP frames to the server port (67 unless configured otherwise,
    /// see [`crate::maps::ConfigSlot::Port`]) that carry a UDP header.
    Dhcp = 1,
    /// Frames handed on to the kernel stack (`XDP_PASS`), whatever the
    /// reason: not DHCP, malformed, or a redirect that failed.
    Passed = 2,
    /// Frames whose Ethernet, VLAN, IPv4 or UDP header is truncated or
    /// invalid.
    Malformed = 3,
    /// DHCP frames redirected to a worker's AF_XDP socket.
    Redirected = 4,
    /// DHCP frames that could not be redirected: no socket in the slot
    /// (not yet, or no longer, set up by userspace) or no worker count
    /// configured. They are passed to the kernel instead.
    RedirectFailed = 5,
}

impl Counter {
    /// Number of slots in the map.
    pub const COUNT: u32 = 6;

    /// Every counter, in slot order.
    pub const ALL: [Self; Self::COUNT as usize] = [
        Self::Frames,
        Self::Dhcp,
        Self::Passed,
        Self::Malformed,
        Self::Redirected,
        Self::RedirectFailed,
    ];

    /// The slot index of this counter.
    #[inline(always)]
    pub const fn index(self) -> u32 {
        self as u32
    }
}

#[cfg(test)]
mod tests {
    use super::Counter;

    #[test]
    fn slots_are_dense_and_in_order() {
        for (slot, counter) in Counter::ALL.iter().enumerate() {
            assert_eq!(counter.index() as usize, slot);
        }
    }
}
