//! ayaka-gateway: event parsing of a realistic session, simd-json against
//! serde_json in the same run.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::{hint::black_box, time::Duration};

use ayaka_benches::{SessionShape, session};
use ayaka_model::gateway::Event;
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
    group.finish();
}

criterion_group!(benches, parse);
criterion_main!(benches);
