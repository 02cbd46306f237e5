//! The datapaths under the engine: framing, interfaces, raw sending, the
//! server's UDP socket, the io_uring event loop and the AF_XDP one that tie
//! them to the workers, and [`Datapath`], which lets the daemon run either.
//!
//! Everything here moves bytes between the engine's DHCP payloads and the
//! network; none of it knows what a DHCP message means.

pub mod afxdp;
pub mod control;
pub mod frame;
mod group_commit;
pub mod iface;
pub mod packet;
pub mod ping;
pub mod udp;
pub mod uring;

use std::io;
use std::sync::Arc;

use self::afxdp::XdpPath;
use self::control::Control;
use self::uring::UringPath;
use crate::daemon::worker::Worker;
use crate::xdp::XdpMode;

/// The datapath the daemon chose at start, shared by its workers.
#[derive(Clone)]
pub enum Datapath {
    Uring(Arc<UringPath>),
    Xdp(Arc<XdpPath>),
}

impl Datapath {
    /// The daemon's commands to the workers.
    pub fn control(&self) -> &Control {
        match self {
            Self::Uring(p) => &p.control,
            Self::Xdp(p) => &p.control,
        }
    }

    /// Wakes every worker (after changing [`Self::control`]).
    pub fn wake_all(&self) {
        match self {
            Self::Uring(p) => p.wake_all(),
            Self::Xdp(p) => p.wake_all(),
        }
    }

    /// Runs one worker until shutdown (on the worker's own thread).
    pub fn run(self, worker: Worker) -> io::Result<()> {
        match self {
            Self::Uring(p) => uring::run(worker, p),
            Self::Xdp(p) => afxdp::run(worker, p),
        }
    }

    /// How logs and event 1024 name it: `io_uring`, `xdp-native` or
    /// `xdp-generic`.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Uring(_) => "io_uring",
            Self::Xdp(p) => match p.mode() {
                XdpMode::Native => "xdp-native",
                XdpMode::Generic => "xdp-generic",
            },
        }
    }
}
