//! What the bench runs, built once up front: the release binaries of the
//! end-to-end matrix and the criterion bench executables.
//!
//! The bench runs them directly, never through cargo, so that on a shared
//! machine only the build needs the cargo lock: `--build-only` under the
//! lock, then `--no-build` without it. The bench executables' paths (cargo
//! names them with a hash) are kept in a manifest for the `--no-build` run.

use std::{fs, path::PathBuf, process::Stdio};

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{
    setup,
    workspace::{Workspace, capture, exec, say},
};

/// A criterion bench executable (`benches/benches/<name>.rs`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Micro {
    pub name: String,
    pub path: PathBuf,
}

pub struct Binaries {
    pub xdhcpd: PathBuf,
    pub loadgen: PathBuf,
    pub reflector: PathBuf,
    pub xdp_tx_ceiling: PathBuf,
    pub micro: Vec<Micro>,
}

/// The release binaries: (package, binary).
const RELEASE: [(&str, &str); 4] = [
    ("dhcp-user", "xdhcpd"),
    ("loadgen", "xdhcp-loadgen"),
    ("loadgen", "xdhcp-reflector"),
    ("benches", "xdp-tx-ceiling"),
];

pub fn build(ws: &Workspace) -> Result<Binaries> {
    // The eBPF program inside xdhcpd needs bpf-linker.
    setup::run(ws)?;
    let mut cargo = ws.cargo();
    cargo.args(["build", "--release"]);
    for (package, bin) in RELEASE {
        cargo.args(["-p", package, "--bin", bin]);
    }
    let names: Vec<&str> = RELEASE.iter().map(|(_, bin)| *bin).collect();
    exec(
        &format!("cargo build --release ({})", names.join(", ")),
        &mut cargo,
    )?;
    // Cargo's progress and errors on the terminal, its messages captured.
    say("cargo bench -p benches --no-run ...");
    let json = capture(
        "cargo bench -p benches --no-run",
        ws.cargo()
            .args(["bench", "-p", "benches", "--no-run"])
            .args(["--message-format", "json-render-diagnostics"])
            .stderr(Stdio::inherit()),
    )?;
    let micro = bench_executables(&json)?;
    let manifest = manifest_path(ws);
    fs::create_dir_all(manifest.parent().context("manifest has a parent")?)?;
    fs::write(&manifest, serde_json::to_string_pretty(&micro)? + "\n")
        .with_context(|| format!("writing {}", manifest.display()))?;
    existing(ws)
}

/// What an earlier build left; fails naming what is missing.
pub fn existing(ws: &Workspace) -> Result<Binaries> {
    let release = ws.target_dir().join("release");
    let manifest = manifest_path(ws);
    let micro: Vec<Micro> = serde_json::from_str(
        &fs::read_to_string(&manifest)
            .with_context(|| format!("reading {} (build first)", manifest.display()))?,
    )
    .with_context(|| format!("parsing {}", manifest.display()))?;
    let [xdhcpd, loadgen, reflector, xdp_tx_ceiling] = RELEASE.map(|(_, bin)| release.join(bin));
    let bins = Binaries {
        xdhcpd,
        loadgen,
        reflector,
        xdp_tx_ceiling,
        micro,
    };
    let release_paths = [
        &bins.xdhcpd,
        &bins.loadgen,
        &bins.reflector,
        &bins.xdp_tx_ceiling,
    ];
    for path in release_paths
        .into_iter()
        .chain(bins.micro.iter().map(|m| &m.path))
    {
        if !path.is_file() {
            bail!(
                "{} is missing: build first (without --no-build)",
                path.display()
            );
        }
    }
    Ok(bins)
}

fn manifest_path(ws: &Workspace) -> PathBuf {
    ws.target_dir()
        .join("xtask-bench/criterion-executables.json")
}

/// The bench executables in cargo's JSON messages (one object per line).
fn bench_executables(messages: &str) -> Result<Vec<Micro>> {
    let mut micro: Vec<Micro> = messages
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|m| m["reason"] == "compiler-artifact")
        .filter(|m| {
            m["target"]["kind"]
                .as_array()
                .is_some_and(|k| k.iter().any(|k| k == "bench"))
        })
        .filter_map(|m| {
            Some(Micro {
                name: m["target"]["name"].as_str()?.to_owned(),
                path: PathBuf::from(m["executable"].as_str()?),
            })
        })
        .collect();
    if micro.is_empty() {
        bail!("cargo bench --no-run named no bench executable");
    }
    micro.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(micro)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_bench_executables_in_cargo_messages() {
        let messages = r#"{"reason":"compiler-artifact","target":{"kind":["lib"],"name":"benches"},"executable":null}
{"reason":"compiler-artifact","target":{"kind":["bench"],"name":"store"},"executable":"/t/release/deps/store-1"}
{"reason":"build-finished","success":true}
{"reason":"compiler-artifact","target":{"kind":["bench"],"name":"codec"},"executable":"/t/release/deps/codec-2"}"#;
        let micro = bench_executables(messages).unwrap();
        let names: Vec<_> = micro.iter().map(|m| m.name.as_str()).collect();
        assert_eq!(names, ["codec", "store"]);
        assert_eq!(micro[0].path, PathBuf::from("/t/release/deps/codec-2"));
    }
}
