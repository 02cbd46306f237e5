//! Policies (Windows policy-based assignment): criteria on what a client
//! sends, and what a client that matches gets — addresses from the
//! policy's own ranges, a lease time, options, boot fields.
//!
//! This module holds the compiled form and the matching; which policy wins
//! where several match is the engine's business (`engine::classify`).

use std::net::Ipv4Addr;
use std::sync::Arc;

use dhcp_wire::{Message, code};

use super::filter::{MacPattern, hex_upper};
use super::model::{OptionSet, ScopeId};

/// Index of a policy in [`Config::policies`](super::Config::policies).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PolicyId(pub u32);

impl PolicyId {
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// What a criterion looks at in the client's message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    /// Option 60.
    VendorClass,
    /// Option 77: the whole value, or one RFC 3004 class in it.
    UserClass,
    /// chaddr.
    Mac,
    /// Option 61.
    ClientId,
    /// Option 82, whole.
    RelayAgent,
    /// Option 82 sub-options 1, 2 and 6.
    CircuitId,
    RemoteId,
    SubscriberId,
    /// Option 81's domain name.
    Fqdn,
    /// Option 93, any of the architectures listed.
    ClientArch,
}

/// One value of a criterion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pattern {
    /// Bytes to compare; `prefix`: a trailing `*` (the value may go on),
    /// `suffix`: a leading `*` (the value may start with anything).
    Bytes {
        bytes: Box<[u8]>,
        prefix: bool,
        suffix: bool,
    },
    Mac(MacPattern),
    Arch(u16),
}

impl Pattern {
    /// Splits the `*` off either end of `text`.
    pub fn wildcard(
        text: &str,
        bytes: impl FnOnce(&str) -> Result<Vec<u8>, String>,
    ) -> Result<Pattern, String> {
        let suffix = text.starts_with('*');
        // A lone "*" is a suffix pattern with nothing to compare.
        let prefix = text.len() > 1 && text.ends_with('*');
        let core = text.trim_start_matches('*').trim_end_matches('*');
        let bytes = if core.is_empty() {
            Vec::new()
        } else {
            bytes(core)?
        };
        if bytes.is_empty() && !(prefix || suffix) {
            return Err("an empty value matches nothing; use \"*\" for any value".into());
        }
        Ok(Pattern::Bytes {
            bytes: bytes.into(),
            prefix,
            suffix,
        })
    }

    fn matches_bytes(&self, value: &[u8], fold_case: bool) -> bool {
        let Pattern::Bytes {
            bytes,
            prefix,
            suffix,
        } = self
        else {
            return false;
        };
        let eq = |a: &[u8], b: &[u8]| {
            if fold_case {
                a.eq_ignore_ascii_case(b)
            } else {
                a == b
            }
        };
        let n = bytes.len();
        match (prefix, suffix) {
            (false, false) => eq(value, bytes),
            (true, false) => value.len() >= n && eq(&value[..n], bytes),
            (false, true) => value.len() >= n && eq(&value[value.len() - n..], bytes),
            (true, true) => n == 0 || value.windows(n).any(|w| eq(w, bytes)),
        }
    }
}

/// One criterion: the field, and the values it is compared with.
#[derive(Debug, Clone)]
pub struct Criterion {
    pub field: Field,
    /// `not_…`: holds when the value equals none of the patterns (also when
    /// the client did not send the field at all).
    pub negate: bool,
    pub patterns: Vec<Pattern>,
}

impl Criterion {
    fn holds(&self, msg: &Message<'_>) -> bool {
        self.any_pattern_matches(msg) != self.negate
    }

    fn any_pattern_matches(&self, msg: &Message<'_>) -> bool {
        let any =
            |value: &[u8], fold: bool| self.patterns.iter().any(|p| p.matches_bytes(value, fold));
        match self.field {
            Field::VendorClass => msg
                .option(code::VENDOR_CLASS)
                .is_some_and(|v| any(v, false)),
            Field::UserClass => msg.option(code::USER_CLASS).is_some_and(|v| {
                // Windows clients send the class as it is; RFC 3004 clients
                // a list of length-prefixed classes. Either may match.
                any(v, false) || user_classes(v).any(|c| any(c, false))
            }),
            Field::Mac => {
                let (hex, n) = hex_upper(msg.chaddr());
                self.patterns
                    .iter()
                    .any(|p| matches!(p, Pattern::Mac(m) if m.matches(&hex[..n])))
            }
            Field::ClientId => msg.client_id().is_some_and(|v| any(v, false)),
            Field::RelayAgent => msg.relay_agent_info().is_some_and(|v| any(v, false)),
            Field::CircuitId => relay_sub_option(msg, 1).is_some_and(|v| any(v, false)),
            Field::RemoteId => relay_sub_option(msg, 2).is_some_and(|v| any(v, false)),
            Field::SubscriberId => relay_sub_option(msg, 6).is_some_and(|v| any(v, false)),
            Field::Fqdn => {
                let mut name = [0u8; 255];
                msg.option(code::FQDN)
                    .and_then(|v| fqdn_name(v, &mut name))
                    .is_some_and(|n| any(&name[..n], true))
            }
            Field::ClientArch => msg.option(code::CLIENT_ARCH).is_some_and(|v| {
                v.chunks_exact(2).any(|a| {
                    let arch = u16::from_be_bytes([a[0], a[1]]);
                    self.patterns.contains(&Pattern::Arch(arch))
                })
            }),
        }
    }
}

/// Header fields for network booting (PXE and BOOTP clients).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BootFields {
    /// siaddr: the server the client loads its boot file from.
    pub next_server: Option<Ipv4Addr>,
    /// The header's `file`.
    pub boot_file: Option<Box<[u8]>>,
    /// The header's `sname`.
    pub server_name: Option<Box<[u8]>>,
}

/// A compiled, enabled policy.
#[derive(Debug, Clone)]
pub struct Policy {
    pub id: PolicyId,
    pub name: Arc<str>,
    /// The scope of a scope-level policy; `None` for a server-level one.
    pub scope: Option<ScopeId>,
    /// OR of the criteria (`condition = "or"`); AND otherwise.
    pub any: bool,
    pub criteria: Vec<Criterion>,
    /// Whether the policy has ranges of its own in its scope.
    pub has_ranges: bool,
    pub lease_secs: Option<u32>,
    pub boot: BootFields,
    /// The policy's own options (not merged with anything).
    pub options: OptionSet,
}

impl Policy {
    /// Whether the client that sent `msg` matches. A policy without
    /// criteria matches every client.
    pub fn matches(&self, msg: &Message<'_>) -> bool {
        if self.any && !self.criteria.is_empty() {
            self.criteria.iter().any(|c| c.holds(msg))
        } else {
            self.criteria.iter().all(|c| c.holds(msg))
        }
    }
}

/// The classes of an RFC 3004 user class option; stops at the first
/// malformed length.
fn user_classes(mut v: &[u8]) -> impl Iterator<Item = &[u8]> {
    std::iter::from_fn(move || {
        let (&len, rest) = v.split_first()?;
        let class = rest.get(..len as usize)?;
        v = &rest[len as usize..];
        Some(class)
    })
}

fn relay_sub_option<'m>(msg: &'m Message<'_>, wanted: u8) -> Option<&'m [u8]> {
    let mut rest = msg.relay_agent_info()?;
    while let [code, len, tail @ ..] = rest {
        let value = tail.get(..*len as usize)?;
        if *code == wanted {
            return Some(value);
        }
        rest = &tail[*len as usize..];
    }
    None
}

/// The domain name of option 81 (RFC 4702) as dotted text in `out`: plain
/// ASCII when the E flag is clear, DNS wire labels when it is set. Returns
/// its length, without a trailing dot.
fn fqdn_name(v: &[u8], out: &mut [u8; 255]) -> Option<usize> {
    let (&flags, name) = (v.first()?, v.get(3..)?);
    let mut n = 0;
    let mut push = |bytes: &[u8], n: &mut usize| {
        let dst = out.get_mut(*n..*n + bytes.len())?;
        dst.copy_from_slice(bytes);
        *n += bytes.len();
        Some(())
    };
    if flags & 0x04 == 0 {
        push(name.strip_suffix(b".").unwrap_or(name), &mut n)?;
    } else {
        let mut rest = name;
        while let [len @ 1..=63, tail @ ..] = rest {
            let label = tail.get(..*len as usize)?;
            if n > 0 {
                push(b".", &mut n)?;
            }
            push(label, &mut n)?;
            rest = &tail[*len as usize..];
        }
    }
    Some(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(t: &str) -> Pattern {
        Pattern::wildcard(t, |s| Ok(s.as_bytes().to_vec())).unwrap()
    }

    #[test]
    fn wildcards_at_either_end() {
        assert!(text("PXEClient*").matches_bytes(b"PXEClient:Arch:00007", false));
        assert!(!text("PXEClient*").matches_bytes(b"pxeclient", false));
        assert!(text("*.lab.example").matches_bytes(b"host1.LAB.example", true));
        assert!(!text("*.lab.example").matches_bytes(b"lab.example", true));
        assert!(text("MSFT 5.0").matches_bytes(b"MSFT 5.0", false));
        assert!(!text("MSFT 5.0").matches_bytes(b"MSFT 5.0x", false));
        assert!(text("*").matches_bytes(b"", false));
        assert!(text("*x*").matches_bytes(b"abxcd", false));
        assert!(Pattern::wildcard("", |s| Ok(s.as_bytes().to_vec())).is_err());
    }

    #[test]
    fn user_class_instances_and_fqdn_forms() {
        let classes: Vec<_> = user_classes(b"\x04iPXE\x03abc\x09").collect();
        assert_eq!(classes, [&b"iPXE"[..], b"abc"]);
        let mut out = [0u8; 255];
        let n = fqdn_name(b"\x00\x00\x00host.example.", &mut out).unwrap();
        assert_eq!(&out[..n], b"host.example");
        let n = fqdn_name(b"\x05\x00\x00\x04host\x07example\x00", &mut out).unwrap();
        assert_eq!(&out[..n], b"host.example");
    }
}
