//! dhcproto as the oracle: `Message` reads what dhcproto encodes exactly as
//! dhcproto decodes it, and dhcproto decodes what `Writer` writes to the
//! header and options that were written.

mod common;

use std::collections::BTreeSet;
use std::net::Ipv4Addr;

use common::{dhcproto_decode, dhcproto_message, dhcproto_value, opaque_codes};
use dhcp_wire::{Full, Message, ReplyHeader, Writer};
use dhcproto::Encodable;
use dhcproto::v4::{DhcpOption, OptionCode};
use proptest::collection::vec;
use proptest::prelude::*;

proptest! {
    #[test]
    fn parse_agrees_with_dhcproto(msg in dhcproto_message()) {
        let bytes = msg.to_vec().unwrap();
        let dh = dhcproto_decode(&bytes);
        let m = Message::parse(&bytes).unwrap();

        prop_assert_eq!(m.bytes(), &bytes[..]);
        prop_assert_eq!(m.op(), u8::from(dh.opcode()));
        prop_assert_eq!(m.htype(), u8::from(dh.htype()));
        prop_assert_eq!(m.hlen(), dh.hlen());
        prop_assert_eq!(m.hops(), dh.hops());
        prop_assert_eq!(m.xid(), dh.xid());
        prop_assert_eq!(m.secs(), dh.secs());
        prop_assert_eq!(m.flags(), u16::from(dh.flags()));
        prop_assert_eq!(m.broadcast(), dh.flags().broadcast());
        prop_assert_eq!(m.ciaddr(), dh.ciaddr());
        prop_assert_eq!(m.yiaddr(), dh.yiaddr());
        prop_assert_eq!(m.siaddr(), dh.siaddr());
        prop_assert_eq!(m.giaddr(), dh.giaddr());
        prop_assert_eq!(m.chaddr(), dh.chaddr());
        prop_assert_eq!(&m.chaddr_raw()[..m.chaddr().len()], dh.chaddr());
        // dhcproto keeps sname/file up to and including the first NUL.
        prop_assert_eq!(m.sname().len(), 64);
        prop_assert_eq!(m.file().len(), 128);
        if let Some(s) = dh.sname() {
            prop_assert_eq!(&m.sname()[..s.len()], s);
        }
        if let Some(f) = dh.fname() {
            prop_assert_eq!(&m.file()[..f.len()], f);
        }
        prop_assert!(m.has_magic_cookie());

        let ours: BTreeSet<u8> = m.options().map(|(c, _)| c).collect();
        let theirs: BTreeSet<u8> = dh.opts().iter().map(|(c, _)| u8::from(*c)).collect();
        prop_assert_eq!(&ours, &theirs);
        prop_assert_eq!(m.options().count(), ours.len());
        for (code, opt) in dh.opts().iter() {
            let code = u8::from(*code);
            let want = dhcproto_value(opt);
            prop_assert_eq!(m.option(code), Some(&want[..]), "option {}", code);
        }

        let get = |c: OptionCode| dh.opts().get(c);
        prop_assert_eq!(
            m.message_type().map(u8::from),
            dh.opts().msg_type().map(u8::from).filter(|t| (1..=8).contains(t))
        );
        prop_assert_eq!(m.requested_ip(), match get(OptionCode::RequestedIpAddress) {
            Some(DhcpOption::RequestedIpAddress(ip)) => Some(*ip),
            _ => None,
        });
        prop_assert_eq!(m.server_id(), match get(OptionCode::ServerIdentifier) {
            Some(DhcpOption::ServerIdentifier(ip)) => Some(*ip),
            _ => None,
        });
        prop_assert_eq!(m.client_id(), match get(OptionCode::ClientIdentifier) {
            Some(DhcpOption::ClientIdentifier(id)) if id.len() >= 2 => Some(&id[..]),
            _ => None,
        });
        let prl: Option<Vec<u8>> = match get(OptionCode::ParameterRequestList) {
            Some(DhcpOption::ParameterRequestList(p)) if !p.is_empty() => {
                Some(p.iter().map(|&c| u8::from(c)).collect())
            }
            _ => None,
        };
        prop_assert_eq!(m.parameter_request_list(), prl.as_deref());
        prop_assert_eq!(m.max_message_size(), match get(OptionCode::MaxMessageSize) {
            Some(DhcpOption::MaxMessageSize(v)) => Some(*v),
            _ => None,
        });
        prop_assert_eq!(m.lease_time(), match get(OptionCode::AddressLeaseTime) {
            Some(DhcpOption::AddressLeaseTime(v)) => Some(*v),
            _ => None,
        });
    }
}

/// What a `Writer` proptest case writes: header fields, options with
/// distinct opaque codes (values up to 600 bytes, so some are split), and a
/// buffer and limit of any size.
#[derive(Debug, Clone)]
struct WriteCase {
    op: u8,
    htype: u8,
    hlen: u8,
    hops: u8,
    xid: u32,
    secs: u16,
    flags: u16,
    addrs: [Ipv4Addr; 4],
    chaddr: [u8; 16],
    sname: Vec<u8>,
    file: Vec<u8>,
    options: Vec<(u8, Vec<u8>)>,
    buf_len: usize,
    limit: usize,
}

fn write_case() -> impl Strategy<Value = WriteCase> {
    let header = (
        any::<[u8; 2]>(),
        0u8..=16,
        any::<u8>(),
        any::<u32>(),
        any::<u16>(),
        any::<u16>(),
        any::<[[u8; 4]; 4]>(),
        any::<[u8; 16]>(),
        vec(any::<u8>(), 0..80),
        vec(any::<u8>(), 0..150),
    );
    let body = (
        vec(
            (
                prop::sample::select(opaque_codes()),
                vec(any::<u8>(), 0..600),
            ),
            0..10,
        ),
        241usize..2000,
        0usize..2000,
    );
    (header, body).prop_map(
        |(
            ([op, htype], hlen, hops, xid, secs, flags, addrs, chaddr, sname, file),
            (options, buf_len, limit),
        )| {
            let mut seen = BTreeSet::new();
            let options = options
                .into_iter()
                .filter(|(c, _)| seen.insert(*c))
                .collect();
            WriteCase {
                op,
                htype,
                hlen,
                hops,
                xid,
                secs,
                flags,
                addrs: addrs.map(Ipv4Addr::from),
                chaddr,
                sname,
                file,
                options,
                buf_len,
                limit,
            }
        },
    )
}

fn padded<const N: usize>(v: &[u8]) -> [u8; N] {
    let mut out = [0; N];
    let n = v.len().min(N);
    out[..n].copy_from_slice(&v[..n]);
    out
}

proptest! {
    #[test]
    fn writer_output_decodes_to_what_was_written(case in write_case()) {
        const SENTINEL: u8 = 0xa5;
        let mut buf = vec![SENTINEL; case.buf_len];
        let limit = case.limit.max(300).min(case.buf_len);
        let mut w = Writer::new(&mut buf, case.limit);
        let [ciaddr, yiaddr, siaddr, giaddr] = case.addrs;
        w.header(&ReplyHeader {
            op: case.op,
            htype: case.htype,
            hlen: case.hlen,
            hops: case.hops,
            xid: case.xid,
            secs: case.secs,
            flags: case.flags,
            ciaddr,
            yiaddr,
            siaddr,
            giaddr,
            chaddr: &case.chaddr,
            sname: &case.sname,
            file: &case.file,
        });
        prop_assert_eq!(w.remaining(), limit - 241);

        let mut written = Vec::new();
        for (code, data) in &case.options {
            let need = data.len() + 2 * data.len().div_ceil(255).max(1);
            let before = w.remaining();
            match w.option(*code, data) {
                Ok(()) => {
                    prop_assert!(need <= before);
                    prop_assert_eq!(w.remaining(), before - need);
                    written.push((*code, data.clone()));
                }
                Err(Full) => {
                    prop_assert!(need > before);
                    prop_assert_eq!(w.remaining(), before);
                }
            }
        }
        let n = w.finish();
        prop_assert!(n <= limit);
        prop_assert!(n >= 300.min(limit));
        prop_assert!(buf[n..].iter().all(|&b| b == SENTINEL), "wrote past the message");

        let out = &buf[..n];
        let dh = dhcproto_decode(out);
        prop_assert_eq!(u8::from(dh.opcode()), case.op);
        prop_assert_eq!(u8::from(dh.htype()), case.htype);
        prop_assert_eq!(dh.hlen(), case.hlen);
        prop_assert_eq!(dh.hops(), case.hops);
        prop_assert_eq!(dh.xid(), case.xid);
        prop_assert_eq!(dh.secs(), case.secs);
        prop_assert_eq!(u16::from(dh.flags()), case.flags);
        prop_assert_eq!([dh.ciaddr(), dh.yiaddr(), dh.siaddr(), dh.giaddr()], case.addrs);
        prop_assert_eq!(dh.chaddr(), &case.chaddr[..usize::from(case.hlen)]);
        let sname = padded::<64>(&case.sname);
        let file = padded::<128>(&case.file);
        prop_assert_eq!(&out[44..108], &sname[..]);
        prop_assert_eq!(&out[108..236], &file[..]);
        if let Some(s) = dh.sname() {
            prop_assert_eq!(s, &sname[..s.len()]);
        }
        if let Some(f) = dh.fname() {
            prop_assert_eq!(f, &file[..f.len()]);
        }

        prop_assert_eq!(dh.opts().len(), written.len());
        for (code, data) in &written {
            let opt = dh.opts().get(OptionCode::from(*code));
            prop_assert!(opt.is_some(), "dhcproto lost option {}", code);
            prop_assert_eq!(&dhcproto_value(opt.unwrap()), data);
        }

        // And our own reader sees the same options, in writing order.
        let m = Message::parse(out).unwrap();
        let ours: Vec<(u8, Vec<u8>)> = m.options().map(|(c, v)| (c, v.to_vec())).collect();
        prop_assert_eq!(ours, written);
    }
}
