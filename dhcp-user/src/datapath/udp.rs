//! The server's UDP socket on port 67 and the ancillary data it carries.
//!
//! One socket, bound once and shared by every worker: worker 0 receives on
//! it, every worker sends relayed and unicast replies through it. It is
//! bound without SO_REUSEADDR/SO_REUSEPORT on purpose, so a second server on
//! the machine (another xdhcpd, Kea, dhcpd) makes the bind fail instead of
//! silently sharing the port (event 20090).

use std::io;
use std::mem::{size_of, zeroed};
use std::net::{Ipv4Addr, SocketAddrV4};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

/// The DHCP server port.
pub const SERVER_PORT: u16 = 67;
/// The DHCP client port.
pub const CLIENT_PORT: u16 = 68;
/// Receive buffer asked for: a storm arrives faster than a worker wakes.
const RECV_BUFFER: libc::c_int = 8 << 20;

/// Opens and binds the server socket (0.0.0.0:67, IP_PKTINFO on, broadcast
/// allowed).
pub fn bind_server(port: u16) -> io::Result<OwnedFd> {
    // SAFETY: plain socket(2); the descriptor is owned right away.
    let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` is a fresh descriptor nobody else owns.
    let sock = unsafe { OwnedFd::from_raw_fd(fd) };
    set_int(&sock, libc::IPPROTO_IP, libc::IP_PKTINFO, 1)?;
    // Kernel receive times: how long a request waited in the socket buffer
    // counts towards the stale-request limit.
    set_int(&sock, libc::SOL_SOCKET, libc::SO_TIMESTAMPNS, 1)?;
    set_int(&sock, libc::SOL_SOCKET, libc::SO_BROADCAST, 1)?;
    // FORCE needs CAP_NET_ADMIN; the plain option is capped by rmem_max.
    if set_int(&sock, libc::SOL_SOCKET, libc::SO_RCVBUFFORCE, RECV_BUFFER).is_err() {
        set_int(&sock, libc::SOL_SOCKET, libc::SO_RCVBUF, RECV_BUFFER)?;
    }
    let addr = sockaddr(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, port));
    // SAFETY: `addr` is a valid sockaddr_in of the size given.
    let rc = unsafe {
        libc::bind(
            sock.as_raw_fd(),
            (&raw const addr).cast(),
            size_of::<libc::sockaddr_in>() as libc::socklen_t,
        )
    };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(sock)
}

fn set_int(
    sock: &OwnedFd,
    level: libc::c_int,
    name: libc::c_int,
    value: libc::c_int,
) -> io::Result<()> {
    // SAFETY: `value` outlives the call and its size is passed.
    let rc = unsafe {
        libc::setsockopt(
            sock.as_raw_fd(),
            level,
            name,
            (&raw const value).cast(),
            size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// A `sockaddr_in` for `addr`.
pub fn sockaddr(addr: SocketAddrV4) -> libc::sockaddr_in {
    // SAFETY: sockaddr_in is plain data; all-zero is a valid value.
    let mut sa: libc::sockaddr_in = unsafe { zeroed() };
    sa.sin_family = libc::AF_INET as libc::sa_family_t;
    sa.sin_port = addr.port().to_be();
    sa.sin_addr.s_addr = u32::from(*addr.ip()).to_be();
    sa
}

/// The address in a `sockaddr_in` received from the kernel.
pub fn from_sockaddr(bytes: &[u8]) -> Option<SocketAddrV4> {
    if bytes.len() < size_of::<libc::sockaddr_in>() {
        return None;
    }
    // SAFETY: length checked; read_unaligned copes with any alignment.
    let sa: libc::sockaddr_in = unsafe { std::ptr::read_unaligned(bytes.as_ptr().cast()) };
    if i32::from(sa.sin_family) != libc::AF_INET {
        return None;
    }
    Some(SocketAddrV4::new(
        Ipv4Addr::from(u32::from_be(sa.sin_addr.s_addr)),
        u16::from_be(sa.sin_port),
    ))
}

/// Bytes of control buffer the IP_PKTINFO and SO_TIMESTAMPNS messages need.
pub fn control_space() -> usize {
    // SAFETY: CMSG_SPACE is a pure size computation.
    unsafe {
        (libc::CMSG_SPACE(size_of::<libc::in_pktinfo>() as u32)
            + libc::CMSG_SPACE(size_of::<libc::timespec>() as u32)) as usize
    }
}

/// What the control data of a received datagram says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ancillary {
    pub ifindex: u32,
    /// The datagram's destination address.
    pub dst: Ipv4Addr,
    /// When the kernel received it, ms since the Unix epoch.
    pub received_ms: Option<u64>,
}

/// Reads the receiving interface, destination and kernel receive time from
/// the control data; `None` without IP_PKTINFO.
pub fn ancillary(control: &[u8]) -> Option<Ancillary> {
    let mut found: Option<Ancillary> = None;
    let mut received_ms = None;
    let header = size_of::<libc::cmsghdr>();
    let mut rest = control;
    while rest.len() >= header {
        // SAFETY: at least a header's worth of bytes; unaligned read.
        let cmsg: libc::cmsghdr = unsafe { std::ptr::read_unaligned(rest.as_ptr().cast()) };
        let len = cmsg.cmsg_len;
        if len < header || len > rest.len() {
            // Padding or a damaged entry: nothing more to read.
            break;
        }
        // SAFETY: CMSG_LEN(0) is a pure size computation (the data offset).
        let data_at = unsafe { libc::CMSG_LEN(0) } as usize;
        if cmsg.cmsg_level == libc::IPPROTO_IP
            && cmsg.cmsg_type == libc::IP_PKTINFO
            && len >= data_at + size_of::<libc::in_pktinfo>()
        {
            // SAFETY: the length check above covers the whole struct.
            let info: libc::in_pktinfo =
                unsafe { std::ptr::read_unaligned(rest[data_at..].as_ptr().cast()) };
            let dst = Ipv4Addr::from(u32::from_be(info.ipi_addr.s_addr));
            found = Some(Ancillary {
                ifindex: info.ipi_ifindex as u32,
                dst,
                received_ms: None,
            });
        } else if cmsg.cmsg_level == libc::SOL_SOCKET
            && cmsg.cmsg_type == libc::SCM_TIMESTAMPNS
            && len >= data_at + size_of::<libc::timespec>()
        {
            // SAFETY: the length check above covers the whole struct.
            let ts: libc::timespec =
                unsafe { std::ptr::read_unaligned(rest[data_at..].as_ptr().cast()) };
            received_ms = Some(ts.tv_sec as u64 * 1000 + ts.tv_nsec as u64 / 1_000_000);
        }
        // The next header starts at the length rounded up to the word size
        // (CMSG_ALIGN).
        let step = (len + size_of::<usize>() - 1) & !(size_of::<usize>() - 1);
        rest = &rest[step.min(rest.len())..];
    }
    found.map(|a| Ancillary { received_ms, ..a })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_pktinfo_from_control_data() {
        let space = control_space();
        let mut buf = vec![0u8; space];
        // SAFETY: building a cmsg by hand in a buffer of CMSG_SPACE bytes.
        unsafe {
            let cmsg = buf.as_mut_ptr().cast::<libc::cmsghdr>();
            (*cmsg).cmsg_len = libc::CMSG_LEN(size_of::<libc::in_pktinfo>() as u32) as usize;
            (*cmsg).cmsg_level = libc::IPPROTO_IP;
            (*cmsg).cmsg_type = libc::IP_PKTINFO;
            let info = libc::CMSG_DATA(cmsg).cast::<libc::in_pktinfo>();
            (*info).ipi_ifindex = 7;
            (*info).ipi_addr.s_addr = u32::from(Ipv4Addr::BROADCAST).to_be();
        }
        assert_eq!(
            ancillary(&buf),
            Some(Ancillary {
                ifindex: 7,
                dst: Ipv4Addr::BROADCAST,
                received_ms: None
            })
        );
        // SAFETY: a second cmsg right after the first, inside the buffer.
        unsafe {
            let first = buf.as_mut_ptr().cast::<libc::cmsghdr>();
            let cmsg = libc::CMSG_NXTHDR(
                &libc::msghdr {
                    msg_control: buf.as_mut_ptr().cast(),
                    msg_controllen: space,
                    ..std::mem::zeroed()
                },
                first,
            );
            (*cmsg).cmsg_len = libc::CMSG_LEN(size_of::<libc::timespec>() as u32) as usize;
            (*cmsg).cmsg_level = libc::SOL_SOCKET;
            (*cmsg).cmsg_type = libc::SCM_TIMESTAMPNS;
            let ts = libc::CMSG_DATA(cmsg).cast::<libc::timespec>();
            (*ts).tv_sec = 1_700_000_000;
            (*ts).tv_nsec = 250_000_000;
        }
        let got = ancillary(&buf).expect("pktinfo");
        assert_eq!(got.received_ms, Some(1_700_000_000_250));
        assert_eq!(ancillary(&buf[..4]), None);
    }

    #[test]
    fn sockaddr_round_trip() {
        let a = SocketAddrV4::new(Ipv4Addr::new(10, 1, 2, 3), 67);
        let sa = sockaddr(a);
        // SAFETY: viewing a plain struct as bytes.
        let bytes = unsafe {
            std::slice::from_raw_parts((&raw const sa).cast::<u8>(), size_of::<libc::sockaddr_in>())
        };
        assert_eq!(from_sockaddr(bytes), Some(a));
    }
}
