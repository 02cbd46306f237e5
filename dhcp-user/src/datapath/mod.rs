//! The datapaths under the engine: framing, interfaces, raw sending, the
//! server's UDP socket, and the io_uring event loop that ties them to the
//! workers.
//!
//! Everything here moves bytes between the engine's DHCP payloads and the
//! network; none of it knows what a DHCP message means.

pub mod control;
pub mod frame;
pub mod iface;
pub mod packet;
pub mod udp;
pub mod uring;
