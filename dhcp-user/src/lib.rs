//! xdhcpd, the server library: configuration, the sans-I/O DHCPv4 engine and
//! the sharded lease state. The binaries and datapaths are thin layers over
//! this crate.
pub mod xdp;
