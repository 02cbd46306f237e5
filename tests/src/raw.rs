//! [`RawSender`]: sends hand-built Ethernet frames out of one interface;
//! [`RawReceiver`]: receives frames as they were on the wire.
//!
//! Some test frames cannot come from an ordinary socket (truncated or
//! invalid headers, IP options, fragments); an `AF_PACKET` socket sends the
//! bytes exactly as given. The sender never receives: it is bound with
//! protocol 0. The receiver sees every frame of its interface, for tests
//! that check what the server put on the wire (VLAN tags, addresses).

use std::{
    io, mem,
    os::fd::{AsRawFd, FromRawFd, OwnedFd},
};

use anyhow::{Context, Result};
use nix::{libc, net::if_::if_nametoindex};

pub struct RawSender {
    fd: OwnedFd,
}

impl RawSender {
    /// Opens a sender on `iface`, which must be in the calling thread's
    /// namespace. Needs CAP_NET_RAW.
    pub fn open(iface: &str) -> Result<Self> {
        let ifindex = if_nametoindex(iface).with_context(|| format!("no interface {iface}"))?;
        // SAFETY: socket(2) has no memory arguments; the result is checked.
        let raw = unsafe { libc::socket(libc::AF_PACKET, libc::SOCK_RAW | libc::SOCK_CLOEXEC, 0) };
        if raw < 0 {
            return Err(io::Error::last_os_error()).context("opening an AF_PACKET socket");
        }
        // SAFETY: `raw` is a new descriptor that nothing else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };

        // SAFETY: sockaddr_ll is plain data; all-zero is a valid value.
        let mut addr: libc::sockaddr_ll = unsafe { mem::zeroed() };
        addr.sll_family = libc::AF_PACKET as u16;
        addr.sll_ifindex = i32::try_from(ifindex).context("interface index out of range")?;
        // SAFETY: `addr` is a valid sockaddr_ll and the length is its size.
        let rc = unsafe {
            libc::bind(
                fd.as_raw_fd(),
                (&raw const addr).cast::<libc::sockaddr>(),
                mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t,
            )
        };
        if rc < 0 {
            return Err(io::Error::last_os_error()).with_context(|| format!("binding to {iface}"));
        }
        Ok(Self { fd })
    }

    /// Sends one frame, Ethernet header included.
    pub fn send(&self, frame: &[u8]) -> Result<()> {
        // SAFETY: the pointer and length describe `frame`, which outlives
        // the call.
        let sent =
            unsafe { libc::send(self.fd.as_raw_fd(), frame.as_ptr().cast(), frame.len(), 0) };
        if sent < 0 {
            return Err(io::Error::last_os_error()).context("sending a raw frame");
        }
        Ok(())
    }
}

/// `<linux/if_packet.h>`: ask for a `tpacket_auxdata` with each frame.
const PACKET_AUXDATA: libc::c_int = 8;
/// `tpacket_auxdata.tp_status`: the kernel took a VLAN tag out of the frame
/// and `tp_vlan_tci` holds it ...
const TP_STATUS_VLAN_VALID: u32 = 1 << 4;
/// ... and `tp_vlan_tpid` says which TPID it had.
const TP_STATUS_VLAN_TPID_VALID: u32 = 1 << 6;
/// `sockaddr_ll.sll_pkttype` of a frame this host sent.
const PACKET_OUTGOING: u8 = 4;

/// `struct tpacket_auxdata` of `<linux/if_packet.h>`.
#[repr(C)]
#[derive(Clone, Copy)]
struct AuxData {
    status: u32,
    _len: u32,
    _snaplen: u32,
    _mac: u16,
    _net: u16,
    vlan_tci: u16,
    vlan_tpid: u16,
}

/// Receives the frames arriving on one interface as they were on the wire.
///
/// The kernel moves a frame's outer VLAN tag out of the frame before
/// packet sockets see it; this receiver asks for it (`PACKET_AUXDATA`) and
/// puts it back, as tcpdump does, so a QinQ frame reads with both tags.
pub struct RawReceiver {
    fd: OwnedFd,
}

impl RawReceiver {
    /// Opens a receiver on `iface`, which must be in the calling thread's
    /// namespace. Needs CAP_NET_RAW.
    pub fn open(iface: &str) -> Result<Self> {
        let ifindex = if_nametoindex(iface).with_context(|| format!("no interface {iface}"))?;
        let all = (libc::ETH_P_ALL as u16).to_be();
        // SAFETY: socket(2) has no memory arguments; the result is checked.
        let raw = unsafe {
            libc::socket(
                libc::AF_PACKET,
                libc::SOCK_RAW | libc::SOCK_CLOEXEC,
                libc::c_int::from(all),
            )
        };
        if raw < 0 {
            return Err(io::Error::last_os_error()).context("opening an AF_PACKET socket");
        }
        // SAFETY: `raw` is a new descriptor that nothing else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        let on: libc::c_int = 1;
        // SAFETY: `on` outlives the call and its size is passed.
        let rc = unsafe {
            libc::setsockopt(
                fd.as_raw_fd(),
                libc::SOL_PACKET,
                PACKET_AUXDATA,
                (&raw const on).cast(),
                mem::size_of::<libc::c_int>() as libc::socklen_t,
            )
        };
        if rc < 0 {
            return Err(io::Error::last_os_error()).context("PACKET_AUXDATA");
        }
        // SAFETY: sockaddr_ll is plain data; all-zero is a valid value.
        let mut addr: libc::sockaddr_ll = unsafe { mem::zeroed() };
        addr.sll_family = libc::AF_PACKET as u16;
        addr.sll_protocol = all;
        addr.sll_ifindex = i32::try_from(ifindex).context("interface index out of range")?;
        // SAFETY: `addr` is a valid sockaddr_ll and the length is its size.
        let rc = unsafe {
            libc::bind(
                fd.as_raw_fd(),
                (&raw const addr).cast::<libc::sockaddr>(),
                mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t,
            )
        };
        if rc < 0 {
            return Err(io::Error::last_os_error()).with_context(|| format!("binding to {iface}"));
        }
        Ok(Self { fd })
    }

    /// The next frame that arrives (frames this host sends are skipped),
    /// VLAN tags in place; `None` if none came within `timeout`.
    pub fn recv(&self, timeout: std::time::Duration) -> Result<Option<Vec<u8>>> {
        let deadline = std::time::Instant::now() + timeout;
        let mut buf = vec![0u8; 9216];
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() {
                return Ok(None);
            }
            let mut pfd = libc::pollfd {
                fd: self.fd.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            };
            // SAFETY: one valid pollfd.
            let ready = unsafe { libc::poll(&raw mut pfd, 1, left.as_millis().max(1) as i32) };
            if ready <= 0 {
                continue;
            }
            // SAFETY: sockaddr_ll is plain data; all-zero is a valid value.
            let mut from: libc::sockaddr_ll = unsafe { mem::zeroed() };
            let mut control = [0u64; 16];
            let mut iov = libc::iovec {
                iov_base: buf.as_mut_ptr().cast(),
                iov_len: buf.len(),
            };
            // SAFETY: msghdr is plain data; all-zero is a valid value.
            let mut msg: libc::msghdr = unsafe { mem::zeroed() };
            msg.msg_name = (&raw mut from).cast();
            msg.msg_namelen = mem::size_of::<libc::sockaddr_ll>() as u32;
            msg.msg_iov = &raw mut iov;
            msg.msg_iovlen = 1;
            msg.msg_control = control.as_mut_ptr().cast();
            msg.msg_controllen = mem::size_of_val(&control);
            // SAFETY: every pointer in `msg` points at a live local buffer
            // of the length given.
            let n = unsafe { libc::recvmsg(self.fd.as_raw_fd(), &raw mut msg, 0) };
            if n < 0 {
                return Err(io::Error::last_os_error()).context("receiving a frame");
            }
            if from.sll_pkttype == PACKET_OUTGOING {
                continue;
            }
            let mut frame = buf[..n as usize].to_vec();
            if let Some(aux) = aux_data(&msg)
                && aux.status & TP_STATUS_VLAN_VALID != 0
            {
                let tpid = if aux.status & TP_STATUS_VLAN_TPID_VALID != 0 {
                    aux.vlan_tpid
                } else {
                    0x8100
                };
                let mut tag = tpid.to_be_bytes().to_vec();
                tag.extend_from_slice(&aux.vlan_tci.to_be_bytes());
                frame.splice(12..12, tag);
            }
            return Ok(Some(frame));
        }
    }
}

/// The `tpacket_auxdata` in the control data of `msg`, if any.
fn aux_data(msg: &libc::msghdr) -> Option<AuxData> {
    // SAFETY: walking the control buffer recvmsg filled, with the libc
    // macros that bound every step by msg_controllen.
    unsafe {
        let mut cmsg = libc::CMSG_FIRSTHDR(msg);
        while !cmsg.is_null() {
            if (*cmsg).cmsg_level == libc::SOL_PACKET && (*cmsg).cmsg_type == PACKET_AUXDATA {
                return Some(std::ptr::read_unaligned(
                    libc::CMSG_DATA(cmsg).cast::<AuxData>(),
                ));
            }
            cmsg = libc::CMSG_NXTHDR(msg, cmsg);
        }
    }
    None
}
