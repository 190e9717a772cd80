//! Durable determinations per second through HTTP, 32 concurrent clients, on SQLite and on
//! the local PostgreSQL, with p50/p99 latency; next to the same run's raw fdatasync rate on the
//! disk the SQLite database is on. Requirements: SQLite at least 5 times the fdatasync rate
//! (group commit), PostgreSQL at least 1,500 per second, p99 under 50 ms.
//!
//! `cargo bench -p necessity-cli --bench service` (set `NECESSITY_TEST_POSTGRES_URL` for
//! another PostgreSQL; `NECESSITY_BENCH_SECONDS` for a longer run).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::print_stdout)]

use necessity_cli::service::keys::{self, Role};
use necessity_cli::service::store::Store;
use necessity_cli::service::{Config, api};
use necessity_engine::{Library, Pack};
use serde_json::{Value, json};
use std::io::Write;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;

const CLIENTS: usize = 32;

/// Commits and the jobs they carried, counted from the committer's `batch committed` events.
static COMMITS: AtomicU64 = AtomicU64::new(0);
static COMMITTED_JOBS: AtomicU64 = AtomicU64::new(0);

struct CountCommits;

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for CountCommits {
    fn on_event(&self, event: &tracing::Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
        struct Jobs(u64);
        impl tracing::field::Visit for Jobs {
            fn record_u64(&mut self, field: &tracing::field::Field, value: u64) {
                if field.name() == "jobs" {
                    self.0 = value;
                }
            }
            fn record_debug(&mut self, _: &tracing::field::Field, _: &dyn std::fmt::Debug) {}
        }
        if event.metadata().target().ends_with("committer") && *event.metadata().level() == tracing::Level::DEBUG {
            let mut jobs = Jobs(0);
            event.record(&mut jobs);
            COMMITS.fetch_add(1, Ordering::Relaxed);
            COMMITTED_JOBS.fetch_add(jobs.0, Ordering::Relaxed);
        }
    }
}

/// `NECESSITY_BENCH_ONLY=what-if|sqlite|postgres` runs one part (for profiling).
fn runs(part: &str) -> bool {
    std::env::var("NECESSITY_BENCH_ONLY").map_or(true, |only| only == part)
}

fn seconds() -> u64 {
    std::env::var("NECESSITY_BENCH_SECONDS").ok().and_then(|s| s.parse().ok()).unwrap_or(5)
}

/// fdatasync calls per second on a small file in `dir`, for `for_how_long`.
fn fdatasync_rate(dir: &Path, for_how_long: Duration) -> f64 {
    let path = dir.join("fsync-probe");
    let mut file = std::fs::OpenOptions::new().create(true).write(true).truncate(true).open(&path).unwrap();
    let block = [7u8; 4096];
    let started = Instant::now();
    let mut n = 0u64;
    while started.elapsed() < for_how_long {
        file.write_all(&block).unwrap();
        file.sync_data().unwrap();
        n += 1;
    }
    let _ = std::fs::remove_file(&path);
    n as f64 / started.elapsed().as_secs_f64()
}

fn library() -> Library {
    Library::new(necessity_cli::embedded::pack_sources().iter().map(|(_, s)| Pack::load(s).unwrap()).collect()).unwrap()
}

struct Outcome {
    per_second: f64,
    p50_ms: f64,
    p99_ms: f64,
    errors: usize,
    /// CPU time of this process (server and clients) over the run, per wall second.
    cpu_percent: f64,
    commits_per_second: f64,
    jobs_per_commit: f64,
}

/// User and system CPU seconds of this process so far.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which ends with ')'): utime and stime are the 12th and 13th.
    let fields: Vec<&str> = stat.rsplit_once(')').map_or("", |(_, rest)| rest).split_whitespace().collect();
    let ticks: f64 = fields.get(11..13).map_or(0.0, |f| f.iter().filter_map(|t| t.parse::<f64>().ok()).sum());
    ticks / 100.0
}

async fn load(url: &str, path: &'static str) -> Outcome {
    let store = Store::open(url).await.unwrap();
    let key = keys::create(&store, Role::Submitter, "bench").await.unwrap();
    let config = Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        database_url: url.to_owned(),
        max_body_bytes: 1024 * 1024,
        serialize_members: true,
    };
    let app = api::router(&config, library(), store);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let example: Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../examples/esi-initial-transforaminal-meets.json"
        ))
        .unwrap(),
    )
    .unwrap();
    let client = reqwest::Client::builder().pool_max_idle_per_host(CLIENTS).build().unwrap();
    let deadline = Instant::now() + Duration::from_secs(seconds());
    let started = Instant::now();
    let cpu_at_start = cpu_seconds();
    let (commits_at_start, jobs_at_start) = (COMMITS.load(Ordering::Relaxed), COMMITTED_JOBS.load(Ordering::Relaxed));
    let mut tasks = Vec::new();
    for c in 0..CLIENTS {
        let (client, base, key, example) = (client.clone(), base.clone(), key.clone(), example.clone());
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut errors = 0usize;
            let mut i = 0u64;
            while Instant::now() < deadline {
                let mut request = example.clone();
                request["member"]["id"] = json!(format!("B-{c}-{i}"));
                i += 1;
                let sent = Instant::now();
                let response =
                    client.post(format!("{base}{path}")).bearer_auth(&key).body(request.to_string()).send().await;
                match response {
                    Ok(r) if r.status().is_success() => {
                        let _ = r.bytes().await;
                        latencies.push(sent.elapsed());
                    }
                    _ => errors += 1,
                }
            }
            (latencies, errors)
        }));
    }
    let mut latencies = Vec::new();
    let mut errors = 0;
    for t in tasks {
        let (l, e) = t.await.unwrap();
        latencies.extend(l);
        errors += e;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let cpu_percent = 100.0 * (cpu_seconds() - cpu_at_start) / elapsed;
    let commits = (COMMITS.load(Ordering::Relaxed) - commits_at_start) as f64;
    let jobs = (COMMITTED_JOBS.load(Ordering::Relaxed) - jobs_at_start) as f64;
    latencies.sort();
    let at =
        |q: f64| latencies.get(((latencies.len() as f64 - 1.0) * q) as usize).map_or(0.0, |d| d.as_secs_f64() * 1000.0);
    Outcome {
        per_second: latencies.len() as f64 / elapsed,
        p50_ms: at(0.50),
        p99_ms: at(0.99),
        errors,
        cpu_percent,
        commits_per_second: commits / elapsed,
        jobs_per_commit: if commits > 0.0 { jobs / commits } else { 0.0 },
    }
}

fn report(name: &str, what: &str, o: &Outcome, requirement: &str, met: Option<bool>) {
    let verdict = match met {
        Some(true) => ": met",
        Some(false) => ": NOT met",
        None => "",
    };
    println!(
        "{name:<11} {:>7.0} {what}/s  p50 {:>5.1} ms  p99 {:>5.1} ms  errors {}  CPU {:>3.0}%  {requirement}{verdict}",
        o.per_second, o.p50_ms, o.p99_ms, o.errors, o.cpu_percent
    );
    if o.commits_per_second > 0.0 {
        println!(
            "{:<11} {:>7.0} commits/s, {:.1} determinations per commit (group commit)",
            "", o.commits_per_second, o.jobs_per_commit
        );
    }
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` passes nothing: run only for bench.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    tracing_subscriber::registry()
        .with(
            tracing_subscriber::filter::Targets::new()
                .with_target("necessity_cli::service::committer", tracing::Level::DEBUG),
        )
        .with(CountCommits)
        .init();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let dir = std::env::temp_dir().join(format!("necessity-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    println!("{CLIENTS} concurrent clients in this process, {} s per run", seconds());
    let sqlite_url = format!("sqlite://{}?mode=rwc", dir.join("bench.db").display());
    if runs("what-if") {
        // The same requests evaluated without storing: what HTTP and evaluation alone cost here.
        let what_if = runtime.block_on(load(&sqlite_url, "/v1/evaluations"));
        report("what-if", "evaluations", &what_if, "no storage: the ceiling of this machine", None);
    }
    if runs("sqlite") {
        let fsync = fdatasync_rate(&dir, Duration::from_secs(2));
        println!("raw fdatasync on the SQLite disk: {fsync:.0} per second");
        let sqlite = runtime.block_on(load(&sqlite_url, "/v1/determinations"));
        report(
            "SQLite",
            "determinations",
            &sqlite,
            &format!("≥ 5 × fdatasync ({:.0}/s) and p99 < 50 ms", 5.0 * fsync),
            Some(sqlite.per_second >= 5.0 * fsync && sqlite.p99_ms < 50.0),
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
    if runs("postgres") {
        let admin = std::env::var("NECESSITY_TEST_POSTGRES_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned());
        let schema = format!("nx_bench_{}", std::process::id());
        let postgres = runtime.block_on(async {
            sqlx::any::install_default_drivers();
            let pool = sqlx::AnyPool::connect(&admin).await.expect("the local PostgreSQL must be running");
            sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}"))).execute(&pool).await.unwrap();
            let sep = if admin.contains('?') { '&' } else { '?' };
            let outcome = load(&format!("{admin}{sep}options=-c%20search_path%3D{schema}"), "/v1/determinations").await;
            sqlx::query(sqlx::AssertSqlSafe(format!("DROP SCHEMA {schema} CASCADE"))).execute(&pool).await.unwrap();
            outcome
        });
        report(
            "PostgreSQL",
            "determinations",
            &postgres,
            "≥ 1,500/s and p99 < 50 ms",
            Some(postgres.per_second >= 1500.0 && postgres.p99_ms < 50.0),
        );
    }
}
