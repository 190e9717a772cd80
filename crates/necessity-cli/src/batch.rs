//! Evaluating many requests: parsed, evaluated and rendered in parallel, written in input
//! order. An invalid request is reported where it stood and the others are still evaluated.

use crate::input::{self, Item, Layout};
use crate::text::{self, Style};
use crate::wire;
use necessity_case::{CaseError, parse_case};
use necessity_engine::{Pack, evaluate_request};
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

/// Requests per parallel chunk: bounds the memory held for ordered output.
const CHUNK: usize = 4096;

enum Outcome {
    Rendered(Vec<u8>),
    Invalid { position: usize, error: CaseError, rendered: Vec<u8> },
}

fn one(pack: &Pack, item: &Item<'_>, layout: Layout, format: Format, style: Style, pretty: bool) -> Outcome {
    let parsed = input::check_size(item)
        .map_err(|m| CaseError { issues: vec![necessity_case::Issue { path: ".".into(), message: m }] })
        .and_then(|()| parse_case(item.text));
    match parsed {
        Ok(case) => {
            let determination = evaluate_request(pack, &case);
            let bytes = match format {
                Format::Json => {
                    let wire = wire::determination(&determination);
                    let mut bytes = if pretty {
                        serde_json::to_vec_pretty(&wire).unwrap_or_default()
                    } else {
                        serde_json::to_vec(&wire).unwrap_or_default()
                    };
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
pub fn run(
    pack: &Pack,
    text: &str,
    format: Format,
    style: Style,
    out: &mut impl Write,
    err: &mut impl Write,
) -> Result<Summary, Box<dyn std::error::Error + Send + Sync>> {
    let (layout, items) = input::split(text)?;
    let pretty = layout == Layout::Single;
    let mut summary = Summary::default();
    for chunk in items.chunks(CHUNK) {
        let outcomes: Vec<Outcome> =
            chunk.par_iter().map(|item| one(pack, item, layout, format, style, pretty)).collect();
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
