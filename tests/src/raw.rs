//! [`RawSender`]: sends hand-built Ethernet frames out of one interface.
//!
//! Some test frames cannot come from an ordinary socket (truncated or
//! invalid headers, IP options, fragments); an `AF_PACKET` socket sends the
//! bytes exactly as given. The socket never receives: it is bound with
//! protocol 0.

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
