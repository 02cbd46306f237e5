//! Conflict detection in the engine: which OFFERs are marked for a ping,
//! retransmissions while the ping runs, and what an answered ping does to
//! the address (`Shard::conflict`, `Shard::probe_done`).

mod common;

use common::*;
use dhcp_user::engine::{LeaseChange, Shard, Silence};
use dhcp_wire::Message;
use dhcproto::v4::MessageType;
use std::net::Ipv4Addr;

/// Two pings of 500 ms: an OFFER waits a second for them.
const CONFIG: &str = r#"
[server]
offer_timeout = 30
decline_quarantine = "1h"
conflict_detection_attempts = 2
conflict_detection_timeout = "500ms"

[[scope]]
name = "lan"
subnet = "10.0.0.0/24"
ranges = ["10.0.0.10-10.0.0.13"]
lease_time = 3600

[[scope.reservation]]
mac = "02:00:00:00:0a:0a"
ip = "10.0.0.200"
"#;

const PROBE_MS: u64 = 2 * 500;

fn conflict(s: &mut Shard, frame: &[u8], addr: Ipv4Addr, now: u64) -> Option<LeaseChange> {
    s.conflict(&Message::parse(frame).unwrap(), addr, now)
}

fn probe_done(s: &mut Shard, frame: &[u8]) {
    s.probe_done(&Message::parse(frame).unwrap());
}

#[test]
fn a_newly_chosen_address_is_pinged_before_it_is_offered() {
    let mut s = shard(CONFIG);
    let c = client(1);
    let offer = send(&mut s, &c.discover(), meta_direct(), 0);
    assert_eq!(offer.kind(), Some(MessageType::Offer));
    let reply = offer.outcome.reply.unwrap();
    assert_eq!(reply.probe, Some(offer.yiaddr()));
    assert_eq!(reply.delay_ms, 0, "a ping is no delayed offer");
    // An address the client asks for (option 50) is a new claim too.
    let wanted = send(
        &mut s,
        &client(2).discover_wanting(ip("10.0.0.12")),
        meta_direct(),
        0,
    );
    assert_eq!(wanted.yiaddr(), ip("10.0.0.12"));
    assert_eq!(wanted.outcome.reply.unwrap().probe, Some(ip("10.0.0.12")));
}

#[test]
fn conflict_detection_off_pings_nothing() {
    let cfg = CONFIG.replace("conflict_detection_attempts = 2", "");
    let mut s = shard(&cfg);
    let offer = send(&mut s, &client(1).discover(), meta_direct(), 0);
    assert_eq!(offer.outcome.reply.unwrap().probe, None);
}

#[test]
fn reservations_leases_and_outstanding_offers_are_not_pinged() {
    let mut s = shard(CONFIG);
    // A reservation.
    let mut printer = client(0);
    printer.mac = [0x02, 0, 0, 0, 0x0a, 0x0a];
    let offer = send(&mut s, &printer.discover(), meta_direct(), 0);
    assert_eq!(offer.yiaddr(), ip("10.0.0.200"));
    assert_eq!(offer.outcome.reply.unwrap().probe, None);
    // The client's own lease: a DISCOVER from a bound client, a renewal.
    let c = client(3);
    let first = send(&mut s, &c.discover(), meta_direct(), 0);
    probe_done(&mut s, &c.discover());
    let addr = first.yiaddr();
    let ack = send(&mut s, &c.select(addr, IFACE), meta_direct(), 10);
    assert_eq!(ack.kind(), Some(MessageType::Ack));
    assert_eq!(ack.outcome.reply.unwrap().probe, None);
    let again = send(&mut s, &c.discover(), meta_direct(), 20);
    assert_eq!(again.yiaddr(), addr);
    assert_eq!(again.outcome.reply.unwrap().probe, None);
    let renewal = send(&mut s, &c.renew(addr), meta_direct(), 30);
    assert_eq!(renewal.kind(), Some(MessageType::Ack));
    assert_eq!(renewal.outcome.reply.unwrap().probe, None);
}

#[test]
fn a_retransmitted_discover_waits_for_the_ping_and_is_not_pinged_again() {
    let mut s = shard(CONFIG);
    let c = client(4);
    let offer = send(&mut s, &c.discover(), meta_direct(), 0);
    let addr = offer.yiaddr();
    // While the ping runs, the parked OFFER is the answer.
    let during = send(&mut s, &c.discover(), meta_direct(), PROBE_MS - 1);
    assert_eq!(during.outcome.silence, Some(Silence::Probing));
    // Once the ping is over, the held offer comes back, unpinged.
    let after = send(&mut s, &c.discover(), meta_direct(), PROBE_MS);
    assert_eq!(after.yiaddr(), addr);
    assert_eq!(after.outcome.reply.unwrap().probe, None);
    // The datapath may say so earlier.
    let c = client(5);
    send(&mut s, &c.discover(), meta_direct(), 0);
    probe_done(&mut s, &c.discover());
    let after = send(&mut s, &c.discover(), meta_direct(), 1);
    assert_eq!(after.outcome.reply.unwrap().probe, None);
}

#[test]
fn an_address_that_answers_is_quarantined_and_the_next_one_offered() {
    let mut s = shard(CONFIG);
    let c = client(6);
    let busy = ip("10.0.0.10");
    let discover = c.discover_wanting(busy);
    let offer = send(&mut s, &discover, meta_direct(), 0);
    assert_eq!(offer.yiaddr(), busy);
    assert_eq!(offer.outcome.reply.unwrap().probe, Some(busy));

    let change = conflict(&mut s, &discover, busy, 100);
    match change {
        Some(LeaseChange::Declined {
            addr,
            until_ms,
            ref client,
        }) => {
            assert_eq!(addr, busy);
            assert_eq!(until_ms, 100 + 3_600_000, "quarantined as if declined");
            assert!(!client.is_empty());
        }
        other => panic!("unexpected change {other:?}"),
    }
    assert!(
        s.holdings().all(|h| h.addr != busy),
        "the client no longer holds it"
    );
    // The same DISCOVER, run again: the next address, pinged in turn.
    let next = send(&mut s, &discover, meta_direct(), 100);
    assert_eq!(next.kind(), Some(MessageType::Offer));
    assert_ne!(next.yiaddr(), busy);
    assert_eq!(next.outcome.reply.unwrap().probe, Some(next.yiaddr()));

    // Nobody is offered the busy address while it is quarantined, even
    // when asking for it; the pool runs dry instead.
    for n in 0..2 {
        let other = send(
            &mut s,
            &client(100 + n).discover_wanting(busy),
            meta_direct(),
            200,
        );
        assert_ne!(other.yiaddr(), busy);
    }
    assert_eq!(
        send(&mut s, &client(200).discover(), meta_direct(), 200)
            .outcome
            .silence,
        Some(Silence::PoolExhausted)
    );
    // It comes back when the quarantine ends.
    s.poll_timers(100 + 3_600_000, &mut Vec::new());
    let later = send(
        &mut s,
        &client(201).discover_wanting(busy),
        meta_direct(),
        3_700_000,
    );
    assert_eq!(later.yiaddr(), busy);
}

#[test]
fn a_conflict_never_takes_an_address_from_its_holder() {
    let mut s = shard(CONFIG);
    let holder = client(7);
    let addr = dora(&mut s, &holder, 0);
    // Another client's parked offer is long gone (a reload, say) and its
    // address went to `holder` meanwhile.
    let stranger = client(8).discover();
    assert_eq!(conflict(&mut s, &stranger, addr, 10), None);
    assert_eq!(
        send(&mut s, &holder.renew(addr), meta_direct(), 20).kind(),
        Some(MessageType::Ack)
    );
    // A free address is quarantined even without an offer on record.
    let free = ip("10.0.0.13");
    assert!(s.holdings().all(|h| h.addr != free));
    assert!(matches!(
        conflict(&mut s, &stranger, free, 30),
        Some(LeaseChange::Declined { addr, .. }) if addr == free
    ));
    let wanting = send(&mut s, &client(9).discover_wanting(free), meta_direct(), 40);
    assert_ne!(wanting.yiaddr(), free);
}

#[test]
fn the_offer_timeout_starts_when_the_ping_is_over() {
    let cfg = CONFIG
        .replace(
            "conflict_detection_attempts = 2",
            "conflict_detection_attempts = 5",
        )
        .replace("\"500ms\"", "5");
    let mut s = shard(&cfg);
    let c = client(10);
    let addr = send(&mut s, &c.discover(), meta_direct(), 0).yiaddr();
    // 25 s of pings, then the 30 s offer timeout.
    s.poll_timers(30_000, &mut Vec::new());
    assert!(s.holdings().any(|h| h.addr == addr), "still held at 30 s");
    s.poll_timers(55_000, &mut Vec::new());
    assert!(s.holdings().all(|h| h.addr != addr), "released at 55 s");
}
