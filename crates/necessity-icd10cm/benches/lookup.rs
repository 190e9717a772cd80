//! Diagnosis lookups: a short category and the longest one.

use criterion::{Criterion, criterion_group, criterion_main};
use jiff::civil::date;
use std::hint::black_box;

fn benches(c: &mut Criterion) {
    let release = necessity_icd10cm::release_on(date(2026, 7, 15));
    c.bench_function("is_billable M54.16", |b| b.iter(|| release.is_billable(black_box("M54.16"))));
    c.bench_function("is_billable S32.010A (long category)", |b| b.iter(|| release.is_billable(black_box("S32.010A"))));
}

criterion_group!(lookup, benches);
criterion_main!(lookup);
