//! The scenarios driven by a fake clock and a scripted server.

use super::*;

const MS: u64 = 1_000_000;
const T0: u64 = 1_000 * S;
const SERVER: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 1);

fn settings(scenario: Scenario, clients: u32) -> Settings {
    let mut s = Settings::new(scenario, clients);
    s.rate = 0.0;
    s
}

/// Polls everything sendable at `now` and marks it sent at `now`.
fn send_all(e: &mut Engine, now: u64) -> Vec<Send> {
    let mut out = Vec::new();
    e.expire(now);
    e.poll(now, &mut out, 100_000);
    for s in &out {
        e.sent(s, now);
    }
    out
}

fn reply(s: &Send, kind: ReplyType, yiaddr: Ipv4Addr) -> Reply {
    Reply {
        client: s.client,
        xid: s.xid,
        kind,
        yiaddr,
        server: SERVER,
        lease_s: Some(3600),
    }
}

fn addr_of(n: u32) -> Ipv4Addr {
    Ipv4Addr::from(u32::from(Ipv4Addr::new(10, 0, 0, 0)) + n)
}

/// A server that answers everything right after `delay`.
fn answer(e: &mut Engine, sends: &[Send], now: u64) {
    for s in sends {
        let kind = match s.message {
            Message::Discover => ReplyType::Offer,
            Message::Request { .. } | Message::Renew { .. } => ReplyType::Ack,
            Message::Release { .. } => continue,
        };
        e.on_reply(&reply(s, kind, addr_of(s.client)), now);
    }
}

#[test]
fn a_dora_run_completes_every_client_once_and_finishes() {
    let mut e = Engine::new(settings(Scenario::Dora, 3), T0);
    let discovers = send_all(&mut e, T0);
    assert_eq!(discovers.len(), 3);
    assert!(discovers.iter().all(|s| s.message == Message::Discover));
    assert_eq!(e.in_flight(), 3);
    answer(&mut e, &discovers, T0 + 50_000);
    let requests = send_all(&mut e, T0 + 60_000);
    assert_eq!(requests.len(), 3);
    assert_eq!(
        requests[1].message,
        Message::Request {
            addr: addr_of(1),
            server: SERVER
        }
    );
    assert_eq!(requests[1].xid, discovers[1].xid, "REQUEST keeps the xid");
    answer(&mut e, &requests, T0 + 160_000);
    assert!(send_all(&mut e, T0 + 170_000).is_empty());
    assert!(e.is_finished());
    let st = e.stats();
    let (d, r) = (st.kind(Kind::Do), st.kind(Kind::Ra));
    assert_eq!(
        (d.counters.sent, d.counters.answered, d.counters.drops),
        (3, 3, 0)
    );
    assert_eq!(
        (r.counters.sent, r.counters.answered, r.counters.drops),
        (3, 3, 0)
    );
    assert!(
        d.latency
            .equivalent(d.latency.value_at_quantile(0.5), 50_000)
    );
    assert!(r.latency.equivalent(r.latency.max(), 100_000));
    assert_eq!(st.offered, 3);
    assert_eq!(e.bound(), 3);
    assert_eq!(e.holder_of(addr_of(2)), Some(2));
}

#[test]
fn the_pacer_limits_starts_and_the_duration_ends_the_main_phase() {
    let mut s = settings(Scenario::Do, 1_000_000);
    s.rate = 1_000.0;
    s.duration_ns = Some(50 * MS);
    let mut e = Engine::new(s, T0);
    assert_eq!(e.behind(T0 + 10 * MS), 10);
    assert_eq!(send_all(&mut e, T0 + 10 * MS).len(), 10);
    assert_eq!(e.behind(T0 + 10 * MS), 0);
    assert_eq!(send_all(&mut e, T0 + 10 * MS).len(), 0);
    assert_eq!(send_all(&mut e, T0 + 25 * MS).len(), 15);
    send_all(&mut e, T0 + 50 * MS);
    assert_eq!(e.phase(), Phase::Drain);
    assert_eq!(e.stats().offered, 25, "nothing starts at the end");
    // Nobody answers: every DISCOVER times out 1 s after it left.
    send_all(&mut e, T0 + 1_000 * MS + 24 * MS);
    assert_eq!(e.in_flight(), 15, "those sent at 25 ms");
    send_all(&mut e, T0 + 1_000 * MS + 25 * MS);
    assert!(e.is_finished());
    assert_eq!(e.stats().kind(Kind::Do).counters.drops, 25);
    assert_eq!(e.unfinished(), 0);
}

#[test]
fn late_duplicate_unexpected_and_unknown_replies_are_told_apart() {
    let mut e = Engine::new(settings(Scenario::Dora, 4), T0);
    let d = send_all(&mut e, T0);
    // Client 0: answered twice.
    e.on_reply(&reply(&d[0], ReplyType::Offer, addr_of(0)), T0 + MS);
    e.on_reply(&reply(&d[0], ReplyType::Offer, addr_of(0)), T0 + 2 * MS);
    // Client 1: an ACK to its DISCOVER.
    e.on_reply(&reply(&d[1], ReplyType::Ack, addr_of(1)), T0 + MS);
    // Client 2: an xid it never used.
    let mut wrong = reply(&d[2], ReplyType::Offer, addr_of(2));
    wrong.xid ^= 0x8000_0000;
    e.on_reply(&wrong, T0 + MS);
    // Client 3: answered after the timeout.
    send_all(&mut e, T0 + 1_001 * MS);
    e.on_reply(&reply(&d[3], ReplyType::Offer, addr_of(3)), T0 + 1_002 * MS);
    // A client outside the population.
    let mut foreign = reply(&d[0], ReplyType::Offer, addr_of(0));
    foreign.client = 4;
    e.on_reply(&foreign, T0 + MS);

    let st = e.stats();
    let c = st.kind(Kind::Do).counters;
    assert_eq!(c.answered, 1);
    assert_eq!(c.duplicate_replies, 1);
    assert_eq!(c.unexpected, 1);
    assert_eq!(c.late, 1);
    assert_eq!(c.drops, 3, "clients 1, 2 and 3 timed out");
    assert_eq!(st.unknown_xid, 1);
    assert_eq!(st.foreign, 1);
}

#[test]
fn an_address_acked_to_two_clients_is_a_duplicate_but_a_renewal_is_not() {
    let mut e = Engine::new(settings(Scenario::Dora, 3), T0);
    let d = send_all(&mut e, T0);
    let shared = addr_of(7);
    for s in &d {
        e.on_reply(&reply(s, ReplyType::Offer, shared), T0 + MS);
    }
    let r = send_all(&mut e, T0 + MS);
    e.on_reply(&reply(&r[0], ReplyType::Ack, shared), T0 + 2 * MS);
    e.on_reply(&reply(&r[1], ReplyType::Ack, shared), T0 + 2 * MS);
    e.on_reply(&reply(&r[2], ReplyType::Nak, shared), T0 + 2 * MS);
    let st = e.stats();
    assert_eq!(st.duplicate_addresses, 1);
    let ex = st.duplicate_examples[0];
    assert_eq!((ex.address, ex.holder, ex.given_to), (shared, 0, 1));
    assert_eq!(st.kind(Kind::Ra).counters.naks, 1);
    assert_eq!(e.bound(), 2);
}

#[test]
fn an_expired_or_released_address_may_go_to_another_client() {
    let mut e = Engine::new(settings(Scenario::Dora, 2), T0);
    let d = send_all(&mut e, T0);
    let a = addr_of(9);
    e.on_reply(&reply(&d[0], ReplyType::Offer, a), T0 + MS);
    let r = send_all(&mut e, T0 + MS);
    let mut short = reply(&r[0], ReplyType::Ack, a);
    short.lease_s = Some(1);
    e.on_reply(&short, T0 + 2 * MS);
    // Client 1 gets it after client 0's one-second lease ended.
    e.on_reply(&reply(&d[1], ReplyType::Offer, a), T0 + 3 * MS);
    let r = send_all(&mut e, T0 + 3 * MS);
    e.on_reply(&reply(&r[0], ReplyType::Ack, a), T0 + 2 * S);
    assert_eq!(e.stats().duplicate_addresses, 0);
    assert_eq!(e.holder_of(a), Some(1));
}

#[test]
fn renew_binds_everyone_first_then_renews_with_ciaddr() {
    let mut s = settings(Scenario::Renew, 2);
    s.count = Some(4);
    let mut e = Engine::new(s, T0);
    assert_eq!(e.phase(), Phase::Bind);
    let d = send_all(&mut e, T0);
    answer(&mut e, &d, T0 + MS);
    let r = send_all(&mut e, T0 + MS);
    answer(&mut e, &r, T0 + 2 * MS);
    let renewals = send_all(&mut e, T0 + 3 * MS);
    assert_eq!(e.phase(), Phase::Main);
    assert_eq!(renewals.len(), 2, "one per client: both are in flight");
    assert_eq!(
        renewals[0].message,
        Message::Renew {
            addr: addr_of(0),
            server: SERVER
        }
    );
    assert_ne!(renewals[0].xid, d[0].xid, "a renewal is a new exchange");
    answer(&mut e, &renewals, T0 + 4 * MS);
    let more = send_all(&mut e, T0 + 5 * MS);
    assert_eq!(more.len(), 2);
    answer(&mut e, &more, T0 + 6 * MS);
    send_all(&mut e, T0 + 7 * MS);
    assert!(e.is_finished());
    let c = e.stats().kind(Kind::Renew).counters;
    assert_eq!((c.sent, c.answered), (4, 4));
    let l = &e.stats().kind(Kind::Renew).latency;
    assert!(l.equivalent(l.max(), MS));
}

#[test]
fn release_sends_one_release_per_bound_client_and_forgets_the_lease() {
    let mut e = Engine::new(settings(Scenario::Release, 3), T0);
    let d = send_all(&mut e, T0);
    // Client 2 never gets an offer: it is not bound and releases nothing.
    answer(&mut e, &d[..2], T0 + MS);
    let r = send_all(&mut e, T0 + MS);
    answer(&mut e, &r, T0 + 2 * MS);
    // Client 2's DISCOVER times out, which ends the bind phase.
    let releases = send_all(&mut e, T0 + 1_001 * MS);
    assert_eq!(releases.len(), 2);
    assert!(matches!(releases[0].message, Message::Release { addr, .. } if addr == addr_of(0)));
    assert_eq!(e.bound(), 0);
    assert_eq!(e.holder_of(addr_of(0)), None);
    assert!(send_all(&mut e, T0 + 1_003 * MS).is_empty());
    assert!(e.is_finished());
    // An answer to a RELEASE is wrong.
    e.on_reply(
        &reply(&releases[1], ReplyType::Ack, addr_of(1)),
        T0 + 1_004 * MS,
    );
    assert_eq!(e.stats().kind(Kind::Release).counters.unexpected, 1);
    assert_eq!(e.stats().kind(Kind::Release).counters.sent, 2);
}

#[test]
fn storm_retransmissions_follow_the_rfc_2131_schedule() {
    let mut s = settings(Scenario::Storm, 1);
    s.retries = 3;
    s.seed = 42;
    let mut e = Engine::new(s, T0);
    // The delays the engine must use: the same seeded generator, in order.
    let mut rng = Rng::new(42);
    let delays: Vec<u64> = (0..4).map(|r| backoff::delay_ns(r, &mut rng)).collect();
    for (r, d) in delays.iter().enumerate() {
        let nominal = (4 * S) << r;
        assert!((nominal - S..=nominal + S).contains(d), "retry {r}: {d}");
    }

    let mut now = T0;
    let mut sent_at = Vec::new();
    let mut secs = Vec::new();
    // A driver that sleeps until the engine's next wake-up; nobody answers.
    for _ in 0..100 {
        for s in send_all(&mut e, now) {
            assert_eq!(s.message, Message::Discover);
            sent_at.push(now - T0);
            secs.push(s.secs);
        }
        if e.is_finished() {
            break;
        }
        now = e
            .next_wakeup(now)
            .expect("a storm client always has a timer");
    }
    let expected: Vec<u64> = (0..4).map(|i| delays[..i].iter().sum()).collect();
    assert_eq!(sent_at, expected);
    let expected_secs: Vec<u16> = expected.iter().map(|t| (t / S) as u16).collect();
    assert_eq!(secs, expected_secs);
    assert!(e.is_finished());
    assert_eq!(
        now - T0,
        delays.iter().sum::<u64>(),
        "gives up after the last wait"
    );
    let c = e.stats().kind(Kind::Do).counters;
    assert_eq!((c.sent, c.retransmits, c.drops), (4, 3, 4));
    assert_eq!(e.stats().gave_up, 1);
}

#[test]
fn a_storm_client_answered_after_a_retransmission_is_bound_with_its_bind_time() {
    let mut e = Engine::new(settings(Scenario::Storm, 1), T0);
    let first = send_all(&mut e, T0);
    let retx_at = e.next_wakeup(T0).unwrap();
    let retx = send_all(&mut e, retx_at);
    assert_eq!(retx.len(), 1);
    assert!(retx[0].retransmit);
    assert_eq!(retx[0].xid, first[0].xid, "a retransmission keeps its xid");
    answer(&mut e, &retx, retx_at + MS);
    let req = send_all(&mut e, retx_at + MS);
    answer(&mut e, &req, retx_at + 2 * MS);
    assert_eq!(e.bound(), 1);
    let bind = &e.stats().bind_time;
    assert_eq!(bind.len(), 1);
    assert!(bind.equivalent(bind.max(), retx_at + 2 * MS - T0));
    let l = &e.stats().kind(Kind::Do).latency;
    assert!(l.equivalent(l.max(), MS), "measured from the last try");
}

#[test]
fn mix_renews_or_releases_bound_clients_and_rebinds_the_others() {
    let mut s = settings(Scenario::Mix, 50);
    s.count = Some(500);
    s.renew_share = 0.5;
    let mut e = Engine::new(s, T0);
    let mut now = T0;
    for _ in 0..1_000 {
        let sends = send_all(&mut e, now);
        now += MS;
        answer(&mut e, &sends, now);
        if e.is_finished() {
            break;
        }
    }
    assert!(e.is_finished());
    let st = e.stats();
    let renews = st.kind(Kind::Renew).counters.sent;
    let releases = st.kind(Kind::Release).counters.sent;
    let doras = st.kind(Kind::Ra).counters.sent;
    assert_eq!(st.offered, 500);
    assert_eq!(renews + releases + doras, 500);
    assert!(
        renews > 50 && releases > 50 && doras > 50,
        "{renews} {releases} {doras}"
    );
    assert_eq!(st.duplicate_addresses, 0);
}

#[test]
fn the_drain_gives_up_on_what_is_still_in_flight() {
    let mut s = settings(Scenario::Storm, 2);
    s.drain_ns = 2 * S;
    let mut e = Engine::new(s, T0);
    send_all(&mut e, T0);
    assert_eq!(e.phase(), Phase::Drain, "every storm client has started");
    send_all(&mut e, T0 + 2 * S);
    assert!(e.is_finished());
    assert_eq!(e.unfinished(), 2);
}
