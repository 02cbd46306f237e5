//! `xdp-tx-ceiling`: the packet-rate ceiling of an XDP path on a veth pair,
//! for `cargo xtask bench` (xtask/src/bench/ceiling.rs).
//!
//! Three roles, each run in the namespace of its interface:
//!
//! * `reflect IFACE SECONDS`: attaches (native mode) a program that swaps
//!   the Ethernet addresses of every frame and sends it back (`XDP_TX`):
//!   the least work an XDP responder can do per frame. The bench reads how
//!   many frames it sent back from the veth's `rx_queue_0_xdp_tx` counter.
//! * `sink IFACE SECONDS`: attaches a program that drops every frame
//!   (`XDP_DROP`), so the reflected frames cost the sending side nothing.
//! * `blast IFACE DST_MAC SECONDS`: sends a 342-byte DHCPDISCOVER frame to
//!   DST_MAC out of IFACE as fast as the kernel can, with
//!   `BPF_PROG_TEST_RUN` in live-frames mode (the method of xdp-trafficgen,
//!   which does not run on this kernel), and prints
//!   `sent FRAMES in SECONDS s`.
//!
//! The programs are a few instructions each, written out below rather than
//! built: a separate eBPF crate would add a nested build for three
//! constant programs. Attachments go through bpf links, so they end with
//! the process.

use std::{
    ffi::CString,
    io,
    os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd},
    process::ExitCode,
    thread,
    time::{Duration, Instant},
};

use anyhow::{Context, Result, bail};

const BPF_PROG_TEST_RUN: libc::c_long = 10;
const BPF_PROG_LOAD: libc::c_long = 5;
const BPF_LINK_CREATE: libc::c_long = 28;
const BPF_PROG_TYPE_XDP: u32 = 6;
const BPF_XDP: u32 = 37;
const XDP_FLAGS_DRV_MODE: u32 = 1 << 2;
const BPF_F_TEST_XDP_LIVE_FRAMES: u32 = 1 << 1;
const XDP_DROP: i32 = 1;
const XDP_TX: i32 = 3;
/// Frames per `BPF_PROG_TEST_RUN` call; the loop stops after the deadline.
const REPEAT: u32 = 1 << 20;

/// One eBPF instruction (`struct bpf_insn`).
#[repr(C)]
#[derive(Clone, Copy)]
struct Insn {
    code: u8,
    /// dst_reg in the low nibble, src_reg in the high one.
    regs: u8,
    off: i16,
    imm: i32,
}

const fn insn(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> Insn {
    Insn {
        code,
        regs: (src << 4) | dst,
        off,
        imm,
    }
}

// Opcodes used below.
const LDX_W: u8 = 0x61;
const LDX_H: u8 = 0x69;
const STX_W: u8 = 0x63;
const STX_H: u8 = 0x6b;
const MOV64_K: u8 = 0xb7;
const MOV64_X: u8 = 0xbf;
const ADD64_K: u8 = 0x07;
const JGT_X: u8 = 0x2d;
const EXIT: u8 = 0x95;

/// `return action;`
const fn verdict(action: i32) -> [Insn; 2] {
    [insn(MOV64_K, 0, 0, 0, action), insn(EXIT, 0, 0, 0, 0)]
}

/// Swaps destination and source MAC, then `XDP_TX` (`XDP_DROP` if the
/// frame is shorter than the two addresses).
const REFLECT: [Insn; 17] = [
    insn(LDX_W, 2, 1, 0, 0),    // r2 = ctx->data
    insn(LDX_W, 3, 1, 4, 0),    // r3 = ctx->data_end
    insn(MOV64_X, 4, 2, 0, 0),  // r4 = r2
    insn(ADD64_K, 4, 0, 0, 12), // r4 += 12
    insn(JGT_X, 4, 3, 10, 0),   // if r4 > r3 goto drop
    insn(LDX_W, 5, 2, 0, 0),    // r5 = dst[0..4]
    insn(LDX_H, 6, 2, 4, 0),    // r6 = dst[4..6]
    insn(LDX_W, 7, 2, 6, 0),    // r7 = src[0..4]
    insn(LDX_H, 8, 2, 10, 0),   // r8 = src[4..6]
    insn(STX_W, 2, 7, 0, 0),    // dst[0..4] = r7
    insn(STX_H, 2, 8, 4, 0),    // dst[4..6] = r8
    insn(STX_W, 2, 5, 6, 0),    // src[0..4] = r5
    insn(STX_H, 2, 6, 10, 0),   // src[4..6] = r6
    insn(MOV64_K, 0, 0, 0, XDP_TX),
    insn(EXIT, 0, 0, 0, 0),
    insn(MOV64_K, 0, 0, 0, XDP_DROP), // drop:
    insn(EXIT, 0, 0, 0, 0),
];

fn bpf(cmd: libc::c_long, attr: &mut [u8; 128]) -> io::Result<libc::c_long> {
    // SAFETY: bpf(2) reads and writes at most `attr.len()` bytes of `attr`,
    // and every pointer stored in it points at memory the caller keeps
    // alive across the call.
    let rc = unsafe { libc::syscall(libc::SYS_bpf, cmd, attr.as_mut_ptr(), attr.len()) };
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(rc)
    }
}

fn put32(attr: &mut [u8; 128], at: usize, v: u32) {
    attr[at..at + 4].copy_from_slice(&v.to_ne_bytes());
}

fn put64(attr: &mut [u8; 128], at: usize, v: u64) {
    attr[at..at + 8].copy_from_slice(&v.to_ne_bytes());
}

/// Loads an XDP program made of `insns`.
fn load(insns: &[Insn]) -> Result<OwnedFd> {
    let license = CString::new("GPL").expect("no NUL");
    let mut log = vec![0u8; 64 * 1024];
    let mut attr = [0u8; 128];
    put32(&mut attr, 0, BPF_PROG_TYPE_XDP);
    put32(&mut attr, 4, insns.len() as u32);
    put64(&mut attr, 8, insns.as_ptr() as u64);
    put64(&mut attr, 16, license.as_ptr() as u64);
    put32(&mut attr, 24, 1); // log_level
    put32(&mut attr, 28, log.len() as u32);
    put64(&mut attr, 32, log.as_mut_ptr() as u64);
    put32(&mut attr, 68, BPF_XDP); // expected_attach_type
    match bpf(BPF_PROG_LOAD, &mut attr) {
        // SAFETY: the kernel returned a new descriptor that we now own.
        Ok(fd) => Ok(unsafe { OwnedFd::from_raw_fd(fd as RawFd) }),
        Err(e) => {
            let end = log.iter().position(|&b| b == 0).unwrap_or(log.len());
            bail!(
                "loading the program: {e}\n{}",
                String::from_utf8_lossy(&log[..end])
            )
        }
    }
}

/// Attaches `prog` to `ifindex` in native mode through a bpf link.
fn attach(prog: &OwnedFd, ifindex: u32) -> Result<OwnedFd> {
    let mut attr = [0u8; 128];
    put32(&mut attr, 0, prog.as_raw_fd() as u32);
    put32(&mut attr, 4, ifindex);
    put32(&mut attr, 8, BPF_XDP);
    put32(&mut attr, 12, XDP_FLAGS_DRV_MODE);
    let fd = bpf(BPF_LINK_CREATE, &mut attr).context("attaching in native mode")?;
    // SAFETY: the kernel returned a new descriptor that we now own.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
}

fn ifindex(name: &str) -> Result<u32> {
    let c = CString::new(name).context("interface name")?;
    // SAFETY: `c` is a valid NUL-terminated string.
    let index = unsafe { libc::if_nametoindex(c.as_ptr()) };
    if index == 0 {
        bail!("no interface {name}");
    }
    Ok(index)
}

fn mac_of(name: &str) -> Result<[u8; 6]> {
    parse_mac(
        std::fs::read_to_string(format!("/sys/class/net/{name}/address"))
            .with_context(|| format!("MAC of {name}"))?
            .trim(),
    )
}

fn parse_mac(text: &str) -> Result<[u8; 6]> {
    let bytes: Vec<u8> = text
        .split(':')
        .map(|b| u8::from_str_radix(b, 16))
        .collect::<Result<_, _>>()
        .with_context(|| format!("bad MAC {text:?}"))?;
    bytes
        .try_into()
        .map_err(|_| anyhow::anyhow!("bad MAC {text:?}"))
}

/// A broadcast-style DHCPDISCOVER frame, 342 bytes like a client's, from
/// `src` to `dst`. Its content does not matter to the reflector; its size
/// does (the copy cost per frame).
fn discover(src: [u8; 6], dst: [u8; 6]) -> Vec<u8> {
    let mut f = Vec::with_capacity(342);
    f.extend_from_slice(&dst);
    f.extend_from_slice(&src);
    f.extend_from_slice(&[0x08, 0x00]);
    let ip_len: u16 = 342 - 14;
    f.extend_from_slice(&[0x45, 0]);
    f.extend_from_slice(&ip_len.to_be_bytes());
    f.extend_from_slice(&[0, 0, 0, 0, 64, 17, 0, 0, 0, 0, 0, 0, 255, 255, 255, 255]);
    f.extend_from_slice(&68u16.to_be_bytes());
    f.extend_from_slice(&67u16.to_be_bytes());
    f.extend_from_slice(&(ip_len - 20).to_be_bytes());
    f.extend_from_slice(&[0, 0]);
    let mut bootp = vec![0u8; 300];
    bootp[..4].copy_from_slice(&[1, 1, 6, 0]);
    bootp[28..34].copy_from_slice(&src);
    bootp[236..240].copy_from_slice(&[99, 130, 83, 99]);
    bootp[240..244].copy_from_slice(&[53, 1, 1, 255]);
    f.extend_from_slice(&bootp);
    f
}

/// Sends `frame` out of `ifindex` until `seconds` have passed; returns the
/// frames sent and the time taken.
fn blast(ifindex: u32, frame: &[u8], seconds: f64) -> Result<(u64, f64)> {
    let prog = load(&verdict(XDP_TX))?;
    // struct xdp_md: data, data_end, data_meta, ingress_ifindex,
    // rx_queue_index, egress_ifindex.
    let mut ctx = [0u32; 6];
    ctx[1] = frame.len() as u32;
    ctx[3] = ifindex;
    let start = Instant::now();
    let mut sent = 0u64;
    while start.elapsed().as_secs_f64() < seconds {
        let mut attr = [0u8; 128];
        put32(&mut attr, 0, prog.as_raw_fd() as u32);
        put32(&mut attr, 8, frame.len() as u32);
        put64(&mut attr, 16, frame.as_ptr() as u64);
        put32(&mut attr, 32, REPEAT);
        put32(&mut attr, 40, size_of_val(&ctx) as u32);
        put64(&mut attr, 48, ctx.as_ptr() as u64);
        put32(&mut attr, 64, BPF_F_TEST_XDP_LIVE_FRAMES);
        bpf(BPF_PROG_TEST_RUN, &mut attr).context("BPF_PROG_TEST_RUN (live frames)")?;
        sent += u64::from(REPEAT);
    }
    Ok((sent, start.elapsed().as_secs_f64()))
}

fn run(args: &[String]) -> Result<()> {
    let seconds = |s: &String| -> Result<f64> { s.parse().context("SECONDS") };
    match args {
        [role, iface, secs] if role == "reflect" || role == "sink" => {
            let program = if role == "reflect" {
                load(&REFLECT)?
            } else {
                load(&verdict(XDP_DROP))?
            };
            let _link = attach(&program, ifindex(iface)?)?;
            println!("{role}: attached to {iface}");
            thread::sleep(Duration::from_secs_f64(seconds(secs)?));
            Ok(())
        }
        [role, iface, dst, secs] if role == "blast" => {
            let frame = discover(mac_of(iface)?, parse_mac(dst)?);
            let (sent, took) = blast(ifindex(iface)?, &frame, seconds(secs)?)?;
            println!("sent {sent} in {took:.3} s");
            Ok(())
        }
        _ => bail!(
            "usage: xdp-tx-ceiling reflect IFACE SECONDS | sink IFACE SECONDS | \
             blast IFACE DST_MAC SECONDS"
        ),
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xdp-tx-ceiling: {e:#}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn discover_frame_is_342_bytes_with_consistent_lengths() {
        let f = discover([2, 0, 0, 0, 0, 1], [0xff; 6]);
        assert_eq!(f.len(), 342);
        assert_eq!(u16::from_be_bytes([f[16], f[17]]) as usize, f.len() - 14);
        assert_eq!(u16::from_be_bytes([f[38], f[39]]) as usize, f.len() - 34);
    }

    #[test]
    fn registers_are_packed_dst_low_src_high() {
        let i = insn(STX_W, 2, 7, 0, 0);
        assert_eq!(i.regs, 0x72);
        assert_eq!(REFLECT[4].off, 10, "the jump lands on the drop branch");
        assert_eq!(REFLECT[4 + 1 + 10].imm, XDP_DROP);
    }
}
