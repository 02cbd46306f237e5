//! Serialising a reply into a caller-owned buffer.
//!
//! This module owns [`Writer`] and [`ReplyHeader`]. It never allocates,
//! never writes past the size limit the peer accepts, and never chooses
//! which options a reply carries (the engine does).

use std::fmt;
use std::net::Ipv4Addr;

use crate::layout::{
    CHADDR, CIADDR, COOKIE, FILE, FLAGS, GIADDR, OPTIONS, SECS, SIADDR, SNAME, XID, YIADDR,
};
use crate::{MAGIC_COOKIE, MIN_MESSAGE_LEN, code};

/// Largest value one option instance holds; longer values are split.
const MAX_INSTANCE: usize = u8::MAX as usize;

/// The BOOTP header of a reply.
#[derive(Debug, Clone, Copy)]
pub struct ReplyHeader<'r> {
    /// [`BOOTREPLY`](crate::BOOTREPLY) for a server.
    pub op: u8,
    /// Hardware address type, echoed from the request.
    pub htype: u8,
    /// Hardware address length, echoed from the request.
    pub hlen: u8,
    /// Hops; 0 in a server reply.
    pub hops: u8,
    /// Transaction id, echoed from the request.
    pub xid: u32,
    /// Seconds; 0 in a server reply.
    pub secs: u16,
    /// Flags, echoed from the request.
    pub flags: u16,
    /// Client IP address.
    pub ciaddr: Ipv4Addr,
    /// "Your" IP address: the address offered or acknowledged.
    pub yiaddr: Ipv4Addr,
    /// Next server (e.g. TFTP) address.
    pub siaddr: Ipv4Addr,
    /// Relay agent address, echoed from the request.
    pub giaddr: Ipv4Addr,
    /// Client hardware address, echoed from the request.
    pub chaddr: &'r [u8; 16],
    /// Server host name; truncated to 64 bytes, zero padded.
    pub sname: &'r [u8],
    /// Boot file name; truncated to 128 bytes, zero padded.
    pub file: &'r [u8],
}

/// Not enough room left under the limit; nothing was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Full;

impl fmt::Display for Full {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DHCP message size limit reached")
    }
}

impl std::error::Error for Full {}

/// Writes one DHCP message: [`header`](Self::header), options, then
/// [`finish`](Self::finish).
///
/// One byte below the limit is always kept for END, so a writer can always
/// finish a well-formed message.
#[derive(Debug)]
pub struct Writer<'b> {
    buf: &'b mut [u8],
    /// Next option byte.
    pos: usize,
    /// The message never extends to or past this offset.
    limit: usize,
}

impl<'b> Writer<'b> {
    /// Starts a message in `buf`. `limit` is the largest message (UDP
    /// payload) the peer accepts: it is raised to the 300-byte BOOTP minimum
    /// and lowered to `buf.len()`.
    ///
    /// # Panics
    /// If `buf` cannot hold the header, the magic cookie and END (241
    /// bytes): a buffer sizing bug in the caller, never a property of
    /// received data.
    #[inline]
    pub fn new(buf: &'b mut [u8], limit: usize) -> Self {
        assert!(
            buf.len() > OPTIONS,
            "a DHCP reply needs a buffer of at least {} bytes",
            OPTIONS + 1
        );
        let limit = limit.max(MIN_MESSAGE_LEN).min(buf.len());
        Self {
            buf,
            pos: OPTIONS,
            limit,
        }
    }

    /// Writes the 236-byte header and the magic cookie. May be called before
    /// or after the options, and must be called once.
    #[inline]
    pub fn header(&mut self, h: &ReplyHeader) {
        let b = &mut self.buf[..OPTIONS];
        b[0] = h.op;
        b[1] = h.htype;
        b[2] = h.hlen;
        b[3] = h.hops;
        b[XID..SECS].copy_from_slice(&h.xid.to_be_bytes());
        b[SECS..FLAGS].copy_from_slice(&h.secs.to_be_bytes());
        b[FLAGS..CIADDR].copy_from_slice(&h.flags.to_be_bytes());
        b[CIADDR..YIADDR].copy_from_slice(&h.ciaddr.octets());
        b[YIADDR..SIADDR].copy_from_slice(&h.yiaddr.octets());
        b[SIADDR..GIADDR].copy_from_slice(&h.siaddr.octets());
        b[GIADDR..CHADDR].copy_from_slice(&h.giaddr.octets());
        b[CHADDR..SNAME].copy_from_slice(h.chaddr);
        copy_padded(&mut b[SNAME..FILE], h.sname);
        copy_padded(&mut b[FILE..COOKIE], h.file);
        b[COOKIE..OPTIONS].copy_from_slice(&MAGIC_COOKIE);
    }

    /// Appends option `code` with value `data`. A value longer than 255
    /// bytes is split into consecutive instances (RFC 3396); an empty value
    /// is one zero-length instance. `code` must not be PAD or END.
    #[inline]
    pub fn option(&mut self, code: u8, data: &[u8]) -> Result<(), Full> {
        debug_assert!(code != code::PAD && code != code::END);
        let instances = data.len().div_ceil(MAX_INSTANCE).max(1);
        if data.len() + 2 * instances > self.remaining() {
            return Err(Full);
        }
        let mut chunks = data.chunks(MAX_INSTANCE);
        let first = chunks.next().unwrap_or_default();
        for chunk in std::iter::once(first).chain(chunks) {
            let end = self.pos + 2 + chunk.len();
            let out = &mut self.buf[self.pos..end];
            out[0] = code;
            out[1] = chunk.len() as u8;
            out[2..].copy_from_slice(chunk);
            self.pos = end;
        }
        Ok(())
    }

    /// Appends options already in wire form (code, length, value …), e.g. a
    /// subnet's static options encoded once at configuration time.
    #[inline]
    pub fn encoded(&mut self, options: &[u8]) -> Result<(), Full> {
        if options.len() > self.remaining() {
            return Err(Full);
        }
        let end = self.pos + options.len();
        self.buf[self.pos..end].copy_from_slice(options);
        self.pos = end;
        Ok(())
    }

    /// Appends a one-byte option.
    #[inline]
    pub fn option_u8(&mut self, code: u8, v: u8) -> Result<(), Full> {
        self.option(code, &[v])
    }

    /// Appends a two-byte option, network byte order.
    #[inline]
    pub fn option_u16(&mut self, code: u8, v: u16) -> Result<(), Full> {
        self.option(code, &v.to_be_bytes())
    }

    /// Appends a four-byte option, network byte order.
    #[inline]
    pub fn option_u32(&mut self, code: u8, v: u32) -> Result<(), Full> {
        self.option(code, &v.to_be_bytes())
    }

    /// Appends an IPv4 address option.
    #[inline]
    pub fn option_ip(&mut self, code: u8, v: Ipv4Addr) -> Result<(), Full> {
        self.option(code, &v.octets())
    }

    /// Option bytes still available, END excluded.
    #[inline]
    pub fn remaining(&self) -> usize {
        self.limit.saturating_sub(self.pos + 1)
    }

    /// Writes END, zero-pads to 300 bytes (RFC 1542 §2.1) when the limit
    /// allows, and returns the message length.
    #[inline]
    pub fn finish(self) -> usize {
        // `remaining` kept this byte free: pos < limit <= buf.len().
        self.buf[self.pos] = code::END;
        let end = (self.pos + 1).max(MIN_MESSAGE_LEN.min(self.limit));
        self.buf[self.pos + 1..end].fill(0);
        end
    }
}

/// Copies `src` into `dst`, truncated to fit, and zeroes the rest.
#[inline]
fn copy_padded(dst: &mut [u8], src: &[u8]) {
    let n = src.len().min(dst.len());
    let (head, tail) = dst.split_at_mut(n);
    head.copy_from_slice(&src[..n]);
    tail.fill(0);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header<'r>(chaddr: &'r [u8; 16], sname: &'r [u8], file: &'r [u8]) -> ReplyHeader<'r> {
        ReplyHeader {
            op: crate::BOOTREPLY,
            htype: 1,
            hlen: 6,
            hops: 0,
            xid: 0x1234_5678,
            secs: 0,
            flags: crate::BROADCAST_FLAG,
            ciaddr: Ipv4Addr::UNSPECIFIED,
            yiaddr: Ipv4Addr::new(10, 0, 0, 7),
            siaddr: Ipv4Addr::UNSPECIFIED,
            giaddr: Ipv4Addr::UNSPECIFIED,
            chaddr,
            sname,
            file,
        }
    }

    #[test]
    fn minimal_reply_is_padded_to_300() {
        let mut buf = [0xaa; 1500];
        let mut w = Writer::new(&mut buf, 1500);
        w.header(&header(&[1; 16], b"srv", &[b'f'; 200]));
        w.option_u8(code::MESSAGE_TYPE, 2).unwrap();
        let n = w.finish();
        assert_eq!(n, MIN_MESSAGE_LEN);
        assert_eq!(&buf[OPTIONS..OPTIONS + 4], &[53, 1, 2, 255]);
        assert!(buf[OPTIONS + 4..n].iter().all(|&b| b == 0));
        assert!(buf[n..].iter().all(|&b| b == 0xaa));
        assert_eq!(&buf[SNAME..SNAME + 4], b"srv\0");
        assert!(buf[SNAME + 3..FILE].iter().all(|&b| b == 0));
        assert!(buf[FILE..COOKIE].iter().all(|&b| b == b'f'));
    }

    #[test]
    fn limit_is_clamped_between_300_and_the_buffer() {
        let mut buf = [0; 1500];
        assert_eq!(Writer::new(&mut buf, 0).remaining(), 300 - OPTIONS - 1);
        assert_eq!(Writer::new(&mut buf, 9000).remaining(), 1500 - OPTIONS - 1);
        let mut small = [0; 250];
        let mut w = Writer::new(&mut small, 576);
        assert_eq!(w.remaining(), 250 - OPTIONS - 1);
        w.header(&header(&[0; 16], b"", b""));
        // Padded to the buffer, which is all the room there is.
        assert_eq!(w.finish(), 250);
    }

    #[test]
    fn full_writes_nothing() {
        let mut buf = [0; 300];
        let mut w = Writer::new(&mut buf, 300);
        let room = w.remaining();
        assert_eq!(w.option(code::MESSAGE, &vec![b'x'; room - 1]), Err(Full));
        assert_eq!(w.remaining(), room);
        w.option(code::MESSAGE, &vec![b'x'; room - 2]).unwrap();
        assert_eq!(w.remaining(), 0);
        assert_eq!(w.option(code::RAPID_COMMIT, &[]), Err(Full));
        assert_eq!(w.encoded(&[1]), Err(Full));
        assert_eq!(w.finish(), 300);
        assert_eq!(buf[299], code::END);
    }

    #[test]
    fn empty_value_is_one_zero_length_instance() {
        let mut buf = [0; 300];
        let mut w = Writer::new(&mut buf, 300);
        w.option(code::RAPID_COMMIT, &[]).unwrap();
        w.finish();
        assert_eq!(&buf[OPTIONS..OPTIONS + 3], &[80, 0, 255]);
    }

    #[test]
    fn long_value_is_split_in_255_byte_instances() {
        let mut buf = [0; 1500];
        let mut w = Writer::new(&mut buf, 1500);
        let data: Vec<u8> = (0..600u16).map(|i| i as u8).collect();
        w.option(code::VENDOR_SPECIFIC, &data).unwrap();
        let n = w.finish();
        let o = &buf[OPTIONS..n];
        assert_eq!(&o[..2], &[43, 255]);
        assert_eq!(&o[257..259], &[43, 255]);
        assert_eq!(&o[514..516], &[43, 90]);
        assert_eq!(o[606], 255);
    }

    #[test]
    #[should_panic(expected = "at least 241 bytes")]
    fn tiny_buffer_is_a_caller_bug() {
        let mut buf = [0; 240];
        Writer::new(&mut buf, 300);
    }

    #[test]
    fn full_displays() {
        assert_eq!(Full.to_string(), "DHCP message size limit reached");
    }
}
