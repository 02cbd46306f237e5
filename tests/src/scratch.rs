//! [`Scratch`]: a directory of one test's files (configs, client scripts,
//! logs), removed on drop unless the test failed, so that its logs can be
//! read afterwards.

use std::{
    env, fs,
    path::{Path, PathBuf},
    thread,
};

use anyhow::{Context, Result};

pub struct Scratch {
    path: PathBuf,
}

impl Scratch {
    /// Creates an empty directory under the system's temporary directory.
    pub fn new() -> Result<Self> {
        let (pid, id) = crate::unique_id();
        let path = env::temp_dir().join(format!("xdt{pid}-{id}"));
        // A directory of an earlier process with the same pid is stale.
        if path.exists() {
            fs::remove_dir_all(&path).with_context(|| format!("removing {}", path.display()))?;
        }
        fs::create_dir_all(&path).with_context(|| format!("creating {}", path.display()))?;
        Ok(Self { path })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes `contents` to `name` in the directory and returns its path.
    pub fn write(&self, name: &str, contents: &str) -> Result<PathBuf> {
        let path = self.path.join(name);
        fs::write(&path, contents).with_context(|| format!("writing {}", path.display()))?;
        Ok(path)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if thread::panicking() {
            eprintln!("test files kept in {}", self.path.display());
        } else if let Err(err) = fs::remove_dir_all(&self.path) {
            eprintln!("removing {}: {err}", self.path.display());
        }
    }
}
