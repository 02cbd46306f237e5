//! MAC address filters (Windows DHCP "Filters"): an allow list and a deny
//! list of hardware-address patterns, each switched on separately. A denied
//! address is never served, even if it is also allowed; while the allow
//! list is on, only addresses on it are served — so an enabled, empty allow
//! list serves nobody (event 20098 says so).

/// One pattern: hex digits of the hardware address, with `*` for any run
/// of digits and `?` for one digit (`"00-15-5D-*"`, `"AA:BB:??:*"`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MacPattern(String);

impl MacPattern {
    /// Parses a pattern; separators `:`, `-`, `.` and spaces are ignored.
    pub fn parse(text: &str) -> Result<MacPattern, String> {
        let p: String = text
            .chars()
            .filter(|c| !matches!(c, ':' | '-' | '.' | ' '))
            .map(|c| c.to_ascii_uppercase())
            .collect();
        if p.is_empty()
            || !p
                .chars()
                .all(|c| c.is_ascii_hexdigit() || c == '*' || c == '?')
        {
            return Err(format!(
                "{text:?} is not a MAC address pattern (hex digits, `*`, `?`)"
            ));
        }
        if p.chars().filter(char::is_ascii_hexdigit).count() > 32 {
            return Err(format!("{text:?} is longer than a hardware address"));
        }
        Ok(MacPattern(p))
    }

    /// Whether `hex` (uppercase hex digits of a hardware address) matches.
    pub fn matches(&self, hex: &[u8]) -> bool {
        glob(self.0.as_bytes(), hex)
    }
}

/// `*`/`?` matching without recursion blow-up (classic two-pointer glob).
fn glob(pattern: &[u8], text: &[u8]) -> bool {
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match pattern.get(p) {
            Some(b'*') => {
                star = Some((p, t));
                p += 1;
            }
            Some(&c) if c == b'?' || c == text[t] => {
                p += 1;
                t += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    p = sp + 1;
                    t = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|&c| c == b'*')
}

/// The compiled filters.
#[derive(Debug, Clone, Default)]
pub struct MacFilter {
    pub allow_enabled: bool,
    pub allow: Vec<MacPattern>,
    pub deny_enabled: bool,
    pub deny: Vec<MacPattern>,
}

impl MacFilter {
    /// Whether a client with this hardware address may be served.
    pub fn permits(&self, chaddr: &[u8]) -> bool {
        if !self.allow_enabled && (!self.deny_enabled || self.deny.is_empty()) {
            return true;
        }
        let (hex, n) = hex_upper(chaddr);
        let hex = &hex[..n];
        if self.deny_enabled && self.deny.iter().any(|p| p.matches(hex)) {
            return false;
        }
        !self.allow_enabled || self.allow.iter().any(|p| p.matches(hex))
    }

    /// An enabled allow list with nothing on it: nobody is served (20098).
    pub fn serves_nobody(&self) -> bool {
        self.allow_enabled && self.allow.is_empty()
    }
}

/// A hardware address as the uppercase hex digits patterns match against
/// (at most 16 bytes of it), and how many digits that is.
pub fn hex_upper(chaddr: &[u8]) -> ([u8; 32], usize) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut hex = [0u8; 32];
    let n = chaddr.len().min(16);
    for (i, b) in chaddr[..n].iter().enumerate() {
        hex[2 * i] = HEX[(b >> 4) as usize];
        hex[2 * i + 1] = HEX[(b & 15) as usize];
    }
    (hex, 2 * n)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filter(allow: Option<&[&str]>, deny: Option<&[&str]>) -> MacFilter {
        let list = |l: Option<&[&str]>| {
            l.unwrap_or(&[])
                .iter()
                .map(|p| MacPattern::parse(p).unwrap())
                .collect()
        };
        MacFilter {
            allow_enabled: allow.is_some(),
            allow: list(allow),
            deny_enabled: deny.is_some(),
            deny: list(deny),
        }
    }

    const VM: [u8; 6] = [0x00, 0x15, 0x5d, 0x01, 0x02, 0x03];
    const PHONE: [u8; 6] = [0xaa, 0xbb, 0xcc, 0x00, 0x00, 0x01];

    #[test]
    fn wildcards_and_precedence() {
        assert!(filter(None, None).permits(&VM));
        let deny = filter(None, Some(&["aa-bb-cc-*"]));
        assert!(deny.permits(&VM) && !deny.permits(&PHONE));
        let allow = filter(Some(&["00:15:5D:*"]), None);
        assert!(allow.permits(&VM) && !allow.permits(&PHONE));
        let both = filter(Some(&["*"]), Some(&["00155D??????"]));
        assert!(!both.permits(&VM), "deny wins over allow");
        assert!(both.permits(&PHONE));
        let exact = filter(None, Some(&["00-15-5D-01-02-03"]));
        assert!(!exact.permits(&VM));
        assert!(exact.permits(&[0x00, 0x15, 0x5d, 0x01, 0x02, 0x04]));
    }

    #[test]
    fn empty_enabled_allow_list_serves_nobody() {
        let f = filter(Some(&[]), None);
        assert!(f.serves_nobody());
        assert!(!f.permits(&VM));
    }

    #[test]
    fn bad_patterns_are_refused() {
        assert!(MacPattern::parse("xyz").is_err());
        assert!(MacPattern::parse("").is_err());
        assert!(MacPattern::parse("00112233445566778899aabbccddeeff00").is_err());
    }

    #[test]
    fn glob_does_not_backtrack_exponentially() {
        let p = MacPattern::parse("*0*0*0*0*0*0*0*0*1").unwrap();
        assert!(!p.matches(&[b'0'; 32]));
    }
}
