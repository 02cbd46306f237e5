//! What the numbers were measured on, for the results file and the
//! table's heading: CPU, memory, kernel, OS, toolchain, Kea, commit.

use std::{fs, process::Command};

use serde::Serialize;

use crate::{process::run_cmd, workspace::Workspace};

#[derive(Debug, Clone, Serialize)]
pub struct Machine {
    pub cpu: String,
    pub cpus: usize,
    pub memory_gib: f64,
    pub kernel: String,
    pub os: String,
    pub rustc: String,
    pub kea: String,
    pub commit: String,
    /// 1-minute load average when the bench started: other workloads.
    pub load_average: f64,
}

impl Machine {
    /// Best effort: what cannot be read says "unknown".
    pub fn describe(ws: &Workspace) -> Self {
        let read = |path: &str| fs::read_to_string(path).unwrap_or_default();
        let cpuinfo = read("/proc/cpuinfo");
        let field = |text: &str, key: &str| -> Option<String> {
            text.lines()
                .find(|l| l.starts_with(key))
                .and_then(|l| l.split_once([':', '=']))
                .map(|(_, v)| v.trim().trim_matches('"').to_owned())
        };
        let memory_kib: f64 = field(&read("/proc/meminfo"), "MemTotal")
            .and_then(|v| v.trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0.0);
        let first_line = |cmd: &mut Command| {
            run_cmd(cmd)
                .ok()
                .and_then(|o| o.lines().next().map(str::to_owned))
                .unwrap_or_else(|| "unknown".into())
        };
        let mut git = Command::new("git");
        git.current_dir(&ws.root)
            .args(["describe", "--always", "--dirty", "--abbrev=12"]);
        Self {
            cpu: field(&cpuinfo, "model name").unwrap_or_else(|| "unknown".into()),
            cpus: cpuinfo
                .lines()
                .filter(|l| l.starts_with("processor"))
                .count(),
            memory_gib: (memory_kib / 1024.0 / 1024.0 * 10.0).round() / 10.0,
            kernel: read("/proc/sys/kernel/osrelease").trim().to_owned(),
            os: field(&read("/etc/os-release"), "PRETTY_NAME").unwrap_or_else(|| "unknown".into()),
            rustc: first_line(ws.rustc().arg("-V")),
            kea: first_line(Command::new("kea-dhcp4").arg("-V")),
            commit: first_line(&mut git),
            load_average: read("/proc/loadavg")
                .split_whitespace()
                .next()
                .and_then(|v| v.parse().ok())
                .unwrap_or(0.0),
        }
    }

    pub fn summary(&self) -> String {
        format!(
            "{} × {}, {} GiB, Linux {}, {}, {}, Kea {}, commit {} (load average {:.2} at the start)",
            self.cpus,
            self.cpu,
            self.memory_gib,
            self.kernel,
            self.os,
            self.rustc,
            self.kea,
            self.commit,
            self.load_average
        )
    }
}
