//! [`PacketSocket`]: sends complete Ethernet frames out of one interface.
//!
//! Why a DHCP server needs one: RFC 2131 §4.1 says that when a request
//! came with giaddr and ciaddr zero and the broadcast bit clear, the server
//! "unicasts DHCPOFFER and DHCPACK messages to the client's hardware address
//! and 'yiaddr' address". The client has no address yet, so it cannot
//! answer ARP for yiaddr; an ordinary UDP socket would wait for that ARP
//! reply and then drop the message. Writing the whole frame, with chaddr as
//! the Ethernet destination (see [`super::frame`]), needs no neighbour
//! entry at all, and creates none. (The other way, dnsmasq's, writes a
//! neighbour entry before each such reply: state the operator can see,
//! left behind for clients that never take the address.)
//!
//! Owns one `AF_PACKET` socket bound to one interface. It never receives:
//! it is opened and bound with protocol 0, which registers no packet
//! handler in the kernel, so no incoming frame is ever queued on it. It
//! never blocks: when its send buffer is full, [`PacketSocket::send`] fails
//! with [`io::ErrorKind::WouldBlock`] and the caller counts a dropped
//! reply, rather than stall a worker behind a congested link. It never
//! touches the frame: checksums and addresses are the caller's.

use std::{
    io::{self, ErrorKind},
    mem,
    os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd},
};

use nix::{
    errno::Errno,
    libc,
    sys::socket::{AddressFamily, MsgFlags, SockFlag, SockType, send, socket},
};

/// A send-only raw Ethernet socket on one interface. Needs CAP_NET_RAW.
#[derive(Debug)]
pub struct PacketSocket {
    fd: OwnedFd,
}

impl PacketSocket {
    /// Opens a socket that sends on the interface with index `ifindex`,
    /// in the calling thread's network namespace.
    pub fn open(ifindex: u32) -> io::Result<Self> {
        let context = |err: Errno| {
            io::Error::new(
                io::Error::from(err).kind(),
                format!("packet socket on interface index {ifindex}: {err}"),
            )
        };
        // Index 0 would leave the socket unbound, and every send would
        // fail for want of an interface.
        let sll_ifindex = match i32::try_from(ifindex) {
            Ok(index) if index > 0 => index,
            _ => {
                return Err(io::Error::new(
                    ErrorKind::InvalidInput,
                    format!("packet socket on interface index {ifindex}: not a valid index"),
                ));
            }
        };
        let fd = socket(
            AddressFamily::Packet,
            SockType::Raw,
            SockFlag::SOCK_CLOEXEC | SockFlag::SOCK_NONBLOCK,
            None, // protocol 0: receive nothing
        )
        .map_err(context)?;

        let addr = libc::sockaddr_ll {
            sll_family: libc::AF_PACKET as u16,
            sll_protocol: 0, // still nothing to receive after the bind
            sll_ifindex,
            sll_hatype: 0,
            sll_pkttype: 0,
            sll_halen: 0,
            sll_addr: [0; 8],
        };
        // nix has no safe way to build a `LinkAddr` for bind(2), so call it
        // directly.
        // SAFETY: `addr` is a fully initialised sockaddr_ll that lives for
        // the whole call, and the length passed is its size.
        let rc = unsafe {
            libc::bind(
                fd.as_raw_fd(),
                (&raw const addr).cast::<libc::sockaddr>(),
                mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t,
            )
        };
        Errno::result(rc).map_err(context)?;
        Ok(Self { fd })
    }

    /// Sends one frame, Ethernet header first, exactly as given.
    pub fn send(&self, frame: &[u8]) -> io::Result<()> {
        let sent = send(self.fd.as_raw_fd(), frame, MsgFlags::empty()).map_err(io::Error::from)?;
        // A packet socket sends a frame whole or not at all; a short count
        // would mean a truncated frame on the wire, so say so.
        if sent != frame.len() {
            return Err(io::Error::new(
                ErrorKind::WriteZero,
                format!("packet socket sent {sent} of {} bytes", frame.len()),
            ));
        }
        Ok(())
    }
}

impl AsFd for PacketSocket {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

impl AsRawFd for PacketSocket {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_0_is_refused_before_any_syscall() {
        let err = PacketSocket::open(0).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
        assert!(err.to_string().contains("index 0"), "{err}");
        assert!(PacketSocket::open(u32::MAX).is_err());
    }

    #[test]
    fn a_missing_interface_is_named_in_the_error() {
        // Without CAP_NET_RAW this fails at socket(2), with it at bind(2);
        // the index is in the message either way.
        let err = PacketSocket::open(0x7fff_fff0).unwrap_err();
        assert!(err.to_string().contains("index 2147483632"), "{err}");
    }
}
