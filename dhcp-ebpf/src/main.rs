//! The xdhcpd XDP program.
//!
//! Runs on every frame of the interface it is attached to and classifies
//! it (see `dhcp_ebpf::classify`). A DHCP frame to the server port goes to
//! the AF_XDP socket of the worker that owns the client: slot
//! `dhcp_common::maps::xsk_slot(queue, workers, hash)` of `XSKS`, where
//! `hash` is the steering hash of the client key, the same value userspace
//! computes. Everything else — and a DHCP frame whose slot holds no socket
//! — goes on to the kernel stack (`XDP_PASS`), so ARP, ICMP and the
//! server's other traffic are untouched. Every decision is counted in the
//! per-CPU `COUNTERS` map (`dhcp_common::counters`).
//!
//! Userspace sets the worker count and the server port in `CONFIG`
//! (`dhcp_common::maps::ConfigSlot`) before it attaches the program; until
//! then nothing is classified as DHCP.
//!
//! The same object holds `xdhcp_loadgen`, the program of the load generator
//! (`xdhcp-loadgen`, `xdhcp-reflector`): it hands every IPv4 UDP frame to
//! port 67 or 68 to the AF_XDP socket of its receive queue (slot = queue
//! index of `XSKS`) and passes everything else, ARP included, to the
//! kernel. It uses neither `CONFIG` nor `COUNTERS`: the tool counts what
//! its socket receives.
//!
//! It logs through aya-log only on errors, never per packet: the log ring is
//! shared by all CPUs and would cost more than the program itself.
//!
//! The crate also compiles for the host, where `main` is empty and nothing
//! runs: that lets `cargo clippy --workspace` lint this code and `cargo test
//! --workspace` run the classifier's unit tests on stable, without the BPF
//! target. Only aya-build's nested build (in `dhcp-xdp/build.rs`) produces
//! the real object.
#![cfg_attr(target_arch = "bpf", no_std)]
#![cfg_attr(target_arch = "bpf", no_main)]

use aya_ebpf::{
    bindings::xdp_action::XDP_PASS,
    helpers::generated::bpf_xdp_load_bytes,
    macros::{map, xdp},
    maps::{Array, PerCpuArray, XskMap},
    programs::XdpContext,
};
use aya_log_ebpf::error;
use dhcp_common::{
    counters::Counter,
    maps::{ConfigSlot, xsk_slot},
};
use dhcp_ebpf::classify::{Class, Packet, classify, is_to_dhcp_port};

/// The counters; its name is `dhcp_common::counters::COUNTERS_MAP`.
#[map]
static COUNTERS: PerCpuArray<u64> = PerCpuArray::with_max_entries(Counter::COUNT, 0);

/// The AF_XDP sockets, `workers` per receive queue; its name is
/// `dhcp_common::maps::XSKS_MAP`. Userspace sizes it at load time (queues
/// × workers).
#[map]
static XSKS: XskMap = XskMap::with_max_entries(1, 0);

/// Worker count and server port; its name is `dhcp_common::maps::CONFIG_MAP`.
#[map]
static CONFIG: Array<u32> = Array::with_max_entries(ConfigSlot::COUNT, 0);

#[xdp]
pub fn xdhcpd(ctx: XdpContext) -> u32 {
    count(&ctx, Counter::Frames);
    let port = config(ConfigSlot::Port) as u16;
    match classify(&Frame(&ctx), port) {
        Class::Dhcp { hash } => {
            count(&ctx, Counter::Dhcp);
            let workers = config(ConfigSlot::Workers);
            if workers != 0 {
                let slot = xsk_slot(ctx.rx_queue_index(), workers, hash);
                // On failure (no socket in the slot) the helper returns the
                // action in the flags: pass, so the frame is not lost.
                if let Ok(action) = XSKS.redirect(slot, u64::from(XDP_PASS)) {
                    count(&ctx, Counter::Redirected);
                    return action;
                }
            }
            count(&ctx, Counter::RedirectFailed);
        }
        Class::Malformed => count(&ctx, Counter::Malformed),
        Class::Other => {}
    }
    count(&ctx, Counter::Passed);
    XDP_PASS
}

#[xdp]
pub fn xdhcp_loadgen(ctx: XdpContext) -> u32 {
    if is_to_dhcp_port(&Frame(&ctx)) {
        // No socket on this queue: the helper returns the flags' action,
        // pass, and the kernel sees the frame.
        if let Ok(action) = XSKS.redirect(ctx.rx_queue_index(), u64::from(XDP_PASS)) {
            return action;
        }
    }
    XDP_PASS
}

/// A configuration slot; 0 ("not set up") if the slot is missing.
#[inline(always)]
fn config(slot: ConfigSlot) -> u32 {
    CONFIG.get(slot.index()).copied().unwrap_or(0)
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

/// The frame an `XdpContext` points at, read with the bounds checks the
/// verifier requires.
struct Frame<'c>(&'c XdpContext);

impl Packet for Frame<'_> {
    #[inline(always)]
    fn bytes<const N: usize>(&self, offset: usize) -> Option<[u8; N]> {
        let start = self.0.data();
        let end = self.0.data_end();
        // The verifier accepts the read below only because this comparison
        // of `start + offset + N` against `data_end` dominates it.
        if start + offset + N > end {
            return None;
        }
        // SAFETY: `[start + offset, start + offset + N)` lies inside the
        // frame, checked just above; packet memory has no alignment.
        Some(unsafe { core::ptr::read_unaligned((start + offset) as *const [u8; N]) })
    }

    #[inline(always)]
    fn load(&self, offset: usize, buf: &mut [u8]) -> Option<()> {
        // Offsets and lengths of one frame fit in u32 (frames are at most
        // a page); the helper rejects anything out of the frame.
        // SAFETY: `buf` is valid for writes of `buf.len()` bytes, which is
        // all the helper writes; the context pointer is the program's own.
        let rc = unsafe {
            bpf_xdp_load_bytes(
                self.0.ctx,
                offset as u32,
                buf.as_mut_ptr().cast(),
                buf.len() as u32,
            )
        };
        (rc == 0).then_some(())
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
