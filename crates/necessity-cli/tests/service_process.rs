//! The service as it runs: the `necessity` binary, killed with SIGKILL in the middle of a load
//! and restarted, loses no acknowledged determination; and its logs, over a run that uses
//! every endpoint, hold none of the clinical values submitted. On SQLite and PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

mod common;

use necessity_cli::service::store::Backend;

fn binary() -> &'static str {
    env!("CARGO_BIN_EXE_necessity")
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

struct Running {
    child: Child,
    base: String,
}

fn spawn(url: &str, log: &Path) -> Running {
    let port = free_port();
    let log = std::fs::OpenOptions::new().create(true).append(true).open(log).unwrap();
    let child = Command::new(binary())
        .args(["serve", "--listen", &format!("127.0.0.1:{port}"), "--database-url", url])
        .env("RUST_LOG", "debug")
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let started = Instant::now();
    loop {
        if probe::healthy(&format!("{base}/v1/health")) {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(20), "the server did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    Running { child, base }
}

/// A blocking health probe, for waiting on a server outside the async runtime.
mod probe {
    pub fn healthy(url: &str) -> bool {
        let Some(rest) = url.strip_prefix("http://") else { return false };
        let Some((host, path)) = rest.split_once('/') else { return false };
        let Ok(mut stream) = std::net::TcpStream::connect(host) else { return false };
        use std::io::{Read, Write};
        let request = format!("GET /{path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
        if stream.write_all(request.as_bytes()).is_err() {
            return false;
        }
        let mut response = String::new();
        let _ = stream.read_to_string(&mut response);
        response.starts_with("HTTP/1.1 200")
    }
}

fn create_key(url: &str, role: &str, org: &str) -> String {
    let out = Command::new(binary())
        .args(["keys", "create", "--role", role, "--org", org, "--database-url", url])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

fn example(name: &str) -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples").join(name);
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Values the requests carry that must never reach a log.
const CLINICAL: &[&str] =
    &["MEMBER-SECRET", "1968-03-02", "M54.16", "M51.16", "ELEVEN-UNIQUE", "Imaging-reason-UNIQUE", "1234567893"];

fn request(member: &str) -> Value {
    let mut r = example("esi-initial-transforaminal-meets.json");
    r["member"]["id"] = json!(format!("MEMBER-SECRET-{member}"));
    r["id"] = json!(format!("case-{member}"));
    r
}

async fn scenario(backend: Backend) {
    let (url, dir) = common::fresh_database(backend).await;
    let logs = common::tempdir::Dir::new(&format!("necessity-logs-{}-{:?}", std::process::id(), backend));
    let log = logs.path.join("server.log");
    let admin = create_key(&url, "administrator", "plan");
    let submitter = create_key(&url, "submitter", "clinic");
    let reviewer = create_key(&url, "reviewer", "plan");
    let mut server = spawn(&url, &log);
    let client = reqwest::Client::new();

    // Every endpoint once, bad input included.
    let post = |path: &str, key: &str, body: String| {
        client.post(format!("{}{path}", server.base)).bearer_auth(key).body(body).send()
    };
    let first = post("/v1/determinations", &submitter, request("first").to_string()).await.unwrap();
    assert_eq!(first.status(), 201);
    let first: Value = first.json().await.unwrap();
    let first_id = first["id"].as_str().unwrap().to_owned();
    assert_eq!(post("/v1/evaluations", &submitter, request("first").to_string()).await.unwrap().status(), 200);
    let mut bad = request("bad");
    bad["clinical"]["pain_score"] = json!("ELEVEN-UNIQUE");
    assert_eq!(post("/v1/determinations", &submitter, bad.to_string()).await.unwrap().status(), 422);
    let review = json!({ "reviewer": { "name": "Dr Log", "npi": "1234567893", "role": "physician" }, "decision": "deny", "reason": "Imaging-reason-UNIQUE" });
    assert_eq!(
        post(&format!("/v1/determinations/{first_id}/reviews"), &reviewer, review.to_string()).await.unwrap().status(),
        201
    );
    let import = r#"{"code":"64483","date":"2026-01-10","side":"left","levels":["L4-L5"]}"#.to_owned();
    assert_eq!(post("/v1/members/MEMBER-SECRET-first/history", &admin, import).await.unwrap().status(), 200);
    for path in [
        format!("/v1/determinations/{first_id}"),
        "/v1/members/MEMBER-SECRET-first/determinations".to_owned(),
        "/v1/members/MEMBER-SECRET-first/history".to_owned(),
        "/v1/packs".to_owned(),
    ] {
        let r = client.get(format!("{}{path}", server.base)).bearer_auth(&admin).send().await.unwrap();
        assert_eq!(r.status(), 200, "{path}");
    }

    // A load, killed in the middle: every acknowledged determination must survive.
    let acked: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
    let started = Instant::now();
    let mut clients = Vec::new();
    for c in 0..8 {
        let (client, base, key, acked) = (client.clone(), server.base.clone(), submitter.clone(), Arc::clone(&acked));
        clients.push(tokio::spawn(async move {
            for i in 0..400 {
                if started.elapsed() > Duration::from_secs(4) {
                    break;
                }
                let body = request(&format!("{c}-{i}")).to_string();
                let Ok(r) = client.post(format!("{base}/v1/determinations")).bearer_auth(&key).body(body).send().await
                else {
                    break;
                };
                if r.status() != 201 {
                    break;
                }
                let Ok(v) = r.json::<Value>().await else { break };
                let id = v["id"].as_str().unwrap().to_owned();
                acked.lock().unwrap().push((id, v["determination"]["decision"].as_str().unwrap().to_owned()));
            }
        }));
    }
    while acked.lock().unwrap().len() < 200 && started.elapsed() < Duration::from_secs(3) {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    server.child.kill().unwrap(); // SIGKILL
    server.child.wait().unwrap();
    for c in clients {
        c.await.unwrap();
    }
    let acked = acked.lock().unwrap().clone();
    assert!(acked.len() >= 20, "the load acknowledged only {} determinations", acked.len());

    let mut restarted = spawn(&url, &log);
    for (id, decision) in &acked {
        let r =
            client.get(format!("{}/v1/determinations/{id}", restarted.base)).bearer_auth(&admin).send().await.unwrap();
        assert_eq!(r.status(), 200, "acknowledged determination {id} was lost");
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["determination"]["decision"], decision.as_str());
    }
    let verify = Command::new(binary()).args(["audit", "verify", "--database-url", &url]).output().unwrap();
    assert!(verify.status.success(), "{}", String::from_utf8_lossy(&verify.stderr));
    restarted.child.kill().unwrap();
    restarted.child.wait().unwrap();

    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.contains("determination stored"), "the log is empty?");
    for value in CLINICAL {
        assert!(!text.contains(value), "the log holds the clinical value {value}");
    }
    drop(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_survives_sigkill_and_logs_no_clinical_content() {
    scenario(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_survives_sigkill_and_logs_no_clinical_content() {
    scenario(Backend::Postgres).await;
}
