//! Member facts with the spec's readings built in (age, maturity, pregnancy), and screenable
//! conditions.

use super::tri::Tri;
use super::{Missing, Value};
use crate::calendar;
use crate::eval::Scope;
use crate::pack::{DiagnosisSetId, ParamId};
use necessity_case::{Clinical, FieldDef, FieldValue, Sex};

pub(super) fn age_years<'a>(scope: &Scope<'_, 'a>, missing: &mut Vec<Missing>) -> Value<'a> {
    match scope.req.case.member.birth_date {
        #[expect(clippy::cast_precision_loss, reason = "ages are small")]
        Some(birth) => Value::Number(calendar::age_in_years(birth, scope.service_date()) as f64),
        None => {
            missing.push(Missing::top("member", "birth_date"));
            Value::Missing
        }
    }
}

/// The stated maturity; absent, an age at or above the adult age counts as mature.
pub(super) fn skeletally_mature<'a>(
    scope: &Scope<'_, 'a>,
    adult_age: ParamId,
    missing: &mut Vec<Missing>,
) -> Value<'a> {
    let member = &scope.req.case.member;
    if let Some(stated) = member.skeletally_mature {
        return Value::Bool(stated);
    }
    match member.birth_date {
        Some(birth) => {
            #[expect(clippy::cast_precision_loss, reason = "ages are small")]
            let age = calendar::age_in_years(birth, scope.service_date()) as f64;
            Value::Bool(age >= scope.req.pack.param(adult_age).value)
        }
        None => {
            missing.push(Missing::top("member", "skeletally_mature"));
            missing.push(Missing::top("member", "birth_date"));
            Value::Missing
        }
    }
}

/// Interpretation (`case-model.md`): absent counts as not pregnant unless the request carries a
/// pregnancy diagnosis; a male member is not pregnant.
pub(super) fn pregnant<'a>(scope: &Scope<'_, 'a>, diagnoses: DiagnosisSetId) -> Value<'a> {
    state_or_diagnosis(scope, scope.req.case.member.pregnant, diagnoses)
}

/// As [`pregnant`], for lactation.
pub(super) fn lactating<'a>(scope: &Scope<'_, 'a>, diagnoses: DiagnosisSetId) -> Value<'a> {
    state_or_diagnosis(scope, scope.req.case.member.lactating, diagnoses)
}

fn state_or_diagnosis<'a>(scope: &Scope<'_, 'a>, stated: Option<bool>, diagnoses: DiagnosisSetId) -> Value<'a> {
    let case = scope.req.case;
    if case.member.sex == Some(Sex::Male) {
        return Value::Bool(false);
    }
    if let Some(stated) = stated {
        return Value::Bool(stated);
    }
    let patterns = scope.req.pack.catalog.diagnosis_sets.get(diagnoses).map(|(_, p)| p.as_slice()).unwrap_or_default();
    let diagnosed = case.diagnoses.iter().flatten().any(|d| patterns.iter().any(|p| p.matches(d.as_str())));
    Value::Bool(diagnosed)
}

/// A screenable condition. A direct fact (the stated yes/no, or a measurement the pack names)
/// always wins over the screening; without one, a condition listed in `conditions_present` is
/// present, one not listed on a screened request is absent, and otherwise it is unknown.
pub(super) fn condition<'a>(
    scope: &Scope<'_, 'a>,
    which: necessity_case::ScreenableCondition,
    field: &'static FieldDef<Clinical>,
    missing: &mut Vec<Missing>,
) -> Value<'a> {
    let clinical = &scope.req.case.clinical;
    let stated = match (field.get)(clinical) {
        FieldValue::Bool(b) => Some(b),
        _ => None,
    };
    let measured = scope.req.pack.conditions.get(which.index()).and_then(Option::as_ref).and_then(|measure| {
        let mut ignored = Vec::new();
        let value = measure.fact.value(scope, &mut ignored);
        match measure.test.apply(&value, scope.service_date()) {
            crate::kleene::Truth::Met => Some(true),
            crate::kleene::Truth::NotMet => Some(false),
            crate::kleene::Truth::Unknown => None,
        }
    });
    let listed = clinical.conditions_present.as_ref().is_some_and(|l| l.contains(&which));
    let screened = clinical.conditions_screened == Some(true);
    // Direct facts (a stated yes/no, a measurement) decide first; present wins between them.
    // Only when neither is given does the screening (listed, or screened and not listed) decide.
    let tri = if stated == Some(true) || measured == Some(true) {
        Tri::met()
    } else if stated == Some(false) || measured == Some(false) {
        Tri::not_met()
    } else if listed {
        Tri::met()
    } else if screened {
        Tri::not_met()
    } else {
        Tri::unknown(Missing::top("clinical", field.name))
    };
    tri.into_value(missing)
}

/// A Modic type 1 or 2 finding at one of these vertebrae, or (`outside`) at one not listed.
pub(super) fn modic<'a>(
    scope: &Scope<'_, 'a>,
    vertebrae: &[necessity_case::Level],
    outside: bool,
    missing: &mut Vec<Missing>,
) -> Value<'a> {
    let Some(findings) = &scope.req.case.clinical.modic_findings else {
        missing.push(Missing::top("clinical", "modic_findings"));
        return Value::Missing;
    };
    let listed = |f: &necessity_case::ModicFinding| vertebrae.iter().any(|v| v.touches(f.vertebra));
    Value::Bool(findings.iter().any(|f| listed(f) != outside))
}

/// A prior lumbar surgery at a requested level (a segment touches its two vertebrae), other
/// than an allowed kind done more than `allowed_after` before with radicular pain resolved.
pub(super) fn surgery_at_requested_level<'a>(
    scope: &Scope<'_, 'a>,
    allowed_kinds: u64,
    allowed_after: crate::pack::ParamId,
    missing: &mut Vec<Missing>,
) -> Value<'a> {
    const LIST: &str = "clinical.prior_lumbar_surgery";
    let Some(requested) = scope.line().levels.as_deref() else {
        missing.push(Missing::line(scope.line, "levels"));
        return Value::Missing;
    };
    let Some(surgeries) = &scope.req.case.clinical.prior_lumbar_surgery else {
        missing.push(Missing::top("clinical", "prior_lumbar_surgery"));
        return Value::Missing;
    };
    let period = super::history::period_of(scope, allowed_after);
    let service = scope.service_date();
    Tri::any(surgeries.iter().enumerate().map(|(i, s)| {
        let at_level = match s.level {
            Some(level) => Tri::from_bool(requested.iter().any(|r| r.touches(level))),
            None => Tri::unknown(Missing::item(LIST, i, "level")),
        };
        let kind_allowed = match s.kind {
            Some(k) => Tri::from_bool(allowed_kinds & (1u64 << k.index()) != 0),
            None => Tri::unknown(Missing::item(LIST, i, "kind")),
        };
        let long_ago = match s.date {
            Some(d) => Tri::from_bool(calendar::more_than_before(d, service, period)),
            None => Tri::unknown(Missing::item(LIST, i, "date")),
        };
        let resolved = Tri::flag(s.radicular_pain_resolved, || Missing::item(LIST, i, "radicular_pain_resolved"));
        let allowed = kind_allowed.and(long_ago).and(resolved);
        at_level.and(allowed.not())
    }))
    .into_value(missing)
}

/// Whether every diagnosis is a billable code of the ICD-10-CM release in force on the service
/// date; each one that is not is asked about by its position, so the question can name it.
pub(super) fn diagnoses_billable<'a>(scope: &Scope<'_, 'a>, missing: &mut Vec<Missing>) -> Value<'a> {
    Tri::all(scope.req.unbillable_diagnoses.iter().map(|i| Tri::unknown(Missing::item("diagnoses", *i, ""))))
        .into_value(missing)
}
