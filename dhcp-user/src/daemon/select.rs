//! Which datapath runs, and why: the order of attempts (native XDP, generic
//! XDP, then io_uring where falling back is allowed) and the log lines and
//! events that explain the outcome.
//!
//! It opens datapaths but never runs them, and never changes its mind after
//! start: the choice holds until the process exits.

use std::os::fd::OwnedFd;
use std::sync::Arc;

use anyhow::{Context, bail};

use super::{DatapathChoice, fatal};
use crate::catalogued;
use crate::datapath::Datapath;
use crate::datapath::afxdp::XdpPath;
use crate::datapath::uring::{Link, UringPath};
use crate::events::EventId;
use crate::xdp::XdpMode;

/// The opened datapath, and a note for event 1024 on why it is this one
/// (empty when it is the one asked for).
pub struct Chosen {
    pub path: Datapath,
    pub note: String,
}

/// Opens the datapath `choice` asks for on `links`. `udp` is the bound
/// UDP/67 socket: the io_uring datapath serves on it, the XDP one keeps it
/// bound unused.
pub fn open(
    choice: DatapathChoice,
    udp: OwnedFd,
    links: Vec<Link>,
    workers: usize,
    port: u16,
) -> anyhow::Result<Chosen> {
    let (modes, may_fall_back): (&[XdpMode], bool) = match choice {
        DatapathChoice::Uring => (&[], true),
        DatapathChoice::Auto => (&[XdpMode::Native, XdpMode::Generic], true),
        DatapathChoice::Xdp => (&[XdpMode::Native, XdpMode::Generic], false),
        DatapathChoice::XdpNative => (&[XdpMode::Native], false),
        DatapathChoice::XdpGeneric => (&[XdpMode::Generic], false),
    };
    let names: Vec<&str> = links.iter().map(|l| l.iface.name.as_str()).collect();
    let mut failures = Vec::new();
    for &mode in modes {
        let ifaces = links.iter().map(|l| l.iface.clone()).collect();
        let kept = udp.try_clone().context("cannot duplicate the UDP socket")?;
        match XdpPath::open(ifaces, workers, mode, port, kept) {
            Ok(path) => {
                tracing::info!(
                    mode = %mode,
                    zero_copy = path.zero_copy(),
                    "XDP program attached in {mode} mode on {}; AF_XDP sockets in {} mode",
                    names.join(", "),
                    if path.zero_copy() {
                        "zero-copy"
                    } else {
                        "copy (the driver has no zero-copy support)"
                    }
                );
                let note = if failures.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", failures.join("; "))
                };
                return Ok(Chosen {
                    path: Datapath::Xdp(Arc::new(path)),
                    note,
                });
            }
            Err(e) if e.is_busy() => {
                // Another xdhcpd (or another XDP tool) owns the hook: two
                // programs cannot both steer the interface's DHCP traffic.
                catalogued!(EventId::PortUnavailable, port = port; "{e}: another XDP program is attached (another xdhcpd?); detach it or run with --datapath uring");
                fatal(&format!("{:#}", anyhow::Error::new(e)));
                bail!("the XDP hook is taken");
            }
            Err(e) => {
                let why = format!("{mode} XDP unavailable: {:#}", anyhow::Error::new(e));
                tracing::warn!("{why}");
                failures.push(why);
            }
        }
    }
    if !modes.is_empty() && !may_fall_back {
        let why = format!(
            "the XDP datapath cannot run and --datapath {} does not fall back to io_uring: {}",
            match choice {
                DatapathChoice::XdpNative => "xdp-native",
                DatapathChoice::XdpGeneric => "xdp-generic",
                _ => "xdp",
            },
            failures.join("; ")
        );
        fatal(&why);
        bail!(why);
    }
    let path =
        UringPath::new(udp, links, workers).context("cannot set up the io_uring datapath")?;
    if !failures.is_empty() {
        tracing::warn!("falling back to the io_uring datapath");
    }
    let note = if failures.is_empty() {
        String::new()
    } else {
        format!(" (fell back: {})", failures.join("; "))
    };
    Ok(Chosen {
        path: Datapath::Uring(Arc::new(path)),
        note,
    })
}
