//! Pack load time and single-request evaluation time.
//! Requirements: load and validate the pack in under 100 ms; evaluate a realistic single-line
//! epidural request in under 20 µs (median).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use criterion::{Criterion, criterion_group, criterion_main};
use necessity_engine::{Pack, PackSource, evaluate_request};
use std::hint::black_box;
use std::path::Path;

fn root() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

fn source() -> PackSource {
    PackSource::from_dir(&root().join("packs/interventional-pain/2026-06-14")).unwrap()
}

fn benches(c: &mut Criterion) {
    let source = source();
    c.bench_function("pack: load and validate", |b| b.iter(|| Pack::load(black_box(&source)).unwrap()));

    let pack = Pack::load(&source).unwrap();
    for (name, file) in [
        ("evaluate: initial transforaminal ESI (meets)", "examples/esi-initial-transforaminal-meets.json"),
        ("evaluate: initial ESI (pends)", "examples/esi-initial-pend.json"),
        ("evaluate: repeat ESI with history (does not meet)", "examples/esi-repeat-does-not-meet.json"),
    ] {
        let text = std::fs::read_to_string(root().join(file)).unwrap();
        let case = necessity_case::parse_case(&text).unwrap();
        c.bench_function(name, |b| b.iter(|| evaluate_request(black_box(&pack), black_box(&case))));
    }
    let text = std::fs::read_to_string(root().join("examples/esi-initial-transforaminal-meets.json")).unwrap();
    c.bench_function("parse + evaluate: initial transforaminal ESI", |b| {
        b.iter(|| {
            let case = necessity_case::parse_case(black_box(&text)).unwrap();
            evaluate_request(&pack, &case).decision
        })
    });
}

criterion_group!(engine, benches);
criterion_main!(engine);
