//! Forwards the XDP program's aya-log records to the `log` crate.
//!
//! The program writes records into a ring buffer map; a thread per loaded
//! program waits for the ring's descriptor to become readable and drains it.
//! The program only logs errors, so the thread sleeps nearly always.

use std::{
    io,
    os::fd::AsFd,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    thread::{self, JoinHandle},
};

use aya::Ebpf;
use aya_log::EbpfLogger;
use nix::{
    errno::Errno,
    poll::{PollFd, PollFlags, PollTimeout, poll},
};
use thiserror::Error;

/// How long the thread waits for records before it checks for shutdown:
/// bounds how long dropping the forwarder blocks.
const POLL_INTERVAL_MS: u16 = 100;

#[derive(Debug, Error)]
pub enum Error {
    #[error("cannot open the log ring")]
    Ring(#[source] aya_log::Error),
    #[error("cannot start the log thread")]
    Thread(#[source] io::Error),
}

pub struct LogForwarder {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl LogForwarder {
    /// Takes the log ring out of `ebpf` and starts draining it.
    pub fn start(ebpf: &mut Ebpf, iface: &str) -> Result<Self, Error> {
        let logger = EbpfLogger::init(ebpf).map_err(Error::Ring)?;
        let stop = Arc::new(AtomicBool::new(false));
        let thread = thread::Builder::new()
            .name(format!("xdp-log-{iface}"))
            .spawn({
                let stop = Arc::clone(&stop);
                move || drain(logger, &stop)
            })
            .map_err(Error::Thread)?;
        Ok(Self {
            stop,
            thread: Some(thread),
        })
    }
}

fn drain(mut logger: EbpfLogger<&'static dyn log::Log>, stop: &AtomicBool) {
    while !stop.load(Ordering::Relaxed) {
        let mut fds = [PollFd::new(logger.as_fd(), PollFlags::POLLIN)];
        match poll(&mut fds, PollTimeout::from(POLL_INTERVAL_MS)) {
            Ok(0) | Err(Errno::EINTR) => {}
            Ok(_) => logger.flush(),
            Err(err) => {
                log::error!("XDP log forwarding stopped: poll: {err}");
                return;
            }
        }
    }
}

impl Drop for LogForwarder {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            // A panic in the thread was already reported by the panic hook.
            let _ = thread.join();
        }
    }
}
