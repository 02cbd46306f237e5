//! The XDP program and userspace steer every client to the same worker:
//! for each client frame of the captured fixtures (real dhclient, udhcpc,
//! dhcpcd and perfdhcp traffic), also with QinQ, 802.1Q and IP options
//! added, the hash the program computes from the raw frame
//! (`dhcp_ebpf::classify`, the same code the kernel runs) equals the hash
//! of the key the engine steers by (`engine::steering_key`).

use std::{fs, path::Path};

use dhcp_common::steer;
use dhcp_ebpf::classify::{Class, Packet, classify};
use dhcp_user::{datapath::frame, engine::steering_key};

struct Frame<'f>(&'f [u8]);

impl Packet for Frame<'_> {
    fn bytes<const N: usize>(&self, offset: usize) -> Option<[u8; N]> {
        self.0.get(offset..offset + N)?.try_into().ok()
    }

    fn load(&self, offset: usize, buf: &mut [u8]) -> Option<()> {
        buf.copy_from_slice(self.0.get(offset..offset + buf.len())?);
        Some(())
    }
}

/// The frames of a classic little-endian Ethernet pcap file.
fn read_pcap(path: &Path) -> Vec<Vec<u8>> {
    let data = fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert_eq!(data[..4], [0xd4, 0xc3, 0xb2, 0xa1], "{}", path.display());
    let mut frames = Vec::new();
    let mut at = 24;
    while at + 16 <= data.len() {
        let len = u32::from_le_bytes(data[at + 8..at + 12].try_into().unwrap()) as usize;
        frames.push(data[at + 16..at + 16 + len].to_vec());
        at += 16 + len;
    }
    frames
}

fn fixtures() -> Vec<(String, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/pcap");
    let mut paths: Vec<_> = fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "pcap"))
        .collect();
    paths.sort();
    paths
        .iter()
        .flat_map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            read_pcap(p)
                .into_iter()
                .enumerate()
                .map(move |(i, f)| (format!("{name} frame {}", i + 1), f))
        })
        .collect()
}

/// The userspace hash of the message in `bytes`, and whether its key is a
/// client identifier; `None` unless it is a parseable DHCP frame to 67.
fn userspace(bytes: &[u8]) -> Option<(u32, bool)> {
    let parsed = frame::parse(bytes)?;
    if parsed.dst_port != 67 {
        return None;
    }
    let msg = dhcp_wire::Message::parse(&bytes[parsed.payload]).ok()?;
    let key = steering_key(&msg);
    Some((steer::client_hash(key), msg.client_id().is_some()))
}

fn xdp(bytes: &[u8]) -> Class {
    classify(&Frame(bytes), 67)
}

/// `bytes` with VLAN tags (TPID, TCI) inserted after the MAC addresses.
fn tagged(bytes: &[u8], tags: &[(u16, u16)]) -> Vec<u8> {
    let mut out = bytes[..12].to_vec();
    for (tpid, tci) in tags {
        out.extend_from_slice(&tpid.to_be_bytes());
        out.extend_from_slice(&tci.to_be_bytes());
    }
    out.extend_from_slice(&bytes[12..]);
    out
}

/// An untagged `bytes` with `words` 32-bit words of IP options (NOPs, then
/// END) inserted, lengths updated.
fn with_ip_options(bytes: &[u8], words: u8) -> Vec<u8> {
    let ip = 14;
    let ihl = usize::from(bytes[ip] & 0x0f) * 4;
    let mut out = bytes[..ip + ihl].to_vec();
    let mut options = vec![1u8; usize::from(words) * 4];
    *options.last_mut().unwrap() = 0;
    out.extend_from_slice(&options);
    out.extend_from_slice(&bytes[ip + ihl..]);
    out[ip] += words;
    let total = u16::from_be_bytes([out[ip + 2], out[ip + 3]]) + u16::from(words) * 4;
    out[ip + 2..ip + 4].copy_from_slice(&total.to_be_bytes());
    out
}

#[test]
fn xdp_hash_equals_userspace_hash_on_every_captured_client_frame() {
    let mut checked = 0;
    let mut by_client_id = 0;
    for (name, bytes) in fixtures() {
        let Some((want, has_client_id)) = userspace(&bytes) else {
            continue;
        };
        checked += 1;
        by_client_id += usize::from(has_client_id);
        let variants = [
            ("untagged", bytes.clone()),
            ("802.1Q", tagged(&bytes, &[(0x8100, 0x0064)])),
            (
                "QinQ",
                tagged(&bytes, &[(0x88a8, 0x00c8), (0x8100, 0x0064)]),
            ),
            ("IP options", with_ip_options(&bytes, 3)),
            ("longest IP header", with_ip_options(&bytes, 10)),
        ];
        for (what, variant) in variants {
            assert_eq!(
                userspace(&variant).map(|u| u.0),
                Some(want),
                "{name} {what}: userspace reads the variant differently"
            );
            assert_eq!(
                xdp(&variant),
                Class::Dhcp { hash: want },
                "{name} {what}: XDP hash differs from userspace"
            );
        }
    }
    // The fixtures hold clients of both kinds: with option 61 (dhclient,
    // dhcpcd) and without (udhcpc, perfdhcp without -o 61).
    assert!(
        checked >= 20,
        "only {checked} client frames in the fixtures"
    );
    assert!(
        by_client_id > 0 && by_client_id < checked,
        "{by_client_id} of {checked} frames steer by client id: both kinds needed"
    );
}

#[test]
fn replies_from_the_fixtures_are_not_steered() {
    let replies = fixtures()
        .into_iter()
        .filter(|(_, b)| frame::parse(b).is_some_and(|p| p.dst_port == 68))
        .count();
    assert!(replies > 0);
    for (name, bytes) in fixtures() {
        if frame::parse(&bytes).is_some_and(|p| p.dst_port == 68) {
            assert_eq!(xdp(&bytes), Class::Other, "{name}");
        }
    }
}
