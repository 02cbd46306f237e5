//! Zero-copy DHCPv4 codec for the xdhcpd hot path.
//!
//! [`Message`] is a validated view over a received buffer: parsing indexes
//! the options in place (RFC 2131 §4.1 overload, RFC 3396 concatenation) and
//! allocates only when a client splits an option into several instances.
//! [`Writer`] serialises a reply straight into a caller-owned buffer.
//!
//! This crate owns the wire format only. It never decides what a message
//! means (op code, message type, which options a reply needs): that is the
//! engine's job. It never panics on received bytes.
//!
//! The hot-path functions are `#[inline]`: the engine calls them from
//! another crate, and without it every accessor is an opaque call
//! (measured: about a third of parse-and-read time).

mod error;
mod options;
mod reader;
mod writer;

pub use error::DecodeError;
pub use options::{MessageType, UnknownMessageType, code};
pub use reader::Message;
pub use writer::{Full, ReplyHeader, Writer};

/// `op` of a client message.
pub const BOOTREQUEST: u8 = 1;
/// `op` of a server message.
pub const BOOTREPLY: u8 = 2;
/// Bytes 236..240 of a DHCP message (RFC 2131 §3).
pub const MAGIC_COOKIE: [u8; 4] = [99, 130, 83, 99];
/// Length of the BOOTP header, `op` through `file`.
pub const FIXED_HEADER_LEN: usize = 236;
/// The broadcast bit of `flags` (RFC 2131 §2).
pub const BROADCAST_FLAG: u16 = 0x8000;
/// Smallest BOOTP message a relay agent must accept (RFC 1542 §2.1);
/// [`Writer::finish`] pads replies to it.
pub const MIN_MESSAGE_LEN: usize = 300;
/// Largest buffer [`Message::parse`] accepts: more than any UDP payload.
pub const MAX_MESSAGE_LEN: usize = u16::MAX as usize;

/// Byte offsets of the header fields (RFC 2131 §2, figure 1), shared by the
/// reader and the writer so both agree on the layout.
mod layout {
    pub const XID: usize = 4;
    pub const SECS: usize = 8;
    pub const FLAGS: usize = 10;
    pub const CIADDR: usize = 12;
    pub const YIADDR: usize = 16;
    pub const SIADDR: usize = 20;
    pub const GIADDR: usize = 24;
    pub const CHADDR: usize = 28;
    pub const SNAME: usize = 44;
    pub const FILE: usize = 108;
    pub const COOKIE: usize = crate::FIXED_HEADER_LEN;
    pub const OPTIONS: usize = COOKIE + crate::MAGIC_COOKIE.len();
}
