//! Per-worker counters of what the server did, summed for reports.
//!
//! Each worker writes only its own block (one cache line apart from the
//! others), with relaxed atomics so a reporter can read them at any time.

use std::sync::atomic::{AtomicU64, Ordering};

use crossbeam_utils::CachePadded;

macro_rules! counters {
    ($($(#[$doc:meta])* $name:ident),* $(,)?) => {
        /// One worker's counters.
        #[derive(Debug, Default)]
        pub struct Counters {
            $($(#[$doc])* pub $name: AtomicU64,)*
        }

        /// A sum of counters at one moment.
        #[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
        pub struct Totals {
            $($(#[$doc])* pub $name: u64,)*
        }

        impl Totals {
            /// Sums the counters of every worker.
            pub fn of(workers: &[CachePadded<Counters>]) -> Totals {
                let mut t = Totals::default();
                for c in workers {
                    $(t.$name += c.$name.load(Ordering::Relaxed);)*
                }
                t
            }

            /// (name, value) pairs, for logs and tables.
            pub fn fields(&self) -> Vec<(&'static str, u64)> {
                vec![$((stringify!($name), self.$name)),*]
            }
        }
    };
}

counters! {
    /// Datagrams received on UDP/67.
    received,
    /// Replies handed to the kernel.
    sent,
    /// Replies the kernel refused.
    send_errors,
    discovers,
    requests,
    /// DECLINE messages received.
    declines,
    /// RELEASE messages received.
    releases,
    informs,
    offers,
    acks,
    naks,
    /// BOOTREPLYs to BOOTP clients.
    bootp_replies,
    /// Messages that called for an answer and got none (the reason of each
    /// is in the debug log); DECLINE and RELEASE, never answered, are not
    /// counted here.
    dropped,
    /// Datagrams that are not DHCP messages at all.
    malformed,
    /// Messages passed to the worker that owns the client.
    forwarded,
    /// Messages lost because the owning worker's inbox was full.
    inbox_full,
    /// Datagrams from interfaces this server does not serve, and (XDP
    /// datapath) frames to the server port addressed to another host.
    foreign_interface,
    /// Leases that ran out.
    expired,
    /// Requests dropped unprocessed because they waited too long in a
    /// queue (the 30 s rule).
    stale,
    /// DISCOVERs dropped because the delayed-offer queue was full (1338).
    delay_dropped,
    /// AF_XDP: frames the kernel dropped because a worker's RX ring was
    /// full (the worker fell behind), read from the socket at shutdown.
    xsk_rx_ring_full,
    /// AF_XDP: frames dropped because the queue's fill ring was empty
    /// (every frame was held: in rings, waiting for a commit or a delay).
    xsk_fill_ring_empty,
    /// AF_XDP: other frames the kernel dropped at a worker's socket.
    xsk_rx_dropped,
    /// Conflict detection: echo requests sent to addresses about to be
    /// offered.
    pings,
    /// Conflict detection: addresses that answered a ping (quarantined).
    conflicts,
    /// Conflict detection: pings that could not be sent (event 1029); their
    /// OFFERs left unchecked.
    ping_errors,
    /// Conflict detection: DISCOVERs dropped because the worker already had
    /// as many OFFERs waiting for pings as it can hold.
    ping_dropped,
    /// Lease changes written to the store.
    stored,
    /// Commits the store refused (full disk, I/O error): their ACKs were
    /// withheld, so no client holds a lease the server could forget.
    store_errors,
    /// ACKs withheld because their lease could not be made durable.
    withheld,
}

impl Counters {
    pub fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }
}
