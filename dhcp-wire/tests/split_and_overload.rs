//! Option overload (RFC 2131 §4.1, option 52) and split options (RFC 3396):
//! hand-built cases, and a model of the concatenation rules checked against
//! random layouts.

mod common;

use common::with_options;
use dhcp_wire::{DecodeError, Message, code};
use proptest::collection::vec;
use proptest::prelude::*;

const SNAME: std::ops::Range<usize> = 44..108;
const FILE: std::ops::Range<usize> = 108..236;

/// A message whose options field is `options`, with `file` and `sname`
/// fields starting with the given bytes (rest zero).
fn overloaded(options: &[u8], file: &[u8], sname: &[u8]) -> Vec<u8> {
    let mut b = with_options(options);
    b[FILE.start..FILE.start + file.len()].copy_from_slice(file);
    b[SNAME.start..SNAME.start + sname.len()].copy_from_slice(sname);
    b
}

#[test]
fn split_option_is_concatenated_in_order() {
    let b = with_options(&[61, 3, 1, 2, 3, 53, 1, 1, 61, 2, 4, 5, 255]);
    let m = Message::parse(&b).unwrap();
    assert_eq!(m.client_id(), Some(&[1, 2, 3, 4, 5][..]));
    let options: Vec<(u8, &[u8])> = m.options().collect();
    assert_eq!(options, [(61, &[1, 2, 3, 4, 5][..]), (53, &[1][..])]);
}

#[test]
fn interleaved_splits_of_two_options() {
    let b = with_options(&[
        6, 2, b'a', b'1', 12, 1, b'b', 6, 1, b'2', 53, 1, 3, 12, 2, b'c', b'd', 6, 0, 6, 1, b'3',
        255,
    ]);
    let m = Message::parse(&b).unwrap();
    let options: Vec<(u8, &[u8])> = m.options().collect();
    assert_eq!(
        options,
        [(6, &b"a123"[..]), (12, &b"bcd"[..]), (53, &[3][..])]
    );
}

#[test]
fn a_split_message_type_is_malformed() {
    // Two one-byte instances concatenate into a two-byte value.
    let b = with_options(&[53, 1, 1, 53, 1, 3, 255]);
    let m = Message::parse(&b).unwrap();
    assert_eq!(m.option(code::MESSAGE_TYPE), Some(&[1, 3][..]));
    assert_eq!(m.message_type(), None);
}

#[test]
fn overload_file() {
    let b = overloaded(
        &[53, 1, 5, 52, 1, 1, 255],
        &[3, 4, 10, 0, 0, 1, 255],
        &[6, 4, 9, 9, 9, 9, 255],
    );
    let m = Message::parse(&b).unwrap();
    assert_eq!(m.option(code::ROUTER), Some(&[10, 0, 0, 1][..]));
    assert_eq!(m.option(code::DNS), None, "sname is not overloaded");
    let codes: Vec<u8> = m.options().map(|(c, _)| c).collect();
    assert_eq!(codes, [53, 52, 3]);
}

#[test]
fn overload_sname() {
    let b = overloaded(
        &[52, 1, 2, 255],
        &[3, 4, 10, 0, 0, 1, 255],
        &[6, 4, 9, 9, 9, 9, 255],
    );
    let m = Message::parse(&b).unwrap();
    assert_eq!(m.option(code::DNS), Some(&[9, 9, 9, 9][..]));
    assert_eq!(m.option(code::ROUTER), None, "file is not overloaded");
}

#[test]
fn overload_both_reads_options_then_file_then_sname() {
    // Option 15 is split over all three regions, sname's part written first
    // in the buffer but read last.
    let b = overloaded(
        &[15, 2, b'a', b'b', 52, 1, 3, 255],
        &[15, 1, b'c', 3, 4, 10, 0, 0, 1, 255],
        &[15, 2, b'd', b'e', 255],
    );
    let m = Message::parse(&b).unwrap();
    assert_eq!(m.option(code::DOMAIN_NAME), Some(&b"abcde"[..]));
    let codes: Vec<u8> = m.options().map(|(c, _)| c).collect();
    assert_eq!(codes, [15, 52, 3]);
}

#[test]
fn overloaded_fields_need_no_end() {
    let mut file = vec![0; 128];
    file[..6].copy_from_slice(&[67, 126, b'b', b'o', b'o', b't']);
    let b = overloaded(&[52, 1, 1], &file, &[]);
    let m = Message::parse(&b).unwrap();
    assert_eq!(m.option(code::BOOTFILE).map(<[u8]>::len), Some(126));
}

#[test]
fn an_option_may_not_run_out_of_its_field() {
    // 20 bytes announced at file offset 120: past the end of `file`, even
    // though the buffer continues into the cookie and options.
    let mut file = vec![0; 128];
    file[120..122].copy_from_slice(&[12, 20]);
    let b = overloaded(&[52, 1, 1, 255], &file, &[]);
    assert_eq!(
        Message::parse(&b).unwrap_err(),
        DecodeError::OptionOverrun {
            code: 12,
            offset: FILE.start + 120
        }
    );
    let b = overloaded(&[52, 1, 2, 255], &[], &[6, 70]);
    assert_eq!(
        Message::parse(&b).unwrap_err(),
        DecodeError::OptionOverrun {
            code: 6,
            offset: SNAME.start
        }
    );
}

#[test]
fn bad_overload_values() {
    for options in [
        &[52, 1, 0, 255][..],
        &[52, 1, 4, 255],
        &[52, 2, 1, 1, 255],
        &[52, 0, 255],
        &[52, 1, 1, 52, 1, 2, 255],
    ] {
        assert_eq!(
            Message::parse(&with_options(options)).unwrap_err(),
            DecodeError::BadOverload,
            "{options:?}"
        );
    }
}

#[test]
fn overload_inside_an_overloaded_field_is_just_an_option() {
    // RFC 2131 allows option 52 in the options field only; one in `file`
    // neither turns sname on nor fails the message.
    let b = overloaded(&[52, 1, 1, 255], &[52, 1, 2, 255], &[6, 4, 9, 9, 9, 9, 255]);
    let m = Message::parse(&b).unwrap();
    assert_eq!(m.option(code::DNS), None);
    assert_eq!(m.option(code::OVERLOAD), Some(&[1, 2][..]));
}

/// Which of the three regions an option instance is written to.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Region {
    Options,
    File,
    Sname,
}

/// Lays out `instances` (with PAD runs before each) in the regions the
/// overload value enables, keeping only those that fit, and returns the
/// message and the model of what `options()` must yield: codes in order of
/// first appearance (options field, then file, then sname), values
/// concatenated.
fn layout(
    overload: u8,
    instances: &[(Region, u8, Vec<u8>, usize)],
) -> (Vec<u8>, Vec<(u8, Vec<u8>)>) {
    let mut regions: [(Region, Vec<u8>, usize); 3] = [
        (Region::Options, Vec::new(), usize::MAX),
        (Region::File, Vec::new(), FILE.len()),
        (Region::Sname, Vec::new(), SNAME.len()),
    ];
    if overload != 0 {
        regions[0]
            .1
            .extend_from_slice(&[code::OVERLOAD, 1, overload]);
    }
    let enabled = |r: Region| match r {
        Region::Options => true,
        Region::File => overload & 1 != 0,
        Region::Sname => overload & 2 != 0,
    };
    let mut kept: [Vec<(u8, Vec<u8>)>; 3] = Default::default();
    for (region, c, value, pads) in instances {
        let slot = regions.iter().position(|(r, _, _)| r == region).unwrap();
        let (_, bytes, cap) = &mut regions[slot];
        // Keep room for END.
        if !enabled(*region) || bytes.len() + pads + 2 + value.len() + 1 > *cap {
            continue;
        }
        bytes.resize(bytes.len() + pads, code::PAD);
        bytes.push(*c);
        bytes.push(value.len() as u8);
        bytes.extend_from_slice(value);
        kept[slot].push((*c, value.clone()));
    }
    for (_, bytes, _) in &mut regions {
        bytes.push(code::END);
    }
    let msg = overloaded(&regions[0].1, &regions[1].1, &regions[2].1);

    let mut model: Vec<(u8, Vec<u8>)> = Vec::new();
    if overload != 0 {
        model.push((code::OVERLOAD, vec![overload]));
    }
    for (c, value) in kept.into_iter().flatten() {
        match model.iter_mut().find(|(m, _)| *m == c) {
            Some((_, v)) => v.extend_from_slice(&value),
            None => model.push((c, value)),
        }
    }
    (msg, model)
}

fn instance() -> impl Strategy<Value = (Region, u8, Vec<u8>, usize)> {
    (
        prop_oneof![
            Just(Region::Options),
            Just(Region::File),
            Just(Region::Sname)
        ],
        // Few codes, so that repeats and interleavings are common; no 52.
        prop::sample::select(vec![1u8, 3, 6, 12, 61, 82, 254]),
        vec(any::<u8>(), 0..40),
        0usize..3,
    )
}

proptest! {
    #[test]
    fn concatenation_follows_the_model(
        overload in 0u8..=3,
        instances in vec(instance(), 0..30),
    ) {
        let (msg, model) = layout(overload, &instances);
        let m = Message::parse(&msg).unwrap();
        let got: Vec<(u8, Vec<u8>)> = m.options().map(|(c, v)| (c, v.to_vec())).collect();
        prop_assert_eq!(&got, &model);
        for (c, v) in &model {
            prop_assert_eq!(m.option(*c), Some(&v[..]));
        }
    }
}
