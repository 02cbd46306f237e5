//! Configuration: the TOML file the operator writes (`file`), its
//! validation ([`compile()`]) and the immutable snapshot the engine reads
//! (`model`).

mod compile;
mod error;
mod file;
pub mod filter;
mod model;
pub mod options;
mod policy;

use std::path::Path;

pub use compile::{INFINITE_LEASE, compile};
pub use error::{ConfigError, ConfigErrors};
pub use file::ConfigFile;
pub use model::{
    AddrRange, Bootp, Config, OptionSet, Partition, PartitionIndex, PartitionKind, RESIDUAL,
    Reservation, Scope, ScopeId, ServerParams,
};
pub use policy::{BootFields, Policy, PolicyId};

/// Parses and validates configuration text.
pub fn from_toml(text: &str) -> Result<Config, ConfigErrors> {
    let file: ConfigFile = toml::from_str(text).map_err(|e| {
        let field = match e.span() {
            Some(span) => {
                let line = text[..span.start.min(text.len())].matches('\n').count() + 1;
                format!("line {line}")
            }
            None => "file".to_string(),
        };
        ConfigErrors(vec![ConfigError {
            field,
            message: e.message().to_string(),
        }])
    })?;
    compile(&file)
}

/// Reads, parses and validates a configuration file.
pub fn load(path: &Path) -> Result<Config, ConfigErrors> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        ConfigErrors(vec![ConfigError {
            field: path.display().to_string(),
            message: format!("cannot be read: {e}"),
        }])
    })?;
    from_toml(&text)
}
