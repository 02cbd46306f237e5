//! The criterion micro-benchmarks (codec, engine, store): run in full with
//! their medians collected for the results file, or once each as a smoke
//! test (`--test`), which proves they still build and run.

use std::{
    fs,
    path::{Path, PathBuf},
    process::Command,
    time::SystemTime,
};

use anyhow::{Context, Result};
use serde::Serialize;
use serde_json::Value;

use super::binaries::Micro;
use crate::workspace::{Workspace, exec};

/// Full runs: shorter than criterion's defaults (3 s warm-up, 5 s of
/// measurement) to keep the whole bench within its time budget; groups
/// that set their own times (the store) keep them.
const FULL_ARGS: [&str; 5] = ["--bench", "--warm-up-time", "1", "--measurement-time", "3"];
const SMOKE_ARGS: [&str; 2] = ["--bench", "--test"];

/// One benchmark's median time per iteration.
#[derive(Debug, Clone, Serialize)]
pub struct Median {
    pub id: String,
    pub median_ns: f64,
}

/// Runs every bench executable; the medians of a full run.
pub fn run(ws: &Workspace, micro: &[Micro], smoke: bool) -> Result<Vec<Median>> {
    let home = ws.target_dir().join("criterion");
    let started = SystemTime::now();
    for m in micro {
        let mut cmd = Command::new(&m.path);
        // What `cargo bench` would do: the package directory as the
        // working directory, and criterion's output where cargo's goes
        // (without CRITERION_HOME criterion would ask `cargo metadata`).
        cmd.current_dir(ws.root.join("benches"))
            .env("CRITERION_HOME", &home)
            .args(if smoke {
                &SMOKE_ARGS[..]
            } else {
                &FULL_ARGS[..]
            });
        let what = if smoke { "once each" } else { "full" };
        exec(&format!("criterion bench {} ({what})", m.name), &mut cmd)?;
    }
    if smoke {
        return Ok(Vec::new());
    }
    let mut medians = Vec::new();
    collect(&home, started, &mut medians)?;
    medians.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(medians)
}

/// Every `new/benchmark.json` under `dir` written since `since`, with the
/// median of the `estimates.json` next to it.
fn collect(dir: &Path, since: SystemTime, out: &mut Vec<Median>) -> Result<()> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Ok(());
    };
    for entry in entries {
        let path = entry?.path();
        if path.is_dir() {
            collect(&path, since, out)?;
            continue;
        }
        let fresh = fs::metadata(&path)
            .and_then(|m| m.modified())
            .is_ok_and(|t| t >= since);
        let in_new = path.parent().and_then(Path::file_name) == Some("new".as_ref());
        if !(fresh && in_new && path.file_name() == Some("benchmark.json".as_ref())) {
            continue;
        }
        let read = |p: PathBuf| -> Result<Value> {
            let text =
                fs::read_to_string(&p).with_context(|| format!("reading {}", p.display()))?;
            serde_json::from_str(&text).with_context(|| format!("parsing {}", p.display()))
        };
        let id = read(path.clone())?["full_id"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let median = read(path.with_file_name("estimates.json"))?["median"]["point_estimate"]
            .as_f64()
            .unwrap_or(f64::NAN);
        out.push(Median {
            id,
            median_ns: median,
        });
    }
    Ok(())
}
