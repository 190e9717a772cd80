//! `necessity evaluate` over 100,000 NDJSON requests, through the same code the command runs
//! (parse, evaluate, render, write in order). Requirement: over 50,000 requests per second.
//! Two mixes from `examples/batch.ndjson`: its first five requests (epidural injections and
//! nerve root blocks, the job the requirement was set for) and all of it (every section, with
//! multi-line and stimulator requests, whose determinations are larger).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use necessity_cli::batch::{self, Format};
use necessity_cli::text::Style;
use necessity_engine::{Library, Pack, PackSource};
use std::path::Path;

const REQUESTS: usize = 100_000;

fn input(first: usize) -> String {
    let examples = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/batch.ndjson"));
    let lines: Vec<String> =
        std::fs::read_to_string(examples).unwrap().lines().take(first).map(str::to_owned).collect();
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
    let mut group = c.benchmark_group("evaluate NDJSON");
    group.sample_size(10);
    group.throughput(Throughput::Elements(REQUESTS as u64));
    for (mix, text) in [("epidural mix", input(5)), ("all sections", input(usize::MAX))] {
        for (format_name, format) in [("json", Format::Json), ("text", Format::Text)] {
            group.bench_function(format!("100k requests, {mix}, {format_name}"), |b| {
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
    }
    group.finish();
}

criterion_group!(throughput, benches);
criterion_main!(throughput);
