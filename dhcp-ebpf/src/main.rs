//! The xdhcpd XDP program.
//!
//! Runs on every frame of the interface it is attached to, classifies it
//! (see [`classify`]) and counts it in the per-CPU `COUNTERS` map, whose
//! layout is `dhcp_common::counters`. Every frame goes on to the kernel
//! stack (`XDP_PASS`).
//!
//! It logs through aya-log only on errors, never per packet: the log ring is
//! shared by all CPUs and would cost more than the program itself.
//!
//! The crate also compiles for the host, where `main` is empty and nothing
//! runs: that lets `cargo clippy --workspace` lint this code and `cargo test
//! --workspace` run the classifier's unit tests on stable, without the BPF
//! target. Only aya-build's nested build (in `dhcp-user/build.rs`) produces
//! the real object.
#![cfg_attr(target_arch = "bpf", no_std)]
#![cfg_attr(target_arch = "bpf", no_main)]

mod classify;

use aya_ebpf::{
    bindings::xdp_action::XDP_PASS,
    macros::{map, xdp},
    maps::PerCpuArray,
    programs::XdpContext,
};
use aya_log_ebpf::error;
use dhcp_common::counters::Counter;

use crate::classify::{Class, Packet, classify};

/// The counters; its name is `dhcp_common::counters::COUNTERS_MAP`.
#[map]
static COUNTERS: PerCpuArray<u64> = PerCpuArray::with_max_entries(Counter::COUNT, 0);

#[xdp]
pub fn xdhcpd(ctx: XdpContext) -> u32 {
    count(&ctx, Counter::Frames);
    match classify(&ctx) {
        Class::Dhcp => count(&ctx, Counter::Dhcp),
        Class::Malformed => count(&ctx, Counter::Malformed),
        Class::Other => {}
    }
    count(&ctx, Counter::Passed);
    XDP_PASS
}

/// Adds one to this CPU's slot of `counter`.
#[inline(always)]
fn count(ctx: &XdpContext, counter: Counter) {
    match COUNTERS.get_ptr_mut(counter.index()) {
        // SAFETY: the pointer is this CPU's slot of a live map entry, and an
        // XDP program is never re-entered on one CPU, so nothing else writes
        // the slot concurrently (the point of a per-CPU map: no atomics).
        Some(slot) => unsafe { *slot += 1 },
        // Only possible if the map was created with fewer slots than
        // `Counter::COUNT`, i.e. a loader that does not match this program.
        None => error!(ctx, "COUNTERS has no slot {}", counter.index()),
    }
}

impl Packet for XdpContext {
    #[inline(always)]
    fn bytes<const N: usize>(&self, offset: usize) -> Option<[u8; N]> {
        let start = self.data();
        let end = self.data_end();
        // The verifier accepts the read below only because this comparison
        // of `start + offset + N` against `data_end` dominates it.
        if start + offset + N > end {
            return None;
        }
        // SAFETY: `[start + offset, start + offset + N)` lies inside the
        // frame, checked just above; packet memory has no alignment.
        Some(unsafe { core::ptr::read_unaligned((start + offset) as *const [u8; N]) })
    }
}

/// License string the kernel checks before it allows GPL-only helpers.
#[unsafe(link_section = "license")]
#[unsafe(no_mangle)]
static LICENSE: [u8; 13] = *b"Dual MIT/GPL\0";

/// Never reached: the program has no panicking paths the verifier would
/// accept, and BPF has no way to unwind or abort.
#[cfg(target_arch = "bpf")]
#[panic_handler]
fn panic(_info: &core::panic::PanicInfo) -> ! {
    // SAFETY: see above; the verifier rejects programs that could get here.
    unsafe { core::hint::unreachable_unchecked() }
}

/// Host builds only exist for clippy and the unit tests (see the crate doc).
#[cfg(not(target_arch = "bpf"))]
fn main() {}
