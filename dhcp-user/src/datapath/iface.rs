//! Network interfaces as the datapaths see them: index, MAC address and
//! IPv4 addresses.
//!
//! Owns reading the kernel's interface list through getifaddrs(3) (one
//! netlink dump, no extra C library). It never changes an interface and
//! never caches: addresses can change while the daemon runs, so every call
//! reads the current state and the caller decides when to look again.

use std::{
    collections::BTreeMap,
    io::{self, ErrorKind},
    net::Ipv4Addr,
};

use ipnet::Ipv4Net;
use nix::{
    ifaddrs::{InterfaceAddress, getifaddrs},
    net::if_::{InterfaceFlags, if_nametoindex},
};

/// One network interface and its IPv4 addresses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Interface {
    pub name: String,
    /// The kernel's interface index (what packet sockets and XDP bind to).
    pub index: u32,
    /// The Ethernet address; all zeros on interfaces without one
    /// (loopback, tun, WireGuard).
    pub mac: [u8; 6],
    /// Its IPv4 addresses with their prefixes, primary first, as the kernel
    /// lists them. Addresses added with a label (`eth0:1`) are included.
    pub addrs: Vec<Ipv4Net>,
}

/// The interface called `name`, which must have at least one IPv4 address.
/// It may be down: whether to serve on it is the caller's decision.
pub fn lookup(name: &str) -> io::Result<Interface> {
    let found = read()?.into_iter().find(|(iface, _)| iface.name == name);
    match found {
        None => Err(io::Error::new(
            ErrorKind::NotFound,
            format!("network interface {name:?} does not exist"),
        )),
        Some((iface, _)) if iface.addrs.is_empty() => Err(io::Error::new(
            ErrorKind::AddrNotAvailable,
            format!("network interface {name:?} has no IPv4 address"),
        )),
        Some((iface, _)) => Ok(iface),
    }
}

/// Every interface that is up, is not a loopback, and has at least one IPv4
/// address, in index order.
pub fn all_ipv4() -> io::Result<Vec<Interface>> {
    Ok(read()?
        .into_iter()
        .filter(|(iface, flags)| {
            flags.contains(InterfaceFlags::IFF_UP)
                && !flags.contains(InterfaceFlags::IFF_LOOPBACK)
                && !iface.addrs.is_empty()
        })
        .map(|(iface, _)| iface)
        .collect())
}

/// All interfaces with their flags, in index order.
fn read() -> io::Result<Vec<(Interface, InterfaceFlags)>> {
    let entries = getifaddrs().map_err(|e| {
        io::Error::new(
            io::Error::from(e).kind(),
            format!("listing network interfaces: {e}"),
        )
    })?;
    Ok(group(entries))
}

/// Folds getifaddrs' entries (one per link, one per address) into one
/// [`Interface`] per link.
fn group(entries: impl IntoIterator<Item = InterfaceAddress>) -> Vec<(Interface, InterfaceFlags)> {
    let mut by_name: BTreeMap<String, (Interface, InterfaceFlags)> = BTreeMap::new();
    for entry in entries {
        // An address added with a label is listed under the label
        // (`eth0:1`); the kernel requires labels to start with the device
        // name, and device names cannot contain ':'.
        let name = match entry.interface_name.split_once(':') {
            Some((device, _label)) => device,
            None => entry.interface_name.as_str(),
        };
        let (iface, flags) = by_name.entry(name.to_owned()).or_insert_with(|| {
            let iface = Interface {
                name: name.to_owned(),
                index: 0,
                mac: [0; 6],
                addrs: Vec::new(),
            };
            (iface, InterfaceFlags::empty())
        });
        *flags |= entry.flags;
        let Some(address) = entry.address else {
            continue;
        };
        if let Some(link) = address.as_link_addr() {
            iface.index = u32::try_from(link.ifindex()).unwrap_or(0);
            if link.halen() == 6 {
                iface.mac = link.addr().unwrap_or([0; 6]);
            }
        } else if let Some(inet) = address.as_sockaddr_in() {
            // glibc derives the netmask from the prefix length, so it is
            // always contiguous; an address listed without one is a host.
            let mask = entry
                .netmask
                .and_then(|m| m.as_sockaddr_in().map(|m| m.ip()))
                .unwrap_or(Ipv4Addr::BROADCAST);
            if let Ok(net) = Ipv4Net::with_netmask(inet.ip(), mask) {
                iface.addrs.push(net);
            }
        }
    }
    let mut all: Vec<_> = by_name
        .into_values()
        .filter_map(|(mut iface, flags)| {
            // A link without a hardware address (tun, WireGuard) has no
            // link entry to read the index from. One that fails here was
            // removed since the dump, and is left out.
            if iface.index == 0 {
                iface.index = if_nametoindex(iface.name.as_str()).ok()?;
            }
            Some((iface, flags))
        })
        .collect();
    all.sort_by_key(|(iface, _)| iface.index);
    all
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddrV4;

    use nix::sys::socket::SockaddrStorage;

    use super::*;

    #[test]
    fn loopback_has_index_1_and_127_0_0_1() {
        let lo = lookup("lo").unwrap();
        assert_eq!(lo.name, "lo");
        // Every network namespace registers its loopback first.
        assert_eq!(lo.index, 1);
        assert_eq!(lo.mac, [0; 6]);
        assert!(lo.addrs.contains(&"127.0.0.1/8".parse().unwrap()), "{lo:?}");
    }

    #[test]
    fn a_missing_interface_is_named_in_the_error() {
        let err = lookup("xd-no-such-if").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotFound);
        assert!(err.to_string().contains("\"xd-no-such-if\""), "{err}");
    }

    #[test]
    fn all_ipv4_leaves_out_loopback_and_lists_what_lookup_finds() {
        let all = all_ipv4().unwrap();
        assert!(
            all.iter().all(|i| i.name != "lo" && !i.addrs.is_empty()),
            "{all:?}"
        );
        assert!(all.windows(2).all(|w| w[0].index < w[1].index), "{all:?}");
        for iface in all {
            assert_eq!(lookup(&iface.name).unwrap(), iface);
        }
    }

    fn inet(name: &str, addr: [u8; 4], mask: Option<[u8; 4]>) -> InterfaceAddress {
        let sockaddr = |ip: [u8; 4]| SockaddrStorage::from(SocketAddrV4::new(ip.into(), 0));
        InterfaceAddress {
            interface_name: name.to_owned(),
            flags: InterfaceFlags::IFF_UP | InterfaceFlags::IFF_LOOPBACK,
            address: Some(sockaddr(addr)),
            netmask: mask.map(sockaddr),
            broadcast: None,
            destination: None,
        }
    }

    #[test]
    fn labelled_addresses_belong_to_their_device() {
        // No link entries: the index comes from the kernel by name.
        let found = group([
            inet("lo", [127, 0, 0, 1], Some([255, 0, 0, 0])),
            inet("lo:alias", [10, 9, 8, 7], Some([255, 255, 255, 0])),
            inet("lo", [192, 0, 2, 9], None),
        ]);
        assert_eq!(found.len(), 1, "{found:?}");
        let (lo, flags) = &found[0];
        assert_eq!(lo.name, "lo");
        assert_eq!(lo.index, 1);
        assert!(flags.contains(InterfaceFlags::IFF_LOOPBACK));
        let want: Vec<Ipv4Net> = ["127.0.0.1/8", "10.9.8.7/24", "192.0.2.9/32"]
            .iter()
            .map(|s| s.parse().unwrap())
            .collect();
        assert_eq!(lo.addrs, want);
    }

    #[test]
    fn an_interface_gone_since_the_dump_is_left_out() {
        assert!(group([inet("xd-gone", [10, 0, 0, 1], None)]).is_empty());
    }
}
