//! The XDP program in front of the server: load, configure, attach, fill
//! the socket map, read counters.
//!
//! Owns the `dhcp-ebpf` object embedded at build time and, per instance,
//! one loaded copy of it attached to one interface: the program, its maps,
//! the bpf_link that keeps it attached, and the thread that forwards the
//! program's error log into the `log` crate. Dropping an [`XdpProgram`]
//! detaches it and frees all of that.
//!
//! It must never interpret packets (the program does; userspace only reads
//! what the program counted), never open AF_XDP sockets (the datapath does
//! and hands their descriptors over), never touch an interface it was not
//! given,
//! and never leave a program attached behind it: attaching goes through a
//! bpf_link, which the kernel removes when its last descriptor closes, even
//! if the process dies.

mod log_forwarder;

use std::{fmt, os::fd::BorrowedFd};

use aya::{
    Ebpf, EbpfError, EbpfLoader,
    maps::{Array, MapData, MapError, PerCpuArray, XskMap},
    programs::{ProgramError, Xdp},
};
use dhcp_common::{
    counters::{COUNTERS_MAP, Counter},
    maps::{CONFIG_MAP, ConfigSlot, XSKS_MAP},
};
use thiserror::Error;

use self::log_forwarder::LogForwarder;

use dhcp_xdp::{OBJECT, SERVER_PROGRAM as PROGRAM};

/// Where in the kernel the program runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum XdpMode {
    /// Generic XDP (`skb` mode): works on any interface, after the kernel
    /// has allocated a socket buffer, so it is the slower of the two.
    Generic,
    /// Native XDP (`driver` mode): runs in the driver before any
    /// allocation; the driver must support it.
    Native,
}

impl XdpMode {
    fn aya(self) -> aya::programs::XdpMode {
        match self {
            Self::Generic => aya::programs::XdpMode::Skb,
            Self::Native => aya::programs::XdpMode::Driver,
        }
    }
}

impl fmt::Display for XdpMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Generic => "generic (skb)",
            Self::Native => "native (driver)",
        })
    }
}

/// What the program steers, set before it is attached.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Steering {
    /// AF_XDP sockets (one per worker) on each receive queue.
    pub workers: u32,
    /// Receive queues of the interface: the socket map has `queues ×
    /// workers` slots.
    pub queues: u32,
    /// The UDP port the server answers on.
    pub port: u16,
}

/// The program's counters, summed over all CPUs (see
/// `dhcp_common::counters::Counter` for what each one counts).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct XdpCounters {
    pub frames: u64,
    pub dhcp: u64,
    pub passed: u64,
    pub malformed: u64,
    pub redirected: u64,
    pub redirect_failed: u64,
}

#[derive(Debug, Error)]
pub enum XdpError {
    #[error("{iface}: cannot load the XDP object")]
    Load {
        iface: String,
        #[source]
        source: Box<EbpfError>,
    },
    #[error("{iface}: the XDP object has no {what}")]
    Object { iface: String, what: &'static str },
    #[error("{iface}: the kernel refused the XDP program")]
    Program {
        iface: String,
        #[source]
        source: Box<ProgramError>,
    },
    #[error("{iface}: cannot attach the XDP program in {mode} mode")]
    Attach {
        iface: String,
        mode: XdpMode,
        #[source]
        source: Box<ProgramError>,
    },
    #[error("{iface}: cannot set up the XDP program's {map} map")]
    Map {
        iface: String,
        map: &'static str,
        #[source]
        source: Box<MapError>,
    },
    #[error("{iface}: cannot read the XDP counters")]
    Counters {
        iface: String,
        #[source]
        source: Box<MapError>,
    },
    #[error("{iface}: cannot forward the XDP program's log")]
    Log {
        iface: String,
        #[source]
        source: log_forwarder::Error,
    },
}

impl XdpError {
    /// Whether attaching failed because the interface already has an XDP
    /// program: another xdhcpd, or another tool (the kernel says EBUSY, or
    /// EEXIST when the other program runs in the other mode).
    pub fn is_busy(&self) -> bool {
        let Self::Attach { source, .. } = self else {
            return false;
        };
        let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(&**source);
        while let Some(err) = cause {
            if let Some(io) = err.downcast_ref::<std::io::Error>()
                && matches!(io.raw_os_error(), Some(libc::EBUSY | libc::EEXIST))
            {
                return true;
            }
            cause = err.source();
        }
        false
    }
}

/// The XDP program, loaded and attached to one interface.
pub struct XdpProgram {
    // Held for its drop, which detaches the program (and is declared first
    // so that it happens before the rest goes away).
    _ebpf: Ebpf,
    counters: PerCpuArray<MapData, u64>,
    sockets: XskMap<MapData>,
    _log: LogForwarder,
    iface: String,
}

impl XdpProgram {
    /// Loads a fresh copy of the program (with zeroed counters), configures
    /// it with `steering` and attaches it to `iface` in `mode`. Until
    /// [`Self::set_socket`] fills a slot, the DHCP frames steered to it go
    /// to the kernel. Needs CAP_BPF and CAP_NET_ADMIN.
    pub fn attach(iface: &str, mode: XdpMode, steering: Steering) -> Result<Self, XdpError> {
        let slots = steering.queues.max(1) * steering.workers.max(1);
        let mut ebpf = EbpfLoader::new()
            .map_max_entries(XSKS_MAP, slots)
            .load(OBJECT)
            .map_err(|source| XdpError::Load {
                iface: iface.to_owned(),
                source: source.into(),
            })?;
        // Taken before the program loads: the program refers to the log map,
        // which must stay open, and the forwarder keeps it.
        let log = LogForwarder::start(&mut ebpf, iface).map_err(|source| XdpError::Log {
            iface: iface.to_owned(),
            source,
        })?;
        let program: &mut Xdp = ebpf
            .program_mut(PROGRAM)
            .ok_or_else(|| XdpError::Object {
                iface: iface.to_owned(),
                what: "program `xdhcpd`",
            })?
            .try_into()
            .map_err(|source: ProgramError| XdpError::Program {
                iface: iface.to_owned(),
                source: source.into(),
            })?;
        program.load().map_err(|source| XdpError::Program {
            iface: iface.to_owned(),
            source: source.into(),
        })?;
        configure(&mut ebpf, iface, steering)?;
        let sockets = ebpf.take_map(XSKS_MAP).ok_or_else(|| XdpError::Object {
            iface: iface.to_owned(),
            what: "socket map",
        })?;
        let sockets = XskMap::try_from(sockets).map_err(|source| XdpError::Map {
            iface: iface.to_owned(),
            map: XSKS_MAP,
            source: source.into(),
        })?;
        let program: &mut Xdp = ebpf
            .program_mut(PROGRAM)
            .and_then(|p| p.try_into().ok())
            .ok_or_else(|| XdpError::Object {
                iface: iface.to_owned(),
                what: "program `xdhcpd`",
            })?;
        // The link stays owned by the program, so dropping `ebpf` detaches.
        program
            .attach(iface, mode.aya())
            .map_err(|source| XdpError::Attach {
                iface: iface.to_owned(),
                mode,
                source: source.into(),
            })?;
        let counters = ebpf
            .take_map(COUNTERS_MAP)
            .ok_or_else(|| XdpError::Object {
                iface: iface.to_owned(),
                what: "counter map",
            })?;
        let counters = PerCpuArray::try_from(counters).map_err(|source| XdpError::Counters {
            iface: iface.to_owned(),
            source: source.into(),
        })?;
        Ok(Self {
            _ebpf: ebpf,
            counters,
            sockets,
            _log: log,
            iface: iface.to_owned(),
        })
    }

    /// Puts an AF_XDP socket into slot `slot` of the socket map (see
    /// `dhcp_common::maps::xsk_slot`). The map holds its own reference to
    /// the socket until the program is dropped.
    pub fn set_socket(&mut self, slot: u32, socket: BorrowedFd<'_>) -> Result<(), XdpError> {
        self.sockets
            .set(slot, socket, 0)
            .map_err(|source| XdpError::Map {
                iface: self.iface.clone(),
                map: XSKS_MAP,
                source: source.into(),
            })
    }

    /// Reads every counter, summed over the CPUs.
    ///
    /// Each slot is read on its own, so a frame counted while this runs may
    /// show in one counter and not yet in another.
    pub fn counters(&self) -> Result<XdpCounters, XdpError> {
        let mut out = XdpCounters::default();
        for counter in Counter::ALL {
            let per_cpu =
                self.counters
                    .get(&counter.index(), 0)
                    .map_err(|source| XdpError::Counters {
                        iface: self.iface.clone(),
                        source: source.into(),
                    })?;
            let total = per_cpu.iter().sum();
            match counter {
                Counter::Frames => out.frames = total,
                Counter::Dhcp => out.dhcp = total,
                Counter::Passed => out.passed = total,
                Counter::Malformed => out.malformed = total,
                Counter::Redirected => out.redirected = total,
                Counter::RedirectFailed => out.redirect_failed = total,
            }
        }
        Ok(out)
    }
}

/// Writes `steering` into the program's configuration map.
fn configure(ebpf: &mut Ebpf, iface: &str, steering: Steering) -> Result<(), XdpError> {
    let map_error = |source: MapError| XdpError::Map {
        iface: iface.to_owned(),
        map: CONFIG_MAP,
        source: source.into(),
    };
    let map = ebpf.map_mut(CONFIG_MAP).ok_or_else(|| XdpError::Object {
        iface: iface.to_owned(),
        what: "configuration map",
    })?;
    let mut config: Array<&mut MapData, u32> = Array::try_from(map).map_err(map_error)?;
    config
        .set(ConfigSlot::Workers.index(), steering.workers, 0)
        .map_err(map_error)?;
    config
        .set(ConfigSlot::Port.index(), u32::from(steering.port), 0)
        .map_err(map_error)
}

impl fmt::Debug for XdpProgram {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("XdpProgram")
            .field("iface", &self.iface)
            .finish_non_exhaustive()
    }
}
