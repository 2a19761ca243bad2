//! ayaka-gateway: event parsing of a realistic session, simd-json against
//! serde_json in the same run.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::{hint::black_box, time::Duration};

use ayaka_benches::{SessionShape, session};
use ayaka_model::gateway::Event;
use ayaka_model::json::Parser;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

fn parse(c: &mut Criterion) {
    let messages: Vec<Vec<u8>> = session(&SessionShape::REALISTIC)
        .into_iter()
        .map(String::into_bytes)
        .collect();
    let total: usize = messages.iter().map(Vec::len).sum();
    // both parsers must agree before either is timed
    let mut scratch = Vec::new();
    for message in &messages {
        scratch.clear();
        scratch.extend_from_slice(message);
        assert_eq!(
            Event::from_json(message).unwrap(),
            Event::from_json_mut(&mut scratch).unwrap()
        );
    }

    let mut group = c.benchmark_group("gateway_parse");
    group.throughput(Throughput::Bytes(total as u64));
    group.measurement_time(Duration::from_secs(4));
    group.sample_size(20);
    group.bench_function("baseline_serde_json", |b| {
        b.iter(|| {
            for message in &messages {
                black_box(Event::from_json(black_box(message)).unwrap());
            }
        });
    });
    // simd-json parses in place: the copy the shard makes is included
    group.bench_function("simd_json_with_copy", |b| {
        b.iter(|| {
            for message in &messages {
                scratch.clear();
                scratch.extend_from_slice(message);
                black_box(Event::from_json_mut(black_box(&mut scratch)).unwrap());
            }
        });
    });
    // what a shard does: the copy, and simd-json's buffers kept between messages
    let mut parser = Parser::new();
    group.bench_function("simd_json_reused_buffers", |b| {
        b.iter(|| {
            for message in &messages {
                scratch.clear();
                scratch.extend_from_slice(message);
                let event: Event = parser.parse(black_box(&mut scratch)).unwrap();
                black_box(event);
            }
        });
    });
    group.finish();

    // One large GUILD_INIT (a guild with many members), where simd-json's
    // vectorised scanning has room to pay off.
    let large = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../crates/ayaka-model/tests/fixtures/event/guild_init_large.json"
    ))
    .unwrap();
    let mut group = c.benchmark_group("gateway_parse/large GUILD_INIT");
    group.throughput(Throughput::Bytes(large.len() as u64));
    group.bench_function("baseline_serde_json", |b| {
        b.iter(|| black_box(Event::from_json(black_box(&large)).unwrap()));
    });
    group.bench_function("simd_json_reused_buffers", |b| {
        b.iter(|| {
            scratch.clear();
            scratch.extend_from_slice(&large);
            let event: Event = parser.parse(black_box(&mut scratch)).unwrap();
            black_box(event)
        });
    });
    group.finish();
}

criterion_group!(benches, parse);
criterion_main!(benches);
