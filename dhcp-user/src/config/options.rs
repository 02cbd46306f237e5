//! DHCP option definitions and the encoding of configured option values into
//! wire bytes.
//!
//! Values are encoded once, when the configuration is compiled, so the hot
//! path only copies bytes. The table also tells the engine which codes the
//! server "knows" (event 1000 fires for the others).

use std::net::Ipv4Addr;

/// How a configured value is turned into option bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Ip,
    IpList,
    Text,
    U8,
    U16,
    U32,
    I32,
    Bool,
    /// RFC 1035 names without compression (option 119).
    DomainList,
    /// RFC 3442 `"prefix/len via router"` entries (option 121).
    ClasslessRoutes,
    /// Raw bytes, written as `{ hex = "..." }`.
    Bytes,
}

/// One option the server can be configured with.
#[derive(Debug)]
pub struct Definition {
    pub code: u8,
    pub name: &'static str,
    pub kind: Kind,
}

macro_rules! definitions {
    ($($code:literal $name:literal $kind:ident),* $(,)?) => {
        /// Options an operator may set by name.
        pub const DEFINITIONS: &[Definition] = &[
            $(Definition { code: $code, name: $name, kind: Kind::$kind }),*
        ];
    };
}

definitions! {
    1 "subnet-mask" Ip,
    2 "time-offset" I32,
    3 "routers" IpList,
    4 "time-servers" IpList,
    5 "name-servers" IpList,
    6 "domain-name-servers" IpList,
    7 "log-servers" IpList,
    9 "lpr-servers" IpList,
    12 "host-name" Text,
    13 "boot-size" U16,
    15 "domain-name" Text,
    17 "root-path" Text,
    19 "ip-forwarding" Bool,
    23 "default-ip-ttl" U8,
    26 "interface-mtu" U16,
    28 "broadcast-address" Ip,
    31 "router-discovery" Bool,
    35 "arp-cache-timeout" U32,
    37 "default-tcp-ttl" U8,
    40 "nis-domain" Text,
    41 "nis-servers" IpList,
    42 "ntp-servers" IpList,
    43 "vendor-encapsulated-options" Bytes,
    44 "netbios-name-servers" IpList,
    45 "netbios-dd-server" IpList,
    46 "netbios-node-type" U8,
    47 "netbios-scope" Text,
    48 "font-servers" IpList,
    49 "x-display-manager" IpList,
    60 "vendor-class-identifier" Text,
    64 "nisplus-domain" Text,
    65 "nisplus-servers" IpList,
    66 "tftp-server-name" Text,
    67 "boot-file-name" Text,
    69 "smtp-server" IpList,
    70 "pop-server" IpList,
    72 "www-server" IpList,
    100 "pcode" Text,
    101 "tcode" Text,
    108 "v6-only-preferred" U32,
    114 "captive-portal" Text,
    119 "domain-search" DomainList,
    121 "classless-static-routes" ClasslessRoutes,
    150 "tftp-server-address" IpList,
    252 "wpad-url" Text,
}

/// Codes the engine writes itself; configuring them is an error.
pub const SERVER_CONTROLLED: &[(u8, &str)] = &[
    (0, "pad"),
    (50, "requested address"),
    (51, "lease time (use `lease_time`)"),
    (52, "option overload"),
    (53, "message type"),
    (54, "server identifier (use `server_id`)"),
    (55, "parameter request list"),
    (57, "maximum message size"),
    (58, "renewal time (use `renewal_time`)"),
    (59, "rebinding time (use `rebinding_time`)"),
    (61, "client identifier"),
    (82, "relay agent information"),
    (255, "end"),
];

/// Option codes assigned by IANA ("BOOTP Vendor Extensions and DHCP
/// Options") that clients commonly send; a code outside this set and outside
/// the configuration is "unknown" (event 1000). Site-specific codes 224–254
/// are unknown unless configured.
pub fn is_assigned(code: u8) -> bool {
    matches!(code, 1..=101 | 108..=125 | 128..=146 | 150..=163 | 175..=177 | 208..=213 | 220..=221)
}

/// Finds a definition by name (`domain-name-servers` or
/// `domain_name_servers`) or by decimal code.
pub fn lookup(key: &str) -> Option<&'static Definition> {
    if let Ok(code) = key.parse::<u8>() {
        return DEFINITIONS.iter().find(|d| d.code == code);
    }
    let normalised = key.replace('_', "-");
    DEFINITIONS.iter().find(|d| d.name == normalised)
}

/// Encodes `value` for a definition, or for an unknown code (no kind).
///
/// Errors are the text after "option X: ", written for the operator.
pub fn encode(kind: Option<Kind>, value: &toml::Value) -> Result<Vec<u8>, String> {
    if let toml::Value::Table(t) = value {
        return match (t.get("hex"), t.len()) {
            (Some(toml::Value::String(h)), 1) => parse_hex(h),
            _ => Err("a table value must be exactly `{ hex = \"…\" }`".into()),
        };
    }
    let kind = match kind {
        Some(kind) => kind,
        None => infer_kind(value)?,
    };
    let out = match kind {
        Kind::Ip => ip(value)?.octets().to_vec(),
        Kind::IpList => {
            let items = list(value)?;
            if items.is_empty() {
                return Err("needs at least one address".into());
            }
            let mut out = Vec::with_capacity(items.len() * 4);
            for item in items {
                out.extend_from_slice(&ip(item)?.octets());
            }
            out
        }
        Kind::Text => {
            let s = text(value)?;
            if s.is_empty() {
                return Err("must not be empty".into());
            }
            s.as_bytes().to_vec()
        }
        Kind::U8 => vec![int_in(value, 0, u8::MAX as i64)? as u8],
        Kind::U16 => (int_in(value, 0, u16::MAX as i64)? as u16)
            .to_be_bytes()
            .to_vec(),
        Kind::U32 => (int_in(value, 0, u32::MAX as i64)? as u32)
            .to_be_bytes()
            .to_vec(),
        Kind::I32 => (int_in(value, i32::MIN as i64, i32::MAX as i64)? as i32)
            .to_be_bytes()
            .to_vec(),
        Kind::Bool => match value {
            toml::Value::Boolean(b) => vec![u8::from(*b)],
            other => return Err(format!("expected true or false, found {other}")),
        },
        Kind::DomainList => {
            let mut out = Vec::new();
            for item in list(value)? {
                encode_dns_name(text(item)?, &mut out)?;
            }
            out
        }
        Kind::ClasslessRoutes => {
            let mut out = Vec::new();
            for item in list(value)? {
                encode_classless_route(text(item)?, &mut out)?;
            }
            out
        }
        Kind::Bytes => return Err("expects `{ hex = \"…\" }`".into()),
    };
    Ok(out)
}

/// For codes without a definition, the TOML type decides: a string is text,
/// an array of strings is a list of addresses.
fn infer_kind(value: &toml::Value) -> Result<Kind, String> {
    match value {
        toml::Value::String(_) => Ok(Kind::Text),
        toml::Value::Array(_) => Ok(Kind::IpList),
        toml::Value::Boolean(_) => Ok(Kind::Bool),
        _ => Err(
            "has no known type: write it as a string, a list of addresses, or `{ hex = \"…\" }`"
                .into(),
        ),
    }
}

fn ip(value: &toml::Value) -> Result<Ipv4Addr, String> {
    let s = text(value)?;
    s.parse()
        .map_err(|_| format!("{s:?} is not an IPv4 address"))
}

fn text(value: &toml::Value) -> Result<&str, String> {
    value
        .as_str()
        .ok_or_else(|| format!("expected a string, found {value}"))
}

fn list(value: &toml::Value) -> Result<&[toml::Value], String> {
    match value {
        toml::Value::Array(items) => Ok(items),
        other => Err(format!("expected a list, found {other}")),
    }
}

fn int_in(value: &toml::Value, min: i64, max: i64) -> Result<i64, String> {
    match value.as_integer() {
        Some(n) if (min..=max).contains(&n) => Ok(n),
        Some(n) => Err(format!("{n} is outside {min}..={max}")),
        None => Err(format!("expected an integer, found {value}")),
    }
}

/// Hex bytes with optional `:`, `-` or space separators.
pub fn parse_hex(s: &str) -> Result<Vec<u8>, String> {
    let digits: String = s
        .chars()
        .filter(|c| !matches!(c, ':' | '-' | ' '))
        .collect();
    if digits.is_empty() || !digits.len().is_multiple_of(2) {
        return Err(format!("{s:?} is not an even number of hex digits"));
    }
    (0..digits.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&digits[i..i + 2], 16).map_err(|_| format!("{s:?} is not hex")))
        .collect()
}

fn encode_dns_name(name: &str, out: &mut Vec<u8>) -> Result<(), String> {
    for label in name.trim_end_matches('.').split('.') {
        if label.is_empty() || label.len() > 63 {
            return Err(format!("{name:?} is not a valid domain name"));
        }
        out.push(label.len() as u8);
        out.extend_from_slice(label.as_bytes());
    }
    out.push(0);
    Ok(())
}

/// RFC 3442: prefix length, the significant octets of the destination, then
/// the router.
fn encode_classless_route(route: &str, out: &mut Vec<u8>) -> Result<(), String> {
    let bad = || format!("{route:?} is not `a.b.c.d/len via router`");
    let (dest, router) = route.split_once(" via ").ok_or_else(bad)?;
    let net: ipnet::Ipv4Net = dest.trim().parse().map_err(|_| bad())?;
    let router: Ipv4Addr = router.trim().parse().map_err(|_| bad())?;
    let len = net.prefix_len();
    out.push(len);
    out.extend_from_slice(&net.network().octets()[..len.div_ceil(8) as usize]);
    out.extend_from_slice(&router.octets());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> toml::Value {
        toml::from_str::<toml::Table>(&format!("x = {s}")).unwrap()["x"].clone()
    }

    #[test]
    fn encodes_typed_values() {
        let dns = lookup("domain_name_servers").unwrap();
        assert_eq!(dns.code, 6);
        assert_eq!(
            encode(Some(dns.kind), &v(r#"["10.0.0.1", "10.0.0.2"]"#)).unwrap(),
            [10, 0, 0, 1, 10, 0, 0, 2]
        );
        assert_eq!(encode(Some(Kind::U16), &v("1500")).unwrap(), [0x05, 0xdc]);
        assert!(
            encode(Some(Kind::U8), &v("300"))
                .unwrap_err()
                .contains("outside")
        );
        assert_eq!(
            encode(None, &v(r#"{ hex = "01:02:ff" }"#)).unwrap(),
            [1, 2, 0xff]
        );
        assert_eq!(
            encode(Some(Kind::DomainList), &v(r#"["eng.example.com"]"#)).unwrap(),
            b"\x03eng\x07example\x03com\x00"
        );
    }

    #[test]
    fn encodes_rfc3442_routes() {
        let got = encode(
            Some(Kind::ClasslessRoutes),
            &v(r#"["10.0.0.0/8 via 10.1.0.1", "0.0.0.0/0 via 10.1.0.254"]"#),
        )
        .unwrap();
        assert_eq!(got, [8, 10, 10, 1, 0, 1, 0, 10, 1, 0, 254]);
    }

    #[test]
    fn rejects_bad_values() {
        assert!(encode(Some(Kind::Ip), &v(r#""10.0.0.300""#)).is_err());
        assert!(encode(None, &v("5")).is_err());
        assert!(parse_hex("abc").is_err());
    }
}
