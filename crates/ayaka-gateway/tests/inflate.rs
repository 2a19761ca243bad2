#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]
//! The decompressor against real zlib streams split every possible way,
//! each test on every inflate backend compiled in.

use ayaka_gateway::{Decompressor, ErrorKind, InflateBackend, ZLIB_SUFFIX};
use miniz_oxide::{
    DataFormat, MZFlush,
    deflate::{core::CompressorOxide, stream::deflate},
};
use proptest::prelude::*;

/// Compresses `messages` into one zlib stream, each ending with `flush`.
/// Returns the compressed bytes of each message.
fn compress_stream(messages: &[Vec<u8>], flush: MZFlush) -> Vec<Vec<u8>> {
    compress_stream_at(messages, flush, 6)
}

/// [`compress_stream`] at a compression level (0: stored blocks only).
fn compress_stream_at(messages: &[Vec<u8>], flush: MZFlush, level: u8) -> Vec<Vec<u8>> {
    let mut compressor = CompressorOxide::default();
    compressor.set_format_and_level(DataFormat::Zlib, level);
    messages
        .iter()
        .map(|message| {
            let mut out = vec![0; message.len() * 2 + 1024];
            let result = deflate(&mut compressor, message, &mut out, flush);
            assert_eq!(result.bytes_consumed, message.len());
            out.truncate(result.bytes_written);
            assert!(out.ends_with(&ZLIB_SUFFIX));
            out
        })
        .collect()
}

fn realistic_messages() -> Vec<Vec<u8>> {
    let mut messages = vec![
        br#"{"t":"READY","d":{"id":81529464807550976,"username":"ayaka","separator":1,"bio":"","avatar_url":null,"banner_url":null,"flags":[],"verified":true,"email":"a@example.com","system":false,"email_verified":true,"session_ids":["81529464807550977.abc"]}}"#.to_vec(),
    ];
    for guild in 0..5u64 {
        messages.push(format!(
            r##"{{"t":"GUILD_INIT","d":{{"id":{id},"name":"guild {guild}","description":"a guild","banner":null,"invite_banner":null,"vanity_url":null,"verified":false,"partnered":false,"official":false,"owner":81529464807550976,"emojis":[],"roles":[{{"id":{id},"name":"everyone","position":0,"color":"#000000","permissions":["VIEW_CHANNELS"]}}],"channels":[{{"id":{c},"name":"general","description":"","inside_of":0,"type":2,"position":0}}]}}}}"##,
            id = 81529464807551000 + guild,
            c = 81529464807552000 + guild
        ).into_bytes());
    }
    messages.push(
        br#"{"t":"PRESENCE_UPDATE","id":81529464807550976,"d":{"type":1,"description":"coding"}}"#
            .to_vec(),
    );
    messages.push(br#"{"t":"NOTIFICATION","type":"MESSAGE","excerpt":{"text":"hi"}}"#.to_vec());
    messages
}

/// [`realistic_messages`] and their compressed bytes, each ending with
/// `flush`.
fn realistic_stream(flush: MZFlush) -> (Vec<Vec<u8>>, Vec<Vec<u8>>) {
    let messages = realistic_messages();
    let compressed = compress_stream(&messages, flush);
    (messages, compressed)
}

/// Runs `test` once per backend compiled in.
fn each_backend(mut test: impl FnMut(InflateBackend)) {
    for &backend in InflateBackend::ALL {
        test(backend);
    }
}

/// A decompressor on `backend` with the default limit.
fn on(backend: InflateBackend) -> Decompressor {
    Decompressor::builder().backend(backend).build()
}

/// A decompressor on `backend` refusing messages over `limit`.
fn limited(backend: InflateBackend, limit: usize) -> Decompressor {
    Decompressor::builder()
        .backend(backend)
        .max_message_size(limit)
        .build()
}

/// Feeds `frames` and collects every message they complete.
fn feed(decompressor: &mut Decompressor, frames: &[&[u8]]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for frame in frames {
        if let Some(message) = decompressor.decompress(frame).unwrap() {
            out.push(message.to_vec());
        }
    }
    out
}

/// Feeds each compressed message as one frame and collects what comes out.
fn feed_each(decompressor: &mut Decompressor, compressed: &[Vec<u8>]) -> Vec<Vec<u8>> {
    let frames: Vec<&[u8]> = compressed.iter().map(Vec::as_slice).collect();
    feed(decompressor, &frames)
}

#[test]
fn whole_messages_come_out_one_per_frame() {
    each_backend(|backend| {
        let (messages, compressed) = realistic_stream(MZFlush::Sync);
        let mut decompressor = on(backend);
        assert_eq!(feed_each(&mut decompressor, &compressed), messages);
        let total_in: usize = compressed.iter().map(Vec::len).sum();
        let total_out: usize = messages.iter().map(Vec::len).sum();
        assert_eq!(decompressor.bytes_in(), total_in as u64);
        assert_eq!(decompressor.bytes_out(), total_out as u64);
        assert_eq!(decompressor.messages(), messages.len() as u64);
    });
}

/// Feeds one compressed `message` to `decompressor` in two frames, split
/// at `split`: nothing comes out of the first unless it is the whole
/// message, and then (or after the second) `expected`.
fn check_split(
    decompressor: &mut Decompressor,
    message: &[u8],
    split: usize,
    expected: &[u8],
    what: &str,
) {
    let (first, second) = message.split_at(split);
    let first_result = decompressor.decompress(first).unwrap().map(<[u8]>::to_vec);
    if split == message.len() {
        assert_eq!(first_result.as_deref(), Some(expected), "{what}");
        return;
    }
    assert_eq!(first_result, None, "{what}");
    let second_result = decompressor.decompress(second).unwrap().map(<[u8]>::to_vec);
    assert_eq!(second_result.as_deref(), Some(expected), "{what}");
}

#[test]
fn every_split_position_of_every_message_gives_the_same_messages() {
    each_backend(|backend| {
        for flush in [MZFlush::Sync, MZFlush::Full] {
            let (messages, compressed) = realistic_stream(flush);
            for (index, message) in compressed.iter().enumerate() {
                for split in 0..=message.len() {
                    let mut decompressor = on(backend);
                    feed_each(&mut decompressor, &compressed[..index]);
                    let what = format!("{backend:?}: split at {split} of message {index}");
                    check_split(&mut decompressor, message, split, &messages[index], &what);
                }
            }
        }
    });
}

/// A zlib stream of stored blocks (level 0) written by hand, so that block
/// lengths are ours to choose: each message as blocks of at most `block`
/// bytes, then the empty stored block of a sync flush. Returns the bytes
/// of each message.
fn stored_stream(messages: &[Vec<u8>], block: usize) -> Vec<Vec<u8>> {
    let mut compressed: Vec<Vec<u8>> = messages
        .iter()
        .map(|message| {
            let mut out = Vec::new();
            for chunk in message.chunks(block) {
                let len = u16::try_from(chunk.len()).unwrap();
                // BFINAL 0, BTYPE 00 (stored), padded to the byte
                out.push(0x00);
                out.extend(len.to_le_bytes());
                out.extend((!len).to_le_bytes());
                out.extend(chunk);
            }
            out.extend([0x00, 0x00, 0x00, 0xFF, 0xFF]);
            out
        })
        .collect();
    // the zlib header: deflate, 32 KiB window, no dictionary, fastest
    compressed[0].splice(0..0, [0x78, 0x01]);
    compressed
}

/// The block length whose stored-block header reads `00 00 FF FF` (LEN
/// 0xFF00, then the first byte of NLEN) like the suffix of a flush.
const HEADER_LIKE_SUFFIX: usize = 0xFF00;

/// Messages for stored-block streams: realistic ones and one exactly
/// [`HEADER_LIKE_SUFFIX`] long, which [`stored_stream`] writes as one block
/// whose header reads like the suffix.
fn stored_block_messages() -> Vec<Vec<u8>> {
    let mut messages = realistic_messages();
    let header_like_suffix = format!(
        r#"{{"t":"X","d":"{}"}}"#,
        "s".repeat(HEADER_LIKE_SUFFIX - 16)
    )
    .into_bytes();
    assert_eq!(header_like_suffix.len(), HEADER_LIKE_SUFFIX);
    messages.insert(1, header_like_suffix);
    messages
}

/// Level-0 streams of [`stored_block_messages`]: miniz_oxide's with sync
/// and full flushes, and the hand-written one with 0xFF00-byte blocks.
fn level_0_streams() -> Vec<(&'static str, Vec<Vec<u8>>)> {
    let messages = stored_block_messages();
    vec![
        (
            "miniz level 0, sync flush",
            compress_stream_at(&messages, MZFlush::Sync, 0),
        ),
        (
            "miniz level 0, full flush",
            compress_stream_at(&messages, MZFlush::Full, 0),
        ),
        (
            "stored blocks of 0xFF00 bytes",
            stored_stream(&messages, HEADER_LIKE_SUFFIX),
        ),
    ]
}

#[test]
fn a_stored_block_header_reading_like_the_suffix_is_no_message_end() {
    each_backend(|backend| {
        let messages = stored_block_messages();
        let compressed = stored_stream(&messages, HEADER_LIKE_SUFFIX);
        // the message's block header ends in the suffix's bytes
        let stored = &compressed[1];
        assert_eq!(stored[..4], ZLIB_SUFFIX);
        let mut decompressor = on(backend);
        assert_eq!(
            decompressor.decompress(&compressed[0]).unwrap(),
            Some(&messages[0][..])
        );
        assert_eq!(decompressor.decompress(&stored[..4]).unwrap(), None);
        assert!(decompressor.has_partial_message());
        assert_eq!(
            decompressor.decompress(&stored[4..]).unwrap(),
            Some(&messages[1][..])
        );
    });
}

#[test]
fn stored_data_ending_like_the_suffix_is_no_message_end() {
    each_backend(|backend| {
        // binary data in a stored block may end in the suffix's bytes: a frame
        // ending there ends inside the message, not after it
        let messages = vec![b"{}".to_vec(), [&b"data"[..], &ZLIB_SUFFIX].concat()];
        let compressed = stored_stream(&messages, 1024);
        let mut decompressor = on(backend);
        assert!(decompressor.decompress(&compressed[0]).unwrap().is_some());
        let data_end = compressed[1].len() - 5;
        assert_eq!(compressed[1][data_end - 4..data_end], ZLIB_SUFFIX);
        assert_eq!(
            decompressor.decompress(&compressed[1][..data_end]).unwrap(),
            None
        );
        assert_eq!(
            decompressor.decompress(&compressed[1][data_end..]).unwrap(),
            Some(&messages[1][..])
        );
    });
}

#[test]
fn level_0_streams_split_at_every_position_of_every_message_give_the_same_messages() {
    each_backend(|backend| {
        let messages = stored_block_messages();
        let mut decompressor = on(backend);
        for (stream, compressed) in level_0_streams() {
            for (index, message) in compressed.iter().enumerate() {
                for split in 0..=message.len() {
                    decompressor.reset();
                    let before = feed_each(&mut decompressor, &compressed[..index]);
                    assert_eq!(before, messages[..index]);
                    let what =
                        format!("{backend:?}, {stream}: split at {split} of message {index}");
                    check_split(&mut decompressor, message, split, &messages[index], &what);
                }
            }
        }
    });
}

#[test]
fn level_0_streams_split_into_two_frames_anywhere_give_whole_messages() {
    each_backend(|backend| {
        let messages = stored_block_messages();
        let mut decompressor = on(backend);
        for (stream, compressed) in level_0_streams() {
            let bytes = compressed.concat();
            for split in 0..=bytes.len() {
                decompressor.reset();
                let (first, second) = bytes.split_at(split);
                let outputs = feed(&mut decompressor, &[first, second]);
                assert_whole_messages(
                    &outputs,
                    &messages,
                    &format!("{backend:?}, {stream}: split at {split}"),
                );
            }
        }
    });
}

/// Each output is one or more whole messages, in order, and together they
/// are all of them.
fn assert_whole_messages(outputs: &[Vec<u8>], messages: &[Vec<u8>], what: &str) {
    let mut next = 0;
    for output in outputs {
        let count = (1..=messages.len() - next)
            .find(|&count| messages[next..next + count].concat() == *output)
            .unwrap_or_else(|| {
                panic!(
                    "{what}: an output of {} bytes is not whole messages",
                    output.len()
                )
            });
        next += count;
    }
    assert_eq!(next, messages.len(), "{what}: messages missing");
}

#[test]
fn byte_by_byte_frames_give_every_message() {
    each_backend(|backend| {
        let messages = realistic_messages();
        let stream: Vec<u8> = compress_stream(&messages, MZFlush::Sync).concat();
        let mut decompressor = on(backend);
        let frames: Vec<&[u8]> = stream.chunks(1).collect();
        assert_eq!(feed(&mut decompressor, &frames), messages);
    });
}

#[test]
fn deployed_server_fragments_of_1024_bytes_reassemble() {
    each_backend(|backend| {
        let big = format!(
            r#"{{"t":"GUILD_UPDATE","d":{{"description":"{}"}}}}"#,
            "x".repeat(1000)
        )
        .into_bytes();
        let mut messages = realistic_messages();
        messages.push(big);
        // incompressible payload so the compressed message spans several frames
        let noise: String = (0..6000u32)
            .map(|i| char::from(b'a' + (i.wrapping_mul(2_654_435_761) >> 27) as u8 % 26))
            .collect();
        messages.push(format!(r#"{{"t":"X","d":"{noise}"}}"#).into_bytes());
        let compressed = compress_stream(&messages, MZFlush::Full);
        let mut decompressor = on(backend);
        let mut out = Vec::new();
        for message in &compressed {
            let frames: Vec<&[u8]> = message.chunks(1024).collect();
            out.extend(feed(&mut decompressor, &frames));
        }
        assert_eq!(out, messages);
    });
}

#[test]
fn a_large_message_grows_the_buffer_and_a_smaller_one_reuses_it() {
    each_backend(|backend| {
        let big = vec![b'a'; 1 << 20];
        let messages = vec![big.clone(), b"{}".to_vec(), big];
        let compressed = compress_stream(&messages, MZFlush::Sync);
        let mut decompressor = on(backend);
        assert_eq!(feed_each(&mut decompressor, &compressed), messages);
    });
}

#[test]
fn messages_over_the_limit_are_a_typed_error() {
    each_backend(|backend| {
        let messages = vec![vec![b'a'; 100_000]];
        let compressed = compress_stream(&messages, MZFlush::Sync);
        let mut decompressor = limited(backend, 10_000);
        let error = decompressor.decompress(&compressed[0]).unwrap_err();
        assert_eq!(error.kind(), ErrorKind::MessageTooLarge);
        // poisoned until reset
        assert_eq!(
            decompressor.decompress(b"").unwrap_err().kind(),
            ErrorKind::Decompress
        );
    });
}

#[test]
fn corrupt_data_is_a_typed_error_and_poisons_until_reset() {
    each_backend(|backend| {
        let (messages, compressed) = realistic_stream(MZFlush::Sync);
        let mut decompressor = on(backend);
        assert!(decompressor.decompress(&compressed[0]).unwrap().is_some());
        let error = decompressor
            .decompress(b"\xff\xff\xff\xff garbage \x00\x00\xff\xff")
            .unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Decompress);
        assert_eq!(
            decompressor.decompress(&compressed[1]).unwrap_err().kind(),
            ErrorKind::Decompress
        );

        // a new connection: the stream starts again from its header
        decompressor.reset();
        let fresh = compress_stream(&messages[..2], MZFlush::Sync);
        assert_eq!(feed_each(&mut decompressor, &fresh), messages[..2].to_vec());
    });
}

#[test]
fn a_bad_header_is_a_typed_error() {
    each_backend(|backend| {
        let mut decompressor = on(backend);
        let error = decompressor
            .decompress(b"{\"t\":\"READY\"}\x00\x00\xff\xff")
            .unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Decompress);
    });
}

#[test]
fn a_finished_stream_followed_by_more_data_is_an_error() {
    each_backend(|backend| {
        let finished = miniz_oxide::deflate::compress_to_vec_zlib(b"{}", 6);
        let mut decompressor = on(backend);
        let followed = [&finished[..], &ZLIB_SUFFIX].concat();
        let error = decompressor.decompress(&followed).unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Decompress);
    });
}

#[test]
fn a_frame_that_cannot_end_a_message_is_judged_with_the_one_that_can() {
    each_backend(|backend| {
        // No frame of a message but its last ends in the suffix: those are
        // held back and inflated with the last, in one call.
        let finished = miniz_oxide::deflate::compress_to_vec_zlib(b"{}", 6);
        let mut decompressor = on(backend);
        assert_eq!(decompressor.decompress(&finished).unwrap(), None);
        assert!(decompressor.has_partial_message());
        let error = decompressor.decompress(&ZLIB_SUFFIX).unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Decompress);
    });
}

#[test]
fn held_back_frames_are_bounded_and_a_long_message_still_streams() {
    each_backend(|backend| {
        // Garbage that never ends in the suffix is inflated (and refused)
        // once 16 KiB of it are held, not kept forever.
        let mut decompressor = on(backend);
        let garbage = [0x78, 0x9c].into_iter().chain(std::iter::repeat(0xAB));
        let garbage: Vec<u8> = garbage.take(1024).collect();
        let mut outcome = Ok(None);
        for _ in 0..64 {
            outcome = decompressor
                .decompress(&garbage)
                .map(|m| m.map(<[u8]>::len));
            if outcome.is_err() {
                break;
            }
        }
        assert_eq!(outcome.unwrap_err().kind(), ErrorKind::Decompress);
        assert!(decompressor.buffer_capacity() <= 64 * 1024);
    });
}

#[test]
fn a_truncated_message_stays_partial_without_hanging() {
    each_backend(|backend| {
        let (_, compressed) = realistic_stream(MZFlush::Sync);
        let mut decompressor = on(backend);
        let truncated = &compressed[0][..compressed[0].len() - 5];
        assert_eq!(decompressor.decompress(truncated).unwrap(), None);
        assert!(decompressor.has_partial_message());
    });
}

#[test]
fn reset_starts_a_new_stream() {
    each_backend(|backend| {
        let (messages, compressed) = realistic_stream(MZFlush::Sync);
        let mut decompressor = on(backend);
        // half a message from a connection that died
        decompressor.decompress(&compressed[0][..10]).unwrap();
        decompressor.reset();
        assert_eq!(feed_each(&mut decompressor, &compressed), messages);
    });
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(frames in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..256), 0..8)) {
        for &backend in InflateBackend::ALL {
            let mut decompressor = limited(backend, 1 << 16);
            for frame in &frames {
                let _ = decompressor.decompress(frame);
            }
        }
    }

    #[test]
    fn random_bytes_after_a_valid_header_never_panic(tail in prop::collection::vec(any::<u8>(), 0..512)) {
        let mut frame = vec![0x78, 0x9c];
        frame.extend(tail);
        frame.extend(ZLIB_SUFFIX);
        for &backend in InflateBackend::ALL {
            let _ = limited(backend, 1 << 16).decompress(&frame);
        }
    }

    #[test]
    fn any_split_into_frames_gives_the_same_messages(cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..12)) {
        let messages = realistic_messages();
        let stream: Vec<u8> = compress_stream(&messages, MZFlush::Sync).concat();
        let mut positions: Vec<usize> = cuts.iter().map(|cut| cut.index(stream.len())).collect();
        positions.sort_unstable();
        let mut frames = Vec::new();
        let mut start = 0;
        for position in positions {
            frames.push(&stream[start..position]);
            start = position;
        }
        frames.push(&stream[start..]);
        for &backend in InflateBackend::ALL {
            // a frame holding the ends of several messages yields them together
            prop_assert_eq!(feed(&mut on(backend), &frames).concat(), messages.concat());
        }
    }

    #[test]
    fn truncated_streams_never_complete_wrongly(cut in any::<prop::sample::Index>()) {
        let messages = realistic_messages();
        let stream: Vec<u8> = compress_stream(&messages, MZFlush::Sync).concat();
        let truncated = &stream[..cut.index(stream.len())];
        for &backend in InflateBackend::ALL {
            if let Some(output) = on(backend).decompress(truncated).unwrap() {
                // only whole messages come out: the cut fell right after a flush
                let whole = (1..=messages.len()).any(|count| messages[..count].concat() == output);
                prop_assert!(whole);
            }
        }
    }
}

#[test]
fn a_long_stream_referring_back_across_history_compaction_stays_correct() {
    each_backend(|backend| {
        // ~4 MiB of similar messages: the compressor refers back into earlier
        // messages all along, while the decompressor drops old history
        let messages: Vec<Vec<u8>> = (0..4000u32)
            .map(|i| {
                format!(
                    r#"{{"t":"PRESENCE_UPDATE","id":{},"d":{{"type":{},"description":"{}"}}}}"#,
                    i % 97,
                    1 + i % 4,
                    "status text ".repeat(1 + (i % 90) as usize)
                )
                .into_bytes()
            })
            .collect();
        let compressed = compress_stream(&messages, MZFlush::Sync);
        let mut decompressor = on(backend);
        let out = feed_each(&mut decompressor, &compressed);
        assert_eq!(out.len(), messages.len());
        assert!(out == messages);
        assert!(decompressor.bytes_out() > 4 * 1024 * 1024 / 2);
    });
}

#[test]
fn both_backends_give_the_same_messages_and_errors_for_the_same_frames() {
    let messages = realistic_messages();
    let stream: Vec<u8> = compress_stream(&messages, MZFlush::Full).concat();
    let mut corrupt = stream.clone();
    corrupt[40] ^= 0x55;
    for input in [&stream, &corrupt] {
        let outcomes: Vec<Vec<Result<Option<Vec<u8>>, ErrorKind>>> = InflateBackend::ALL
            .iter()
            .map(|&backend| {
                let mut decompressor = on(backend);
                input
                    .chunks(7)
                    .map(|frame| {
                        decompressor
                            .decompress(frame)
                            .map(|message| message.map(<[u8]>::to_vec))
                            .map_err(|error| error.kind())
                    })
                    .collect()
            })
            .collect();
        for other in &outcomes[1..] {
            assert_eq!(other, &outcomes[0]);
        }
    }
}

#[test]
fn shrink_gives_back_a_large_message_room_and_the_stream_goes_on() {
    each_backend(|backend| {
        let big = format!(r#"{{"t":"GUILD_INIT","d":"{}"}}"#, "m".repeat(1 << 20)).into_bytes();
        let messages = vec![big, realistic_messages()[0].clone(), b"{}".to_vec()];
        let compressed = compress_stream(&messages, MZFlush::Sync);
        let mut decompressor = on(backend);
        assert_eq!(
            decompressor.decompress(&compressed[0]).unwrap(),
            Some(&messages[0][..])
        );
        assert!(decompressor.buffer_capacity() > 1 << 20);
        decompressor.shrink();
        // miniz_oxide keeps the window; zlib-rs keeps it in its own state
        let kept = match backend {
            InflateBackend::MinizOxide => 32 * 1024,
            _ => 0,
        };
        assert_eq!(decompressor.buffer_capacity(), kept, "{backend:?}");
        // the next messages may refer back into the large one
        assert_eq!(
            decompressor.decompress(&compressed[1]).unwrap(),
            Some(&messages[1][..])
        );
        decompressor.shrink();
        assert!(decompressor.buffer_capacity() <= kept.max(messages[1].len()));
        assert_eq!(
            decompressor.decompress(&compressed[2]).unwrap(),
            Some(&messages[2][..])
        );
    });
}

#[test]
fn shrink_keeps_a_partial_message() {
    each_backend(|backend| {
        let (messages, compressed) = realistic_stream(MZFlush::Sync);
        let mut decompressor = on(backend);
        assert_eq!(
            feed_each(&mut decompressor, &compressed[..3]),
            messages[..3]
        );
        let (first, second) = compressed[3].split_at(compressed[3].len() / 2);
        assert_eq!(decompressor.decompress(first).unwrap(), None);
        decompressor.shrink();
        assert_eq!(
            decompressor.decompress(second).unwrap(),
            Some(&messages[3][..])
        );
    });
}

#[test]
fn the_default_backend_is_zlib_rs_with_its_feature() {
    let expected = if cfg!(feature = "zlib-rs") {
        "zlib-rs"
    } else {
        "miniz_oxide"
    };
    assert_eq!(Decompressor::new().backend().name(), expected);
    assert_eq!(InflateBackend::default(), InflateBackend::DEFAULT);
}
