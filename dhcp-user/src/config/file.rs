//! The configuration as the operator writes it: serde types that mirror the
//! TOML file one to one.
//!
//! Nothing here is trusted. [`super::compile`] turns these into the validated
//! snapshot the engine reads; every check with an operator-facing message
//! lives there, not here.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use serde::Deserialize;

/// The whole file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    #[serde(default)]
    pub server: ServerSection,
    #[serde(default, rename = "scope")]
    pub scopes: Vec<ScopeSection>,
    #[serde(default, rename = "superscope")]
    pub superscopes: Vec<SuperscopeSection>,
    /// Server-level policies: they apply on every scope, after the scope's
    /// own policies.
    #[serde(default, rename = "policy")]
    pub policies: Vec<PolicySection>,
}

/// `[server]`: settings and options that apply to every scope.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerSection {
    /// Option 54 in every reply; by default the address of the interface the
    /// request arrived on.
    pub server_id: Option<Ipv4Addr>,
    /// Interfaces to serve, by name. Default: every interface that is up,
    /// is not loopback and has an IPv4 address.
    pub interfaces: Option<Vec<String>>,
    /// Default for scopes that do not say: NAK requests for addresses that
    /// are wrong on a network this server serves.
    pub authoritative: Option<bool>,
    /// Default lease time of scopes that do not set one.
    pub lease_time: Option<DurationSpec>,
    /// Delayed OFFERs waiting at once, server-wide; beyond it, DISCOVERs
    /// that need a delay are dropped (events 1338/1339). Default 1000.
    pub delayed_offer_limit: Option<usize>,
    /// A request that waited longer than this between arrival and
    /// processing is dropped unanswered (default 30 s, Windows' rule).
    pub request_drop_timeout: Option<DurationSpec>,
    /// How long an offered address stays reserved for the client it was
    /// offered to, waiting for its REQUEST.
    pub offer_timeout: Option<DurationSpec>,
    /// How long a declined address stays out of service (also an address
    /// found in use by conflict detection).
    pub decline_quarantine: Option<DurationSpec>,
    /// Conflict detection (Windows' "conflict detection attempts"): how
    /// many echo requests (pings) the server sends to an address it is
    /// about to offer for the first time, one after the other, waiting
    /// `conflict_detection_timeout` for a reply to each. An address that
    /// answers is in use by a host the server does not know: it is
    /// quarantined for `decline_quarantine` (audit log: conflict,
    /// `BAD_ADDRESS`) and the next free address is tried. 0–5; 0, the
    /// default, turns conflict detection off. Reservations, and addresses
    /// the client already holds (renewals, retransmitted DISCOVERs), are
    /// never pinged.
    pub conflict_detection_attempts: Option<u8>,
    /// How long each conflict-detection ping waits for its reply: 1 ms to
    /// 5 s, e.g. `"500ms"` (the default) or `1` (seconds). The OFFER leaves
    /// after `conflict_detection_attempts` × this when nobody answered.
    pub conflict_detection_timeout: Option<DurationSpec>,
    /// Event 1020 fires when a scope is at least this many percent in use.
    pub low_address_warning_percent: Option<u8>,
    /// Event 1000 (unknown option) repeats at most once per code per interval.
    pub unknown_option_event_interval: Option<DurationSpec>,
    /// Where the lease store lives (one database per worker).
    pub state_dir: Option<std::path::PathBuf>,
    /// `"sync"` (default): an ACK leaves only once its lease is on disk.
    /// `"async"`: faster, but leases of the last moments before a power
    /// loss can be lost.
    pub durability: Option<crate::store::Durability>,
    /// Where periodic backups of the lease store go; none if unset.
    pub backup_dir: Option<std::path::PathBuf>,
    pub backup_interval: Option<DurationSpec>,
    /// How often the expired-lease cleanup is reported (events 1037/1038).
    pub cleanup_interval: Option<DurationSpec>,
    /// Write the Windows-layout audit log (default true).
    pub audit_log: Option<bool>,
    /// Where the daily audit files go (default `<state_dir>/audit`).
    pub audit_log_dir: Option<std::path::PathBuf>,
    /// Size cap of one day's audit file, in MiB (default 10: Windows' 70 MB
    /// for the week's seven files).
    pub audit_log_max_file_mb: Option<u64>,
    /// Audit logging pauses while the disk has less free space, in MiB
    /// (default 20, as Windows).
    pub audit_log_min_free_mb: Option<u64>,
    #[serde(default)]
    pub mac_filter: MacFilterSection,
    #[serde(default)]
    pub options: OptionsTable,
}

/// `[server.mac_filter]`: hardware-address allow and deny lists.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MacFilterSection {
    #[serde(default)]
    pub allow_enabled: bool,
    #[serde(default)]
    pub allow: Vec<String>,
    #[serde(default)]
    pub deny_enabled: bool,
    #[serde(default)]
    pub deny: Vec<String>,
}

/// `[[scope]]`: one subnet with its address ranges.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScopeSection {
    pub name: String,
    pub description: Option<String>,
    /// `"10.0.0.0/24"`.
    pub subnet: String,
    /// `"10.0.0.10-10.0.0.200"` or a single address.
    #[serde(default)]
    pub ranges: Vec<String>,
    #[serde(default)]
    pub exclusions: Vec<String>,
    /// A deactivated scope answers nothing at all, not even a NAK.
    pub active: Option<bool>,
    pub authoritative: Option<bool>,
    pub lease_time: Option<DurationSpec>,
    /// T1; default half the lease time.
    pub renewal_time: Option<DurationSpec>,
    /// Delay before this scope's OFFERs leave, in milliseconds (the
    /// secondary server of a split scope answers later, so clients take the
    /// primary's offer). 0–1000; default 0.
    pub offer_delay_ms: Option<u32>,
    /// T2; default seven eighths of the lease time.
    pub rebinding_time: Option<DurationSpec>,
    /// Boot server of network-booting clients (the header's `siaddr`).
    pub next_server: Option<Ipv4Addr>,
    /// Boot file name (the header's `file`) for PXE and BOOTP clients.
    pub boot_file: Option<String>,
    /// Boot server host name (the header's `sname`).
    pub server_name: Option<String>,
    #[serde(default)]
    pub bootp: BootpSection,
    #[serde(default)]
    pub options: OptionsTable,
    #[serde(default, rename = "reservation")]
    pub reservations: Vec<ReservationSection>,
    #[serde(default, rename = "policy")]
    pub policies: Vec<PolicySection>,
}

/// `[scope.bootp]`: whether BOOTP clients (no DHCP message type) are served.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BootpSection {
    /// Default false: BOOTP requests on this scope go unanswered.
    #[serde(default)]
    pub enabled: bool,
    /// Addresses handed to BOOTP clients without a reservation, taken out
    /// of the scope's ranges: DHCP clients never get them, so infinite
    /// BOOTP leases cannot starve DHCP clients. Without ranges only
    /// reserved BOOTP clients are served.
    #[serde(default)]
    pub ranges: Vec<String>,
    /// Default "infinite", as BOOTP has no way to renew.
    pub lease_time: Option<DurationSpec>,
}

/// `[[policy]]` or `[[scope.policy]]`: Windows policy-based assignment.
/// A client matches when the criteria hold (all of them, or any with
/// `condition = "or"`); each criterion lists values, and holds when the
/// client's value equals one of them (`not_…`: equals none of them). A
/// trailing `*` matches any suffix (a prefix match), a leading `*` any
/// prefix (FQDN suffixes such as `"*.example.com"`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicySection {
    pub name: String,
    pub description: Option<String>,
    /// Processing order: lower first; ties keep file order. Default: after
    /// every policy that has an order, in file order.
    pub order: Option<u32>,
    pub enabled: Option<bool>,
    /// `"and"` (default) or `"or"`.
    pub condition: Option<String>,
    /// Option 60 text (`"PXEClient:Arch:00007*"`, `"MSFT 5.0"`).
    #[serde(default)]
    pub vendor_class: Vec<String>,
    #[serde(default)]
    pub not_vendor_class: Vec<String>,
    /// Option 77 text (either the whole option or one RFC 3004 class).
    #[serde(default)]
    pub user_class: Vec<String>,
    #[serde(default)]
    pub not_user_class: Vec<String>,
    /// Hardware address patterns, as in the MAC filters (`"00-15-5D-*"`).
    #[serde(default)]
    pub mac: Vec<String>,
    #[serde(default)]
    pub not_mac: Vec<String>,
    /// Option 61 in hex (`"01:00:15:5d:*"`).
    #[serde(default)]
    pub client_id: Vec<String>,
    #[serde(default)]
    pub not_client_id: Vec<String>,
    /// The whole option 82, in hex.
    #[serde(default)]
    pub relay_agent: Vec<String>,
    #[serde(default)]
    pub not_relay_agent: Vec<String>,
    /// Option 82 sub-option 1 (agent circuit id), in hex.
    #[serde(default)]
    pub circuit_id: Vec<String>,
    #[serde(default)]
    pub not_circuit_id: Vec<String>,
    /// Option 82 sub-option 2 (agent remote id), in hex.
    #[serde(default)]
    pub remote_id: Vec<String>,
    #[serde(default)]
    pub not_remote_id: Vec<String>,
    /// Option 82 sub-option 6 (subscriber id), in hex.
    #[serde(default)]
    pub subscriber_id: Vec<String>,
    #[serde(default)]
    pub not_subscriber_id: Vec<String>,
    /// Option 81's domain name, compared without case (`"*.lab.example"`).
    #[serde(default)]
    pub fqdn: Vec<String>,
    #[serde(default)]
    pub not_fqdn: Vec<String>,
    /// Option 93 client architecture types (RFC 4578: 0 BIOS, 7 and 9
    /// x64 UEFI, 11 ARM64 UEFI, ...).
    #[serde(default)]
    pub client_arch: Vec<u16>,
    #[serde(default)]
    pub not_client_arch: Vec<u16>,
    /// Scope policies only: addresses of the scope's ranges kept for the
    /// clients of this policy.
    #[serde(default)]
    pub ranges: Vec<String>,
    pub lease_time: Option<DurationSpec>,
    pub next_server: Option<Ipv4Addr>,
    pub boot_file: Option<String>,
    pub server_name: Option<String>,
    #[serde(default)]
    pub options: OptionsTable,
}

/// `[[scope.reservation]]`: a fixed address for one client.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReservationSection {
    pub name: Option<String>,
    pub description: Option<String>,
    /// Hardware address, `"00:11:22:33:44:55"` (also `-` or no separator).
    pub mac: Option<String>,
    /// Client identifier (option 61) in hex, e.g. `"01:00:11:22:33:44:55"`.
    pub client_id: Option<String>,
    pub ip: Ipv4Addr,
    #[serde(default)]
    pub options: OptionsTable,
}

/// `[[superscope]]`: several scopes on one physical network.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SuperscopeSection {
    pub name: String,
    pub scopes: Vec<String>,
}

/// A duration: whole seconds, or a string such as `"8d"`, `"12h 30m"`.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum DurationSpec {
    Seconds(i64),
    Text(String),
}

/// `options = { routers = ["10.0.0.1"], 252 = "http://wpad/wpad.dat" }`:
/// option name or decimal code → value.
pub type OptionsTable = BTreeMap<String, toml::Value>;
