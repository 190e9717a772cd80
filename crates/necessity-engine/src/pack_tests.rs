//! A pack carries its own test cases: YAML files under its `tests` folder, each a base request
//! and cases that patch it (JSON merge patch) and state what the engine must answer: the
//! decision, the value of named criteria, and exactly which facts are missing.
//!
//! ```yaml
//! base: { service_date: "2026-07-15", services: [{ code: "64483", levels: [L4-L5], side: left }] }
//! cases:
//!   - name: pain below the threshold
//!     patch: { clinical: { pain_score: 2 } }
//!     expect:
//!       decision: does_not_meet_criteria
//!       nodes: { GEN-SEV: not_met }
//! ```
//!
//! `cargo test` runs them (one test each) and so does `necessity test PACK_DIR`.

use crate::determination::{Determination, shown_value};
use crate::{Pack, PackSource, evaluate_request};
use serde::Deserialize;
use serde_json::Value as Json;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// One test case, ready to run.
#[derive(Debug, Clone)]
pub struct TestCase {
    /// The test file, relative to the pack folder.
    pub file: String,
    pub name: String,
    pub request: Json,
    pub expect: Expect,
}

impl TestCase {
    /// `file: name`, unique within a pack.
    #[must_use]
    pub fn title(&self) -> String {
        format!("{}: {}", self.file, self.name)
    }
}

/// What a case expects. Every part is optional; an empty expectation is refused on load.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    /// The request's overall decision.
    pub decision: Option<String>,
    /// Values of named criteria on the first line (`met`, `not_met`, `unknown`, `present`,
    /// `absent`, `not_applicable`). Every occurrence of the id that applies must have the value;
    /// `not_applicable` means no occurrence applies.
    #[serde(default)]
    pub nodes: BTreeMap<String, String>,
    /// Expectations per line, by position.
    #[serde(default)]
    pub lines: Vec<LineExpect>,
    /// Exactly the request paths the questions ask for (`clinical.pain_score`,
    /// `services[0].levels`, `imaging[0].independent_radiologist`).
    pub missing: Option<Vec<String>>,
    /// Ids that must be among the reasons of the first line.
    #[serde(default)]
    pub reasons: Vec<String>,
    /// Ids that must not be among the reasons of the first line.
    #[serde(default)]
    pub not_reasons: Vec<String>,
    /// Advisory ids that must be shown.
    #[serde(default)]
    pub advisories: Vec<String>,
    /// Advisory ids that must not be shown.
    #[serde(default)]
    pub not_advisories: Vec<String>,
    /// The request is invalid and must be refused; the text is part of the error.
    pub invalid: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LineExpect {
    pub decision: Option<String>,
    #[serde(default)]
    pub nodes: BTreeMap<String, String>,
    #[serde(default)]
    pub reasons: Vec<String>,
    #[serde(default)]
    pub not_reasons: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTestFile {
    base: Option<Json>,
    cases: Vec<RawCase>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCase {
    name: String,
    patch: Option<Json>,
    request: Option<Json>,
    expect: Expect,
}

/// A test file that could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestFileError {
    pub file: String,
    pub message: String,
}

impl fmt::Display for TestFileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.file, self.message)
    }
}

/// Reads every test case of a pack.
pub fn load(source: &PackSource, tests_dir: &str) -> Result<Vec<TestCase>, Vec<TestFileError>> {
    let mut cases = Vec::new();
    let mut errors = Vec::new();
    for (file, text) in source.files_under(tests_dir) {
        match serde_saphyr::from_str::<RawTestFile>(text) {
            Ok(raw) => {
                let mut names = BTreeSet::new();
                for case in raw.cases {
                    if !names.insert(case.name.clone()) {
                        errors.push(TestFileError {
                            file: file.to_owned(),
                            message: format!("case `{}` appears twice", case.name),
                        });
                    }
                    let request = match (&raw.base, case.request, case.patch) {
                        (_, Some(full), None) => full,
                        (Some(base), None, patch) => {
                            let mut request = base.clone();
                            if let Some(patch) = patch {
                                json_patch::merge(&mut request, &patch);
                            }
                            request
                        }
                        _ => {
                            errors.push(TestFileError {
                                file: file.to_owned(),
                                message: format!(
                                    "case `{}` needs `request`, or a `base` in the file and an optional `patch`",
                                    case.name
                                ),
                            });
                            continue;
                        }
                    };
                    let e = &case.expect;
                    let empty = e.decision.is_none()
                        && e.nodes.is_empty()
                        && e.lines.is_empty()
                        && e.missing.is_none()
                        && e.reasons.is_empty()
                        && e.not_reasons.is_empty()
                        && e.advisories.is_empty()
                        && e.not_advisories.is_empty()
                        && e.invalid.is_none();
                    if empty {
                        errors.push(TestFileError {
                            file: file.to_owned(),
                            message: format!("case `{}` expects nothing", case.name),
                        });
                        continue;
                    }
                    cases.push(TestCase { file: file.to_owned(), name: case.name, request, expect: case.expect });
                }
            }
            Err(e) => errors.push(TestFileError { file: file.to_owned(), message: e.to_string() }),
        }
    }
    if errors.is_empty() { Ok(cases) } else { Err(errors) }
}

/// Runs one case; the failures say what differed.
pub fn run(pack: &Pack, case: &TestCase) -> Result<(), Vec<String>> {
    let parsed = necessity_case::parse_case_value(case.request.clone());
    let mut failures = Vec::new();
    match (parsed, &case.expect.invalid) {
        (Err(e), Some(expected)) => {
            if !e.to_string().contains(expected.as_str()) {
                failures.push(format!("the request was refused with `{e}`, which does not contain `{expected}`"));
            }
        }
        (Err(e), None) => failures.push(format!("the request was refused: {e}")),
        (Ok(_), Some(expected)) => {
            failures.push(format!("the request was accepted, but should be refused with `{expected}`"))
        }
        (Ok(request), None) => check(&evaluate_request(pack, &request), &case.expect, &mut failures),
    }
    if failures.is_empty() { Ok(()) } else { Err(failures) }
}

fn check(d: &Determination<'_>, expect: &Expect, failures: &mut Vec<String>) {
    if let Some(want) = &expect.decision
        && d.decision.as_str() != want
    {
        failures.push(format!("decision is `{}`, expected `{want}`{}", d.decision.as_str(), summary(d)));
    }
    let first = LineExpect {
        decision: None,
        nodes: expect.nodes.clone(),
        reasons: expect.reasons.clone(),
        not_reasons: expect.not_reasons.clone(),
    };
    check_line(d, 0, &first, failures);
    for (i, line) in expect.lines.iter().enumerate() {
        check_line(d, i, line, failures);
    }
    if let Some(want) = &expect.missing {
        let got: BTreeSet<&str> = d.questions.iter().flat_map(|q| q.paths.iter().map(String::as_str)).collect();
        let want: BTreeSet<&str> = want.iter().map(String::as_str).collect();
        if got != want {
            failures.push(format!(
                "missing facts are [{}], expected [{}]",
                got.into_iter().collect::<Vec<_>>().join(", "),
                want.into_iter().collect::<Vec<_>>().join(", ")
            ));
        }
    }
    for id in &expect.advisories {
        if !d.advisories.iter().any(|a| a.id == id) {
            failures.push(format!("advisory `{id}` is not shown"));
        }
    }
    for id in &expect.not_advisories {
        if d.advisories.iter().any(|a| a.id == id) {
            failures.push(format!("advisory `{id}` is shown, but should not be"));
        }
    }
}

fn summary(d: &Determination<'_>) -> String {
    let reasons: Vec<String> = d
        .lines
        .iter()
        .flat_map(|l| l.reasons.iter().map(move |r| format!("line {} {} {}", l.index, r.id, r.shown_value())))
        .collect();
    if reasons.is_empty() { String::new() } else { format!(" (reasons: {})", reasons.join("; ")) }
}

fn check_line(d: &Determination<'_>, index: usize, expect: &LineExpect, failures: &mut Vec<String>) {
    let Some(line) = d.lines.get(index) else {
        if !expect.nodes.is_empty() || expect.decision.is_some() || !expect.reasons.is_empty() {
            failures.push(format!("the request has no line {index}"));
        }
        return;
    };
    if let Some(want) = &expect.decision
        && line.decision.as_str() != want
    {
        failures.push(format!(
            "line {index} decision is `{}`, expected `{want}`{}",
            line.decision.as_str(),
            summary(d)
        ));
    }
    for (id, want) in &expect.nodes {
        // Nodes under a node that does not apply do not apply either.
        let mut inapplicable_below: Option<u16> = None;
        let mut values: BTreeSet<&str> = BTreeSet::new();
        let mut seen_inapplicable = false;
        for n in &line.tree {
            if inapplicable_below.is_some_and(|d| n.depth <= d) {
                inapplicable_below = None;
            }
            if inapplicable_below.is_none() && !n.applicable {
                inapplicable_below = Some(n.depth);
            }
            if n.node.id.as_deref() == Some(id.as_str()) {
                if inapplicable_below.is_none() {
                    values.insert(shown_value(n.node.role, n.value));
                } else {
                    seen_inapplicable = true;
                }
            }
        }
        // Occurrences that do not apply count only when none applies.
        if values.is_empty() && seen_inapplicable {
            values.insert("not_applicable");
        }
        let reason_values: BTreeSet<&str> =
            line.reasons.iter().filter(|r| r.id == id).map(|r| r.shown_value()).collect();
        let values = if values.is_empty() { reason_values } else { values };
        if values.is_empty() {
            failures.push(format!("line {index}: `{id}` was not evaluated (expected `{want}`)"));
        } else if values.len() > 1 || !values.contains(want.as_str()) {
            failures.push(format!(
                "line {index}: `{id}` is `{}`, expected `{want}`",
                values.into_iter().collect::<Vec<_>>().join("` and `")
            ));
        }
    }
    for id in &expect.reasons {
        if !line.reasons.iter().any(|r| r.id == id) {
            failures.push(format!("line {index}: `{id}` is not among the reasons{}", summary(d)));
        }
    }
    for id in &expect.not_reasons {
        if line.reasons.iter().any(|r| r.id == id) {
            failures.push(format!("line {index}: `{id}` is among the reasons, but should not be"));
        }
    }
}
