//! ayaka-gateway's decode matrix: a realistic session decoded as typed
//! events (every kind, or only 2 of them wanted), as `serde_json::Value`
//! and skipped (`IgnoredAny`), on serde_json and on simd-json; the baseline
//! of each backend is that backend alone building a `serde_json::Value`.
//!
//! Ours go through `ayaka_model::json::Parser`, which reads both backends
//! the same way (its `Strict` rules); the baselines and the `IgnoredAny`
//! limits call the parsers directly. simd-json parses in place, so each of
//! its rows copies the message first, as a shard does.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::{hint::black_box, time::Duration};

use ayaka_benches::{SessionShape, session};
use ayaka_model::gateway::{Decoded, Event, EventFilter, EventKind};
use ayaka_model::json::{Backend, Parser};
use criterion::{BenchmarkGroup, Criterion, Throughput, criterion_group, criterion_main};
use serde::de::IgnoredAny;
use serde_json::Value;

/// The 2 kinds the filtered rows want: a bot's guild and invite bookkeeping
/// (2 of every 10 live events, none of the initial sync).
const FILTERED: [EventKind; 2] = [EventKind::ChannelCreate, EventKind::InviteCreate];

fn filter() -> EventFilter {
    EventFilter::new(FILTERED[0] | FILTERED[1])
}

/// Runs `decode` over every message: in place for serde_json (which leaves
/// it as it was), on a copy for simd-json (which parses in place).
fn each(
    messages: &mut [Vec<u8>],
    scratch: &mut Vec<u8>,
    copy: bool,
    mut decode: impl FnMut(&mut [u8]),
) {
    for message in messages {
        if copy {
            scratch.clear();
            scratch.extend_from_slice(message);
            decode(black_box(scratch.as_mut_slice()));
        } else {
            decode(black_box(message.as_mut_slice()));
        }
    }
}

fn rows(
    group: &mut BenchmarkGroup<'_, criterion::measurement::WallTime>,
    backend: Backend,
    messages: &mut [Vec<u8>],
) {
    let copy = backend != Backend::SerdeJson;
    let mut scratch = Vec::new();
    let mut parser = Parser::with_backend(backend);
    group.bench_function("typed Event, every kind", |b| {
        b.iter(|| {
            each(messages, &mut scratch, copy, |bytes| {
                black_box(parser.parse::<Event>(bytes).unwrap());
            });
        });
    });
    group.bench_function("typed Event, 2 kinds wanted (EventFilter)", |b| {
        b.iter(|| {
            each(messages, &mut scratch, copy, |bytes| {
                let decoded: Decoded = parser.parse_seed(filter(), bytes).unwrap();
                black_box(decoded);
            });
        });
    });
    group.bench_function("serde_json::Value through ayaka json", |b| {
        b.iter(|| {
            each(messages, &mut scratch, copy, |bytes| {
                black_box(parser.parse::<Value>(bytes).unwrap());
            });
        });
    });
    group.bench_function("IgnoredAny through ayaka json", |b| {
        b.iter(|| {
            each(messages, &mut scratch, copy, |bytes| {
                black_box(parser.parse::<IgnoredAny>(bytes).unwrap());
            });
        });
    });
}

fn decode(c: &mut Criterion) {
    let mut messages: Vec<Vec<u8>> = session(&SessionShape::REALISTIC)
        .into_iter()
        .map(String::into_bytes)
        .collect();
    let total: usize = messages.iter().map(Vec::len).sum();
    // the filtered rows decode what the full ones do, for the kinds wanted
    let mut parser = Parser::with_backend(Backend::SerdeJson);
    let mut wanted = 0;
    for message in &messages {
        let full: Event = parser.parse(&mut message.clone()).unwrap();
        match parser.parse_seed(filter(), &mut message.clone()).unwrap() {
            Decoded::Event(event) => {
                assert_eq!(event, full);
                wanted += 1;
            }
            Decoded::Skipped(kind) => assert!(!FILTERED.contains(&kind)),
        }
    }
    assert!(wanted > 0 && wanted < messages.len());

    for &backend in Backend::ALL {
        let mut group = c.benchmark_group(format!("gateway_decode/{}, session", backend.name()));
        group.throughput(Throughput::Bytes(total as u64));
        group.measurement_time(Duration::from_secs(3));
        group.sample_size(20);
        let mut scratch = Vec::new();
        match backend {
            Backend::SerdeJson => {
                group.bench_function("baseline: serde_json::Value, serde_json alone", |b| {
                    b.iter(|| {
                        for message in &messages {
                            let value: Value = serde_json::from_slice(black_box(message)).unwrap();
                            black_box(value);
                        }
                    });
                });
                group.bench_function("limit: IgnoredAny, serde_json alone", |b| {
                    b.iter(|| {
                        for message in &messages {
                            let skipped: IgnoredAny =
                                serde_json::from_slice(black_box(message)).unwrap();
                            black_box(skipped);
                        }
                    });
                });
            }
            _ => {
                let mut buffers = simd_json::Buffers::new(1024);
                group.bench_function("baseline: serde_json::Value, simd-json alone", |b| {
                    b.iter(|| {
                        each(&mut messages, &mut scratch, true, |bytes| {
                            let value: Value =
                                simd_json::serde::from_slice_with_buffers(bytes, &mut buffers)
                                    .unwrap();
                            black_box(value);
                        });
                    });
                });
                group.bench_function("limit: simd-json's tape alone", |b| {
                    b.iter(|| {
                        each(&mut messages, &mut scratch, true, |bytes| {
                            let tape = simd_json::Deserializer::from_slice_with_buffers(
                                bytes,
                                &mut buffers,
                            )
                            .unwrap();
                            black_box(tape);
                        });
                    });
                });
            }
        }
        rows(&mut group, backend, &mut messages);
        group.finish();
    }
}

criterion_group!(benches, decode);
criterion_main!(benches);
