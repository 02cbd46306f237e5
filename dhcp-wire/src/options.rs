//! Names for the numbers on the wire: option codes and DHCP message types.
//!
//! This module owns constants and the [`MessageType`] enum only. It never
//! reads or writes bytes: option values are interpreted by the reader's typed
//! helpers and produced by the writer.

use std::fmt;

/// Option codes (RFC 2132 unless noted).
pub mod code {
    /// Padding; has no length byte.
    pub const PAD: u8 = 0;
    /// Subnet mask.
    pub const SUBNET_MASK: u8 = 1;
    /// Offset of the client's subnet from UTC, in seconds (signed).
    pub const TIME_OFFSET: u8 = 2;
    /// Routers, in order of preference.
    pub const ROUTER: u8 = 3;
    /// DNS servers.
    pub const DNS: u8 = 6;
    /// Client host name.
    pub const HOST_NAME: u8 = 12;
    /// DNS domain name.
    pub const DOMAIN_NAME: u8 = 15;
    /// Interface MTU.
    pub const INTERFACE_MTU: u8 = 26;
    /// Broadcast address.
    pub const BROADCAST: u8 = 28;
    /// NTP servers.
    pub const NTP: u8 = 42;
    /// Vendor-specific information.
    pub const VENDOR_SPECIFIC: u8 = 43;
    /// Requested IP address.
    pub const REQUESTED_IP: u8 = 50;
    /// IP address lease time, seconds.
    pub const LEASE_TIME: u8 = 51;
    /// Option overload: `file` (1), `sname` (2) or both (3) hold options.
    pub const OVERLOAD: u8 = 52;
    /// DHCP message type.
    pub const MESSAGE_TYPE: u8 = 53;
    /// Server identifier.
    pub const SERVER_ID: u8 = 54;
    /// Parameter request list.
    pub const PARAMETER_REQUEST_LIST: u8 = 55;
    /// Error message text (NAK, DECLINE).
    pub const MESSAGE: u8 = 56;
    /// Maximum DHCP message size the sender accepts.
    pub const MAX_MESSAGE_SIZE: u8 = 57;
    /// Renewal (T1) time, seconds.
    pub const RENEWAL_TIME: u8 = 58;
    /// Rebinding (T2) time, seconds.
    pub const REBINDING_TIME: u8 = 59;
    /// Vendor class identifier.
    pub const VENDOR_CLASS: u8 = 60;
    /// Client identifier.
    pub const CLIENT_ID: u8 = 61;
    /// TFTP server name.
    pub const TFTP_SERVER: u8 = 66;
    /// Boot file name.
    pub const BOOTFILE: u8 = 67;
    /// User class (RFC 3004).
    pub const USER_CLASS: u8 = 77;
    /// Rapid commit (RFC 4039); zero length.
    pub const RAPID_COMMIT: u8 = 80;
    /// Client FQDN (RFC 4702).
    pub const FQDN: u8 = 81;
    /// Relay agent information (RFC 3046).
    pub const RELAY_AGENT_INFO: u8 = 82;
    /// Client system architecture (RFC 4578).
    pub const CLIENT_ARCH: u8 = 93;
    /// Client network device interface (RFC 4578).
    pub const CLIENT_NDI: u8 = 94;
    /// Client machine identifier, UUID/GUID (RFC 4578).
    pub const CLIENT_UUID: u8 = 97;
    /// Subnet selection (RFC 3011).
    pub const SUBNET_SELECTION: u8 = 118;
    /// Domain search list (RFC 3397).
    pub const DOMAIN_SEARCH: u8 = 119;
    /// Classless static routes (RFC 3442).
    pub const CLASSLESS_STATIC_ROUTE: u8 = 121;
    /// End of options; has no length byte.
    pub const END: u8 = 255;
}

/// DHCP message type, the value of option 53 (RFC 2132 §9.6).
#[repr(u8)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MessageType {
    /// DHCPDISCOVER
    Discover = 1,
    /// DHCPOFFER
    Offer = 2,
    /// DHCPREQUEST
    Request = 3,
    /// DHCPDECLINE
    Decline = 4,
    /// DHCPACK
    Ack = 5,
    /// DHCPNAK
    Nak = 6,
    /// DHCPRELEASE
    Release = 7,
    /// DHCPINFORM
    Inform = 8,
}

/// An option 53 value outside 1..=8.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnknownMessageType(pub u8);

impl fmt::Display for UnknownMessageType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown DHCP message type {}", self.0)
    }
}

impl std::error::Error for UnknownMessageType {}

impl TryFrom<u8> for MessageType {
    type Error = UnknownMessageType;

    fn try_from(v: u8) -> Result<Self, Self::Error> {
        Ok(match v {
            1 => Self::Discover,
            2 => Self::Offer,
            3 => Self::Request,
            4 => Self::Decline,
            5 => Self::Ack,
            6 => Self::Nak,
            7 => Self::Release,
            8 => Self::Inform,
            _ => return Err(UnknownMessageType(v)),
        })
    }
}

impl From<MessageType> for u8 {
    fn from(t: MessageType) -> Self {
        t as u8
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_type_round_trips_every_byte() {
        for v in 0..=u8::MAX {
            match MessageType::try_from(v) {
                Ok(t) => {
                    assert!((1..=8).contains(&v));
                    assert_eq!(u8::from(t), v);
                }
                Err(e) => {
                    assert!(!(1..=8).contains(&v));
                    assert_eq!(e, UnknownMessageType(v));
                }
            }
        }
        assert_eq!(
            UnknownMessageType(9).to_string(),
            "unknown DHCP message type 9"
        );
    }
}
