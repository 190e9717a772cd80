//! Parsing and validation: JSON in, a [`Case`] or every problem found, each naming its JSON path.

use crate::enums::Side;
use crate::level::Level;
use crate::model::{CareEpisode, Case, PriorProcedure, ServiceLine};
use sha2::{Digest, Sha256};
use std::collections::HashSet;
use std::fmt;

/// The most service lines one request may carry.
pub const MAX_SERVICE_LINES: usize = 50;

/// One problem with a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issue {
    /// JSON path of the offending value, e.g. `services[0].levels[1]`; `.` for the whole request.
    pub path: String,
    pub message: String,
}

/// A request that could not be accepted, with every problem found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseError {
    pub issues: Vec<Issue>,
}

impl CaseError {
    fn one(path: impl Into<String>, message: impl Into<String>) -> Self {
        Self { issues: vec![Issue { path: path.into(), message: message.into() }] }
    }
}

impl fmt::Display for CaseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, issue) in self.issues.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{}: {}", issue.path, issue.message)?;
        }
        Ok(())
    }
}

impl std::error::Error for CaseError {}

/// Parses and validates one request given as JSON text.
pub fn parse_case(json: &str) -> Result<Case, CaseError> {
    // Valid requests take the fast path; only a failure is parsed again to find its path.
    if let Ok(case) = serde_json::from_str::<Case>(json) {
        return validate(case);
    }
    let mut de = serde_json::Deserializer::from_str(json);
    let case: Case = serde_path_to_error::deserialize(&mut de).map_err(path_error)?;
    de.end().map_err(|e| CaseError::one(".", format!("unexpected content after the request: {e}")))?;
    validate(case)
}

/// Parses and validates one request given as a JSON value.
pub fn parse_case_value(value: serde_json::Value) -> Result<Case, CaseError> {
    let case: Case = serde_path_to_error::deserialize(value).map_err(path_error)?;
    validate(case)
}

/// Parses and validates one prior procedure (a line of a history import), as the request's
/// `history` entries are checked; paths are relative to the entry.
pub fn parse_prior(json: &str) -> Result<PriorProcedure, CaseError> {
    let mut de = serde_json::Deserializer::from_str(json);
    let mut prior: PriorProcedure = serde_path_to_error::deserialize(&mut de).map_err(path_error)?;
    de.end().map_err(|e| CaseError::one(".", format!("unexpected content after the entry: {e}")))?;
    let mut c = Checker { issues: Vec::new() };
    check_prior(&mut c, "", &mut prior);
    for issue in &mut c.issues {
        issue.path = issue.path.trim_start_matches('.').to_owned();
    }
    if c.issues.is_empty() { Ok(prior) } else { Err(CaseError { issues: c.issues }) }
}

fn path_error<E: fmt::Display>(err: serde_path_to_error::Error<E>) -> CaseError {
    let path = err.path().to_string();
    let message = err.inner().to_string();
    CaseError::one(path, message)
}

/// The JSON Schema of a request.
#[must_use]
pub fn json_schema() -> serde_json::Value {
    serde_json::to_value(schemars::schema_for!(Case)).unwrap_or_default()
}

impl Case {
    /// SHA-256 of the validated request's canonical JSON: the same request always hashes the
    /// same, whatever its key order or whitespace.
    #[must_use]
    pub fn content_hash(&self) -> String {
        // Serialized straight into the hasher: no intermediate buffer.
        let mut hasher = HashWriter(Sha256::new());
        let _ = serde_json::to_writer(&mut hasher, self);
        let digest = hasher.0.finalize();
        let mut out = String::with_capacity(7 + 64);
        out.push_str("sha256:");
        for byte in digest {
            for nibble in [byte >> 4, byte & 0xf] {
                out.push(char::from_digit(u32::from(nibble), 16).unwrap_or('0'));
            }
        }
        out
    }
}

struct HashWriter(Sha256);

impl std::io::Write for HashWriter {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.update(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

struct Checker {
    issues: Vec<Issue>,
}

impl Checker {
    fn fail(&mut self, path: String, message: String) {
        self.issues.push(Issue { path, message });
    }
}

fn validate(mut case: Case) -> Result<Case, CaseError> {
    let mut c = Checker { issues: Vec::new() };
    if let Some(id) = &case.id
        && (id.trim().is_empty() || id.len() > 200)
    {
        c.fail("id".into(), "must be a non-empty identifier of at most 200 characters".into());
    }
    if case.services.is_empty() {
        c.fail("services".into(), "at least one service line is required".into());
    }
    if case.services.len() > MAX_SERVICE_LINES {
        c.fail(
            "services".into(),
            format!("{} service lines is more than the {MAX_SERVICE_LINES} one request may carry", case.services.len()),
        );
    }
    if let Some(birth) = case.member.birth_date
        && birth > case.service_date
    {
        c.fail("member.birth_date".into(), format!("`{birth}` is after the service date `{}`", case.service_date));
    }
    if case.member.sex == Some(crate::enums::Sex::Male) {
        for (field, value) in [("pregnant", case.member.pregnant), ("lactating", case.member.lactating)] {
            if value == Some(true) {
                c.fail(format!("member.{field}"), "`true` conflicts with `sex: male`".into());
            }
        }
    }
    for (i, finding) in case.clinical.modic_findings.iter().flatten().enumerate() {
        if let Level::Segment(_) = finding.vertebra {
            c.fail(
                format!("clinical.modic_findings[{i}].vertebra"),
                format!("`{}` is a segment: a Modic finding names a vertebra such as `L4`", finding.vertebra),
            );
        }
    }
    for (i, line) in case.services.iter_mut().enumerate() {
        check_line(&mut c, &format!("services[{i}]"), line);
    }
    if let Some(episodes) = &case.conservative_care {
        for (i, episode) in episodes.iter().enumerate() {
            check_episode(&mut c, &format!("conservative_care[{i}]"), episode);
        }
    }
    for (i, prior) in case.history.iter_mut().flatten().enumerate() {
        check_prior(&mut c, &format!("history[{i}]"), prior);
    }
    if c.issues.is_empty() { Ok(case) } else { Err(CaseError { issues: c.issues }) }
}

fn check_line(c: &mut Checker, path: &str, line: &mut ServiceLine) {
    line.side = resolve_side(c, path, line.side, &line.modifiers);
    check_levels(c, path, line.levels.as_deref());
}

fn check_prior(c: &mut Checker, path: &str, prior: &mut PriorProcedure) {
    if prior.code.is_none() && prior.target.is_none() {
        c.fail(path.to_owned(), "a prior procedure needs a `code` or a `target`".into());
    }
    prior.side = resolve_side(c, path, prior.side, &prior.modifiers);
    check_levels(c, path, prior.levels.as_deref());
}

fn check_levels(c: &mut Checker, path: &str, levels: Option<&[Level]>) {
    let Some(levels) = levels else { return };
    if levels.is_empty() {
        c.fail(format!("{path}.levels"), "give at least one level, or leave `levels` out".into());
    }
    let mut seen = HashSet::new();
    for (i, level) in levels.iter().enumerate() {
        if !seen.insert(*level) {
            c.fail(format!("{path}.levels[{i}]"), format!("`{level}` is listed twice"));
        }
    }
}

/// The side the modifiers state, reconciled with an explicit side.
fn resolve_side(c: &mut Checker, path: &str, side: Option<Side>, modifiers: &[String]) -> Option<Side> {
    let mut bilateral = false;
    let mut left = false;
    let mut right = false;
    for (i, modifier) in modifiers.iter().enumerate() {
        let well_formed = modifier.len() == 2 && modifier.bytes().all(|b| b.is_ascii_digit() || b.is_ascii_uppercase());
        if !well_formed {
            c.fail(
                format!("{path}.modifiers[{i}]"),
                format!(
                    "`{}` is not a modifier: expected two characters such as `50`, `LT` or `RT`",
                    modifier.chars().take(20).collect::<String>()
                ),
            );
        }
        match modifier.as_str() {
            "50" => bilateral = true,
            "LT" => left = true,
            "RT" => right = true,
            _ => {}
        }
    }
    let from_modifiers = match (bilateral, left, right) {
        (false, false, false) => None,
        (true, false, false) | (false, true, true) => Some(Side::Bilateral),
        (false, true, false) => Some(Side::Left),
        (false, false, true) => Some(Side::Right),
        (true, _, _) => {
            c.fail(format!("{path}.modifiers"), "modifier 50 (bilateral) conflicts with LT or RT".into());
            return side;
        }
    };
    match (side, from_modifiers) {
        (Some(stated), Some(implied)) if stated != implied => {
            c.fail(
                format!("{path}.side"),
                format!("`{}` conflicts with the modifiers, which say `{}`", stated.as_str(), implied.as_str()),
            );
            side
        }
        (Some(stated), _) => Some(stated),
        (None, implied) => implied,
    }
}

fn check_episode(c: &mut Checker, path: &str, episode: &CareEpisode) {
    if let (Some(start), Some(end)) = (episode.start, episode.end)
        && end < start
    {
        c.fail(format!("{path}.end"), format!("`{end}` is before the start `{start}`"));
    }
    if episode.end.is_some() && episode.ongoing == Some(true) {
        c.fail(format!("{path}.ongoing"), "an episode with an `end` date is not ongoing".into());
    }
    if episode.modality.is_some() && episode.kind != crate::enums::CareKind::AlternativeTherapy {
        c.fail(
            format!("{path}.modality"),
            format!("`modality` belongs to `alternative_therapy` episodes, not `{}`", episode.kind.as_str()),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn minimal(extra: &str) -> String {
        format!(r#"{{"service_date":"2026-07-01","services":[{{"code":"64483"{extra}}}]}}"#)
    }

    fn err(json: &str) -> CaseError {
        parse_case(json).unwrap_err()
    }

    #[test]
    fn accepts_a_minimal_request() {
        let case = parse_case(&minimal("")).unwrap();
        assert_eq!(case.services[0].units.get(), 1);
        assert!(case.clinical.pain_score.is_none());
    }

    #[test]
    fn unknown_fields_are_errors_with_their_path() {
        let e = err(r#"{"service_date":"2026-07-01","services":[{"code":"64483"}],"clinical":{"pain_scor":5}}"#);
        assert_eq!(e.issues[0].path, "clinical.pain_scor");
        assert!(e.issues[0].message.contains("unknown field `pain_scor`"), "{e}");
    }

    #[test]
    fn pain_score_above_ten_is_rejected() {
        let e = err(r#"{"service_date":"2026-07-01","services":[{"code":"64483"}],"clinical":{"pain_score":11}}"#);
        assert_eq!(e.issues[0].path, "clinical.pain_score");
        assert!(e.issues[0].message.contains("`11` is out of range"), "{e}");
    }

    #[test]
    fn huge_numbers_are_rejected_not_wrapped() {
        let e = err(
            r#"{"service_date":"2026-07-01","services":[{"code":"64483"}],"clinical":{"adl_iadl_impaired_count":18446744073709551616}}"#,
        );
        assert_eq!(e.issues[0].path, "clinical.adl_iadl_impaired_count");
        let e = err(r#"{"service_date":"2026-07-01","services":[{"code":"64483"}],"member":{"bmi":1e308}}"#);
        assert_eq!(e.issues[0].path, "member.bmi");
    }

    #[test]
    fn bad_level_and_bad_date_name_their_field() {
        let e = err(&minimal(r#","levels":["L9-L10"]"#));
        assert_eq!(e.issues[0].path, "services[0].levels[0]");
        assert!(e.issues[0].message.contains("`L9-L10` is not a spinal level"));
        let e = err(r#"{"service_date":"2026-02-30","services":[{"code":"64483"}]}"#);
        assert_eq!(e.issues[0].path, "service_date");
    }

    #[test]
    fn side_is_derived_from_modifiers_and_conflicts_are_errors() {
        let case = parse_case(&minimal(r#","modifiers":["50"]"#)).unwrap();
        assert_eq!(case.services[0].side, Some(Side::Bilateral));
        let case = parse_case(&minimal(r#","modifiers":["LT","RT"]"#)).unwrap();
        assert_eq!(case.services[0].side, Some(Side::Bilateral));
        let case = parse_case(&minimal(r#","modifiers":["RT","59"]"#)).unwrap();
        assert_eq!(case.services[0].side, Some(Side::Right));
        let e = err(&minimal(r#","side":"left","modifiers":["RT"]"#));
        assert_eq!(e.issues[0].path, "services[0].side");
        let e = err(&minimal(r#","modifiers":["50","LT"]"#));
        assert_eq!(e.issues[0].path, "services[0].modifiers");
    }

    #[test]
    fn empty_services_and_trailing_garbage_are_errors() {
        assert_eq!(err(r#"{"service_date":"2026-07-01","services":[]}"#).issues[0].path, "services");
        assert_eq!(err(&format!("{} x", minimal(""))).issues[0].path, ".");
        assert_eq!(err("").issues[0].path, ".");
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        let e = err(&deep);
        assert!(!e.issues.is_empty());
    }

    #[test]
    fn contradictions_and_wrong_level_kinds_are_errors() {
        let e = err(
            r#"{"service_date":"2026-07-01","services":[{"code":"64628"}],"member":{"sex":"male","pregnant":true}}"#,
        );
        assert_eq!(e.issues[0].path, "member.pregnant");
        let e = err(
            r#"{"service_date":"2026-07-01","services":[{"code":"64628"}],"clinical":{"modic_findings":[{"vertebra":"L4-L5","type":1}]}}"#,
        );
        assert_eq!(e.issues[0].path, "clinical.modic_findings[0].vertebra");
        assert!(parse_case(r#"{"service_date":"2026-07-01","services":[{"code":"64628"}],"member":{"sex":"female","pregnant":true}}"#).is_ok());
    }

    #[test]
    fn history_entries_need_a_code_or_target() {
        let e = err(r#"{"service_date":"2026-07-01","services":[{"code":"64483"}],"history":[{"date":"2026-01-01"}]}"#);
        assert_eq!(e.issues[0].path, "history[0]");
    }

    #[test]
    fn care_episode_dates_are_checked() {
        let e = err(
            r#"{"service_date":"2026-07-01","services":[{"code":"64483"}],"conservative_care":[{"kind":"physical_therapy","start":"2026-05-01","end":"2026-04-01"}]}"#,
        );
        assert_eq!(e.issues[0].path, "conservative_care[0].end");
    }

    #[test]
    fn content_hash_ignores_key_order_and_whitespace() {
        let a = parse_case(r#"{"service_date":"2026-07-01","services":[{"code":"64483","side":"left"}]}"#).unwrap();
        let b =
            parse_case(r#"{ "services": [ {"side":"left", "code":"64483"} ], "service_date": "2026-07-01" }"#).unwrap();
        assert_eq!(a.content_hash(), b.content_hash());
        let c = parse_case(r#"{"service_date":"2026-07-02","services":[{"code":"64483","side":"left"}]}"#).unwrap();
        assert_ne!(a.content_hash(), c.content_hash());
    }
}
