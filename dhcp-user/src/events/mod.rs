//! Events the server emits, with their fields.
//!
//! Each [`Event`] maps to one Windows event ID of the [`catalogue`]; the
//! datapath turns it into one structured log line carrying the ID, the
//! symbolic name and the fields. Messages are worded by xdhcpd.

pub mod catalogue;

use std::fmt;
use std::net::Ipv4Addr;
use std::sync::Arc;

pub use catalogue::{EventId, Severity};

/// Why a NAK was sent (a field of event 1011).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NakReason {
    /// The requested address is not on the client's network.
    WrongNetwork,
    /// Another client holds the address, or it is reserved for one.
    HeldByOther,
    /// The address is on the network but not one this server hands out.
    NotAssignable,
    /// The client has a reservation for a different address.
    ReservedElsewhere,
    /// The server has no record of the client (authoritative scope).
    UnknownClient,
}

impl NakReason {
    pub fn as_str(self) -> &'static str {
        match self {
            NakReason::WrongNetwork => "address not on the client's network",
            NakReason::HeldByOther => "address held by another client",
            NakReason::NotAssignable => "address not assignable in this scope",
            NakReason::ReservedElsewhere => "client has a reservation for another address",
            NakReason::UnknownClient => "no lease on record for this client",
        }
    }
}

/// An event the engine reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// 1000: a client sent an option code the server has no definition of.
    UnknownOption {
        code: u8,
        len: usize,
        data: Box<[u8]>,
        suppressed: u32,
    },
    /// 1011: a NAK was sent.
    LeaseNack {
        addr: Ipv4Addr,
        client: String,
        reason: NakReason,
    },
    /// 1012: a client declined an address; it is quarantined.
    LeaseDeclined { addr: Ipv4Addr, client: String },
    /// 1013: a client released its address.
    LeaseReleased { addr: Ipv4Addr, client: String },
    /// 1020: a scope's use crossed the warning threshold.
    LowAddressWarning {
        scope: Arc<str>,
        percent_used: u8,
        free: u32,
    },
    /// 1377: a superscope's use (all its scopes together) crossed the
    /// warning threshold.
    SuperscopeLowAddressWarning {
        superscope: Arc<str>,
        percent_used: u8,
        free: u32,
    },
    /// 1063: a DISCOVER found no free address on the client's network.
    ScopeFull { scope: Arc<str> },
    /// 1064: no dynamic BOOTP address left for a BOOTP client.
    BootpFull { scope: Arc<str> },
    /// 1341: a client of a policy with ranges found them all taken.
    PolicyRangesFull { scope: Arc<str>, policy: Arc<str> },
    /// 1342: a client of no range policy found the scope's other addresses
    /// (the residual ranges) all taken.
    ResidualRangesFull { scope: Arc<str> },
    /// 1343: a policy's ranges crossed the warning threshold.
    PolicyRangesLowAddressWarning {
        scope: Arc<str>,
        policy: Arc<str>,
        percent_used: u8,
        free: u32,
    },
    /// 1376: the residual ranges crossed the warning threshold.
    ResidualRangesLowAddressWarning {
        scope: Arc<str>,
        percent_used: u8,
        free: u32,
    },
}

impl Event {
    pub fn id(&self) -> EventId {
        match self {
            Event::UnknownOption { .. } => EventId::UnknownOption,
            Event::LeaseNack { .. } => EventId::LeaseNack,
            Event::LeaseDeclined { .. } => EventId::LeaseDeclined,
            Event::LeaseReleased { .. } => EventId::LeaseRelease,
            Event::LowAddressWarning { .. } => EventId::LowAddressWarning,
            Event::ScopeFull { .. } => EventId::ScopeFull,
            Event::SuperscopeLowAddressWarning { .. } => EventId::SuperscopeLowAddressWarning,
            Event::BootpFull { .. } => EventId::BootpFull,
            Event::PolicyRangesFull { .. } => EventId::PolicyRangesFull,
            Event::ResidualRangesFull { .. } => EventId::ResidualRangesFull,
            Event::PolicyRangesLowAddressWarning { .. } => EventId::PolicyRangesLowAddressWarning,
            Event::ResidualRangesLowAddressWarning { .. } => {
                EventId::ResidualRangesLowAddressWarning
            }
        }
    }
}

impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Event::UnknownOption {
                code,
                len,
                suppressed,
                ..
            } => {
                write!(
                    f,
                    "client sent option {code} ({len} bytes), which this server does not know"
                )?;
                if *suppressed > 0 {
                    write!(f, "; {suppressed} earlier reports suppressed")?;
                }
                Ok(())
            }
            Event::LeaseNack {
                addr,
                client,
                reason,
            } => {
                write!(f, "NAK to client {client} for {addr}: {}", reason.as_str())
            }
            Event::LeaseDeclined { addr, client } => {
                write!(
                    f,
                    "client {client} declined {addr}; the address is quarantined"
                )
            }
            Event::LeaseReleased { addr, client } => write!(f, "client {client} released {addr}"),
            Event::LowAddressWarning {
                scope,
                percent_used,
                free,
            } => {
                write!(
                    f,
                    "scope {scope:?} is {percent_used}% in use; {free} addresses left"
                )
            }
            Event::ScopeFull { scope } => write!(f, "no free address left in {scope:?}"),
            Event::SuperscopeLowAddressWarning {
                superscope,
                percent_used,
                free,
            } => {
                write!(
                    f,
                    "superscope {superscope:?} is {percent_used}% in use; {free} addresses left"
                )
            }
            Event::BootpFull { scope } => {
                write!(f, "no dynamic BOOTP address left in {scope:?}")
            }
            Event::PolicyRangesFull { scope, policy } => {
                write!(
                    f,
                    "the ranges of policy {policy:?} in scope {scope:?} have no free address"
                )
            }
            Event::ResidualRangesFull { scope } => write!(
                f,
                "scope {scope:?} has no free address outside its policy ranges"
            ),
            Event::PolicyRangesLowAddressWarning {
                scope,
                policy,
                percent_used,
                free,
            } => write!(
                f,
                "the ranges of policy {policy:?} in scope {scope:?} are {percent_used}% in use; {free} addresses left"
            ),
            Event::ResidualRangesLowAddressWarning {
                scope,
                percent_used,
                free,
            } => write!(
                f,
                "scope {scope:?} outside its policy ranges is {percent_used}% in use; {free} addresses left"
            ),
        }
    }
}
