//! Where the workspace is, which toolchain it pins, and how xtask runs the
//! tools: every child command is echoed, timed, and fails with its name.

use std::{
    env,
    ffi::OsString,
    fs,
    path::{Path, PathBuf},
    process::Command,
    time::Instant,
};

use anyhow::{Context, Result, bail};

pub struct Workspace {
    pub root: PathBuf,
    /// The `channel` of `rust-toolchain.toml`, e.g. `1.95.0`.
    pub toolchain: String,
}

impl Workspace {
    /// Finds the workspace from xtask's own manifest directory, so the
    /// commands work from any current directory.
    pub fn locate() -> Result<Self> {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .context("xtask has no parent directory")?
            .to_path_buf();
        let toolchain = read_channel(&root.join("rust-toolchain.toml"))?;
        Ok(Self { root, toolchain })
    }

    /// Directory of the tools that `setup` builds (git-ignored).
    pub fn tools(&self) -> PathBuf {
        self.root.join(".tools")
    }

    /// Where cargo puts what it builds: `CARGO_TARGET_DIR` (relative to the
    /// workspace when relative) or `<workspace>/target`.
    pub fn target_dir(&self) -> PathBuf {
        env::var_os("CARGO_TARGET_DIR")
            .map_or_else(|| self.root.join("target"), |dir| self.root.join(dir))
    }

    /// A `cargo` command run in the workspace root.
    ///
    /// Uses the cargo that runs xtask (`CARGO`), so the pinned toolchain
    /// builds everything even when the caller's PATH has another cargo.
    pub fn cargo(&self) -> Command {
        let cargo = env::var_os("CARGO").unwrap_or_else(|| OsString::from("cargo"));
        let mut cmd = Command::new(cargo);
        cmd.current_dir(&self.root);
        cmd
    }

    /// A `rustup` command aimed at the pinned toolchain by `--toolchain`.
    ///
    /// Cargo runs xtask with `RUSTUP_TOOLCHAIN` set, which would override
    /// what rustup resolves; the explicit `--toolchain` argument is the only
    /// selector, so the variable is removed.
    pub fn rustup(&self) -> Command {
        let mut cmd = Command::new("rustup");
        cmd.current_dir(&self.root).env_remove("RUSTUP_TOOLCHAIN");
        cmd
    }

    /// A `rustc` command for the pinned toolchain.
    pub fn rustc(&self) -> Command {
        let mut cmd = self.rustup();
        cmd.args(["run", &self.toolchain, "rustc"]);
        cmd
    }
}

fn read_channel(path: &Path) -> Result<String> {
    let text = fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let doc: toml::Table = text
        .parse()
        .with_context(|| format!("parsing {}", path.display()))?;
    doc.get("toolchain")
        .and_then(|t| t.get("channel"))
        .and_then(|c| c.as_str())
        .map(str::to_owned)
        .with_context(|| format!("{}: no [toolchain] channel", path.display()))
}

/// Prints a progress line prefixed with the task name.
pub fn say(msg: impl AsRef<str>) {
    println!("xtask: {}", msg.as_ref());
}

/// Runs `cmd` with inherited output; fails naming `what` if it fails.
pub fn exec(what: &str, cmd: &mut Command) -> Result<()> {
    say(format!("{what} ..."));
    let start = Instant::now();
    let status = cmd
        .status()
        .with_context(|| format!("{what}: cannot start {:?}", cmd.get_program()))?;
    let secs = start.elapsed().as_secs_f32();
    if !status.success() {
        bail!("{what} failed ({status}) after {secs:.1} s");
    }
    say(format!("{what}: ok ({secs:.1} s)"));
    Ok(())
}

/// Runs `cmd` and returns its standard output; fails naming `what`.
pub fn capture(what: &str, cmd: &mut Command) -> Result<String> {
    let out = cmd
        .output()
        .with_context(|| format!("{what}: cannot start {:?}", cmd.get_program()))?;
    if !out.status.success() {
        bail!(
            "{what} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    String::from_utf8(out.stdout).with_context(|| format!("{what}: output is not UTF-8"))
}
