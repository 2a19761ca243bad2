//! The gateway's streaming decompressor: arbitrary frames, and round trips
//! of real streams split anywhere.

use arbitrary::{Arbitrary, Unstructured};
use ayaka_gateway::{Decompressor, ErrorKind};
use miniz_oxide::deflate::core::CompressorOxide;
use miniz_oxide::deflate::stream::deflate;
use miniz_oxide::{DataFormat, MZFlush, MZStatus};
use serde_json::Value;

use crate::input;

/// The message size limit of the frame target: a few fuzz bytes can
/// inflate to a megabyte, no more.
const MAX_MESSAGE: usize = 1 << 20;

/// What a decompressor made of a sequence of frames.
#[derive(Debug, PartialEq)]
struct Outcome {
    outputs: Vec<Vec<u8>>,
    error: Option<ErrorKind>,
    /// Part of a message was left waiting for more frames.
    partial: bool,
}

/// Feeds `frames` in order, checking the decompressor's own promises on
/// the way: the size limit, the counters, and that an error poisons the
/// stream until `reset`.
fn feed(decompressor: &mut Decompressor, frames: &[&[u8]]) -> Outcome {
    let (bytes_in, messages) = (decompressor.bytes_in(), decompressor.messages());
    let mut fed = 0u64;
    let mut outputs = Vec::new();
    let mut error = None;
    for frame in frames {
        fed += frame.len() as u64;
        match decompressor.decompress(frame) {
            Ok(Some(message)) => {
                assert!(message.len() <= MAX_MESSAGE, "a message over the limit");
                outputs.push(message.to_vec());
            }
            Ok(None) => {}
            Err(failure) => {
                error = Some(failure.kind());
                assert!(matches!(
                    failure.kind(),
                    ErrorKind::Decompress | ErrorKind::MessageTooLarge
                ));
                let again = decompressor.decompress(b"{}\x00\x00\xff\xff");
                assert_eq!(again.map(|_| ()).unwrap_err().kind(), ErrorKind::Decompress);
                break;
            }
        }
    }
    // the poisoned call after an error is not counted
    assert_eq!(decompressor.bytes_in() - bytes_in, fed);
    assert_eq!(decompressor.messages() - messages, outputs.len() as u64);
    Outcome {
        outputs,
        error,
        partial: decompressor.has_partial_message(),
    }
}

/// Arbitrary frames (each a length byte, then its bytes): never a panic or
/// a hang; the same bytes fed one at a time give the same messages (frames
/// only group them) and fail alike; `reset` starts over exactly.
pub fn frames(data: &[u8]) {
    let frames = input::length_prefixed(data);
    let mut decompressor = Decompressor::with_max_message_size(MAX_MESSAGE);
    let by_frame = feed(&mut decompressor, &frames);
    decompressor.reset();
    assert_eq!(
        feed(&mut decompressor, &frames),
        by_frame,
        "reset did not start over"
    );

    let stream: Vec<u8> = frames.concat();
    let bytes: Vec<&[u8]> = stream.chunks(1).collect();
    let mut byte_decompressor = Decompressor::with_max_message_size(MAX_MESSAGE);
    let by_byte = feed(&mut byte_decompressor, &bytes);
    if [by_frame.error, by_byte.error].contains(&Some(ErrorKind::MessageTooLarge)) {
        // how frames group messages decides which grow past the limit
        return;
    }
    if by_frame.error.is_some() != by_byte.error.is_some() {
        // Frames that cannot end a message are held back and judged with
        // the one that may: the side that has not failed yet holds the
        // bytes the other failed on, and fails on them once a frame ends
        // in the suffix.
        let (waiting, outcome) = if by_frame.error.is_none() {
            (&mut decompressor, &by_frame)
        } else {
            (&mut byte_decompressor, &by_byte)
        };
        assert!(
            outcome.partial,
            "frames and single bytes fail differently ({:?} against {:?}), \
             and the side that did not fail holds nothing back",
            by_frame.error, by_byte.error
        );
        let judged = waiting.decompress(&ayaka_gateway::ZLIB_SUFFIX);
        assert!(
            judged.is_err(),
            "bytes that failed fed one way passed fed the other way"
        );
        return;
    }
    let grouped = input::whole_messages(&by_frame.outputs, &by_byte.outputs);
    if by_frame.error.is_none() && grouped < by_byte.outputs.len() {
        // messages completed inside the last frames wait, with what
        // followed them, for a frame that ends in a flush
        assert!(by_frame.partial, "frames lost messages");
    }
}

/// A random JSON message, as the server would send it.
fn json(u: &mut Unstructured<'_>, depth: u32) -> arbitrary::Result<Value> {
    let choices = if depth == 0 { 5 } else { 7 };
    Ok(match u.choose_index(choices)? {
        0 => Value::Null,
        1 => Value::Bool(u.arbitrary()?),
        2 => Value::from(u.arbitrary::<i64>()?),
        3 => serde_json::Number::from_f64(u.arbitrary()?).map_or(Value::Null, Value::Number),
        4 => Value::String(u.arbitrary()?),
        5 => {
            let len = u.int_in_range(0..=8)?;
            Value::Array(
                (0..len)
                    .map(|_| json(u, depth - 1))
                    .collect::<Result<_, _>>()?,
            )
        }
        _ => {
            let len = u.int_in_range(0..=8)?;
            let mut object = serde_json::Map::new();
            for _ in 0..len {
                object.insert(u.arbitrary()?, json(u, depth - 1)?);
            }
            Value::Object(object)
        }
    })
}

/// How a round trip's stream is made.
#[derive(Debug, Clone, Copy)]
enum Compression {
    /// miniz_oxide at this level (0 to 10; 0 is stored blocks).
    Level(u8),
    /// Stored blocks written by hand, of at most this many bytes, so that
    /// every block length happens (miniz_oxide never writes some).
    Stored(u16),
}

/// One message of a round trip and the flush that ends it.
#[derive(Debug)]
struct Message {
    bytes: Vec<u8>,
    full_flush: bool,
}

impl<'a> Arbitrary<'a> for Message {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        let data = json(u, 4)?;
        // long strings make messages span several blocks
        let padding =
            "p".repeat(usize::from(u.arbitrary::<u16>()?) * usize::from(u.arbitrary::<bool>()?));
        let bytes = serde_json::to_vec(&serde_json::json!({"t": "X", "d": data, "p": padding}))
            .map_err(|_| arbitrary::Error::IncorrectFormat)?;
        Ok(Self {
            bytes,
            full_flush: u.arbitrary()?,
        })
    }
}

/// Compresses `message` with `compressor`, ending with `flush`.
fn compress(compressor: &mut CompressorOxide, message: &[u8], flush: MZFlush) -> Vec<u8> {
    let mut out = Vec::new();
    let mut chunk = vec![0; 64 * 1024];
    let mut rest = message;
    loop {
        let result = deflate(compressor, rest, &mut chunk, flush);
        assert!(matches!(
            result.status,
            Ok(MZStatus::Ok) | Err(miniz_oxide::MZError::Buf)
        ));
        rest = &rest[result.bytes_consumed..];
        out.extend_from_slice(&chunk[..result.bytes_written]);
        if rest.is_empty() && result.bytes_written < chunk.len() {
            return out;
        }
    }
}

/// `message` as stored blocks of at most `block` bytes, then a flush's
/// empty stored block.
fn stored(message: &[u8], block: u16) -> Vec<u8> {
    let mut out = Vec::new();
    for chunk in message.chunks(usize::from(block.max(1))) {
        let len = u16::try_from(chunk.len()).unwrap();
        out.push(0x00);
        out.extend(len.to_le_bytes());
        out.extend((!len).to_le_bytes());
        out.extend(chunk);
    }
    out.extend([0x00, 0x00, 0x00, 0xFF, 0xFF]);
    out
}

/// Random JSON messages compressed into one stream (sync or full flush
/// after each, at every level, or as stored blocks of any length), split
/// at fuzzer-chosen points: every message comes back whole and in order,
/// and a frame ending where a message ends delivers it.
pub fn round_trip(data: &[u8]) {
    let mut u = Unstructured::new(data);
    let Ok(compression) = (|| -> arbitrary::Result<Compression> {
        Ok(match u.int_in_range(0..=11u8)? {
            11 => Compression::Stored(u.arbitrary()?),
            level => Compression::Level(level),
        })
    })() else {
        return;
    };
    let mut messages: Vec<Message> = Vec::new();
    let count = u.int_in_range(1..=6).unwrap_or(1);
    for _ in 0..count {
        match u.arbitrary() {
            Ok(message) => messages.push(message),
            Err(_) => break,
        }
    }
    let cuts: Vec<u32> = u.arbitrary().unwrap_or_default();
    if messages.is_empty() {
        return;
    }

    let mut compressor = CompressorOxide::default();
    let mut ends = Vec::new();
    let mut stream = Vec::new();
    for (index, message) in messages.iter().enumerate() {
        let bytes = match compression {
            Compression::Level(level) => {
                if index == 0 {
                    compressor.set_format_and_level(DataFormat::Zlib, level);
                }
                let flush = if message.full_flush {
                    MZFlush::Full
                } else {
                    MZFlush::Sync
                };
                compress(&mut compressor, &message.bytes, flush)
            }
            Compression::Stored(block) => {
                if index == 0 {
                    stream.extend([0x78, 0x01]);
                }
                stored(&message.bytes, block)
            }
        };
        stream.extend(bytes);
        ends.push(stream.len());
    }

    let mut positions: Vec<usize> = cuts
        .iter()
        .map(|&cut| cut as usize % (stream.len() + 1))
        .collect();
    positions.push(stream.len());
    positions.sort_unstable();
    positions.dedup();
    let mut decompressor = Decompressor::new();
    let mut outputs = Vec::new();
    let mut start = 0;
    for end in positions {
        let output = decompressor
            .decompress(&stream[start..end])
            .unwrap_or_else(|error| panic!("{compression:?}: a valid stream fails: {error}"));
        if let Some(output) = output {
            outputs.push(output.to_vec());
        }
        // (frames are never empty but for one at 0, which ends no message)
        assert_eq!(
            output.is_some(),
            ends.contains(&end),
            "{compression:?}: the frame ending at byte {end} of {}; message ends: {ends:?}",
            stream.len()
        );
        start = end;
    }
    let bytes: Vec<Vec<u8>> = messages.into_iter().map(|message| message.bytes).collect();
    assert_eq!(
        input::whole_messages(&outputs, &bytes),
        bytes.len(),
        "{compression:?}: messages missing"
    );
}
