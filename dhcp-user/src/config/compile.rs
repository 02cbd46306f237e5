//! Validation: turns the operator's [`ConfigFile`] into a [`Config`]
//! snapshot, or into the full list of what is wrong with it.
//!
//! Every error names the field the operator wrote and the value found, so
//! `xdhcpd check-config` can be read without the source code. Validation
//! never stops at the first problem.

use std::collections::{HashMap, HashSet};
use std::net::Ipv4Addr;
use std::sync::Arc;

use ipnet::Ipv4Net;

use super::error::{ConfigError, ConfigErrors};
use super::file::{
    BootpSection, ConfigFile, DurationSpec, OptionsTable, PolicySection, ReservationSection,
    ScopeSection,
};
use super::filter::{MacFilter, MacPattern};
use super::model::{
    AddrRange, Bootp, Config, OptionSet, Partition, PartitionKind, Reservation, ReservationRef,
    Scope, ScopeId, ServerParams,
};
use super::options;
use super::policy::{BootFields, Criterion, Field, Pattern, Policy, PolicyId};

const DEFAULT_LEASE_SECS: u32 = 8 * 24 * 3600;
const DEFAULT_OFFER_TIMEOUT_SECS: u64 = 60;
const DEFAULT_DECLINE_QUARANTINE_SECS: u64 = 24 * 3600;
const DEFAULT_LOW_ADDRESS_PERCENT: u8 = 90;
const DEFAULT_UNKNOWN_OPTION_INTERVAL_SECS: u64 = 60;
const DEFAULT_REQUEST_DROP_TIMEOUT_SECS: u64 = 30;
/// Windows' bound on pending delayed OFFERs.
const DEFAULT_DELAYED_OFFER_LIMIT: usize = 1000;
/// Windows' range of conflict detection attempts (0: off, the default).
const MAX_CONFLICT_ATTEMPTS: u8 = 5;
/// Wait for each conflict-detection ping's reply: 500 ms by default, at
/// most 5 s.
const DEFAULT_CONFLICT_TIMEOUT_MS: u64 = 500;
const MAX_CONFLICT_TIMEOUT_MS: u64 = 5000;
/// Windows allows at most a second of offer delay.
const MAX_OFFER_DELAY_MS: u32 = 1000;
/// Windows DHCP's default backup and cleanup intervals: an hour.
const DEFAULT_BACKUP_INTERVAL_SECS: u64 = 3600;
const DEFAULT_CLEANUP_INTERVAL_SECS: u64 = 3600;
const DEFAULT_STATE_DIR: &str = "/var/lib/xdhcpd";
/// Lease time meaning "never expires" on the wire (RFC 2132 §9.2).
pub const INFINITE_LEASE: u32 = u32::MAX;
/// Policies that can apply on one scope (its own and the server's): the
/// engine keeps a client's matches in a 128-bit set.
pub const MAX_POLICIES_PER_SCOPE: usize = 128;
/// The header's `sname` and `file` fields (RFC 2131 §2).
const SNAME_LEN: usize = 64;
const FILE_LEN: usize = 128;

/// What a scope inherits from the server section.
struct ScopeDefaults<'a> {
    options: &'a OptionSet,
    lease_secs: u32,
    authoritative: bool,
}

/// Collects errors while validation goes on.
#[derive(Default)]
struct Errors(Vec<ConfigError>);

impl Errors {
    fn push(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.0.push(ConfigError {
            field: field.into(),
            message: message.into(),
        });
    }
}

/// Validates and compiles a parsed file.
pub fn compile(file: &ConfigFile) -> Result<Config, ConfigErrors> {
    let mut errs = Errors::default();
    let srv = &file.server;

    let offer_timeout = seconds(
        &mut errs,
        "server.offer_timeout",
        srv.offer_timeout.as_ref(),
        DEFAULT_OFFER_TIMEOUT_SECS,
    );
    let quarantine = seconds(
        &mut errs,
        "server.decline_quarantine",
        srv.decline_quarantine.as_ref(),
        DEFAULT_DECLINE_QUARANTINE_SECS,
    );
    let conflict_attempts = srv.conflict_detection_attempts.unwrap_or(0);
    if conflict_attempts > MAX_CONFLICT_ATTEMPTS {
        errs.push(
            "server.conflict_detection_attempts",
            format!("{conflict_attempts} is more than {MAX_CONFLICT_ATTEMPTS}"),
        );
    }
    let conflict_timeout = millis(
        &mut errs,
        "server.conflict_detection_timeout",
        srv.conflict_detection_timeout.as_ref(),
        DEFAULT_CONFLICT_TIMEOUT_MS,
    );
    if !(1..=MAX_CONFLICT_TIMEOUT_MS).contains(&conflict_timeout) {
        errs.push(
            "server.conflict_detection_timeout",
            format!("{conflict_timeout} ms is not between 1 ms and {MAX_CONFLICT_TIMEOUT_MS} ms"),
        );
    }
    let unknown_interval = seconds(
        &mut errs,
        "server.unknown_option_event_interval",
        srv.unknown_option_event_interval.as_ref(),
        DEFAULT_UNKNOWN_OPTION_INTERVAL_SECS,
    );
    let backup_interval = seconds(
        &mut errs,
        "server.backup_interval",
        srv.backup_interval.as_ref(),
        DEFAULT_BACKUP_INTERVAL_SECS,
    );
    let cleanup_interval = seconds(
        &mut errs,
        "server.cleanup_interval",
        srv.cleanup_interval.as_ref(),
        DEFAULT_CLEANUP_INTERVAL_SECS,
    );
    if backup_interval < 60 {
        errs.push(
            "server.backup_interval",
            format!("{backup_interval} s is shorter than a minute"),
        );
    }
    if cleanup_interval == 0 {
        errs.push("server.cleanup_interval", "must be at least 1 second");
    }
    let state_dir: std::path::PathBuf = srv
        .state_dir
        .clone()
        .unwrap_or_else(|| DEFAULT_STATE_DIR.into());
    let audit = srv
        .audit_log
        .unwrap_or(true)
        .then(|| crate::audit::AuditSettings {
            dir: srv
                .audit_log_dir
                .clone()
                .unwrap_or_else(|| state_dir.join("audit")),
            max_file_bytes: srv
                .audit_log_max_file_mb
                .unwrap_or(10)
                .saturating_mul(1 << 20),
            min_free_bytes: srv
                .audit_log_min_free_mb
                .unwrap_or(20)
                .saturating_mul(1 << 20),
        });
    if srv.audit_log_max_file_mb == Some(0) {
        errs.push(
            "server.audit_log_max_file_mb",
            "0 MiB leaves no room for a single line",
        );
    }
    let mut patterns = |field: &str, list: &[String]| -> Vec<MacPattern> {
        list.iter()
            .enumerate()
            .filter_map(|(i, p)| {
                MacPattern::parse(p)
                    .map_err(|e| errs.push(format!("server.mac_filter.{field}[{i}]"), e))
                    .ok()
            })
            .collect()
    };
    let mac_filter = MacFilter {
        allow_enabled: srv.mac_filter.allow_enabled,
        allow: patterns("allow", &srv.mac_filter.allow),
        deny_enabled: srv.mac_filter.deny_enabled,
        deny: patterns("deny", &srv.mac_filter.deny),
    };
    let drop_timeout = seconds(
        &mut errs,
        "server.request_drop_timeout",
        srv.request_drop_timeout.as_ref(),
        DEFAULT_REQUEST_DROP_TIMEOUT_SECS,
    );
    if drop_timeout == 0 {
        errs.push("server.request_drop_timeout", "must be at least 1 second");
    }
    if offer_timeout == 0 {
        errs.push("server.offer_timeout", "must be at least 1 second");
    }
    let low_percent = srv
        .low_address_warning_percent
        .unwrap_or(DEFAULT_LOW_ADDRESS_PERCENT);
    if low_percent > 100 {
        errs.push(
            "server.low_address_warning_percent",
            format!("{low_percent} is above 100"),
        );
    }
    if let Some(names) = &srv.interfaces {
        for (i, name) in names.iter().enumerate() {
            if name.is_empty() || name.len() > 15 || name.contains(['/', ' ']) {
                errs.push(
                    format!("server.interfaces[{i}]"),
                    format!("{name:?} is not an interface name"),
                );
            }
        }
    }
    let default_lease = lease_seconds(
        &mut errs,
        "server.lease_time",
        srv.lease_time.as_ref(),
        DEFAULT_LEASE_SECS,
    );
    let default_authoritative = srv.authoritative.unwrap_or(true);
    let server_options = option_set(&mut errs, "server.options", &srv.options, None);
    let defaults = ScopeDefaults {
        options: &server_options,
        lease_secs: default_lease,
        authoritative: default_authoritative,
    };
    let mut policies = Vec::new();
    let server_policies = compile_policies(&mut errs, "", &file.policies, None, &mut policies);

    let mut scopes = Vec::with_capacity(file.scopes.len());
    let mut names: HashMap<&str, ScopeId> = HashMap::new();
    for (i, section) in file.scopes.iter().enumerate() {
        let id = ScopeId(i as u32);
        let label = scope_label(section, i);
        if section.name.trim().is_empty() {
            errs.push(format!("{label}.name"), "must not be empty");
        } else if names.insert(&section.name, id).is_some() {
            errs.push(
                format!("{label}.name"),
                format!("{:?} is used by another scope", section.name),
            );
        }
        if let Some(mut scope) = compile_scope(&mut errs, &label, id, section, &defaults) {
            let own = compile_policies(
                &mut errs,
                &format!("{label}."),
                &section.policies,
                Some(&scope),
                &mut policies,
            );
            carve_policy_ranges(&mut errs, &label, &mut scope, &own, &policies);
            scope.policies = own.iter().map(|(id, _)| *id).collect();
            scope
                .policies
                .extend(server_policies.iter().map(|(id, _)| *id));
            if scope.policies.len() > MAX_POLICIES_PER_SCOPE {
                errs.push(
                    format!("{label}.policy"),
                    format!(
                        "{} policies apply here with the server's; at most {MAX_POLICIES_PER_SCOPE} can",
                        scope.policies.len()
                    ),
                );
            }
            scopes.push(scope);
        }
    }
    check_overlapping_subnets(&mut errs, &scopes);
    apply_superscopes(&mut errs, file, &names, &mut scopes);
    let (by_client_id, by_mac) = index_reservations(&scopes);

    if !errs.0.is_empty() {
        return Err(ConfigErrors(errs.0));
    }
    let mut subnet_index: Vec<_> = scopes
        .iter()
        .map(|s| (u32::from(s.subnet.network()), s.subnet.prefix_len(), s.id))
        .collect();
    subnet_index.sort_unstable();
    let mut known_options = [0u64; 4];
    let configured = scopes
        .iter()
        .flat_map(|s| {
            s.options.iter().map(|(c, _)| c).chain(
                s.reservations
                    .iter()
                    .flat_map(|r| r.options.iter().map(|(c, _)| c)),
            )
        })
        .chain(
            policies
                .iter()
                .flat_map(|p| p.options.iter().map(|(c, _)| c)),
        );
    for code in (0..=255u8)
        .filter(|c| options::is_assigned(*c))
        .chain(configured)
        .chain(server_options.iter().map(|(c, _)| c))
    {
        known_options[(code / 64) as usize] |= 1 << (code % 64);
    }
    Ok(Config {
        server: ServerParams {
            interfaces: srv.interfaces.clone().unwrap_or_default(),
            server_id: srv.server_id,
            offer_timeout_ms: offer_timeout * 1000,
            delayed_offer_limit: srv
                .delayed_offer_limit
                .unwrap_or(DEFAULT_DELAYED_OFFER_LIMIT),
            request_drop_timeout_ms: drop_timeout * 1000,
            decline_quarantine_ms: quarantine * 1000,
            conflict_detection_attempts: conflict_attempts,
            conflict_detection_timeout_ms: conflict_timeout,
            low_address_warning_percent: low_percent,
            unknown_option_event_interval_ms: unknown_interval * 1000,
            state_dir,
            durability: srv.durability.unwrap_or(crate::store::Durability::Sync),
            backup_dir: srv.backup_dir.clone(),
            backup_interval_ms: backup_interval * 1000,
            cleanup_interval_ms: cleanup_interval * 1000,
            audit,
            mac_filter,
        },
        server_options,
        scopes,
        policies,
        subnet_index,
        by_client_id,
        by_mac,
        known_options,
    })
}

fn scope_label(section: &ScopeSection, index: usize) -> String {
    if section.name.trim().is_empty() {
        format!("scope[{index}]")
    } else {
        format!("scope {:?}", section.name)
    }
}

fn compile_scope(
    errs: &mut Errors,
    label: &str,
    id: ScopeId,
    section: &ScopeSection,
    defaults: &ScopeDefaults<'_>,
) -> Option<Scope> {
    let subnet = parse_subnet(errs, label, &section.subnet)?;
    let ranges = parse_ranges(errs, &format!("{label}.ranges"), &section.ranges, subnet);
    for ((_, (ia, a)), (_, (ib, b))) in pairs(&ranges) {
        if a.overlaps(b) {
            errs.push(
                format!("{label}.ranges[{ib}]"),
                format!("{} overlaps ranges[{ia}] {}", show(b), show(a)),
            );
        }
    }
    let exclusions = parse_ranges(
        errs,
        &format!("{label}.exclusions"),
        &section.exclusions,
        subnet,
    );
    for (i, ex) in &exclusions {
        if !ranges
            .iter()
            .any(|(_, r)| r.first <= ex.first && ex.last <= r.last)
        {
            errs.push(
                format!("{label}.exclusions[{i}]"),
                format!("{} is not inside any range of the scope", show(ex)),
            );
        }
    }

    let lease_secs = lease_seconds(
        errs,
        &format!("{label}.lease_time"),
        section.lease_time.as_ref(),
        defaults.lease_secs,
    );
    let (renewal_secs, rebinding_secs) = timers(errs, label, section, lease_secs);
    let offer_delay_ms = section.offer_delay_ms.unwrap_or(0);
    if offer_delay_ms > MAX_OFFER_DELAY_MS {
        errs.push(
            format!("{label}.offer_delay_ms"),
            format!("{offer_delay_ms} ms is more than {MAX_OFFER_DELAY_MS} ms"),
        );
    }

    let scope_options = option_set(
        errs,
        &format!("{label}.options"),
        &section.options,
        Some(subnet),
    );
    let mut options = defaults.options.overlaid(&scope_options);
    if options.get(1).is_none() {
        options.set(1, Box::new(subnet.netmask().octets()));
    }
    if let Some(routers) = options.get(3) {
        for router in routers.chunks_exact(4) {
            let router = Ipv4Addr::new(router[0], router[1], router[2], router[3]);
            if !subnet.contains(&router) {
                errs.push(
                    format!("{label}.options.routers"),
                    format!("router {router} is outside the subnet {subnet}"),
                );
            }
        }
    }
    let reservations = compile_reservations(errs, label, &section.reservations, subnet, &options);

    let mut ranges: Vec<AddrRange> = ranges.into_iter().map(|(_, r)| r).collect();
    ranges.sort_unstable_by_key(|r| r.first);
    let boot = boot_fields(
        errs,
        label,
        section.next_server,
        section.boot_file.as_deref(),
        section.server_name.as_deref(),
    );
    let (bootp, bootp_ranges) = compile_bootp(errs, label, &section.bootp, subnet, &ranges);
    let mut partitions = vec![Partition {
        kind: PartitionKind::Residual,
        ranges: subtract(&ranges, &bootp_ranges),
    }];
    if !bootp_ranges.is_empty() {
        partitions.push(Partition {
            kind: PartitionKind::Bootp,
            ranges: bootp_ranges,
        });
    }
    Some(Scope {
        id,
        name: Arc::from(section.name.as_str()),
        subnet,
        ranges,
        exclusions: exclusions.into_iter().map(|(_, r)| r).collect(),
        active: section.active.unwrap_or(true),
        authoritative: section.authoritative.unwrap_or(defaults.authoritative),
        lease_secs,
        offer_delay_ms,
        renewal_secs,
        rebinding_secs,
        options,
        own_options: scope_options,
        boot,
        bootp,
        // Policy ranges are carved out once the scope's policies are
        // compiled.
        partitions,
        policies: Vec::new(),
        reservations,
        network: vec![id],
        superscope: None,
    })
}

/// T1 and T2: configured, or RFC 2131 §4.4.5's defaults (0.5 and 0.875).
fn timers(errs: &mut Errors, label: &str, section: &ScopeSection, lease: u32) -> (u32, u32) {
    if lease == INFINITE_LEASE {
        return (INFINITE_LEASE, INFINITE_LEASE);
    }
    let t1_default = lease / 2;
    let t2_default = (u64::from(lease) * 7 / 8) as u32;
    let t1 = match &section.renewal_time {
        Some(s) => lease_seconds(errs, &format!("{label}.renewal_time"), Some(s), t1_default),
        None => t1_default,
    };
    let t2 = match &section.rebinding_time {
        Some(s) => lease_seconds(
            errs,
            &format!("{label}.rebinding_time"),
            Some(s),
            t2_default,
        ),
        None => t2_default,
    };
    if t1 >= t2 {
        errs.push(
            format!("{label}.renewal_time"),
            format!("{t1} s is not below the rebinding time ({t2} s)"),
        );
    }
    if t2 >= lease {
        errs.push(
            format!("{label}.rebinding_time"),
            format!("{t2} s is not below the lease time ({lease} s)"),
        );
    }
    (t1, t2)
}

fn compile_reservations(
    errs: &mut Errors,
    label: &str,
    sections: &[ReservationSection],
    subnet: Ipv4Net,
    scope_options: &OptionSet,
) -> Vec<Reservation> {
    let mut out = Vec::with_capacity(sections.len());
    let mut seen_ip = HashSet::new();
    let mut seen_mac = HashSet::new();
    let mut seen_id = HashSet::new();
    for (i, r) in sections.iter().enumerate() {
        let field = format!("{label}.reservation[{i}]");
        if !subnet.contains(&r.ip) {
            errs.push(
                format!("{field}.ip"),
                format!("{} is outside the scope's subnet {subnet}", r.ip),
            );
        } else if r.ip == subnet.network() || r.ip == subnet.broadcast() {
            errs.push(
                format!("{field}.ip"),
                format!("{} is the subnet's network or broadcast address", r.ip),
            );
        }
        if !seen_ip.insert(r.ip) {
            errs.push(
                format!("{field}.ip"),
                format!("{} is reserved twice in this scope", r.ip),
            );
        }
        let mac = r.mac.as_deref().and_then(|m| match parse_mac(m) {
            Ok(mac) => Some(mac),
            Err(e) => {
                errs.push(format!("{field}.mac"), e);
                None
            }
        });
        let client_id = r
            .client_id
            .as_deref()
            .and_then(|c| match options::parse_hex(c) {
                Ok(id) => Some(id.into_boxed_slice()),
                Err(e) => {
                    errs.push(format!("{field}.client_id"), e);
                    None
                }
            });
        if r.mac.is_none() && r.client_id.is_none() {
            errs.push(
                field.clone(),
                "needs `mac` or `client_id` to know whom it is for",
            );
        }
        if let Some(m) = &mac
            && !seen_mac.insert(m.clone())
        {
            errs.push(
                format!("{field}.mac"),
                format!(
                    "{} has two reservations in this scope",
                    r.mac.as_deref().unwrap_or_default()
                ),
            );
        }
        if let Some(c) = &client_id
            && !seen_id.insert(c.clone())
        {
            errs.push(
                format!("{field}.client_id"),
                format!(
                    "{} has two reservations in this scope",
                    r.client_id.as_deref().unwrap_or_default()
                ),
            );
        }
        let own = option_set(errs, &format!("{field}.options"), &r.options, Some(subnet));
        out.push(Reservation {
            name: Arc::from(r.name.clone().unwrap_or_else(|| r.ip.to_string())),
            ip: r.ip,
            mac,
            client_id,
            options: scope_options.overlaid(&own),
            own_options: own,
        });
    }
    out
}

/// `[scope.bootp]`: the service, if enabled, and its dynamic ranges (each
/// inside one of the scope's ranges).
fn compile_bootp(
    errs: &mut Errors,
    label: &str,
    section: &BootpSection,
    subnet: Ipv4Net,
    scope_ranges: &[AddrRange],
) -> (Option<Bootp>, Vec<AddrRange>) {
    let field = format!("{label}.bootp");
    let ranges = parse_ranges(errs, &format!("{field}.ranges"), &section.ranges, subnet);
    let ranges = inside_scope_ranges(errs, &format!("{field}.ranges"), ranges, scope_ranges);
    if !section.enabled {
        if !ranges.is_empty() || section.lease_time.is_some() {
            errs.push(
                format!("{field}.enabled"),
                "is false, but BOOTP ranges or a lease time are set: set `enabled = true` or remove them",
            );
        }
        return (None, Vec::new());
    }
    let lease_secs = lease_seconds(
        errs,
        &format!("{field}.lease_time"),
        section.lease_time.as_ref(),
        INFINITE_LEASE,
    );
    (Some(Bootp { lease_secs }), ranges)
}

/// Keeps the ranges that lie inside one range of the scope; reports the
/// others.
fn inside_scope_ranges(
    errs: &mut Errors,
    label: &str,
    ranges: Vec<(usize, AddrRange)>,
    scope_ranges: &[AddrRange],
) -> Vec<AddrRange> {
    let mut kept: Vec<AddrRange> = Vec::with_capacity(ranges.len());
    for (i, r) in ranges {
        if !scope_ranges
            .iter()
            .any(|s| s.first <= r.first && r.last <= s.last)
        {
            errs.push(
                format!("{label}[{i}]"),
                format!("{} is not inside any range of the scope", show(&r)),
            );
        } else if let Some(other) = kept.iter().find(|k| k.overlaps(&r)) {
            errs.push(
                format!("{label}[{i}]"),
                format!("{} overlaps {}", show(&r), show(other)),
            );
        } else {
            kept.push(r);
        }
    }
    kept.sort_unstable_by_key(|r| r.first);
    kept
}

/// `ranges` without the addresses of `cuts`.
fn subtract(ranges: &[AddrRange], cuts: &[AddrRange]) -> Vec<AddrRange> {
    let mut out = Vec::new();
    for r in ranges {
        let mut first = r.first;
        let mut inside: Vec<&AddrRange> = cuts.iter().filter(|c| c.overlaps(r)).collect();
        inside.sort_unstable_by_key(|c| c.first);
        for c in inside {
            if c.first > first {
                out.push(AddrRange {
                    first,
                    last: c.first - 1,
                });
            }
            match c.last.checked_add(1) {
                Some(next) => first = first.max(next),
                None => return out,
            }
        }
        if first <= r.last {
            out.push(AddrRange {
                first,
                last: r.last,
            });
        }
    }
    out
}

/// Gives each scope policy with ranges its own partition, and leaves the
/// residual what no policy or BOOTP range took.
fn carve_policy_ranges(
    errs: &mut Errors,
    label: &str,
    scope: &mut Scope,
    own: &[(PolicyId, Vec<AddrRange>)],
    policies: &[Policy],
) {
    for (id, ranges) in own.iter().filter(|(_, r)| !r.is_empty()) {
        let taken = scope.partitions[1..].iter().find_map(|p| {
            let r = ranges
                .iter()
                .find(|r| p.ranges.iter().any(|q| q.overlaps(r)))?;
            Some((r, p.kind))
        });
        if let Some((r, kind)) = taken {
            let owner = match kind {
                PartitionKind::Bootp => "the BOOTP ranges".to_string(),
                _ => "another policy's ranges".to_string(),
            };
            errs.push(
                format!("{label}.policy {:?}.ranges", policies[id.index()].name),
                format!("{} overlaps {owner}", show(r)),
            );
            continue;
        }
        scope.partitions.push(Partition {
            kind: PartitionKind::Policy(*id),
            ranges: ranges.clone(),
        });
    }
    let carved: Vec<AddrRange> = scope.partitions[1..]
        .iter()
        .flat_map(|p| p.ranges.iter().copied())
        .collect();
    scope.partitions[0].ranges = subtract(&scope.ranges, &carved);
}

/// Compiles `[[policy]]` sections (server level when `scope` is `None`)
/// into `all`; returns the enabled ones in processing order, with their
/// ranges.
fn compile_policies(
    errs: &mut Errors,
    prefix: &str,
    sections: &[PolicySection],
    scope: Option<&Scope>,
    all: &mut Vec<Policy>,
) -> Vec<(PolicyId, Vec<AddrRange>)> {
    let mut seen = HashSet::new();
    let mut enabled = Vec::new();
    for (i, section) in sections.iter().enumerate() {
        let label = format!("{prefix}policy {:?}", section.name);
        if section.name.trim().is_empty() {
            errs.push(format!("{prefix}policy[{i}].name"), "must not be empty");
        } else if !seen.insert(section.name.as_str()) {
            errs.push(format!("{label}.name"), "is used by another policy here");
        }
        let ranges = match scope {
            Some(scope) => {
                let parsed = parse_ranges(
                    errs,
                    &format!("{label}.ranges"),
                    &section.ranges,
                    scope.subnet,
                );
                inside_scope_ranges(errs, &format!("{label}.ranges"), parsed, &scope.ranges)
            }
            None => {
                if !section.ranges.is_empty() {
                    errs.push(
                        format!("{label}.ranges"),
                        "only scope policies can have ranges (a server policy spans every scope)",
                    );
                }
                Vec::new()
            }
        };
        let id = PolicyId(all.len() as u32);
        let policy = Policy {
            id,
            name: Arc::from(section.name.as_str()),
            scope: scope.map(|s| s.id),
            any: condition_is_or(errs, &label, section.condition.as_deref()),
            criteria: criteria(errs, &label, section),
            has_ranges: !ranges.is_empty(),
            lease_secs: section
                .lease_time
                .as_ref()
                .map(|t| lease_seconds(errs, &format!("{label}.lease_time"), Some(t), 0)),
            boot: boot_fields(
                errs,
                &label,
                section.next_server,
                section.boot_file.as_deref(),
                section.server_name.as_deref(),
            ),
            options: option_set(
                errs,
                &format!("{label}.options"),
                &section.options,
                scope.map(|s| s.subnet),
            ),
        };
        if section.enabled.unwrap_or(true) {
            enabled.push((section.order.unwrap_or(u32::MAX), i, id, ranges));
            all.push(policy);
        }
    }
    // Processing order; ties (and policies without an order) in file order.
    enabled.sort_by_key(|(order, i, _, _)| (*order, *i));
    enabled
        .into_iter()
        .map(|(_, _, id, ranges)| (id, ranges))
        .collect()
}

fn condition_is_or(errs: &mut Errors, label: &str, condition: Option<&str>) -> bool {
    match condition.map(str::to_ascii_lowercase).as_deref() {
        None | Some("and") => false,
        Some("or") => true,
        Some(_) => {
            errs.push(
                format!("{label}.condition"),
                format!(
                    "{:?} is neither \"and\" nor \"or\"",
                    condition.unwrap_or_default()
                ),
            );
            false
        }
    }
}

/// A criterion on bytes of the message: its key in the file, the field,
/// its `key` and `not_key` values, and how a value's text becomes bytes.
type ByteCriterion<'f> = (
    &'static str,
    Field,
    &'f Vec<String>,
    &'f Vec<String>,
    &'f dyn Fn(&str) -> Result<Vec<u8>, String>,
);

/// The criteria a policy section sets, each with its values parsed.
fn criteria(errs: &mut Errors, label: &str, p: &PolicySection) -> Vec<Criterion> {
    let text = |s: &str| Ok(s.as_bytes().to_vec());
    let fqdn = |s: &str| Ok(s.trim_end_matches('.').as_bytes().to_vec());
    let byte_fields: [ByteCriterion<'_>; 8] = [
        (
            "vendor_class",
            Field::VendorClass,
            &p.vendor_class,
            &p.not_vendor_class,
            &text,
        ),
        (
            "user_class",
            Field::UserClass,
            &p.user_class,
            &p.not_user_class,
            &text,
        ),
        (
            "client_id",
            Field::ClientId,
            &p.client_id,
            &p.not_client_id,
            &options::parse_hex,
        ),
        (
            "relay_agent",
            Field::RelayAgent,
            &p.relay_agent,
            &p.not_relay_agent,
            &options::parse_hex,
        ),
        (
            "circuit_id",
            Field::CircuitId,
            &p.circuit_id,
            &p.not_circuit_id,
            &options::parse_hex,
        ),
        (
            "remote_id",
            Field::RemoteId,
            &p.remote_id,
            &p.not_remote_id,
            &options::parse_hex,
        ),
        (
            "subscriber_id",
            Field::SubscriberId,
            &p.subscriber_id,
            &p.not_subscriber_id,
            &options::parse_hex,
        ),
        ("fqdn", Field::Fqdn, &p.fqdn, &p.not_fqdn, &fqdn),
    ];
    let mut out = Vec::new();
    for (name, field, eq, ne, parse) in byte_fields {
        for (negate, values) in [(false, eq), (true, ne)] {
            let key = if negate {
                format!("not_{name}")
            } else {
                name.to_string()
            };
            let patterns = values
                .iter()
                .enumerate()
                .filter_map(|(i, v)| {
                    Pattern::wildcard(v, parse)
                        .map_err(|e| errs.push(format!("{label}.{key}[{i}]"), e))
                        .ok()
                })
                .collect();
            push_criterion(&mut out, field, negate, patterns);
        }
    }
    for (negate, values, key) in [(false, &p.mac, "mac"), (true, &p.not_mac, "not_mac")] {
        let patterns = values
            .iter()
            .enumerate()
            .filter_map(|(i, v)| {
                MacPattern::parse(v)
                    .map(Pattern::Mac)
                    .map_err(|e| errs.push(format!("{label}.{key}[{i}]"), e))
                    .ok()
            })
            .collect();
        push_criterion(&mut out, Field::Mac, negate, patterns);
    }
    for (negate, values) in [(false, &p.client_arch), (true, &p.not_client_arch)] {
        let patterns = values.iter().map(|a| Pattern::Arch(*a)).collect();
        push_criterion(&mut out, Field::ClientArch, negate, patterns);
    }
    out
}

fn push_criterion(out: &mut Vec<Criterion>, field: Field, negate: bool, patterns: Vec<Pattern>) {
    if !patterns.is_empty() {
        out.push(Criterion {
            field,
            negate,
            patterns,
        });
    }
}

/// siaddr, file and sname, each checked against its header field's size.
fn boot_fields(
    errs: &mut Errors,
    label: &str,
    next_server: Option<Ipv4Addr>,
    boot_file: Option<&str>,
    server_name: Option<&str>,
) -> BootFields {
    let mut text = |key: &str, value: Option<&str>, max: usize| {
        let value = value?;
        // The field is NUL-terminated when shorter than its size.
        if value.is_empty() || value.len() >= max || value.contains('\0') {
            errs.push(
                format!("{label}.{key}"),
                format!("{value:?} must be 1 to {} bytes without NUL", max - 1),
            );
            return None;
        }
        Some(Box::from(value.as_bytes()))
    };
    BootFields {
        next_server,
        boot_file: text("boot_file", boot_file, FILE_LEN),
        server_name: text("server_name", server_name, SNAME_LEN),
    }
}

fn check_overlapping_subnets(errs: &mut Errors, scopes: &[Scope]) {
    for (a, b) in pairs(scopes) {
        if a.1.subnet.contains(&b.1.subnet.network()) || b.1.subnet.contains(&a.1.subnet.network())
        {
            errs.push(
                format!("scope {:?}.subnet", b.1.name),
                format!(
                    "{} overlaps scope {:?} ({})",
                    b.1.subnet, a.1.name, a.1.subnet
                ),
            );
        }
    }
}

fn apply_superscopes(
    errs: &mut Errors,
    file: &ConfigFile,
    names: &HashMap<&str, ScopeId>,
    scopes: &mut [Scope],
) {
    let mut owner: HashMap<ScopeId, &str> = HashMap::new();
    let mut seen = HashSet::new();
    for (i, sup) in file.superscopes.iter().enumerate() {
        let label = format!("superscope {:?}", sup.name);
        if sup.name.trim().is_empty() {
            errs.push(format!("superscope[{i}].name"), "must not be empty");
        } else if !seen.insert(&sup.name) {
            errs.push(format!("{label}.name"), "is used by another superscope");
        }
        if sup.scopes.is_empty() {
            errs.push(format!("{label}.scopes"), "lists no scope");
        }
        let mut members = Vec::new();
        for name in &sup.scopes {
            match names.get(name.as_str()) {
                None => errs.push(
                    format!("{label}.scopes"),
                    format!("no scope is named {name:?}"),
                ),
                Some(id) => match owner.insert(*id, &sup.name) {
                    Some(other) => errs.push(
                        format!("{label}.scopes"),
                        format!("scope {name:?} is already in superscope {other:?}"),
                    ),
                    None => members.push(*id),
                },
            }
        }
        let sup_name: Arc<str> = Arc::from(sup.name.as_str());
        for &id in &members {
            // Scopes that failed to compile are missing from `scopes`.
            if let Some(scope) = scopes.iter_mut().find(|s| s.id == id) {
                scope.network = std::iter::once(id)
                    .chain(members.iter().copied().filter(|m| *m != id))
                    .collect();
                scope.superscope = Some(sup_name.clone());
            }
        }
    }
}

type ReservationIndex = ahash::AHashMap<Box<[u8]>, Vec<ReservationRef>>;

fn index_reservations(scopes: &[Scope]) -> (ReservationIndex, ReservationIndex) {
    let mut by_id = ReservationIndex::default();
    let mut by_mac = ReservationIndex::default();
    for scope in scopes {
        for (i, r) in scope.reservations.iter().enumerate() {
            let at = ReservationRef {
                scope: scope.id,
                index: i as u32,
            };
            if let Some(id) = &r.client_id {
                by_id.entry(id.clone()).or_default().push(at);
            }
            if let Some(mac) = &r.mac {
                by_mac.entry(mac.clone()).or_default().push(at);
            }
        }
    }
    (by_id, by_mac)
}

fn option_set(
    errs: &mut Errors,
    label: &str,
    table: &OptionsTable,
    subnet: Option<Ipv4Net>,
) -> OptionSet {
    let mut set = OptionSet::default();
    for (key, value) in table {
        let field = format!("{label}.{key}");
        let def = options::lookup(key);
        let code = match (def, key.parse::<u8>()) {
            (Some(d), _) => d.code,
            (None, Ok(code)) => code,
            (None, Err(_)) => {
                errs.push(
                    field,
                    format!(
                        "{key:?} is not an option name this server knows; use its decimal code"
                    ),
                );
                continue;
            }
        };
        if let Some((_, what)) = options::SERVER_CONTROLLED.iter().find(|(c, _)| *c == code) {
            errs.push(
                field,
                format!("option {code} ({what}) is set by the server itself"),
            );
            continue;
        }
        match options::encode(def.map(|d| d.kind), value) {
            Ok(bytes) => set.set(code, bytes.into_boxed_slice()),
            Err(e) => errs.push(field, format!("option {code}: {e}")),
        }
    }
    if let (Some(subnet), Some(mask)) = (subnet, set.get(1))
        && mask != subnet.netmask().octets()
    {
        errs.push(
            format!("{label}.subnet-mask"),
            format!("does not match the subnet {subnet}"),
        );
    }
    set
}

fn parse_subnet(errs: &mut Errors, label: &str, text: &str) -> Option<Ipv4Net> {
    let field = format!("{label}.subnet");
    let Ok(net) = text.trim().parse::<Ipv4Net>() else {
        errs.push(
            field,
            format!("{text:?} is not a subnet like \"10.0.0.0/24\""),
        );
        return None;
    };
    if net.prefix_len() > 30 {
        errs.push(
            field,
            format!("{text:?} leaves no room for clients (prefix longer than /30)"),
        );
        return None;
    }
    if net.addr() != net.network() {
        errs.push(
            field,
            format!("{text:?} has host bits set; did you mean {}?", net.trunc()),
        );
        return None;
    }
    Some(net)
}

/// Parses `"a-b"` or `"a"` entries; each must lie inside `subnet` and avoid
/// its network and broadcast addresses.
fn parse_ranges(
    errs: &mut Errors,
    label: &str,
    items: &[String],
    subnet: Ipv4Net,
) -> Vec<(usize, AddrRange)> {
    let mut out = Vec::new();
    for (i, text) in items.iter().enumerate() {
        let field = format!("{label}[{i}]");
        let (a, b) = text.split_once('-').unwrap_or((text, text));
        let (Ok(first), Ok(last)) = (a.trim().parse::<Ipv4Addr>(), b.trim().parse::<Ipv4Addr>())
        else {
            errs.push(
                field,
                format!("{text:?} is not \"first-last\" with two IPv4 addresses"),
            );
            continue;
        };
        if u32::from(first) > u32::from(last) {
            errs.push(field, format!("{text:?} is reversed"));
            continue;
        }
        if !subnet.contains(&first) || !subnet.contains(&last) {
            errs.push(field, format!("{text:?} is outside the subnet {subnet}"));
            continue;
        }
        let range = AddrRange {
            first: first.into(),
            last: last.into(),
        };
        if range.contains(subnet.network().into()) || range.contains(subnet.broadcast().into()) {
            errs.push(
                field,
                format!("{text:?} includes the subnet's network or broadcast address"),
            );
            continue;
        }
        out.push((i, range));
    }
    out
}

fn parse_mac(text: &str) -> Result<Box<[u8]>, String> {
    let bytes = options::parse_hex(text).map_err(|_| format!("{text:?} is not a MAC address"))?;
    if bytes.is_empty() || bytes.len() > 16 {
        return Err(format!("{text:?} is not a MAC address"));
    }
    Ok(bytes.into_boxed_slice())
}

fn seconds(errs: &mut Errors, field: &str, spec: Option<&DurationSpec>, default: u64) -> u64 {
    match spec.map(parse_duration) {
        None => default,
        Some(Ok(Some(secs))) => secs,
        Some(Ok(None)) => {
            errs.push(field, "cannot be infinite");
            default
        }
        Some(Err(e)) => {
            errs.push(field, e);
            default
        }
    }
}

/// A duration in milliseconds (a bare number is seconds, as everywhere;
/// `"500ms"` for less than a second).
fn millis(errs: &mut Errors, field: &str, spec: Option<&DurationSpec>, default: u64) -> u64 {
    let parsed = match spec {
        None => return default,
        Some(DurationSpec::Seconds(n)) if *n < 0 => Err(format!("{n} is negative")),
        Some(DurationSpec::Seconds(n)) => Ok((*n as u64).saturating_mul(1000)),
        Some(DurationSpec::Text(t)) if t.trim().eq_ignore_ascii_case("infinite") => {
            Err("cannot be infinite".to_owned())
        }
        Some(DurationSpec::Text(t)) => humantime::parse_duration(t)
            .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
            .map_err(|e| format!("{t:?} is not a duration like \"500ms\" or \"1s\" ({e})")),
    };
    parsed.unwrap_or_else(|e| {
        errs.push(field, e);
        default
    })
}

/// A lease-like duration: positive, at most `u32` seconds, or infinite.
fn lease_seconds(errs: &mut Errors, field: &str, spec: Option<&DurationSpec>, default: u32) -> u32 {
    match spec.map(parse_duration) {
        None => default,
        Some(Ok(None)) => INFINITE_LEASE,
        Some(Ok(Some(0))) => {
            errs.push(field, "0 seconds: a lease must last at least 1 second");
            default
        }
        Some(Ok(Some(secs))) if secs >= u64::from(INFINITE_LEASE) => {
            errs.push(
                field,
                format!("{secs} s is too long; write \"infinite\" for a lease that never expires"),
            );
            default
        }
        Some(Ok(Some(secs))) => secs as u32,
        Some(Err(e)) => {
            errs.push(field, e);
            default
        }
    }
}

/// Seconds, or `None` for `"infinite"`.
fn parse_duration(spec: &DurationSpec) -> Result<Option<u64>, String> {
    match spec {
        DurationSpec::Seconds(n) if *n < 0 => Err(format!("{n} is negative")),
        DurationSpec::Seconds(n) => Ok(Some(*n as u64)),
        DurationSpec::Text(t) if t.trim().eq_ignore_ascii_case("infinite") => Ok(None),
        DurationSpec::Text(t) => humantime::parse_duration(t)
            .map(|d| Some(d.as_secs()))
            .map_err(|e| format!("{t:?} is not a duration like \"8d\" or \"12h 30m\" ({e})")),
    }
}

fn pairs<T>(items: &[T]) -> impl Iterator<Item = ((usize, &T), (usize, &T))> {
    items.iter().enumerate().flat_map(move |(i, a)| {
        items[i + 1..]
            .iter()
            .enumerate()
            .map(move |(j, b)| ((i, a), (i + 1 + j, b)))
    })
}

fn show(r: &AddrRange) -> String {
    format!("{}-{}", Ipv4Addr::from(r.first), Ipv4Addr::from(r.last))
}
