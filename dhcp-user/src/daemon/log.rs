//! Logging: one structured line per event, carrying the Windows event ID and
//! symbolic name (`docs/EVENTS.md`), in text or JSON.

use std::io::IsTerminal;

use crate::events::{Event, EventId};

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line, fields at the top level.
    Json,
}

/// Installs the global subscriber (stderr). `RUST_LOG` refines the level.
pub fn init(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| "info,fjall=warn,lsm_tree=warn".into());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .with_ansi(std::io::stderr().is_terminal());
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .init(),
    }
}

/// Logs a catalogued event with extra fields: `catalogued!(EventId::X, key = value, ...; "message {}", args)`.
#[macro_export]
macro_rules! catalogued {
    ($id:expr, $($field:ident = $value:expr),* ; $($msg:tt)+) => {{
        let id: $crate::events::EventId = $id;
        match id.severity() {
            $crate::events::Severity::Info => ::tracing::info!(event_id = id.id(), event = id.name(), $($field = $value,)* $($msg)+),
            $crate::events::Severity::Warning => ::tracing::warn!(event_id = id.id(), event = id.name(), $($field = $value,)* $($msg)+),
            $crate::events::Severity::Error => ::tracing::error!(event_id = id.id(), event = id.name(), $($field = $value,)* $($msg)+),
        }
    }};
}

/// Logs an engine event.
pub fn event(e: &Event) {
    let id = e.id();
    match e {
        Event::UnknownOption {
            code,
            len,
            data,
            suppressed,
        } => {
            let hex: String = data.iter().map(|b| format!("{b:02x}")).collect();
            crate::catalogued!(id, option = *code, len = *len, data = hex, suppressed = *suppressed; "{e}");
        }
        Event::LeaseNack {
            addr,
            client,
            reason,
        } => {
            crate::catalogued!(id, addr = tracing::field::display(addr), client = client.as_str(), reason = reason.as_str(); "{e}");
        }
        Event::LeaseDeclined { addr, client } | Event::LeaseReleased { addr, client } => {
            crate::catalogued!(id, addr = tracing::field::display(addr), client = client.as_str(); "{e}");
        }
        Event::LowAddressWarning {
            scope,
            percent_used,
            free,
        } => {
            crate::catalogued!(id, scope = &**scope, percent_used = *percent_used, free = *free; "{e}");
        }
        Event::SuperscopeLowAddressWarning {
            superscope,
            percent_used,
            free,
        } => {
            crate::catalogued!(id, superscope = &**superscope, percent_used = *percent_used, free = *free; "{e}");
        }
        Event::ScopeFull { scope }
        | Event::BootpFull { scope }
        | Event::ResidualRangesFull { scope } => crate::catalogued!(id, scope = &**scope; "{e}"),
        Event::PolicyRangesFull { scope, policy } => {
            crate::catalogued!(id, scope = &**scope, policy = &**policy; "{e}");
        }
        Event::PolicyRangesLowAddressWarning {
            scope,
            policy,
            percent_used,
            free,
        } => {
            crate::catalogued!(id, scope = &**scope, policy = &**policy, percent_used = *percent_used, free = *free; "{e}");
        }
        Event::ResidualRangesLowAddressWarning {
            scope,
            percent_used,
            free,
        } => {
            crate::catalogued!(id, scope = &**scope, percent_used = *percent_used, free = *free; "{e}");
        }
    }
}

/// Shorthand for daemon-level events without extra fields.
pub fn simple(id: EventId, message: &str) {
    crate::catalogued!(id, ; "{message}");
}
