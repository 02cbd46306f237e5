//! The link layer under the engine: framing, interfaces and raw sending.
//!
//! Everything here moves bytes between the engine's DHCP payloads and a
//! network interface; none of it knows what a DHCP message means.

pub mod frame;
pub mod iface;
pub mod packet;
pub mod udp;
pub mod uring;
