//! `necessity evaluate` over 100,000 NDJSON requests, through the same code the command runs
//! (parse, evaluate, render JSON, write in order). Requirement: over 50,000 requests per second.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use necessity_cli::batch::{self, Format};
use necessity_cli::text::Style;
use necessity_engine::{Library, Pack, PackSource};
use std::path::Path;

const REQUESTS: usize = 100_000;

fn input() -> String {
    let examples = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/batch.ndjson"));
    let lines: Vec<String> = std::fs::read_to_string(examples).unwrap().lines().map(str::to_owned).collect();
    let mut text = String::new();
    for i in 0..REQUESTS {
        text.push_str(&lines[i % lines.len()]);
        text.push('\n');
    }
    text
}

fn benches(c: &mut Criterion) {
    let dir = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../packs/interventional-pain/2026-06-14"));
    let library = Library::new(vec![Pack::load(&PackSource::from_dir(dir).unwrap()).unwrap()]).unwrap();
    let text = input();
    let mut group = c.benchmark_group("evaluate NDJSON");
    group.sample_size(10);
    group.throughput(Throughput::Elements(REQUESTS as u64));
    for (name, format) in [("100k requests, json", Format::Json), ("100k requests, text", Format::Text)] {
        group.bench_function(name, |b| {
            b.iter(|| {
                let summary = batch::run(
                    &library,
                    &text,
                    format,
                    Style { color: false },
                    &mut std::io::sink(),
                    &mut std::io::sink(),
                )
                .unwrap();
                assert_eq!(summary.evaluated, REQUESTS);
            })
        });
    }
    group.finish();
}

criterion_group!(throughput, benches);
criterion_main!(throughput);
