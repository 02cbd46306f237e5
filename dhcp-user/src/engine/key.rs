//! Client identity (RFC 2131 §4.2): the client identifier (option 61) when
//! the client sends one, else the pair (htype, chaddr).

use std::fmt::Write;

use dhcp_wire::Message;

/// Tag bytes keep the two kinds of key from ever comparing equal.
const BY_CLIENT_ID: u8 = 0;
const BY_HARDWARE: u8 = 1;

/// A client key in a stack buffer: building one costs no allocation.
#[derive(Clone)]
pub struct ClientKey {
    buf: [u8; 2 + 255],
    len: usize,
}

impl ClientKey {
    /// The key of the client that sent `msg`, or `None` if it has neither a
    /// client identifier nor a hardware address.
    pub fn of(msg: &Message<'_>) -> Option<ClientKey> {
        let mut key = ClientKey {
            buf: [0; 257],
            len: 0,
        };
        match msg.client_id().filter(|id| !id.is_empty()) {
            Some(id) => {
                key.buf[0] = BY_CLIENT_ID;
                key.buf[1..1 + id.len()].copy_from_slice(id);
                key.len = 1 + id.len();
            }
            None => {
                let hw = msg.chaddr();
                if hw.is_empty() || hw.iter().all(|b| *b == 0) {
                    return None;
                }
                key.buf[0] = BY_HARDWARE;
                key.buf[1] = msg.htype();
                key.buf[2..2 + hw.len()].copy_from_slice(hw);
                key.len = 2 + hw.len();
            }
        }
        Some(key)
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }

    /// How events and logs name the client: `id:01:02:...` or `hw:aa:bb:...`.
    pub fn display(&self) -> String {
        display_key(self.as_bytes())
    }
}

/// Renders stored key bytes the way [`ClientKey::display`] does.
pub fn display_key(key: &[u8]) -> String {
    let (prefix, body) = match key.first() {
        Some(&BY_CLIENT_ID) => ("id", &key[1..]),
        Some(_) if key.len() >= 2 => ("hw", &key[2..]),
        _ => ("?", key),
    };
    let mut s = String::with_capacity(prefix.len() + body.len() * 3);
    s.push_str(prefix);
    for b in body {
        let _ = write!(s, ":{b:02x}");
    }
    s
}

/// The bytes the datapaths hash to steer a client to its worker (see
/// `dhcp_common::steer`): option 61's value, else `chaddr[..hlen]`. The XDP
/// program reads the same bytes straight from the frame.
pub fn steering_key<'m>(msg: &'m Message<'_>) -> &'m [u8] {
    match msg.client_id().filter(|id| !id.is_empty()) {
        Some(id) => id,
        None => msg.chaddr(),
    }
}

/// The steering bytes of a stored client key (what [`steering_key`] reads
/// from the client's message), to find a restored lease's worker.
pub fn stored_steering_key(key: &[u8]) -> &[u8] {
    match key.split_first() {
        Some((&BY_CLIENT_ID, id)) => id,
        Some(_) => key.get(2..).unwrap_or_default(),
        None => key,
    }
}
