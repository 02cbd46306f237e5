//! The audit log: one CSV line per lease event, in the layout of the
//! Windows DHCP server's audit log ([`record`]), written by its own thread
//! ([`writer`]).

pub mod record;
pub mod writer;

pub use record::{AuditId, AuditRecord};
pub use writer::{AuditLog, AuditSettings};
