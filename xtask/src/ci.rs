//! `cargo xtask ci`: what `.ci/run` runs once the system packages are in.
//!
//! Cheap checks first so that a formatting slip fails in seconds, not after
//! the build: setup, rustfmt, clippy, then the tests (whose own setup is a
//! quick no-op by then), then the quick bench: the criterion benches once
//! each, and xdhcpd on each datapath at Kea's highest clean rate (it fails
//! on a crash, a duplicate address, or drops where Kea holds, not on noise).

use anyhow::Result;

use crate::{
    bench, setup, test,
    workspace::{Workspace, exec},
};

const DENY_WARNINGS: [&str; 3] = ["--", "-D", "warnings"];

pub fn run(ws: &Workspace) -> Result<()> {
    setup::run(ws)?;
    exec(
        "cargo fmt --all --check",
        ws.cargo().args(["fmt", "--all", "--check"]),
    )?;
    // Lints dhcp-ebpf too: it compiles for the host (see its main.rs).
    exec(
        "cargo clippy --workspace --all-targets -- -D warnings",
        ws.cargo()
            .args(["clippy", "--workspace", "--all-targets"])
            .args(DENY_WARNINGS),
    )?;
    // The same crate for the BPF target, which is what the kernel runs: this
    // also sees its `cfg(target_arch = "bpf")` code. Like the real eBPF
    // build it needs `-Z build-std=core`, hence RUSTC_BOOTSTRAP on stable,
    // and it gets its own target directory so that the setting cannot touch
    // the fingerprints of the host build.
    exec(
        "cargo clippy -p dhcp-ebpf --target bpfel-unknown-none -- -D warnings",
        ws.cargo()
            .env("RUSTC_BOOTSTRAP", "1")
            .args([
                "clippy",
                "-p",
                "dhcp-ebpf",
                "--target",
                "bpfel-unknown-none",
            ])
            .args(["-Z", "build-std=core", "--target-dir", "target/bpf-clippy"])
            .args(DENY_WARNINGS),
    )?;
    test::run(ws, &[])?;
    bench::run(
        ws,
        &bench::Options {
            quick: true,
            build: bench::Build::Yes,
            skip_criterion: false,
            out: None,
            servers: Vec::new(),
            transport: "auto".into(),
        },
    )
}
