//! dhcp-wire against dhcproto on the per-message codec work of the hot path:
//! parse a client message and read what the engine needs first, and write
//! a typical OFFER.
//!
//! Run: `cargo bench -p benches --bench codec -- --warm-up-time 1 --measurement-time 3`

use std::hint::black_box;
use std::net::Ipv4Addr;

use criterion::{Criterion, criterion_group, criterion_main};
use dhcp_wire::{BOOTREPLY, Message, ReplyHeader, Writer, code};
use dhcproto::v4::{self, DhcpOption, OptionCode};
use dhcproto::{Decodable, Encodable, Encoder};

const MAC: [u8; 6] = [0x02, 0x42, 0xac, 0x11, 0x00, 0x02];
const SERVER: Ipv4Addr = Ipv4Addr::new(192, 168, 1, 1);
const OFFERED: Ipv4Addr = Ipv4Addr::new(192, 168, 1, 57);
/// What a current Linux/Android client asks for.
const PRL: [u8; 13] = [1, 3, 6, 15, 26, 28, 51, 58, 59, 43, 114, 108, 119];

/// A client message as a typical client sends it, encoded by dhcproto.
fn client_message(kind: v4::MessageType) -> Vec<u8> {
    let unspecified = Ipv4Addr::UNSPECIFIED;
    let mut m = v4::Message::new_with_id(
        0x5e1f_c0de,
        unspecified,
        unspecified,
        unspecified,
        unspecified,
        &MAC,
    );
    m.set_flags(v4::Flags::default().set_broadcast());
    let client_id = [&[1][..], &MAC].concat();
    let opts = m.opts_mut();
    opts.insert(DhcpOption::MessageType(kind));
    opts.insert(DhcpOption::ClientIdentifier(client_id));
    opts.insert(DhcpOption::ParameterRequestList(
        PRL.iter().map(|&c| OptionCode::from(c)).collect(),
    ));
    opts.insert(DhcpOption::MaxMessageSize(1500));
    opts.insert(DhcpOption::Hostname("android-7f3a9c1e".into()));
    opts.insert(DhcpOption::ClassIdentifier(b"android-dhcp-14".to_vec()));
    if kind == v4::MessageType::Request {
        opts.insert(DhcpOption::RequestedIpAddress(OFFERED));
        opts.insert(DhcpOption::ServerIdentifier(SERVER));
    }
    m.to_vec().expect("dhcproto encodes the fixture")
}

/// Parse, then read message type, client id, PRL and requested IP.
fn bench_parse(c: &mut Criterion, name: &str, bytes: &[u8]) {
    let mut g = c.benchmark_group(name);
    g.bench_function("dhcp-wire", |b| {
        b.iter(|| {
            let m = Message::parse(black_box(bytes)).unwrap();
            black_box((
                m.message_type(),
                m.client_id().map(<[u8]>::len),
                m.parameter_request_list().map(<[u8]>::len),
                m.requested_ip(),
            ));
        })
    });
    // The parse alone, to tell its cost from the reads'.
    g.bench_function("dhcp-wire parse only", |b| {
        b.iter(|| {
            let m = Message::parse(black_box(bytes)).unwrap();
            black_box(&m);
        })
    });
    g.bench_function("dhcproto", |b| {
        b.iter(|| {
            let m = v4::Message::from_bytes(black_box(bytes)).unwrap();
            let opts = m.opts();
            black_box((
                opts.msg_type(),
                match opts.get(OptionCode::ClientIdentifier) {
                    Some(DhcpOption::ClientIdentifier(id)) => Some(id.len()),
                    _ => None,
                },
                match opts.get(OptionCode::ParameterRequestList) {
                    Some(DhcpOption::ParameterRequestList(p)) => Some(p.len()),
                    _ => None,
                },
                match opts.get(OptionCode::RequestedIpAddress) {
                    Some(DhcpOption::RequestedIpAddress(ip)) => Some(*ip),
                    _ => None,
                },
            ));
        })
    });
    g.finish();
}

fn parse(c: &mut Criterion) {
    bench_parse(
        c,
        "parse_discover",
        &client_message(v4::MessageType::Discover),
    );
    bench_parse(
        c,
        "parse_request",
        &client_message(v4::MessageType::Request),
    );
}

/// The 8 options of the OFFER: type, server id, lease, T1, T2, mask, router,
/// two DNS servers.
fn offer_options() -> [DhcpOption; 8] {
    [
        DhcpOption::MessageType(v4::MessageType::Offer),
        DhcpOption::ServerIdentifier(SERVER),
        DhcpOption::AddressLeaseTime(86_400),
        DhcpOption::Renewal(43_200),
        DhcpOption::Rebinding(75_600),
        DhcpOption::SubnetMask(Ipv4Addr::new(255, 255, 255, 0)),
        DhcpOption::Router(vec![SERVER]),
        DhcpOption::DomainNameServer(vec![Ipv4Addr::new(1, 1, 1, 1), Ipv4Addr::new(9, 9, 9, 9)]),
    ]
}

fn write(c: &mut Criterion) {
    let discover = client_message(v4::MessageType::Discover);
    let req = Message::parse(&discover).unwrap();
    let mut g = c.benchmark_group("write_offer");

    let mut buf = [0u8; 1500];
    g.bench_function("dhcp-wire", |b| {
        b.iter(|| {
            let req = black_box(&req);
            let mut w = Writer::new(&mut buf, usize::from(req.max_message_size().unwrap_or(576)));
            w.header(&ReplyHeader {
                op: BOOTREPLY,
                htype: req.htype(),
                hlen: req.hlen(),
                hops: 0,
                xid: req.xid(),
                secs: 0,
                flags: req.flags(),
                ciaddr: Ipv4Addr::UNSPECIFIED,
                yiaddr: OFFERED,
                siaddr: Ipv4Addr::UNSPECIFIED,
                giaddr: req.giaddr(),
                chaddr: req.chaddr_raw(),
                sname: b"",
                file: b"",
            });
            w.option_u8(code::MESSAGE_TYPE, 2).unwrap();
            w.option_ip(code::SERVER_ID, SERVER).unwrap();
            w.option_u32(code::LEASE_TIME, 86_400).unwrap();
            w.option_u32(code::RENEWAL_TIME, 43_200).unwrap();
            w.option_u32(code::REBINDING_TIME, 75_600).unwrap();
            w.option_ip(code::SUBNET_MASK, Ipv4Addr::new(255, 255, 255, 0))
                .unwrap();
            w.option_ip(code::ROUTER, SERVER).unwrap();
            w.option(code::DNS, &[1, 1, 1, 1, 9, 9, 9, 9]).unwrap();
            let n = w.finish();
            // The reply must be observed, or its stores are dead code.
            black_box(&buf[..n]);
        })
    });

    let dh_req = v4::Message::from_bytes(&discover).unwrap();
    g.bench_function("dhcproto build+encode", |b| {
        b.iter(|| {
            let req = black_box(&dh_req);
            let mut m = v4::Message::new_with_id(
                req.xid(),
                Ipv4Addr::UNSPECIFIED,
                OFFERED,
                Ipv4Addr::UNSPECIFIED,
                req.giaddr(),
                req.chaddr(),
            );
            m.set_opcode(v4::Opcode::BootReply)
                .set_htype(req.htype())
                .set_flags(req.flags());
            for o in offer_options() {
                m.opts_mut().insert(o);
            }
            black_box(m.to_vec().unwrap());
        })
    });

    // The encoder alone, message built once and output buffer reused: the
    // most favourable reading of dhcproto.
    let mut prebuilt = v4::Message::new_with_id(
        dh_req.xid(),
        Ipv4Addr::UNSPECIFIED,
        OFFERED,
        Ipv4Addr::UNSPECIFIED,
        Ipv4Addr::UNSPECIFIED,
        &MAC,
    );
    prebuilt.set_opcode(v4::Opcode::BootReply);
    for o in offer_options() {
        prebuilt.opts_mut().insert(o);
    }
    let mut out = Vec::with_capacity(1500);
    g.bench_function("dhcproto encode only", |b| {
        b.iter(|| {
            out.clear();
            black_box(&prebuilt)
                .encode(&mut Encoder::new(&mut out))
                .unwrap();
            black_box(out.len());
        })
    });
    g.finish();
}

criterion_group!(benches, parse, write);
criterion_main!(benches);
