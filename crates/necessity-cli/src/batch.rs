//! Evaluating many requests: parsed, evaluated and rendered in parallel, written in input
//! order. An invalid request is reported where it stood and the others are still evaluated.

use crate::input::{self, Item, Layout};
use crate::text::{self, Style};
use crate::wire;
use necessity_case::{CaseError, parse_case};
use necessity_engine::{Library, evaluate_request};
use rayon::prelude::*;
use std::io::Write;

/// Output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Text,
    Json,
}

/// What a run did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Summary {
    pub evaluated: usize,
    pub invalid: usize,
}

/// Requests per parallel chunk. Small enough that the rendered output held for ordering stays
/// in memory already touched (a large chunk spends its time in page faults), large enough to
/// keep both threads busy.
const CHUNK: usize = 256;

enum Outcome {
    Rendered(Vec<u8>),
    Invalid { position: usize, error: CaseError, rendered: Vec<u8> },
}

/// What every request of a run shares.
struct Run<'p> {
    library: &'p Library,
    /// One per installed version, in the library's order.
    fragments: Vec<wire::Fragments>,
    layout: Layout,
    format: Format,
    style: Style,
}

fn one(run: &Run<'_>, item: &Item<'_>) -> Outcome {
    let (layout, format, style) = (run.layout, run.format, run.style);
    let parsed = input::check_size(item)
        .map_err(|m| CaseError { issues: vec![necessity_case::Issue { path: ".".into(), message: m }] })
        .and_then(|()| parse_case(item.text));
    match parsed {
        Ok(case) => {
            let Some(index) = run.library.index_for_date(case.service_date) else {
                return Outcome::Rendered(no_version(run, &case));
            };
            let (Some(pack), Some(fragments)) = (run.library.packs().get(index), run.fragments.get(index)) else {
                return Outcome::Rendered(no_version(run, &case));
            };
            let determination = evaluate_request(pack, &case);
            let bytes = match format {
                Format::Json => {
                    let mut bytes = Vec::with_capacity(16 * 1024);
                    if wire::write(&mut bytes, &determination, fragments).is_err() {
                        bytes.clear();
                    }
                    if layout == Layout::Single {
                        // One request is printed for people: indented, keys in the same order.
                        bytes = serde_json::from_slice::<serde_json::Value>(&bytes)
                            .and_then(|v| serde_json::to_vec_pretty(&v))
                            .unwrap_or(bytes);
                    }
                    bytes.push(b'\n');
                    bytes
                }
                Format::Text => {
                    let mut s = text::render(&determination, style);
                    s.push('\n');
                    s.into_bytes()
                }
            };
            Outcome::Rendered(bytes)
        }
        Err(error) => {
            let rendered = match format {
                Format::Json => {
                    let wire = wire::WireInputError {
                        format: wire::FORMAT_VERSION,
                        at: layout.position_word(),
                        position: item.position,
                        errors: error
                            .issues
                            .iter()
                            .map(|i| wire::WireIssue { path: &i.path, message: &i.message })
                            .collect(),
                    };
                    let mut bytes = serde_json::to_vec(&wire).unwrap_or_default();
                    bytes.push(b'\n');
                    bytes
                }
                Format::Text => Vec::new(),
            };
            Outcome::Invalid { position: item.position, error, rendered }
        }
    }
}

/// Evaluates every request of `text`; determinations go to `out`, problems to `err`.
/// A request whose service date no installed version covers: out of scope, saying why.
fn no_version(run: &Run<'_>, case: &necessity_case::Case) -> Vec<u8> {
    let Err(why) = run.library.evaluate(case, case.reported_history()) else { return Vec::new() };
    let mut bytes = match run.format {
        Format::Json => {
            let mut bytes = Vec::new();
            if wire::write_no_version(&mut bytes, case, &why).is_err() {
                bytes.clear();
            }
            if run.layout == Layout::Single {
                bytes = serde_json::from_slice::<serde_json::Value>(&bytes)
                    .and_then(|v| serde_json::to_vec_pretty(&v))
                    .unwrap_or(bytes);
            }
            bytes
        }
        Format::Text => text::render_no_version(case, &why, run.style).into_bytes(),
    };
    bytes.push(b'\n');
    bytes
}

pub fn run(
    library: &Library,
    text: &str,
    format: Format,
    style: Style,
    out: &mut impl Write,
    err: &mut impl Write,
) -> Result<Summary, Box<dyn std::error::Error + Send + Sync>> {
    let (layout, items) = input::split(text)?;
    let fragments = library.packs().iter().map(wire::Fragments::new).collect();
    let run = Run { library, fragments, layout, format, style };
    let mut summary = Summary::default();
    for chunk in items.chunks(CHUNK) {
        let outcomes: Vec<Outcome> = chunk.par_iter().map(|item| one(&run, item)).collect();
        for outcome in outcomes {
            match outcome {
                Outcome::Rendered(bytes) => {
                    summary.evaluated += 1;
                    out.write_all(&bytes)?;
                }
                Outcome::Invalid { position, error, rendered } => {
                    summary.invalid += 1;
                    out.write_all(&rendered)?;
                    let place = if layout == Layout::Single {
                        "the request".to_owned()
                    } else {
                        format!("{} {position}", layout.position_word())
                    };
                    for issue in &error.issues {
                        let message = if layout == Layout::Lines {
                            // The request is one line: "line 1 column 87" inside it is the column.
                            issue.message.replace(" at line 1 column ", " at column ")
                        } else {
                            issue.message.clone()
                        };
                        writeln!(err, "error: {place}: {}: {message}", issue.path)?;
                    }
                }
            }
        }
    }
    out.flush()?;
    Ok(summary)
}
