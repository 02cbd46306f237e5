//! The ceiling of the path: how many frames per second an XDP_TX
//! reflector (swap the MACs, send back: the least work an XDP responder
//! can do) turns around on the same veth, with the same NAPI pinning.
//!
//! `xdp-tx-ceiling` (benches/src/bin) attaches the reflector to the server
//! end and an XDP_DROP sink to the client end, then blasts 342-byte frames
//! (a DHCPDISCOVER's size) into the client end from the loadgen's core. The
//! reflected count is the server end's `rx_queue_0_xdp_tx` counter. A DORA
//! is 4 frames at the server (2 in, 2 out), so a server's share of the
//! ceiling is 4 × DORA/s ÷ this rate.

use std::{
    process::{Child, Stdio},
    time::Duration,
};

use anyhow::{Context, Result, bail};
use serde::Serialize;

use super::{
    binaries::Binaries,
    cores,
    topology::{CLIENT_IF, CLIENT_NS, LOADGEN_CPU, SERVER_IF, SERVER_NS, Topology},
};
use crate::{
    netns::in_ns,
    process::{self, run_cmd},
    workspace::say,
};

#[derive(Clone, Copy, Debug, Serialize)]
pub struct Ceiling {
    pub reflected_frames: u64,
    pub offered_frames: u64,
    pub seconds: f64,
    pub frames_per_s: f64,
}

/// Stops the reflector and the sink however the measurement ends.
struct Programs(Vec<Child>);

impl Drop for Programs {
    fn drop(&mut self) {
        for child in &mut self.0 {
            process::stop(child);
        }
    }
}

pub fn measure(
    bins: &Binaries,
    topology: &Topology,
    period: Duration,
    quiet_wait: Duration,
) -> Result<Ceiling> {
    cores::wait_quiet(quiet_wait)?;
    // They detach when stopped; the time limit is a backstop.
    let lifetime = (period + Duration::from_secs(10)).as_secs().to_string();
    let mut programs = Programs(Vec::new());
    for (ns, role, dev) in [
        (SERVER_NS, "reflect", SERVER_IF),
        (CLIENT_NS, "sink", CLIENT_IF),
    ] {
        let child = in_ns(ns, &bins.xdp_tx_ceiling)
            .args([role, dev, &lifetime])
            .stdout(Stdio::null())
            .spawn()
            .with_context(|| format!("starting xdp-tx-ceiling {role}"))?;
        programs.0.push(child);
    }
    // Attaching takes a moment, and re-creates the NAPI threads.
    process::sleep(Duration::from_secs(1))?;
    for child in &mut programs.0 {
        if let Some(status) = child.try_wait()? {
            bail!("xdp-tx-ceiling exited before the blast ({status})");
        }
    }
    topology.pin_napi()?;
    let mac = topology.server_mac()?;
    let before = xdp_tx()?;
    let blast = run_cmd(
        in_ns(CLIENT_NS, "taskset")
            .args(["-c", &LOADGEN_CPU.to_string()])
            .arg(&bins.xdp_tx_ceiling)
            .args(["blast", CLIENT_IF, &mac, &period.as_secs().to_string()]),
    )?;
    let after = xdp_tx()?;
    drop(programs);
    let (offered_frames, seconds) = parse_blast(&blast)?;
    let reflected_frames = after.saturating_sub(before);
    let ceiling = Ceiling {
        reflected_frames,
        offered_frames,
        seconds,
        frames_per_s: reflected_frames as f64 / seconds,
    };
    say(format!(
        "XDP_TX reflector: {reflected_frames} frames back in {seconds:.2} s = {:.0} frames/s ({offered_frames} offered)",
        ceiling.frames_per_s
    ));
    Ok(ceiling)
}

/// The server end's count of frames its XDP program sent back.
fn xdp_tx() -> Result<u64> {
    let stats = run_cmd(in_ns(SERVER_NS, "ethtool").args(["-S", SERVER_IF]))?;
    stats
        .lines()
        .find_map(|l| l.trim().strip_prefix("rx_queue_0_xdp_tx:"))
        .and_then(|v| v.trim().parse().ok())
        .context("ethtool -S shows no rx_queue_0_xdp_tx")
}

/// `sent FRAMES in SECONDS s`.
fn parse_blast(out: &str) -> Result<(u64, f64)> {
    let words: Vec<&str> = out.split_whitespace().collect();
    match words[..] {
        ["sent", frames, "in", seconds, "s"] => Ok((frames.parse()?, seconds.parse()?)),
        _ => bail!("xdp-tx-ceiling blast printed {out:?}, not `sent FRAMES in SECONDS s`"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_blast_line() {
        assert_eq!(
            parse_blast("sent 123456 in 5.001 s\n").unwrap(),
            (123_456, 5.001)
        );
        assert!(parse_blast("error").is_err());
    }
}
