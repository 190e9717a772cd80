//! The determination as a nurse reviewer reads it: the decision first, then every criterion
//! that failed or is unknown, in plain language with its id, then what to ask the provider,
//! then advisories. Colour only when asked for (a terminal).

use necessity_engine::{Decision, Determination, LineResult, Truth};
use std::fmt::Write;

/// ANSI styles, or nothing.
#[derive(Debug, Clone, Copy)]
pub struct Style {
    pub color: bool,
}

impl Style {
    fn paint(self, code: &str, text: &str) -> String {
        if self.color { format!("\x1b[{code}m{text}\x1b[0m") } else { text.to_owned() }
    }

    fn bold(self, text: &str) -> String {
        self.paint("1", text)
    }

    fn dim(self, text: &str) -> String {
        self.paint("2", text)
    }

    fn decision(self, d: Decision) -> String {
        let words = match d {
            Decision::MeetsCriteria => "MEETS CRITERIA",
            Decision::PendForInformation => "PEND FOR INFORMATION",
            Decision::DoesNotMeetCriteria => "DOES NOT MEET CRITERIA",
            Decision::NotificationOnly => "NOTIFICATION ONLY",
            Decision::OutOfScope => "OUT OF SCOPE",
        };
        let code = match d {
            Decision::MeetsCriteria => "1;32",
            Decision::PendForInformation => "1;33",
            Decision::DoesNotMeetCriteria => "1;31",
            Decision::NotificationOnly | Decision::OutOfScope => "1;36",
        };
        self.paint(code, words)
    }
}

fn mark(value: &str) -> &'static str {
    match value {
        "not_met" | "present" => "✗",
        "unknown" => "?",
        _ => "·",
    }
}

/// Renders one determination.
#[must_use]
pub fn render(d: &Determination<'_>, style: Style) -> String {
    let mut out = String::new();
    let id = d.request_id.as_deref().unwrap_or("(no id)");
    let _ = writeln!(out, "{}  {}", style.decision(d.decision), style.dim(&format!("— {}", d.decision.action())));
    let _ = writeln!(
        out,
        "{}",
        style.dim(&format!(
            "request {id} · service date {} · pack {} {} ({}) · case {}",
            d.service_date,
            d.pack.name,
            d.pack.version,
            short(&d.pack.content_hash),
            short(&d.case_hash)
        ))
    );
    for line in &d.lines {
        out.push('\n');
        render_line(&mut out, line, style);
    }
    if !d.questions.is_empty() {
        let _ = writeln!(out, "\n{}", style.bold("Ask the provider's office"));
        for (i, q) in d.questions.iter().enumerate() {
            let _ = writeln!(out, "  {}. {}", i + 1, q.text);
            let _ = writeln!(
                out,
                "     {}",
                style.dim(&format!("answer at {} · settles {}", q.paths.join(", "), q.settles.join(", ")))
            );
        }
    }
    if !d.advisories.is_empty() {
        let _ = writeln!(out, "\n{}", style.bold("Advisories"));
        for a in &d.advisories {
            let _ = writeln!(out, "  {} {}", style.dim(a.id), a.explain);
        }
    }
    if d.decision == Decision::DoesNotMeetCriteria {
        let _ = writeln!(out, "\n{}", style.dim("necessity never denies: a physician reviewer decides this request."));
    }
    out
}

fn short(hash: &str) -> &str {
    hash.get(..15).unwrap_or(hash)
}

fn render_line(out: &mut String, line: &LineResult<'_>, style: Style) {
    let what = line.procedure_label.or(line.code_label).unwrap_or("unknown code");
    let _ = writeln!(
        out,
        "{} {} · {}",
        style.bold(&format!("Line {} · {}", line.index + 1, line.code)),
        what,
        style.decision(line.decision)
    );
    let shown: Vec<_> =
        line.reasons.iter().filter(|r| line.decision != Decision::MeetsCriteria || r.value != Truth::Met).collect();
    for r in shown {
        let value = r.shown_value();
        let indent = if r.within.is_some() { "      " } else { "  " };
        let _ =
            writeln!(out, "{indent}{} {} {}  {}", mark(value), style.bold(r.id), value.replace('_', " "), r.explain);
        if !r.missing.is_empty() {
            let paths: Vec<String> = r.missing.iter().map(necessity_engine::Missing::path).collect();
            let _ = writeln!(out, "{indent}    {}", style.dim(&format!("missing: {}", paths.join(", "))));
        }
    }
}

/// The answer for a request no installed version covers.
#[must_use]
pub fn render_no_version(
    case: &necessity_case::Case,
    why: &necessity_engine::NoVersionInForce,
    style: Style,
) -> String {
    let id = case.id.as_deref().unwrap_or("(no id)");
    let decision = Decision::OutOfScope;
    format!(
        "{}  {}\n{}\n  {}\n",
        style.decision(decision),
        style.dim(&format!("— {}", decision.action())),
        style.dim(&format!("request {id} · service date {} · case {}", case.service_date, short(&case.content_hash()))),
        why
    )
}

/// A questionnaire for a provider's office: which codes it covers, then the questions by part
/// of the request, each with where the answer goes and what it may hold.
#[must_use]
pub fn render_questionnaire(q: &necessity_engine::Questionnaire, style: Style) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let codes: Vec<&str> = q.codes.iter().map(|c| c.code.as_str()).collect();
    let _ = writeln!(out, "{}", style.bold(&format!("QUESTIONNAIRE  {} · {}", codes.join(", "), q.pack)));
    for code in &q.codes {
        let label = code.label.as_deref().unwrap_or("not in the catalog");
        let procedures =
            if code.procedures.is_empty() { String::new() } else { format!(" → {}", code.procedures.join(", ")) };
        let _ = writeln!(out, "  {} {label}{procedures}", code.code);
        if let Some(note) = &code.note {
            let _ = writeln!(out, "    {}", style.dim(note));
        }
    }
    let mut section = "";
    for (n, item) in q.questions.iter().enumerate() {
        let this = item.key.split('.').next().unwrap_or_default();
        if this != section {
            section = this;
            let title = match this {
                "member" | "request" | "diagnoses" => "The member and the request",
                "line" => "Each service line",
                "clinical" | "condition" => "The clinical picture",
                "conservative_care" => "Conservative care",
                "imaging" => "Imaging",
                "history" => "Prior procedures",
                other => other,
            };
            let _ = writeln!(out, "\n{}", style.bold(title));
        }
        let _ = writeln!(out, "  {}. {}", n + 1, item.question);
        let _ = writeln!(
            out,
            "     {}",
            style.dim(&format!(
                "answer at {} · {} · for {}",
                item.answer_at,
                answer_words(&item.answer),
                item.criteria.join(", ")
            ))
        );
    }
    out
}

fn answer_words(a: &necessity_engine::AnswerType) -> String {
    let range = match (a.minimum, a.maximum) {
        (Some(lo), Some(hi)) => format!(" {lo}-{hi}"),
        (Some(lo), None) => format!(" from {lo}"),
        (None, Some(hi)) => format!(" up to {hi}"),
        (None, None) => String::new(),
    };
    match a.kind {
        "yes_no" => "yes or no".to_owned(),
        "integer" => format!("a whole number{range}"),
        "number" => format!("a number{range}"),
        "one_of" => format!("one of {}", a.values.join(", ")),
        "list_of" => format!("any of {}", a.values.join(", ")),
        "level" => "a spinal level (L4-L5, L5)".to_owned(),
        "levels" => "spinal levels (L4-L5, C5-C6, L5)".to_owned(),
        "diagnoses" => "ICD-10-CM codes".to_owned(),
        "records" => "a list of entries".to_owned(),
        "correction" => "correct the coding".to_owned(),
        other => other.to_owned(),
    }
}
