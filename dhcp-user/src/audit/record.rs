//! One line of the audit log, in the column layout of the Windows DHCP
//! server's audit log (`DhcpSrvLog-<Day>.log`), so that the parsers and
//! SIEM pipelines operators already run keep working.

use std::fmt::Write;
use std::net::Ipv4Addr;

/// The event IDs of the Windows audit log that xdhcpd writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditId {
    Started = 0,
    Stopped = 1,
    PausedLowDisk = 2,
    Assign = 10,
    Renew = 11,
    Release = 12,
    Conflict = 13,
    ScopeFull = 14,
    Nack = 15,
    Expired = 18,
    CleanupBegin = 24,
    CleanupStats = 25,
}

impl AuditId {
    /// The Description column: short words parsers match on.
    fn description(self) -> &'static str {
        match self {
            AuditId::Started => "Started",
            AuditId::Stopped => "Stopped",
            AuditId::PausedLowDisk => "Paused, low disk space",
            AuditId::Assign => "Assign",
            AuditId::Renew => "Renew",
            AuditId::Release => "Release",
            AuditId::Conflict => "Conflict",
            AuditId::ScopeFull => "Scope Full",
            AuditId::Nack => "NACK",
            AuditId::Expired => "Expired",
            AuditId::CleanupBegin => "Database Cleanup Begin",
            AuditId::CleanupStats => "Database Cleanup Statistics",
        }
    }
}

/// The column header line, exactly as Windows writes it (parsers look for
/// it; its odd spaces and final period included).
pub const COLUMNS: &str = "ID,Date,Time,Description,IP Address,Host Name,MAC Address,User Name, TransactionID, QResult,Probationtime, CorrelationID,Dhcid,VendorClass(Hex),VendorClass(ASCII),UserClass(Hex),UserClass(ASCII),RelayAgentInformation,DnsRegError.";

/// What happened, to whom.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditRecord {
    pub id: Option<AuditId>,
    /// Milliseconds since the Unix epoch.
    pub at_ms: u64,
    pub addr: Option<Ipv4Addr>,
    pub host_name: String,
    /// Hardware address, 12 uppercase hex digits for Ethernet.
    pub mac: String,
    pub xid: Option<u32>,
    pub vendor_class: Vec<u8>,
    pub user_class: Vec<u8>,
    pub relay_info: Vec<u8>,
    /// Replaces the Description column (e.g. cleanup statistics).
    pub detail: Option<String>,
}

impl AuditRecord {
    pub fn new(id: AuditId, at_ms: u64) -> AuditRecord {
        AuditRecord {
            id: Some(id),
            at_ms,
            ..AuditRecord::default()
        }
    }

    /// Appends the CSV line (with its newline) to `out`.
    pub fn write_line(&self, out: &mut String) {
        let id = self.id.map_or(0, |i| i as u8);
        let (date, time) = date_time(self.at_ms);
        let description = self
            .detail
            .as_deref()
            .unwrap_or(self.id.map_or("", AuditId::description));
        let addr = self.addr.map(|a| a.to_string()).unwrap_or_default();
        let xid = self.xid.map(|x| x.to_string()).unwrap_or_default();
        let _ = writeln!(
            out,
            "{id:02},{date},{time},{},{addr},{},{},,{xid},0,,,,{},{},{},{},{},0",
            clean(description),
            clean(&self.host_name),
            clean(&self.mac),
            hex(&self.vendor_class),
            ascii(&self.vendor_class),
            hex(&self.user_class),
            ascii(&self.user_class),
            hex(&self.relay_info),
        );
    }
}

/// `MM/DD/YY` and `HH:MM:SS`, UTC.
fn date_time(at_ms: u64) -> (String, String) {
    let t = time::OffsetDateTime::from_unix_timestamp((at_ms / 1000) as i64)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    (
        format!(
            "{:02}/{:02}/{:02}",
            u8::from(t.month()),
            t.day(),
            t.year().rem_euclid(100)
        ),
        format!("{:02}:{:02}:{:02}", t.hour(), t.minute(), t.second()),
    )
}

/// `0x…` uppercase, or empty.
fn hex(bytes: &[u8]) -> String {
    if bytes.is_empty() {
        return String::new();
    }
    let mut s = String::with_capacity(2 + 2 * bytes.len());
    s.push_str("0x");
    for b in bytes {
        let _ = write!(s, "{b:02X}");
    }
    s
}

/// Printable ASCII, anything else (commas included: the format has no
/// quoting) as `.`.
fn ascii(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|&b| {
            if b.is_ascii_graphic() && b != b',' || b == b' ' {
                b as char
            } else {
                '.'
            }
        })
        .collect()
}

/// A text field without the separators the format cannot escape.
fn clean(s: &str) -> String {
    s.chars()
        .map(|c| if c == ',' || c.is_control() { '.' } else { c })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_matches_the_windows_layout() {
        let mut r = AuditRecord::new(AuditId::Assign, 1_600_000_000_000);
        r.addr = Some(Ipv4Addr::new(192, 168, 2, 20));
        r.host_name = "host.test.com".into();
        r.mac = "000000000000".into();
        r.xid = Some(3_096_562_285);
        r.vendor_class = b"MSFT 5.0".to_vec();
        let mut line = String::new();
        r.write_line(&mut line);
        // Same shape as a real row of a Windows log (elastic's sample):
        // 10,01/01/01,01:01:01,Assign,192.168.2.20,host.test.com,000000000000,,3096562285,0,,,,0x4D53465420352E30,MSFT 5.0,,,,0
        assert_eq!(
            line,
            "10,09/13/20,12:26:40,Assign,192.168.2.20,host.test.com,000000000000,,3096562285,0,,,,0x4D53465420352E30,MSFT 5.0,,,,0\n"
        );
        assert_eq!(
            line.trim_end().split(',').count(),
            COLUMNS.split(',').count()
        );
    }

    #[test]
    fn hostile_text_cannot_break_the_columns() {
        let mut r = AuditRecord::new(AuditId::Renew, 0);
        r.host_name = "a,b\nc".into();
        r.vendor_class = b"x,y\x01".to_vec();
        r.relay_info = vec![1, 2, 0xab];
        let mut line = String::new();
        r.write_line(&mut line);
        assert_eq!(line.matches('\n').count(), 1);
        assert_eq!(line.trim_end().split(',').count(), 19);
        assert!(line.contains("a.b.c") && line.contains("x.y.") && line.contains("0x0102AB"));
    }
}
