//! ayaka-gateway: streaming decompressor throughput (MB/s of output) on a
//! realistic event stream, against one-shot miniz_oxide inflate of the same
//! data in the same run.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::{hint::black_box, time::Duration};

use ayaka_benches::{SessionShape, session};
use ayaka_gateway::Decompressor;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use miniz_oxide::{
    DataFormat, MZFlush,
    deflate::{compress_to_vec_zlib, core::CompressorOxide, stream::deflate},
    inflate::decompress_to_vec_zlib,
};

/// The session as the server sends it under zlib: one stream, a sync
/// flush after each message.
fn compressed_stream(messages: &[String]) -> Vec<Vec<u8>> {
    let mut compressor = Box::<CompressorOxide>::default();
    compressor.set_format_and_level(DataFormat::Zlib, 6);
    messages
        .iter()
        .map(|message| {
            let mut out = vec![0; message.len() * 2 + 64];
            let result = deflate(&mut compressor, message.as_bytes(), &mut out, MZFlush::Sync);
            out.truncate(result.bytes_written);
            out
        })
        .collect()
}

/// The end of the stream [`compressed_stream`] makes: recompresses to reach
/// the same compressor state, then finishes it.
fn finish(messages: &[String]) -> Vec<u8> {
    let mut compressor = Box::<CompressorOxide>::default();
    compressor.set_format_and_level(DataFormat::Zlib, 6);
    let mut out = vec![0; 1 << 20];
    for message in messages {
        let written =
            deflate(&mut compressor, message.as_bytes(), &mut out, MZFlush::Sync).bytes_written;
        assert!(written < out.len());
    }
    let result = deflate(&mut compressor, &[], &mut out, MZFlush::Finish);
    out.truncate(result.bytes_written);
    out
}

fn inflate(c: &mut Criterion) {
    let messages = session(&SessionShape::REALISTIC);
    let plain: Vec<u8> = messages.concat().into_bytes();
    let per_message = compressed_stream(&messages);
    let fragments: Vec<Vec<u8>> = per_message
        .iter()
        .flat_map(|message| message.chunks(1024).map(<[u8]>::to_vec).collect::<Vec<_>>())
        .collect();
    // the very same stream, ended so that one-shot inflate accepts it
    let mut same_stream = per_message.concat();
    same_stream.extend(finish(&messages));
    let unflushed = compress_to_vec_zlib(&plain, 6);

    let mut group = c.benchmark_group("gateway_inflate");
    group.throughput(Throughput::Bytes(plain.len() as u64));
    group.measurement_time(Duration::from_secs(4));
    group.sample_size(20);

    let mut decompressor = Decompressor::new();
    group.bench_function("decompressor_per_message", |b| {
        b.iter(|| {
            decompressor.reset();
            let mut out = 0;
            for frame in &per_message {
                if let Some(message) = decompressor.decompress(frame).unwrap() {
                    out += black_box(message).len();
                }
            }
            assert_eq!(out, plain.len());
        });
    });
    group.bench_function("decompressor_1024_byte_frames", |b| {
        b.iter(|| {
            decompressor.reset();
            let mut out = 0;
            for frame in &fragments {
                if let Some(message) = decompressor.decompress(frame).unwrap() {
                    out += black_box(message).len();
                }
            }
            assert_eq!(out, plain.len());
        });
    });
    group.bench_function("baseline_one_shot_inflate_same_stream", |b| {
        b.iter(|| {
            let out = decompress_to_vec_zlib(black_box(&same_stream)).unwrap();
            assert_eq!(out.len(), plain.len());
        });
    });
    // for scale: one-shot inflate of the data compressed without flushes
    group.bench_function("one_shot_inflate_unflushed", |b| {
        b.iter(|| {
            let out = decompress_to_vec_zlib(black_box(&unflushed)).unwrap();
            assert_eq!(out.len(), plain.len());
        });
    });
    group.finish();
}

criterion_group!(benches, inflate);
criterion_main!(benches);
