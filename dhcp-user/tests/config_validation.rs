//! Configuration validation: every error names the field and the value, and
//! all errors are reported at once.

use dhcp_user::config::{self, ConfigErrors};

fn errors(toml: &str) -> Vec<String> {
    match config::from_toml(toml) {
        Ok(_) => panic!("config was accepted:\n{toml}"),
        Err(ConfigErrors(errs)) => errs.iter().map(|e| e.to_string()).collect(),
    }
}

fn has(errs: &[String], needle: &[&str]) {
    assert!(
        errs.iter().any(|e| needle.iter().all(|n| e.contains(n))),
        "no error containing {needle:?} in {errs:#?}"
    );
}

#[test]
fn the_example_configuration_is_valid() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/xdhcpd.toml");
    let cfg = config::load(std::path::Path::new(path)).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(cfg.scopes.len(), 5);
    // The phones' policy range is cut out of campus-a's range; lab-boot
    // has a BOOTP partition; both see the server's PXE policy after their own.
    let campus = cfg.scopes.iter().find(|s| &*s.name == "campus-a").unwrap();
    assert_eq!(campus.partitions.len(), 2);
    assert_eq!(campus.policies.len(), 2);
    let boot = cfg.scopes.iter().find(|s| &*s.name == "lab-boot").unwrap();
    assert!(boot.bootp.is_some() && boot.bootp_partition().is_some());
    let dorm2 = cfg.scopes.iter().find(|s| &*s.name == "dorm-2").unwrap();
    assert_eq!(dorm2.network.len(), 2);
    assert!(
        !cfg.scopes
            .iter()
            .find(|s| &*s.name == "lab")
            .unwrap()
            .active
    );
}

#[test]
fn overlapping_ranges_and_subnets() {
    let errs = errors(
        r#"
        [[scope]]
        name = "a"
        subnet = "10.0.0.0/24"
        ranges = ["10.0.0.10-10.0.0.50", "10.0.0.40-10.0.0.60"]
        [[scope]]
        name = "b"
        subnet = "10.0.0.128/25"
        "#,
    );
    has(
        &errs,
        &["scope \"a\".ranges[1]", "10.0.0.40-10.0.0.60", "overlaps"],
    );
    has(
        &errs,
        &["scope \"b\".subnet", "10.0.0.128/25", "overlaps", "\"a\""],
    );
}

#[test]
fn reservation_outside_scope_and_duplicates() {
    let errs = errors(
        r#"
        [[scope]]
        name = "a"
        subnet = "10.0.0.0/24"
        [[scope.reservation]]
        mac = "02:00:00:00:00:01"
        ip = "10.1.0.5"
        [[scope.reservation]]
        mac = "02:00:00:00:00:02"
        ip = "10.0.0.6"
        [[scope.reservation]]
        mac = "02-00-00-00-00-02"
        ip = "10.0.0.6"
        [[scope.reservation]]
        ip = "10.0.0.7"
        "#,
    );
    has(
        &errs,
        &["reservation[0].ip", "10.1.0.5", "outside", "10.0.0.0/24"],
    );
    has(&errs, &["reservation[2].ip", "10.0.0.6", "twice"]);
    has(
        &errs,
        &[
            "reservation[2].mac",
            "02-00-00-00-00-02",
            "two reservations",
        ],
    );
    has(&errs, &["reservation[3]", "mac", "client_id"]);
}

#[test]
fn router_outside_subnet_and_exclusion_outside_range() {
    let errs = errors(
        r#"
        [[scope]]
        name = "a"
        subnet = "10.0.0.0/24"
        ranges = ["10.0.0.10-10.0.0.20"]
        exclusions = ["10.0.0.30"]
        options = { routers = ["10.0.1.1"] }
        "#,
    );
    has(
        &errs,
        &["scope \"a\".options.routers", "10.0.1.1", "outside"],
    );
    has(
        &errs,
        &[
            "scope \"a\".exclusions[0]",
            "10.0.0.30",
            "not inside any range",
        ],
    );
}

#[test]
fn lease_time_zero_and_bad_timers() {
    let errs = errors(
        r#"
        [server]
        lease_time = 0
        [[scope]]
        name = "a"
        subnet = "10.0.0.0/24"
        lease_time = "1h"
        renewal_time = "50m"
        rebinding_time = "40m"
        [[scope]]
        name = "b"
        subnet = "10.0.1.0/24"
        lease_time = "forever"
        "#,
    );
    has(&errs, &["server.lease_time", "0 seconds"]);
    has(&errs, &["scope \"a\".renewal_time", "3000", "2400"]);
    has(&errs, &["scope \"b\".lease_time", "\"forever\""]);
}

#[test]
fn ranges_that_are_reversed_outside_or_cover_the_broadcast() {
    let errs = errors(
        r#"
        [[scope]]
        name = "a"
        subnet = "10.0.0.0/24"
        ranges = ["10.0.0.50-10.0.0.10", "10.0.1.1-10.0.1.9", "10.0.0.200-10.0.0.255", "nonsense"]
        "#,
    );
    has(&errs, &["ranges[0]", "10.0.0.50-10.0.0.10", "reversed"]);
    has(&errs, &["ranges[1]", "outside the subnet"]);
    has(&errs, &["ranges[2]", "broadcast"]);
    has(&errs, &["ranges[3]", "nonsense"]);
}

#[test]
fn subnet_problems_and_names() {
    let errs = errors(
        r#"
        [[scope]]
        name = "a"
        subnet = "10.0.0.5/24"
        [[scope]]
        name = "a"
        subnet = "10.0.9.0/24"
        [[scope]]
        name = "c"
        subnet = "banana"
        [[superscope]]
        name = "s"
        scopes = ["a", "zzz"]
        "#,
    );
    has(&errs, &["scope \"a\".subnet", "host bits", "10.0.0.0/24"]);
    has(&errs, &["scope \"a\".name", "another scope"]);
    has(&errs, &["scope \"c\".subnet", "banana"]);
    has(&errs, &["superscope \"s\".scopes", "zzz"]);
}

#[test]
fn options_checked_by_name_code_and_value() {
    let errs = errors(
        r#"
        [server.options]
        no-such-option = "x"
        53 = "x"
        interface-mtu = 70000
        domain-name-servers = ["10.0.0.256"]
        [[scope]]
        name = "a"
        subnet = "10.0.0.0/24"
        options = { subnet-mask = "255.255.0.0" }
        "#,
    );
    has(
        &errs,
        &["server.options.no-such-option", "not an option name"],
    );
    has(
        &errs,
        &["server.options.53", "message type", "set by the server"],
    );
    has(&errs, &["server.options.interface-mtu", "70000"]);
    has(&errs, &["server.options.domain-name-servers", "10.0.0.256"]);
    has(&errs, &["scope \"a\".options.subnet-mask", "10.0.0.0/24"]);
}

#[test]
fn syntax_errors_name_the_line_and_unknown_fields_are_refused() {
    let errs = errors("[server]\nlease_tim = 5\n");
    has(&errs, &["line 2", "lease_tim"]);
    let errs = errors("[[scope]]\nname = \"a\"\nsubnet = [1\n");
    has(&errs, &["line"]);
}

#[test]
fn all_errors_come_at_once() {
    let errs = errors(
        r#"
        [server]
        low_address_warning_percent = 150
        offer_timeout = 0
        [[scope]]
        name = "a"
        subnet = "10.0.0.0/24"
        ranges = ["10.0.0.50-10.0.0.10"]
        "#,
    );
    assert_eq!(errs.len(), 3, "{errs:#?}");
}

#[test]
fn mac_filter_patterns_are_checked() {
    let errs = errors(
        r#"
        [server.mac_filter]
        deny_enabled = true
        deny = ["00:15:5D:*", "zz-zz"]
        "#,
    );
    has(&errs, &["server.mac_filter.deny[1]", "zz-zz"]);
    assert_eq!(errs.len(), 1, "{errs:#?}");
}

#[test]
fn offer_delay_is_at_most_a_second() {
    let errs = errors("[[scope]]\nname = \"a\"\nsubnet = \"10.0.0.0/24\"\noffer_delay_ms = 1500\n");
    has(&errs, &["scope \"a\".offer_delay_ms", "1500"]);
}

#[test]
fn conflict_detection_attempts_and_timeout_are_bounded() {
    let errs =
        errors("[server]\nconflict_detection_attempts = 6\nconflict_detection_timeout = \"6s\"\n");
    has(&errs, &["server.conflict_detection_attempts", "6"]);
    has(&errs, &["server.conflict_detection_timeout", "6000 ms"]);
    let errs = errors("[server]\nconflict_detection_timeout = \"0ms\"\n");
    has(&errs, &["server.conflict_detection_timeout", "0 ms"]);
    let errs = errors("[server]\nconflict_detection_timeout = \"soon\"\n");
    has(&errs, &["server.conflict_detection_timeout", "soon"]);

    let cfg = config::from_toml("[server]\nconflict_detection_attempts = 5\n").unwrap();
    assert_eq!(cfg.server.conflict_detection_attempts, 5);
    assert_eq!(cfg.server.conflict_detection_timeout_ms, 500, "default");
    let cfg = config::from_toml("[server]\nconflict_detection_timeout = 2\n").unwrap();
    assert_eq!(cfg.server.conflict_detection_attempts, 0, "off by default");
    assert_eq!(
        cfg.server.conflict_detection_timeout_ms, 2000,
        "a number is seconds"
    );
    let cfg = config::from_toml("[server]\nconflict_detection_timeout = \"250ms\"\n").unwrap();
    assert_eq!(cfg.server.conflict_detection_timeout_ms, 250);
}
