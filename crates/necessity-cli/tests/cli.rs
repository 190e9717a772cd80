#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]
//! End-to-end tests of the `necessity` binary: exit codes, stdout and stderr as a caller sees
//! them.

use serde_json::Value;
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

const EX_DATAERR: i32 = 65;
const EX_NOINPUT: i32 = 66;
const EX_CONFIG: i32 = 78;

/// What one run of the binary did.
#[derive(Debug)]
struct Run {
    code: Option<i32>,
    stdout: Vec<u8>,
    stderr: String,
}

impl Run {
    fn out(&self) -> String {
        String::from_utf8(self.stdout.clone()).expect("stdout is UTF-8")
    }

    /// Asserts the process ended by itself, without a Rust panic.
    fn no_panic(&self) -> &Self {
        assert!(self.code.is_some(), "killed by a signal: {self:?}");
        assert_ne!(self.code, Some(101), "exit 101 (panic): stderr: {}", self.stderr);
        assert!(!self.stderr.contains("panicked"), "panicked: {}", self.stderr);
        assert!(!self.stderr.contains("stack overflow"), "stack overflow: {}", self.stderr);
        self
    }

    fn ok(&self) -> &Self {
        self.no_panic();
        assert_eq!(self.code, Some(0), "expected exit 0; stderr: {}", self.stderr);
        self
    }

    fn exit(&self, code: i32) -> &Self {
        self.no_panic();
        assert_eq!(self.code, Some(code), "expected exit {code}; stderr: {}", self.stderr);
        self
    }

    fn stderr_has(&self, needle: &str) -> &Self {
        assert!(self.stderr.contains(needle), "stderr should contain {needle:?}; it was:\n{}", self.stderr);
        self
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not one JSON value ({e}): {}", self.out()))
    }

    fn json_lines(&self) -> Vec<Value> {
        self.out()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("line is not JSON ({e}): {l}")))
            .collect()
    }
}

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_necessity"))
}

/// Runs the binary with `args`, feeding `stdin` (or nothing: stdin is then empty).
fn run_with(args: &[&str], stdin: Option<&[u8]>, env: &[(&str, &str)]) -> Run {
    let mut cmd = bin();
    cmd.args(args).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("spawn necessity");
    let mut pipe = child.stdin.take().expect("stdin pipe");
    let input = stdin.map(<[u8]>::to_vec).unwrap_or_default();
    // Write from a thread so a large input cannot deadlock against a full stdout pipe.
    let writer = std::thread::spawn(move || {
        let _ = pipe.write_all(&input);
        drop(pipe);
    });
    let output = child.wait_with_output().expect("wait for necessity");
    writer.join().expect("stdin writer");
    Run {
        code: output.status.code(),
        stdout: output.stdout,
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

fn run(args: &[&str]) -> Run {
    run_with(args, None, &[])
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn example(name: &str) -> String {
    root().join("examples").join(name).to_str().unwrap().to_owned()
}

fn read_example(name: &str) -> String {
    std::fs::read_to_string(example(name)).unwrap()
}

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// A path under the temp dir, unique to this process and call; removed on drop.
struct Temp(PathBuf);

impl Temp {
    fn new(label: &str) -> Self {
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let path = std::env::temp_dir().join(format!("necessity-cli-test-{}-{n}-{label}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        let _ = std::fs::remove_file(&path);
        Self(path)
    }

    fn file(label: &str, bytes: &[u8]) -> Self {
        let t = Self::new(label);
        std::fs::write(&t.0, bytes).unwrap();
        t
    }

    fn s(&self) -> &str {
        self.0.to_str().unwrap()
    }
}

impl Drop for Temp {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
        let _ = std::fs::remove_file(&self.0);
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// A copy of the shipped pack version with `edit` applied to one of its files.
fn edited_pack(label: &str, file: &str, edit: impl FnOnce(&str) -> String) -> Temp {
    let dir = Temp::new(label);
    copy_dir(&root().join("packs/interventional-pain/2026-06-14"), &dir.0);
    let path = dir.0.join(file);
    let before = std::fs::read_to_string(&path).unwrap();
    let after = edit(&before);
    assert_ne!(before, after, "the edit changed nothing");
    std::fs::write(&path, after).unwrap();
    dir
}

/// Evaluates `json` (written to a file) and expects it to be refused as invalid data, with a
/// message naming `field`.
fn expect_invalid(label: &str, json: &str, field: &str) -> Run {
    let file = Temp::file(label, json.as_bytes());
    let r = run(&["evaluate", file.s()]);
    r.exit(EX_DATAERR).stderr_has(field);
    assert!(r.stderr.contains("error"), "stderr should say error: {}", r.stderr);
    // And the same through stdin, in JSON form.
    let r2 = run_with(&["evaluate", "--format", "json"], Some(json.as_bytes()), &[]);
    r2.exit(EX_DATAERR).stderr_has(field);
    r
}

fn minimal_with(clinical_or_member: &str) -> String {
    format!(r#"{{"service_date":"2026-07-01","services":[{{"code":"64483"}}],{clinical_or_member}}}"#)
}

const EXAMPLES: &[(&str, &str, &str)] = &[
    ("esi-initial-transforaminal-meets.json", "meets_criteria", "MEETS CRITERIA"),
    ("esi-initial-pend.json", "pend_for_information", "PEND FOR INFORMATION"),
    ("esi-repeat-does-not-meet.json", "does_not_meet_criteria", "DOES NOT MEET CRITERIA"),
    ("notification-only.json", "notification_only", "NOTIFICATION ONLY"),
    ("snrb-surgical-planning.json", "meets_criteria", "MEETS CRITERIA"),
    ("bvn-ablation-meets.json", "meets_criteria", "MEETS CRITERIA"),
    ("cross-section-epidural-and-facet.json", "does_not_meet_criteria", "DOES NOT MEET CRITERIA"),
    ("drg-trial-crps-meets.json", "meets_criteria", "MEETS CRITERIA"),
    ("mbb-confirmatory-after-70-percent.json", "does_not_meet_criteria", "DOES NOT MEET CRITERIA"),
    ("mbb-first-diagnostic-meets.json", "meets_criteria", "MEETS CRITERIA"),
    ("rfn-initial-after-two-blocks-meets.json", "meets_criteria", "MEETS CRITERIA"),
    ("rfn-pulsed-does-not-meet.json", "does_not_meet_criteria", "DOES NOT MEET CRITERIA"),
    ("scs-permanent-after-trial-meets.json", "meets_criteria", "MEETS CRITERIA"),
    ("scs-replacement-battery.json", "meets_criteria", "MEETS CRITERIA"),
    ("scs-revision-lead-migration-meets.json", "meets_criteria", "MEETS CRITERIA"),
    ("scs-trial-meets.json", "meets_criteria", "MEETS CRITERIA"),
    ("si-diagnostic-before-fusion-meets.json", "meets_criteria", "MEETS CRITERIA"),
    ("si-therapeutic-prp-does-not-meet.json", "does_not_meet_criteria", "DOES NOT MEET CRITERIA"),
    ("stellate-ganglion-diagnostic-meets.json", "meets_criteria", "MEETS CRITERIA"),
    ("sympathetic-seventh-lifetime-block.json", "does_not_meet_criteria", "DOES NOT MEET CRITERIA"),
];

/// The batch, in file order.
const BATCH: &[(&str, &str)] = &[
    ("EX-ESI-001", "meets_criteria"),
    ("EX-ESI-002", "pend_for_information"),
    ("EX-ESI-003", "does_not_meet_criteria"),
    ("EX-ESI-004", "notification_only"),
    ("EX-SNRB-001", "meets_criteria"),
    ("EX-MBB-001", "meets_criteria"),
    ("EX-MBB-002", "does_not_meet_criteria"),
    ("EX-RFN-001", "meets_criteria"),
    ("EX-RFN-002", "does_not_meet_criteria"),
    ("EX-BVN-001", "meets_criteria"),
    ("EX-SYM-001", "meets_criteria"),
    ("EX-SYM-002", "does_not_meet_criteria"),
    ("EX-SIJ-001", "meets_criteria"),
    ("EX-SIJ-002", "does_not_meet_criteria"),
    ("EX-SCS-001", "meets_criteria"),
    ("EX-SCS-002", "meets_criteria"),
    ("EX-SCS-003", "meets_criteria"),
    ("EX-SCS-004", "meets_criteria"),
    ("EX-DRG-001", "meets_criteria"),
    ("EX-MULTI-001", "does_not_meet_criteria"),
];

const DECISION_WORDS: &[&str] =
    &["MEETS CRITERIA", "PEND FOR INFORMATION", "DOES NOT MEET CRITERIA", "NOTIFICATION ONLY", "OUT OF SCOPE"];

fn batch_lines() -> Vec<String> {
    read_example("batch.ndjson").lines().filter(|l| !l.trim().is_empty()).map(str::to_owned).collect()
}

fn assert_batch_json(r: &Run) {
    r.ok();
    let got: Vec<(String, String)> = r
        .json_lines()
        .iter()
        .map(|v| (v["request_id"].as_str().unwrap().to_owned(), v["decision"].as_str().unwrap().to_owned()))
        .collect();
    let want: Vec<(String, String)> = BATCH.iter().map(|(i, d)| ((*i).to_owned(), (*d).to_owned())).collect();
    assert_eq!(got, want);
}

fn keys(v: &Value) -> Vec<&str> {
    v.as_object().unwrap_or_else(|| panic!("not an object: {v}")).keys().map(String::as_str).collect()
}

fn assert_has_keys(v: &Value, want: &[&str], what: &str) {
    let have = keys(v);
    for k in want {
        assert!(have.contains(k), "{what} lacks `{k}`; it has {have:?}");
    }
}

/// Writes `v` as JSON with every object's keys in reverse order and odd whitespace.
fn reordered(v: &Value, out: &mut String) {
    match v {
        Value::Object(map) => {
            out.push_str("{\n\t ");
            for (i, (k, v)) in map.iter().rev().enumerate() {
                if i > 0 {
                    out.push_str(" ,\r\n   ");
                }
                let _ = write!(out, "{}  :\t", Value::String(k.clone()));
                reordered(v, out);
            }
            out.push_str("\n }");
        }
        Value::Array(items) => {
            out.push_str("[ ");
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(" ,  ");
                }
                reordered(v, out);
            }
            out.push_str(" ]");
        }
        other => out.push_str(&other.to_string()),
    }
}

// ---------------------------------------------------------------------------------------------
// 1. The examples
// ---------------------------------------------------------------------------------------------

#[test]
fn every_example_gives_its_decision_in_json() {
    for (file, decision, _) in EXAMPLES {
        let r = run(&["evaluate", &example(file), "--format", "json"]);
        r.ok();
        let v = r.json();
        assert_eq!(v["decision"], *decision, "{file}");
        assert_eq!(v["format"], 1, "{file}");
        assert!(r.stderr.is_empty(), "{file}: unexpected stderr: {}", r.stderr);
    }
}

#[test]
fn every_example_gives_its_decision_in_text_without_colour_when_piped() {
    for (file, _, words) in EXAMPLES {
        // Default format is text, default colour is auto; stdout is a pipe here.
        let r = run(&["evaluate", &example(file)]);
        r.ok();
        let out = r.out();
        assert!(out.starts_with(words), "{file}: text should begin with {words:?}:\n{out}");
        assert!(!out.contains('\x1b'), "{file}: ANSI escape in piped output:\n{out:?}");
        assert!(r.stderr.is_empty(), "{file}: unexpected stderr: {}", r.stderr);
    }
}

#[test]
fn colour_always_paints_and_never_does_not() {
    let file = example("esi-initial-transforaminal-meets.json");
    let r = run(&["evaluate", &file, "--color", "always"]);
    r.ok();
    let out = r.out();
    assert!(out.contains("\x1b["), "--color always should emit ANSI escapes: {out:?}");
    assert!(out.contains("MEETS CRITERIA"));
    // NO_COLOR must not switch off an explicit request for colour.
    let r = run_with(&["evaluate", &file, "--color", "always"], None, &[("NO_COLOR", "1")]);
    assert!(r.ok().out().contains("\x1b["));
    let r = run(&["evaluate", &file, "--color", "never"]);
    assert!(!r.ok().out().contains('\x1b'));
    let r = run(&["evaluate", &file, "--color", "auto"]);
    assert!(!r.ok().out().contains('\x1b'));
}

#[test]
fn batch_ndjson_gives_one_determination_per_request_in_order_one_json_per_line() {
    let r = run(&["evaluate", &example("batch.ndjson"), "--format", "json"]);
    assert_batch_json(&r);
    assert_eq!(r.out().lines().count(), BATCH.len());
    assert!(r.stderr.is_empty(), "unexpected stderr: {}", r.stderr);
}

#[test]
fn batch_ndjson_text_lists_the_decisions_in_order() {
    let r = run(&["evaluate", &example("batch.ndjson")]);
    r.ok();
    let out = r.out();
    assert!(!out.contains('\x1b'));
    let headers: Vec<&str> =
        out.lines().filter_map(|l| DECISION_WORDS.iter().find(|w| l.starts_with(**w)).copied()).collect();
    let want: Vec<String> = BATCH.iter().map(|(_, d)| d.replace('_', " ").to_uppercase()).collect();
    assert_eq!(headers, want);
    for (id, _) in BATCH {
        assert!(out.contains(&format!("request {id} ")), "text should name request {id}");
    }
}

#[test]
fn json_has_the_documented_fields() {
    let mut reasons_seen = 0;
    for (file, _, _) in EXAMPLES {
        let v = run(&["evaluate", &example(file), "--format", "json"]).ok().json();
        assert_has_keys(
            &v,
            &[
                "format",
                "request_id",
                "case_hash",
                "service_date",
                "pack",
                "decision",
                "action",
                "lines",
                "questions",
                "advisories",
                "engine",
            ],
            "the determination",
        );
        assert!(v["case_hash"].as_str().unwrap().starts_with("sha256:"), "{file}");
        assert!(v["request_id"].is_string(), "{file}");
        assert!(v["service_date"].is_string(), "{file}");
        assert!(v["action"].is_string(), "{file}");
        assert!(v["questions"].is_array() && v["advisories"].is_array(), "{file}");
        assert_has_keys(&v["pack"], &["name", "version", "effective_from", "effective_to", "content_hash"], "pack");
        assert_eq!(v["pack"]["name"], "interventional-pain");
        assert!(v["pack"]["content_hash"].as_str().unwrap().starts_with("sha256:"));
        assert_has_keys(&v["engine"], &["name", "version"], "engine");
        let lines = v["lines"].as_array().unwrap();
        assert!(!lines.is_empty(), "{file}: no lines");
        for (i, line) in lines.iter().enumerate() {
            assert_has_keys(
                line,
                &[
                    "index",
                    "code",
                    "code_label",
                    "procedure",
                    "procedure_label",
                    "decision",
                    "reasons",
                    "questions",
                    "advisories",
                    "criteria",
                ],
                "a line",
            );
            assert_eq!(line["index"], i);
            for reason in line["reasons"].as_array().unwrap() {
                reasons_seen += 1;
                assert_has_keys(
                    reason,
                    &["id", "kind", "value", "explanation", "source", "within", "facts", "missing"],
                    "a reason",
                );
                assert!(reason["id"].is_string() && reason["explanation"].is_string());
                assert!(reason["facts"].is_array() && reason["missing"].is_array());
            }
            assert!(line["criteria"].is_array());
        }
    }
    assert!(reasons_seen > 0, "no example produced a reason to check");
}

#[test]
fn same_input_gives_byte_identical_json() {
    for (file, _, _) in EXAMPLES {
        let a = run(&["evaluate", &example(file), "--format", "json"]);
        let b = run(&["evaluate", &example(file), "--format", "json"]);
        assert_eq!(a.ok().stdout, b.ok().stdout, "{file}: output differs between runs");
    }
    let a = run(&["evaluate", &example("batch.ndjson"), "--format", "json"]);
    let b = run(&["evaluate", &example("batch.ndjson"), "--format", "json"]);
    assert_eq!(a.ok().stdout, b.ok().stdout, "batch output differs between runs");
}

#[test]
fn a_request_alone_and_in_a_batch_give_the_same_determination() {
    let batch = run(&["evaluate", &example("batch.ndjson"), "--format", "json"]).ok().json_lines();
    for (i, (file, _, _)) in EXAMPLES.iter().enumerate() {
        let single = run(&["evaluate", &example(file), "--format", "json"]).ok().json();
        let from_batch = batch.iter().find(|v| v["request_id"] == single["request_id"]).unwrap();
        assert_eq!(&single, from_batch, "example {i} ({file}) differs from its batch line");
    }
}

#[test]
fn case_hash_ignores_key_order_and_whitespace() {
    for (file, decision, _) in EXAMPLES {
        let original = read_example(file);
        let mut shuffled = String::new();
        reordered(&serde_json::from_str(&original).unwrap(), &mut shuffled);
        assert_ne!(original, shuffled);
        let a = run(&["evaluate", &example(file), "--format", "json"]).ok().json();
        let b = run_with(&["evaluate", "-", "--format", "json"], Some(shuffled.as_bytes()), &[]).ok().json();
        assert_eq!(a["case_hash"], b["case_hash"], "{file}: case_hash changed with key order/whitespace");
        assert_eq!(b["decision"], *decision, "{file}");
    }
    // A different request does hash differently.
    let changed = read_example("esi-initial-pend.json").replace("\"2026-07-15\"", "\"2026-07-16\"");
    let a = run(&["evaluate", &example("esi-initial-pend.json"), "--format", "json"]).ok().json();
    let b = run_with(&["evaluate", "--format", "json"], Some(changed.as_bytes()), &[]).ok().json();
    assert_ne!(a["case_hash"], b["case_hash"]);
}

// ---------------------------------------------------------------------------------------------
// 2. Input layouts and stdin
// ---------------------------------------------------------------------------------------------

#[test]
fn reads_stdin_with_dash_and_with_no_argument() {
    let text = read_example("esi-initial-pend.json");
    let r = run_with(&["evaluate", "-", "--format", "json"], Some(text.as_bytes()), &[]);
    assert_eq!(r.ok().json()["decision"], "pend_for_information");
    let r = run_with(&["evaluate", "--format", "json"], Some(text.as_bytes()), &[]);
    assert_eq!(r.ok().json()["decision"], "pend_for_information");
    let r = run_with(&["evaluate"], Some(text.as_bytes()), &[]);
    assert!(r.ok().out().starts_with("PEND FOR INFORMATION"));
    // The batch through stdin too.
    let batch = read_example("batch.ndjson");
    assert_batch_json(&run_with(&["evaluate", "--format", "json"], Some(batch.as_bytes()), &[]));
}

#[test]
fn a_json_array_of_requests_gives_one_line_each_in_order() {
    let array = format!("[\n{}\n]\n", batch_lines().join(",\n"));
    assert_batch_json(&run_with(&["evaluate", "--format", "json"], Some(array.as_bytes()), &[]));
    let file = Temp::file("array.json", array.as_bytes());
    assert_batch_json(&run(&["evaluate", file.s(), "--format", "json"]));
    // Pretty-printed elements over several lines are fine too.
    let pretty: Vec<String> = EXAMPLES.iter().map(|(f, _, _)| read_example(f)).collect();
    let array = format!("  [{}]", pretty.join(" ,\n"));
    let r = run_with(&["evaluate", "--format", "json"], Some(array.as_bytes()), &[]);
    let got: Vec<String> = r.ok().json_lines().iter().map(|v| v["decision"].as_str().unwrap().to_owned()).collect();
    let want: Vec<&str> = EXAMPLES.iter().map(|(_, d, _)| *d).collect();
    assert_eq!(got, want);
}

#[test]
fn an_invalid_array_element_is_reported_and_the_rest_evaluated() {
    let mut lines = batch_lines();
    lines[1] = minimal_with(r#""clinical":{"pain_score":11}"#);
    let array = format!("[{}]", lines.join(","));
    let r = run_with(&["evaluate", "--format", "json"], Some(array.as_bytes()), &[]);
    r.exit(EX_DATAERR).stderr_has("element 2").stderr_has("clinical.pain_score");
    let out = r.json_lines();
    assert_eq!(out.len(), BATCH.len());
    assert_eq!(out[0]["request_id"], "EX-ESI-001");
    assert_eq!(out[1]["position"], 2);
    assert_eq!(out[2]["request_id"], "EX-ESI-003");
    assert_eq!(out[4]["request_id"], "EX-SNRB-001");
}

#[test]
fn ndjson_with_blank_lines_and_crlf() {
    let lines = batch_lines();
    let separators = ["\n\n   \n", "\n\t\n", "\n\n", "\n"];
    let mut text = String::from("\n");
    for (i, line) in lines.iter().enumerate() {
        text.push_str(line);
        text.push_str(separators[i % separators.len()]);
    }
    text.push_str("\n\n");
    assert_batch_json(&run_with(&["evaluate", "--format", "json"], Some(text.as_bytes()), &[]));
    let crlf = lines.join("\r\n") + "\r\n";
    assert_batch_json(&run_with(&["evaluate", "--format", "json"], Some(crlf.as_bytes()), &[]));
    // Positions count physical lines, blank ones included.
    let text = format!("{}\n\n\n{}\n", lines[0], minimal_with(r#""clinical":{"pain_score":11}"#));
    let r = run_with(&["evaluate", "--format", "json"], Some(text.as_bytes()), &[]);
    r.exit(EX_DATAERR).stderr_has("line 4");
}

// ---------------------------------------------------------------------------------------------
// 3. Bad input
// ---------------------------------------------------------------------------------------------

#[test]
fn malformed_json_is_refused() {
    let r = expect_invalid("malformed.json", r#"{"service_date":"2026-07-01","services":[{"code":"64483"}"#, "error");
    assert!(r.stderr.contains("EOF") || r.stderr.contains("expected"), "{}", r.stderr);
    expect_invalid("malformed2.json", r#"{"service_date":}"#, "service_date");
}

#[test]
fn wrong_type_names_the_field() {
    expect_invalid("wrongtype.json", &minimal_with(r#""clinical":{"pain_score":"7"}"#), "clinical.pain_score");
    expect_invalid("wrongtype2.json", &minimal_with(r#""member":{"bmi":"30"}"#), "member.bmi");
    expect_invalid("wrongtype3.json", r#"{"service_date":"2026-07-01","services":"64483"}"#, "services");
}

#[test]
fn unknown_field_names_the_field() {
    let r = expect_invalid("unknown.json", &minimal_with(r#""clinical":{"pain_scor":5}"#), "clinical.pain_scor");
    r.stderr_has("unknown field `pain_scor`");
}

#[test]
fn pain_score_out_of_range_is_refused() {
    let r = expect_invalid("pain11.json", &minimal_with(r#""clinical":{"pain_score":11}"#), "clinical.pain_score");
    r.stderr_has("out of range");
    expect_invalid("pain-1.json", &minimal_with(r#""clinical":{"pain_score":-1}"#), "clinical.pain_score");
}

#[test]
fn a_level_that_does_not_exist_is_refused() {
    let json = r#"{"service_date":"2026-07-01","services":[{"code":"64483","levels":["L9-L10"]}]}"#;
    expect_invalid("level.json", json, "services[0].levels[0]").stderr_has("L9-L10");
}

#[test]
fn side_conflicting_with_modifiers_is_refused() {
    let json = r#"{"service_date":"2026-07-01","services":[{"code":"64483","side":"left","modifiers":["RT"]}]}"#;
    expect_invalid("side.json", json, "services[0].side").stderr_has("conflicts");
    let json = r#"{"service_date":"2026-07-01","services":[{"code":"64483","modifiers":["50","LT"]}]}"#;
    expect_invalid("side2.json", json, "services[0].modifiers");
}

#[test]
fn huge_numbers_are_refused_naming_the_field() {
    expect_invalid("big1.json", &minimal_with(r#""member":{"bmi":1e400}"#), "member.bmi");
    expect_invalid(
        "big2.json",
        &minimal_with(r#""clinical":{"adl_iadl_impaired_count":18446744073709551616}"#),
        "clinical.adl_iadl_impaired_count",
    );
    expect_invalid(
        "big3.json",
        &minimal_with(r#""clinical":{"pain_score":18446744073709551616}"#),
        "clinical.pain_score",
    );
    expect_invalid("big4.json", &minimal_with(r#""member":{"bmi":18446744073709551616}"#), "member.bmi");
}

#[test]
fn a_non_integer_in_an_integer_field_names_the_field() {
    // 1e400 and 7.5 in an integer field: the error must name the field, not `clinical.?`.
    expect_invalid("big5.json", &minimal_with(r#""clinical":{"pain_score":1e400}"#), "clinical.pain_score");
    expect_invalid("frac.json", &minimal_with(r#""clinical":{"pain_score":7.5}"#), "clinical.pain_score");
}

#[test]
fn deeply_nested_input_is_refused_not_a_crash() {
    let depth = 100_000;
    let deep = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
    let file = Temp::file("deep.json", deep.as_bytes());
    let r = run(&["evaluate", file.s()]);
    r.exit(EX_DATAERR);
    assert!(r.stderr.contains("error"), "{}", r.stderr);
    // Nested inside a field, through stdin.
    let deep = format!(r#"{{"service_date":"2026-07-01","services":{}{}}}"#, "[".repeat(depth), "]".repeat(depth));
    run_with(&["evaluate"], Some(deep.as_bytes()), &[]).exit(EX_DATAERR).stderr_has("services");
    // Nested objects.
    let deep = format!("{}1{}", r#"{"clinical":"#.repeat(depth), "}".repeat(depth));
    run_with(&["evaluate"], Some(deep.as_bytes()), &[]).exit(EX_DATAERR);
    // Unbalanced.
    run_with(&["evaluate"], Some("[".repeat(depth).as_bytes()), &[]).exit(EX_DATAERR);
}

#[test]
fn empty_and_whitespace_only_input_are_refused() {
    let empty = Temp::file("empty.json", b"");
    run(&["evaluate", empty.s()]).exit(EX_DATAERR).stderr_has("empty");
    let ws = Temp::file("ws.json", b"  \n\t\r\n   \n");
    run(&["evaluate", ws.s()]).exit(EX_DATAERR).stderr_has("empty");
    run_with(&["evaluate"], Some(b""), &[]).exit(EX_DATAERR).stderr_has("empty");
    run_with(&["evaluate", "-"], Some(b"[]"), &[]).exit(EX_DATAERR).stderr_has("empty array");
}

#[test]
fn input_that_is_not_utf8_is_refused() {
    let mut bytes = read_example("esi-initial-pend.json").into_bytes();
    bytes.splice(20..20, [0xff, 0xfe, 0xc3]);
    let file = Temp::file("latin.json", &bytes);
    let r = run(&["evaluate", file.s()]);
    r.exit(EX_DATAERR).stderr_has("UTF-8").stderr_has("offset 20");
    run_with(&["evaluate", "-"], Some(&bytes), &[]).exit(EX_DATAERR).stderr_has("UTF-8");
}

#[test]
fn the_not_utf8_message_does_not_leak_the_exit_code_marker() {
    let file = Temp::file("latin2.json", b"{\"id\":\"\xff\"}");
    let r = run(&["evaluate", file.s()]);
    r.exit(EX_DATAERR);
    // The message is for a person: an internal "exit 65" marker has no place in it.
    assert!(!r.stderr.contains("exit 65"), "stderr leaks the internal exit marker: {}", r.stderr);
}

#[test]
fn a_100_mb_single_line_is_refused_as_over_the_limit() {
    let file = Temp::new("huge.json");
    {
        let mut w = std::io::BufWriter::new(std::fs::File::create(&file.0).unwrap());
        w.write_all(br#"{"id":""#).unwrap();
        let chunk = vec![b'a'; 1 << 20];
        for _ in 0..100 {
            w.write_all(&chunk).unwrap();
        }
        w.write_all(br#"","service_date":"2026-07-01","services":[{"code":"64483"}]}"#).unwrap();
        w.flush().unwrap();
    }
    let r = run(&["evaluate", file.s(), "--format", "json"]);
    r.exit(EX_DATAERR).stderr_has("more than the 4 MiB");
    assert!(r.stdout.len() < 4096, "the refusal should not echo the request ({} bytes out)", r.stdout.len());
}

#[test]
fn ndjson_with_an_invalid_line_2_still_evaluates_the_others() {
    let lines = batch_lines();
    let mut text = String::new();
    for (i, l) in lines.iter().enumerate() {
        text.push_str(if i == 1 {
            r#"{"service_date":"2026-07-01","services":[{"code":"64483"}],"clinical":{"pain_score":11}}"#
        } else {
            l
        });
        text.push('\n');
    }
    let file = Temp::file("line2.ndjson", text.as_bytes());
    let r = run(&["evaluate", file.s(), "--format", "json"]);
    r.exit(EX_DATAERR)
        .stderr_has("line 2")
        .stderr_has("clinical.pain_score")
        .stderr_has(&format!("1 of {}", BATCH.len()));
    let out = r.json_lines();
    assert_eq!(out.len(), BATCH.len());
    assert_eq!(out[1]["at"], "line");
    assert_eq!(out[1]["position"], 2);
    for (i, (id, decision)) in BATCH.iter().enumerate().filter(|(i, _)| *i != 1) {
        assert_eq!(out[i]["request_id"], *id);
        assert_eq!(out[i]["decision"], *decision);
    }
    // Text output: the others are shown, the error is on stderr.
    let r = run(&["evaluate", file.s()]);
    r.exit(EX_DATAERR).stderr_has("line 2");
    assert_eq!(r.out().lines().filter(|l| DECISION_WORDS.iter().any(|w| l.starts_with(w))).count(), BATCH.len() - 1);
    // Line 2 not even JSON.
    let text = text.replacen(
        r#"{"service_date":"2026-07-01","services":[{"code":"64483"}],"clinical":{"pain_score":11}}"#,
        r#"{"service_date":"#,
        1,
    );
    let r = run_with(&["evaluate", "--format", "json"], Some(text.as_bytes()), &[]);
    r.exit(EX_DATAERR).stderr_has("line 2");
    assert_eq!(r.json_lines().iter().filter(|v| v["decision"].is_string()).count(), BATCH.len() - 1);
}

#[test]
fn ndjson_with_an_invalid_line_1_still_evaluates_the_others() {
    let lines = batch_lines();
    let text = format!("{{\"service_date\":\n{}\n{}\n", lines[1], lines[2]);
    let r = run_with(&["evaluate", "--format", "json"], Some(text.as_bytes()), &[]);
    r.exit(EX_DATAERR).stderr_has("line 1");
    let decided = r.json_lines().iter().filter(|v| v["decision"].is_string()).count();
    assert_eq!(decided, 2, "lines 2 and 3 should still be evaluated; stderr: {}", r.stderr);
}

#[test]
fn a_file_that_cannot_be_read_is_exit_66() {
    let missing = std::env::temp_dir().join(format!("necessity-cli-test-{}-does-not-exist.json", std::process::id()));
    let r = run(&["evaluate", missing.to_str().unwrap()]);
    r.exit(EX_NOINPUT).stderr_has("cannot read").stderr_has("does-not-exist.json");
    // A directory is not a readable file either.
    let dir = Temp::new("a-dir");
    std::fs::create_dir_all(&dir.0).unwrap();
    run(&["evaluate", dir.s()]).exit(EX_NOINPUT).stderr_has("cannot read");
}

// ---------------------------------------------------------------------------------------------
// 4. Schema
// ---------------------------------------------------------------------------------------------

#[test]
fn schema_is_json_for_a_closed_request() {
    let r = run(&["schema"]);
    let v = r.ok().json();
    let props = v["properties"].as_object().expect("properties");
    for field in ["service_date", "services", "clinical", "member", "history"] {
        assert!(props.contains_key(field), "schema lacks `{field}`");
    }
    assert_eq!(v["additionalProperties"], false);
    let required: Vec<&str> = v["required"].as_array().unwrap().iter().map(|s| s.as_str().unwrap()).collect();
    assert!(required.contains(&"service_date") && required.contains(&"services"));
}

// ---------------------------------------------------------------------------------------------
// 5. check-pack
// ---------------------------------------------------------------------------------------------

#[test]
fn check_pack_on_the_embedded_packs_is_ok() {
    let r = run(&["check-pack"]);
    let out = r.ok().out();
    assert!(out.contains(": ok"), "{out}");
    assert!(out.contains("0 warning(s)"), "{out}");
    assert!(out.contains("interventional-pain"), "{out}");
}

#[test]
fn check_pack_on_an_unchanged_copy_is_ok() {
    let dir = Temp::new("pack-copy");
    copy_dir(&root().join("packs/interventional-pain/2026-06-14"), &dir.0);
    let out = run(&["check-pack", dir.s()]).ok().out();
    assert!(out.contains(": ok") && out.contains("0 warning(s)"), "{out}");
}

#[test]
fn check_pack_finds_a_misspelt_fact_and_suggests_the_name() {
    let dir = edited_pack("pack-typo", "epidural.yaml", |s| {
        s.replacen("clinical.radicular_pain ", "clinical.radicular_pian ", 1)
    });
    // Where the misspelling now is, 1-based line and column.
    let text = std::fs::read_to_string(dir.0.join("epidural.yaml")).unwrap();
    let (line, col) =
        text.lines().enumerate().find_map(|(i, l)| l.find("clinical.radicular_pian").map(|c| (i + 1, c + 1))).unwrap();
    let r = run(&["check-pack", dir.s()]);
    r.exit(EX_CONFIG)
        .stderr_has(&format!("epidural.yaml:{line}:{col}"))
        .stderr_has("clinical.radicular_pian")
        .stderr_has("did you mean `clinical.radicular_pain`");
    // The same pack cannot be used to evaluate or test either.
    run(&["evaluate", &example("esi-initial-pend.json"), "--pack", dir.s()])
        .exit(EX_CONFIG)
        .stderr_has("radicular_pian");
    run(&["test", dir.s()]).exit(EX_CONFIG);
}

#[test]
fn check_pack_refuses_a_bare_number_as_a_threshold() {
    let dir = edited_pack("pack-bare", "epidural.yaml", |s| {
        s.replacen("at_least: esi_success_relief_percent", "at_least: 3", 1)
    });
    let r = run(&["check-pack", dir.s()]);
    r.exit(EX_CONFIG).stderr_has("epidural.yaml:").stderr_has("bare number").stderr_has("named parameter");
}

#[test]
fn check_pack_refuses_a_duplicate_spec_id() {
    let dir = edited_pack("pack-dup", "epidural.yaml", |s| s.replacen("- id: EPI-S-2\n", "- id: EPI-S-1\n", 1));
    let r = run(&["check-pack", dir.s()]);
    r.exit(EX_CONFIG).stderr_has("EPI-S-1").stderr_has("twice").stderr_has("epidural.yaml:");
}

// ---------------------------------------------------------------------------------------------
// 6. test and facts
// ---------------------------------------------------------------------------------------------

#[test]
fn pack_tests_pass_on_the_embedded_packs() {
    let r = run(&["test"]);
    let out = r.ok().out();
    assert!(out.contains(" passed, 0 failed"), "{out}");
    assert!(!out.contains("FAIL"), "{out}");
}

#[test]
fn facts_lists_pain_score() {
    let out = run(&["facts"]).ok().out();
    assert!(out.lines().any(|l| l.starts_with("clinical.pain_score:")), "{out}");
}

// ---------------------------------------------------------------------------------------------
// Diagnosis codes against ICD-10-CM
// ---------------------------------------------------------------------------------------------

#[test]
fn a_header_diagnosis_code_pends_with_a_question_naming_it() {
    let request =
        r#"{"service_date":"2026-07-01","services":[{"code":"64483"}],"diagnoses":["M54.16","M54.1","Q99.999"]}"#;
    let r = run_with(&["evaluate", "--format", "json"], Some(request.as_bytes()), &[]);
    let determination = r.ok().json();
    assert_eq!(determination["decision"], "pend_for_information");
    let questions = determination["questions"].as_array().unwrap();
    let asked = questions.iter().find(|q| q["key"] == "diagnoses").expect("a question about the diagnoses");
    let text = asked["question"].as_str().unwrap();
    assert!(text.contains("M54.1") && text.contains("Q99.999") && !text.contains("M54.16"), "{text}");
    assert_eq!(asked["answer_at"], serde_json::json!(["diagnoses[1]", "diagnoses[2]"]));
    // The text form shows the same question.
    let r = run_with(&["evaluate"], Some(request.as_bytes()), &[]);
    assert!(r.ok().out().contains("M54.1, Q99.999"));
}

#[test]
fn a_malformed_diagnosis_code_is_an_input_error_naming_the_field() {
    let request = r#"{"service_date":"2026-07-01","services":[{"code":"64483"}],"diagnoses":["M54.16","back pain"]}"#;
    let r = run_with(&["evaluate"], Some(request.as_bytes()), &[]);
    r.exit(EX_DATAERR).stderr_has("diagnoses[1]");
}

// ---------------------------------------------------------------------------------------------
// Questionnaire
// ---------------------------------------------------------------------------------------------

#[test]
fn questionnaire_lists_typed_questions_for_the_codes_in_text_and_json() {
    let r = run(&["questionnaire", "64493", "99213", "--format", "json"]);
    let q = r.ok().json();
    assert_eq!(q["pack"], "interventional-pain 2026-06-14");
    assert_eq!(q["codes"][0]["code"], "64493");
    assert!(q["codes"][1]["note"].as_str().unwrap().contains("GEN-CODE-1"));
    let questions = q["questions"].as_array().unwrap();
    let target = questions.iter().find(|i| i["key"] == "line.target").unwrap();
    assert_eq!(target["answer_at"], "services[].target");
    assert_eq!(target["answer"]["kind"], "one_of");
    assert!(questions.iter().any(|i| i["key"] == "history.relief_percent" && i["answer"]["maximum"] == 100.0));

    let r = run(&["questionnaire", "64493", "--color", "never"]);
    let text = r.ok().out();
    assert!(text.starts_with("QUESTIONNAIRE  64493 · interventional-pain 2026-06-14"), "{text}");
    assert!(text.contains("answer at services[].target · one of "));
    assert!(text.contains("for GEN-LINE-1"));
}

#[test]
fn questionnaire_needs_codes_and_a_version_in_force() {
    run(&["questionnaire"]).exit(2);
    run(&["questionnaire", "64483", "--on", "2020-01-01"])
        .exit(EX_DATAERR)
        .stderr_has("no installed pack version is in force on 2020-01-01");
    run(&["questionnaire", "64483", "--on", "2026-13-01"]).exit(2).stderr_has("--on");
}
