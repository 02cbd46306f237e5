//! xdhcp-loadgen against xdhcp-reflector, each in a network namespace of
//! its own joined by a veth pair: the scenarios count what really crossed
//! the wire, and the deliberate faults of the reflector come out in the
//! report exactly as often as they were made.
//!
//! Needs root (namespaces, packet sockets); without it every test prints
//! why it skipped. Every process runs with a time cap and is killed if it
//! outlives it; the namespaces are deleted on drop, also after a panic.

use std::{
    fs,
    path::PathBuf,
    process::{Child, Command, Stdio},
    sync::atomic::{AtomicU32, Ordering},
    thread,
    time::{Duration, Instant},
};

use serde_json::Value;

const SERVER_IF: &str = "ls0";
const CLIENT_IF: &str = "lg0";
/// Addresses from the benchmarking range (RFC 2544), only ever inside the
/// namespaces created here.
const SERVER_IP: &str = "198.18.0.1";
const CLIENT_IP: &str = "198.18.0.2";

fn is_root() -> bool {
    // SAFETY: geteuid(2) cannot fail and touches no memory.
    unsafe { libc::geteuid() == 0 }
}

/// Skips the test (returns `None`) with a printed reason when not root.
fn topology(test: &str) -> Option<Pair> {
    if !is_root() {
        println!("skipped {test}: needs root for network namespaces and packet sockets");
        return None;
    }
    Some(Pair::new().expect("creating the namespaces"))
}

fn ip(args: &[&str]) -> std::io::Result<()> {
    let out = Command::new("ip").args(args).output()?;
    if out.status.success() {
        Ok(())
    } else {
        Err(std::io::Error::other(format!(
            "ip {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        )))
    }
}

/// Two namespaces, `…-c` (the loadgen, `lg0` 198.18.0.2/24) and `…-s`
/// (the reflector, `ls0` 198.18.0.1/24, with a route to the relays'
/// 198.19.0.0/16 through the loadgen), joined by one veth pair with one
/// queue per end and TX checksum offload off.
struct Pair {
    client: String,
    server: String,
    dir: PathBuf,
}

impl Pair {
    fn new() -> std::io::Result<Self> {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let id = format!(
            "lgtest-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let pair = Pair {
            client: format!("{id}-c"),
            server: format!("{id}-s"),
            dir: std::env::temp_dir().join(&id),
        };
        // From here on, drop cleans up whatever was created.
        fs::create_dir_all(&pair.dir)?;
        let (c, s) = (pair.client.as_str(), pair.server.as_str());
        ip(&["netns", "add", c])?;
        ip(&["netns", "add", s])?;
        // Created straight into the namespaces: no name in the caller's.
        ip(&[
            "link",
            "add",
            CLIENT_IF,
            "numtxqueues",
            "1",
            "numrxqueues",
            "1",
            "netns",
            c,
            "type",
            "veth",
            "peer",
            "name",
            SERVER_IF,
            "numtxqueues",
            "1",
            "numrxqueues",
            "1",
            "netns",
            s,
        ])?;
        for (ns, dev, addr) in [(c, CLIENT_IF, CLIENT_IP), (s, SERVER_IF, SERVER_IP)] {
            ip(&["-n", ns, "link", "set", "lo", "up"])?;
            ip(&["-n", ns, "link", "set", dev, "up"])?;
            ip(&["-n", ns, "addr", "add", &format!("{addr}/24"), "dev", dev])?;
            // Partial UDP checksums from veth offload would be sent on as
            // they are; ethtool is optional.
            let _ = Command::new("ip")
                .args(["netns", "exec", ns, "ethtool", "-K", dev, "tx", "off"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
        ip(&["-n", s, "route", "add", "198.19.0.0/16", "via", CLIENT_IP])?;
        Ok(pair)
    }

    fn spawn(&self, ns: &str, bin: &str, args: &[&str]) -> Proc {
        let child = Command::new("ip")
            .args(["netns", "exec", ns, bin])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawning");
        Proc(Some(child))
    }

    /// Starts the reflector with `extra` arguments; its counters go to
    /// `reflector.json` when it exits.
    fn reflector(&self, extra: &[&str]) -> Proc {
        let json = self.dir.join("reflector.json");
        let mut args = vec![
            "-i",
            SERVER_IF,
            "--idle-exit",
            "3",
            "--max-time",
            "60",
            "--json",
        ];
        args.push(json.to_str().unwrap());
        args.extend_from_slice(extra);
        let p = self.spawn(&self.server, env!("CARGO_BIN_EXE_xdhcp-reflector"), &args);
        // Its socket must be open before the first DISCOVER.
        thread::sleep(Duration::from_millis(300));
        p
    }

    /// Runs the loadgen to its end; returns its exit code and report.
    fn loadgen(&self, args: &[&str]) -> (i32, Value) {
        let json = self.dir.join("loadgen.json");
        let mut all = vec!["-i", CLIENT_IF, "--max-time", "60", "--quiet", "--json"];
        all.push(json.to_str().unwrap());
        all.extend_from_slice(args);
        let mut p = self.spawn(&self.client, env!("CARGO_BIN_EXE_xdhcp-loadgen"), &all);
        let (code, out, err) = p.wait(Duration::from_secs(90));
        assert!(
            code == 0 || code == 4,
            "loadgen exited {code}\n{out}\n{err}"
        );
        let report = fs::read_to_string(&json).expect("loadgen report");
        (code, serde_json::from_str(&report).expect("loadgen JSON"))
    }

    fn reflector_counters(&self, mut p: Proc) -> Value {
        let (code, out, err) = p.wait(Duration::from_secs(30));
        assert_eq!(code, 0, "reflector\n{out}\n{err}");
        serde_json::from_str(&fs::read_to_string(self.dir.join("reflector.json")).unwrap()).unwrap()
    }
}

impl Drop for Pair {
    fn drop(&mut self) {
        // Deleting a namespace deletes its end of the pair, and the pair.
        for ns in [&self.client, &self.server] {
            if let Err(e) = ip(&["netns", "del", ns]) {
                eprintln!("cleanup: {e}");
            }
        }
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// A child process killed on drop if still running.
struct Proc(Option<Child>);

impl Proc {
    /// Waits up to `limit`, killing it then; returns exit code and output.
    fn wait(&mut self, limit: Duration) -> (i32, String, String) {
        let mut child = self.0.take().expect("waited once");
        let until = Instant::now() + limit;
        while child.try_wait().expect("try_wait").is_none() {
            if Instant::now() >= until {
                let _ = child.kill();
                break;
            }
            thread::sleep(Duration::from_millis(20));
        }
        let out = child.wait_with_output().expect("output");
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into(),
            String::from_utf8_lossy(&out.stderr).into(),
        )
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if let Some(mut c) = self.0.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// The report's exchange of `kind` ("do", "ra", "renew", "release").
fn exchange<'a>(r: &'a Value, kind: &str) -> &'a Value {
    r["exchanges"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == kind)
        .unwrap_or_else(|| panic!("no {kind} exchange in {r:#}"))
}

fn n(v: &Value) -> u64 {
    v.as_u64().unwrap_or_else(|| panic!("not a count: {v}"))
}

#[test]
fn a_dora_run_of_2000_clients_over_af_xdp_completes_without_drops() {
    dora_2000_without_drops(
        "a_dora_run_of_2000_clients_over_af_xdp_completes_without_drops",
        "xdp",
        "AF_XDP (native XDP)",
    );
}

#[test]
fn a_dora_run_of_2000_clients_over_packet_sockets_completes_without_drops() {
    dora_2000_without_drops(
        "a_dora_run_of_2000_clients_over_packet_sockets_completes_without_drops",
        "packet",
        "AF_PACKET",
    );
}

/// 2,000 DORAs with both ends on `transport`, which the reports must
/// name as `shown` (a veth runs XDP in its driver).
fn dora_2000_without_drops(test: &str, transport: &str, shown: &str) {
    let Some(t) = topology(test) else {
        return;
    };
    let refl = t.reflector(&["--transport", transport]);
    let (code, r) = t.loadgen(&[
        "--clients",
        "2000",
        "--rate",
        "4000",
        "--transport",
        transport,
    ]);
    let counters = t.reflector_counters(refl);
    assert_eq!(code, 0);
    assert_eq!(r["io"]["transport"], shown);
    assert_eq!(counters["transport"], shown);
    for kind in ["do", "ra"] {
        let e = exchange(&r, kind);
        assert_eq!(
            (n(&e["sent"]), n(&e["answered"]), n(&e["drops"])),
            (2000, 2000, 0),
            "{kind}"
        );
        assert!(e["latency_us"]["p50"].as_f64().unwrap() > 0.0);
    }
    assert_eq!(n(&r["offered"]), 2000);
    assert_eq!(n(&r["clients_bound"]), 2000);
    assert_eq!(n(&r["duplicate_addresses"]), 0);
    assert!(
        r["problems"].as_array().unwrap().is_empty(),
        "{:#}",
        r["problems"]
    );
    assert_eq!((n(&counters["offers"]), n(&counters["acks"])), (2000, 2000));
    let series: u64 = r["series"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| n(&s["offered"]))
        .sum();
    assert_eq!(series, 2000, "the per-second series adds up to the total");
}

#[test]
fn relayed_clients_reach_the_server_through_many_relays() {
    let Some(t) = topology("relayed_clients_reach_the_server_through_many_relays") else {
        return;
    };
    let refl = t.reflector(&[]);
    let (_, r) = t.loadgen(&[
        "--scenario",
        "relay",
        "--relays",
        "8",
        "--server",
        SERVER_IP,
        "--clients",
        "1000",
        "--rate",
        "4000",
        "--client-id",
    ]);
    let counters = t.reflector_counters(refl);
    let ra = exchange(&r, "ra");
    assert_eq!((n(&ra["answered"]), n(&ra["drops"])), (1000, 0));
    assert_eq!(r["run"]["relays"], 8);
    assert_eq!(n(&counters["acks"]), 1000);
    // The reflector answered to giaddr:67 at the loadgen's MAC; the
    // loadgen found the server's MAC by ARP first.
    let frames = n(&r["io"]["frames_received"]);
    assert!(
        (2001..=2005).contains(&frames),
        "OFFERs, ACKs and an ARP reply: {frames}"
    );
}

#[test]
fn every_tenth_reply_withheld_is_counted_as_a_drop() {
    let Some(t) = topology("every_tenth_reply_withheld_is_counted_as_a_drop") else {
        return;
    };
    let refl = t.reflector(&["--drop-every", "10"]);
    let (_, r) = t.loadgen(&["--clients", "2000", "--rate", "4000", "--timeout", "300"]);
    let counters = t.reflector_counters(refl);
    let (d, a) = (exchange(&r, "do"), exchange(&r, "ra"));
    let withheld = n(&counters["dropped"]);
    assert_eq!(
        n(&d["drops"]) + n(&a["drops"]),
        withheld,
        "every withheld reply is one drop"
    );
    let replies = n(&counters["offers"]) + n(&counters["acks"]);
    assert_eq!(withheld, replies / 10);
    // ≈ 10 % of all transmissions.
    let sent = n(&d["sent"]) + n(&a["sent"]);
    let pct = 100.0 * withheld as f64 / sent as f64;
    assert!((9.0..=11.0).contains(&pct), "{pct} %");
    assert_eq!(n(&d["answered"]) + n(&a["answered"]), replies - withheld);
    assert!(
        r["problems"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p.as_str().unwrap().contains("unanswered"))
    );
}

#[test]
fn an_address_given_twice_is_reported_as_a_duplicate() {
    let Some(t) = topology("an_address_given_twice_is_reported_as_a_duplicate") else {
        return;
    };
    let refl = t.reflector(&["--duplicate-every", "100"]);
    let (code, r) = t.loadgen(&["--clients", "1000", "--rate", "4000"]);
    let counters = t.reflector_counters(refl);
    assert_eq!(n(&counters["duplicates"]), 10);
    assert_eq!(n(&r["duplicate_addresses"]), 10);
    assert_eq!(code, 4, "exit status 4 when an address went to two clients");
    let ex = &r["duplicate_examples"][0];
    assert_ne!(ex["holder"], ex["given_to"]);
}

#[test]
fn naks_are_counted_per_exchange() {
    let Some(t) = topology("naks_are_counted_per_exchange") else {
        return;
    };
    let refl = t.reflector(&["--nak-every", "5"]);
    let (_, r) = t.loadgen(&["--clients", "1000", "--rate", "4000"]);
    let counters = t.reflector_counters(refl);
    let ra = exchange(&r, "ra");
    assert_eq!(n(&counters["naks"]), 200);
    assert_eq!(n(&ra["naks"]), 200);
    assert_eq!(n(&ra["answered"]), 1000, "a NAK answers the exchange");
    assert_eq!(n(&r["clients_bound"]), 800);
}

#[test]
fn renew_then_release_after_binding_every_client() {
    let Some(t) = topology("renew_then_release_after_binding_every_client") else {
        return;
    };
    let refl = t.reflector(&[]);
    let (_, r) = t.loadgen(&[
        "--scenario",
        "renew",
        "--clients",
        "500",
        "--count",
        "1500",
        "--rate",
        "5000",
    ]);
    let renew = exchange(&r, "renew");
    assert_eq!(
        (n(&renew["sent"]), n(&renew["answered"]), n(&renew["drops"])),
        (1500, 1500, 0)
    );
    assert_eq!(n(&exchange(&r, "ra")["answered"]), 500);
    let counters = t.reflector_counters(refl);
    assert_eq!(n(&counters["requests"]), 2000);

    let refl = t.reflector(&[]);
    let (_, r) = t.loadgen(&[
        "--scenario",
        "release",
        "--clients",
        "500",
        "--rate",
        "5000",
    ]);
    let counters = t.reflector_counters(refl);
    assert_eq!(n(&exchange(&r, "release")["sent"]), 500);
    assert_eq!(n(&counters["releases"]), 500);
    assert_eq!(n(&r["clients_bound"]), 0);
}

#[test]
fn a_storm_binds_every_client_and_reports_bind_times() {
    let Some(t) = topology("a_storm_binds_every_client_and_reports_bind_times") else {
        return;
    };
    let refl = t.reflector(&[]);
    let (_, r) = t.loadgen(&["--scenario", "storm", "--clients", "3000"]);
    t.reflector_counters(refl);
    let storm = &r["storm"];
    assert_eq!((n(&storm["bound"]), n(&storm["gave_up"])), (3000, 0));
    assert!(storm["bind_time_us"]["max"].as_f64().unwrap() > 0.0);
    assert_eq!(n(&exchange(&r, "do")["retransmits"]), 0);
}
