//! Why a buffer is not a DHCPv4 message.
//!
//! This module owns the decode error type only. It never judges DHCP
//! semantics (op code, message type, missing server id …): those are the
//! engine's decisions, made on a message that parsed.

use std::fmt;

/// The buffer cannot be read as a BOOTP/DHCPv4 message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecodeError {
    /// Shorter than the 236-byte fixed header.
    TooShort {
        /// Length of the buffer.
        len: usize,
    },
    /// Longer than any UDP payload can be (64 KiB); offsets are kept as `u16`.
    TooLong {
        /// Length of the buffer.
        len: usize,
    },
    /// An option's length byte is missing or points past the end of the
    /// region (options field, `file` or `sname`) that holds it.
    OptionOverrun {
        /// Code of the offending option.
        code: u8,
        /// Offset of its code byte in the buffer.
        offset: usize,
    },
    /// Option 52 (overload) is present but not a single byte of 1, 2 or 3,
    /// so where the remaining options live is unknown.
    BadOverload,
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TooShort { len } => write!(
                f,
                "{len} bytes is shorter than the {} byte BOOTP header",
                crate::FIXED_HEADER_LEN
            ),
            Self::TooLong { len } => write!(
                f,
                "{len} bytes is longer than the {} byte maximum message",
                crate::MAX_MESSAGE_LEN
            ),
            Self::OptionOverrun { code, offset } => {
                write!(f, "option {code} at offset {offset} runs past its region")
            }
            Self::BadOverload => f.write_str("option 52 (overload) is not one byte of 1, 2 or 3"),
        }
    }
}

impl std::error::Error for DecodeError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_the_problem() {
        assert_eq!(
            DecodeError::TooShort { len: 10 }.to_string(),
            "10 bytes is shorter than the 236 byte BOOTP header"
        );
        assert_eq!(
            DecodeError::OptionOverrun {
                code: 61,
                offset: 250
            }
            .to_string(),
            "option 61 at offset 250 runs past its region"
        );
        assert!(DecodeError::BadOverload.to_string().contains("52"));
        assert!(
            DecodeError::TooLong { len: 70_000 }
                .to_string()
                .contains("65535")
        );
    }
}
