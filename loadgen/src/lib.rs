//! xdhcp-loadgen: simulated DHCP client populations driven against a
//! server over a raw interface, with a report of what came back.
//!
//! The pieces, each with one job:
//!
//! | module | owns |
//! |---|---|
//! | [`client`] | the bytes of one client's messages ([`SimClient`]) |
//! | [`population`] | who client `n` is: MAC, client id, relay, option 82 |
//! | [`frame`] | Ethernet/IPv4/UDP and ARP framing |
//! | [`pacer`] | how many exchanges may have started by a given time |
//! | [`backoff`] | the RFC 2131 retransmission schedule |
//! | [`scenario`] | the clients' state machines (sans-I/O, given the time) |
//! | [`wire`] | who each message is from and to; which frames are replies; ARP answers |
//! | [`stats`] | counters, latency histograms, the per-second series |
//! | [`report`] | the final numbers as data, text and JSON |
//! | [`html`] | the report as a self-contained page with charts |
//! | [`transport`] | frames on the wire: AF_XDP, or a packet socket (batched send, mmap'ed receive ring) |
//! | [`run`] | the one loop tying transport, scenario and stats together |
//! | [`responder`] | a null DHCP server that answers at once (the ceiling) |
//!
//! Everything but [`transport`] and [`run`] is free of I/O and clocks, so
//! it is unit-tested with made-up times.

pub mod backoff;
pub mod client;
pub mod frame;
pub mod html;
pub mod pacer;
pub mod population;
pub mod report;
pub mod responder;
pub mod run;
pub mod scenario;
pub mod stats;
pub mod transport;
pub mod wire;

pub use client::{AgentInfo, MESSAGE_BUF_LEN, SimClient};
