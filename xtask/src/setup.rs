//! `cargo xtask setup`: everything the build needs beyond the toolchain.
//!
//! 1. The rustup components of `rust-toolchain.toml` (rust-src lets the eBPF
//!    build compile `core` for the BPF target).
//! 2. bpf-linker, built against the toolchain's own libLLVM so that its LLVM
//!    major matches rustc's without a system LLVM (see shared/EBPF.md).
//!
//! Each step checks first and does nothing when it is already done.

use std::{fs, os::unix::fs::symlink, path::Path, process::Command};

use anyhow::{Context, Result, bail};

use crate::workspace::{Workspace, capture, exec, say};

const COMPONENTS: [&str; 3] = ["rust-src", "clippy", "rustfmt"];
const BPF_LINKER_VERSION: &str = "0.13.0";

pub fn run(ws: &Workspace) -> Result<()> {
    components(ws)?;
    bpf_linker(ws)
}

fn components(ws: &Workspace) -> Result<()> {
    let installed = capture(
        "rustup component list",
        ws.rustup()
            .args(["component", "list", "--installed", "--toolchain"])
            .arg(&ws.toolchain),
    )?;
    // Installed names carry the host triple (`clippy-x86_64-…`) except
    // rust-src, which is target-independent.
    let missing: Vec<&str> = COMPONENTS
        .into_iter()
        .filter(|c| {
            !installed
                .lines()
                .any(|l| l == *c || l.starts_with(&format!("{c}-")))
        })
        .collect();
    if missing.is_empty() {
        say(format!("rustup components of {}: present", ws.toolchain));
        return Ok(());
    }
    // `component add` takes no --no-self-update: it never updates rustup.
    exec(
        &format!("rustup component add {}", missing.join(" ")),
        ws.rustup()
            .args(["component", "add"])
            .args(&missing)
            .args(["--toolchain", &ws.toolchain]),
    )
}

fn bpf_linker(ws: &Workspace) -> Result<()> {
    let tools = ws.tools();
    let linker = tools.join("bin/bpf-linker");
    if linker_version(&linker).is_ok_and(|v| v.contains(BPF_LINKER_VERSION)) {
        say(format!("bpf-linker {BPF_LINKER_VERSION}: present"));
        return Ok(());
    }

    let major = llvm_major(ws)?;
    let prefix = tools.join("llvm-prefix");
    link_toolchain_llvm(ws, &prefix)?;
    exec(
        &format!("building bpf-linker {BPF_LINKER_VERSION} (LLVM {major})"),
        ws.cargo()
            .env("LLVM_PREFIX", &prefix)
            .args(["install", &format!("bpf-linker@{BPF_LINKER_VERSION}")])
            .args(["--locked", "--force", "--no-default-features"])
            .args(["--features", &format!("llvm-{major}")])
            .arg("--root")
            .arg(&tools),
    )?;
    linker_version(&linker).context("bpf-linker was built but does not run")?;
    Ok(())
}

/// Runs the installed linker. Success proves that the binary and its
/// libLLVM (found through rpath) are both in place: a toolchain update
/// renames libLLVM and makes this fail, which triggers a rebuild.
fn linker_version(linker: &Path) -> Result<String> {
    // `-V`, not `--version`: bpf-linker 0.13 rejects the long form without
    // its required arguments.
    capture("bpf-linker -V", Command::new(linker).arg("-V"))
}

/// The LLVM major version rustc was built with (`LLVM version: 22.1.2`).
fn llvm_major(ws: &Workspace) -> Result<String> {
    let version = capture("rustc -vV", ws.rustc().arg("-vV"))?;
    version
        .lines()
        .find_map(|l| l.strip_prefix("LLVM version: "))
        .and_then(|v| v.split('.').next())
        .map(str::to_owned)
        .context("rustc -vV names no LLVM version")
}

/// Makes `prefix/lib` look like an LLVM install holding the toolchain's
/// libLLVM, which is what bpf-linker's build script links against.
///
/// The library is linked under `libLLVM.so` (what the linker looks for) and
/// under its own file name, which is its SONAME: the built binary asks for
/// that name at run time and finds it through the rpath to `prefix/lib`.
fn link_toolchain_llvm(ws: &Workspace, prefix: &Path) -> Result<()> {
    let sysroot = capture(
        "rustc --print sysroot",
        ws.rustc().args(["--print", "sysroot"]),
    )?;
    let sysroot_lib = Path::new(sysroot.trim()).join("lib");
    let libllvm = fs::read_dir(&sysroot_lib)
        .with_context(|| format!("reading {}", sysroot_lib.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("libLLVM.so."))
        });
    let Some(libllvm) = libllvm else {
        bail!("no libLLVM.so.* in {}", sysroot_lib.display());
    };
    let lib = prefix.join("lib");
    // Rebuilt from scratch so a library of an older toolchain cannot linger.
    if prefix.exists() {
        fs::remove_dir_all(prefix).with_context(|| format!("removing {}", prefix.display()))?;
    }
    fs::create_dir_all(&lib).with_context(|| format!("creating {}", lib.display()))?;
    let soname = libllvm
        .file_name()
        .context("libLLVM path has no file name")?;
    for name in [Path::new("libLLVM.so"), Path::new(soname)] {
        let dst = lib.join(name);
        symlink(&libllvm, &dst)
            .with_context(|| format!("linking {} to {}", dst.display(), libllvm.display()))?;
    }
    say(format!(
        "linked {} into {}",
        libllvm.display(),
        lib.display()
    ));
    Ok(())
}
