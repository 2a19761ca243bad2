//! ayaka-gateway: the streaming decompressor against twilight's approach
//! (flate2's `Decompress`, a sync flush per message, output into a reused
//! buffer) on the same inflate engine, in the same run, on the same
//! streams; one-shot inflate of the whole stream is the limit.
//!
//! - engines: miniz_oxide and zlib-rs. flate2 compiles one backend into a
//!   binary, so the zlib-rs baseline goes through flate2 and the
//!   miniz_oxide one calls miniz_oxide's streaming API the way flate2's
//!   miniz_oxide backend does (zeroing the spare output it writes into).
//! - streams: a realistic session (READY, 50 GUILD_INITs, 2,000 live
//!   events) and its small live events alone, each compressed into one
//!   zlib stream with a sync flush after every message.
//! - frames: one per message, or split (1 KiB frames, the deployed
//!   server's, and small events cut in two).
//!
//! Groups are `gateway_inflate/<stream>, <frames>`; in each, `ours ...` is
//! compared with `baseline flate2-sync ...` on the same engine, the two
//! measured one after the other, the baseline first in every other round.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::{hint::black_box, time::Duration};

use ayaka_benches::inflate::{Flate2, MinizStream, SyncFlush, compressed_stream};
use ayaka_benches::{SessionShape, baseline_first, session};
use ayaka_gateway::{Decompressor, InflateBackend};
use criterion::{
    BenchmarkGroup, Criterion, Throughput, criterion_group, criterion_main, measurement::WallTime,
};
use flate2::{Decompress, FlushDecompress};
use miniz_oxide::{
    DataFormat, MZFlush,
    inflate::stream::{InflateState, inflate},
};

/// One round over `frames`: every message out, their bytes counted.
fn run(frames: &[Vec<u8>], mut decompress: impl FnMut(&[u8]) -> Option<usize>) -> usize {
    frames.iter().filter_map(|frame| decompress(frame)).sum()
}

fn bench_stream(
    group: &mut BenchmarkGroup<'_, WallTime>,
    frames: &[Vec<u8>],
    whole_stream: &[u8],
    plain_len: usize,
) {
    for &backend in InflateBackend::ALL {
        let name = backend.name();
        let mut ours = Decompressor::builder().backend(backend).build();
        let mut bench_ours = |group: &mut BenchmarkGroup<'_, WallTime>| {
            group.bench_function(format!("ours, {name}"), |b| {
                b.iter(|| {
                    ours.reset();
                    let out = run(frames, |frame| {
                        ours.decompress(frame).unwrap().map(|m| black_box(m).len())
                    });
                    assert_eq!(out, plain_len);
                });
            });
        };
        let bench_baseline = |group: &mut BenchmarkGroup<'_, WallTime>| {
            group.bench_function(format!("baseline flate2-sync, {name}"), |b| {
                b.iter(|| {
                    let out = match backend {
                        InflateBackend::MinizOxide => {
                            let mut twilight = SyncFlush::new(MinizStream::new());
                            run(frames, |frame| {
                                twilight.decompress(frame).map(|m| black_box(m).len())
                            })
                        }
                        _ => {
                            let mut twilight = SyncFlush::new(Flate2::new());
                            run(frames, |frame| {
                                twilight.decompress(frame).map(|m| black_box(m).len())
                            })
                        }
                    };
                    assert_eq!(out, plain_len);
                });
            });
        };
        if baseline_first() {
            bench_baseline(group);
            bench_ours(group);
        } else {
            bench_ours(group);
            bench_baseline(group);
        }
    }
    // the limit: the whole stream in one call, into one buffer
    let mut output = vec![0u8; plain_len + 1024];
    group.bench_function("limit: one-shot inflate, zlib-rs", |b| {
        b.iter(|| {
            let mut inflater = Decompress::new(true);
            inflater
                .decompress(black_box(whole_stream), &mut output, FlushDecompress::Sync)
                .unwrap();
            assert_eq!(inflater.total_out() as usize, plain_len);
        });
    });
    group.bench_function("limit: one-shot inflate, miniz_oxide", |b| {
        b.iter(|| {
            let mut inflater = InflateState::new_boxed(DataFormat::Zlib);
            let result = inflate(
                &mut inflater,
                black_box(whole_stream),
                &mut output,
                MZFlush::Sync,
            );
            assert_eq!(result.bytes_written, plain_len);
        });
    });
}

fn inflate_matrix(c: &mut Criterion) {
    let all = session(&SessionShape::REALISTIC);
    let live = all[1 + SessionShape::REALISTIC.guilds as usize..].to_vec();
    for (stream, messages, split_at) in [("session", &all, 1024), ("small events", &live, 0)] {
        let plain_len: usize = messages.iter().map(String::len).sum();
        let per_message = compressed_stream(messages);
        let whole: Vec<u8> = per_message.concat();
        let split: Vec<Vec<u8>> = per_message
            .iter()
            .flat_map(|message| {
                let size = if split_at == 0 {
                    message.len().div_ceil(2)
                } else {
                    split_at
                };
                message.chunks(size).map(<[u8]>::to_vec).collect::<Vec<_>>()
            })
            .collect();
        for (frames_label, frames) in [
            ("one frame per message", &per_message),
            ("split frames", &split),
        ] {
            let mut group = c.benchmark_group(format!("gateway_inflate/{stream}, {frames_label}"));
            group.throughput(Throughput::Bytes(plain_len as u64));
            group.measurement_time(Duration::from_secs(3));
            group.warm_up_time(Duration::from_secs(1));
            group.sample_size(20);
            bench_stream(&mut group, frames, &whole, plain_len);
            group.finish();
        }
    }
}

criterion_group!(benches, inflate_matrix);
criterion_main!(benches);
