//! Builds the XDP program (`dhcp-ebpf`) for the BPF target and leaves the
//! object in `OUT_DIR`, where `src/lib.rs` embeds it.
//!
//! The nested build runs on the same stable toolchain as this one: aya-build
//! calls `rustup run $RUSTUP_TOOLCHAIN cargo build -Z build-std=core`, which
//! needs `RUSTC_BOOTSTRAP=1`. It is set here, in the build script's own
//! environment, so that only the nested eBPF build sees it.

use std::{env, path::PathBuf};

use aya_build::{Package, Toolchain};

fn main() {
    if let Err(err) = build() {
        // Reported as cargo errors, not as a failed script: cargo prints
        // them as plain `error:` lines (and fails the build) instead of
        // burying them under the script's captured output.
        for line in format!("{err:#}").lines() {
            println!("cargo::error={line}");
        }
    }
}

fn build() -> anyhow::Result<()> {
    let manifest_dir = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let workspace = manifest_dir
        .parent()
        .expect("dhcp-xdp is a workspace member");

    // `.cargo/config.toml` names this linker for the BPF target; without it
    // the nested build would fail deep inside rustc's link step.
    let linker = workspace.join(".tools/bin/bpf-linker");
    println!("cargo::rerun-if-changed={}", linker.display());
    if !linker.exists() {
        anyhow::bail!("bpf-linker not found: run `cargo xtask setup`");
    }

    println!("cargo::rerun-if-env-changed=RUSTUP_TOOLCHAIN");
    let toolchain = env::var("RUSTUP_TOOLCHAIN").map_err(|_| {
        anyhow::anyhow!("RUSTUP_TOOLCHAIN not set: build with rustup's cargo proxy")
    })?;

    // SAFETY: build scripts are single-threaded at this point; the variable
    // is read by aya-build and inherited by the nested cargo only.
    unsafe { env::set_var("RUSTC_BOOTSTRAP", "1") };

    let ebpf_dir = workspace.join("dhcp-ebpf");
    let ebpf = Package {
        name: "dhcp-ebpf",
        root_dir: ebpf_dir.to_str().expect("workspace path is UTF-8"),
        ..Package::default()
    };
    aya_build::build_ebpf([ebpf], Toolchain::Custom(&toolchain))
}
