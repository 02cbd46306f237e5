//! xdhcpd, the server library: configuration, the sans-I/O DHCPv4 engine and
//! the sharded lease state. The binaries and datapaths are thin layers over
//! this crate.

pub mod audit;
pub mod config;
pub mod daemon;
pub mod datapath;
pub mod engine;
pub mod events;
pub mod state;
pub mod store;
pub mod xdp;
