//! Monotonicity: replacing an unknown fact with any value never flips a criterion that was met
//! into not met or back, and never changes a decision that was settled (meets or does not
//! meet). Checked on every example request, with random facts removed and random values put
//! back, over every node of every line's criteria tree.
//!
//! Scope facts (`postoperative_pain_management`, `infusion_pump_trial`) are left out: scope
//! rules apply only to facts stated true, by design. So are the clinical facts a criterion
//! decides when missing (`DEFAULTED_FACTS`). So are facts the pack deliberately
//! decides when missing (`missing: absent`), which are line facts, not clinical ones. And when
//! the request carries the screening attestation, the screenable conditions and their
//! measurements are not "unknown": the attestation settled them, and a direct fact that
//! contradicts it wins by the spec's rule, which is a contradiction, not a settling.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use necessity_case::{Clinical, FactStruct, FieldKind, ScreenableCondition, parse_case_value};
use necessity_engine::{Decision, Pack, PackSource, Truth, evaluate_request};
use proptest::prelude::*;
use serde_json::{Value, json};
use std::path::Path;
use std::sync::OnceLock;

const SCOPE_FACTS: &[&str] = &["postoperative_pain_management", "infusion_pump_trial"];
/// Clinical facts some criterion decides when they are missing, by a documented pack
/// interpretation (`stimulator_pain_location_when_stated`,
/// `current_stimulator_is_spinal_cord_unless_stated`): stating them may move that criterion.
const DEFAULTED_FACTS: &[&str] = &["pain_location", "current_stimulator_kind"];
const MEASUREMENTS: &[&str] = &["spinal_fracture_date", "osteoporosis_t_score", "conditions_present"];

fn settled_by_screening(name: &str) -> bool {
    ScreenableCondition::NAMES.contains(&name) || MEASUREMENTS.contains(&name)
}

fn root() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

fn pack() -> &'static Pack {
    static PACK: OnceLock<Pack> = OnceLock::new();
    PACK.get_or_init(|| {
        Pack::load(&PackSource::from_dir(&root().join("packs/interventional-pain/2026-06-14")).unwrap()).unwrap()
    })
}

fn examples() -> &'static [Value] {
    static EXAMPLES: OnceLock<Vec<Value>> = OnceLock::new();
    EXAMPLES.get_or_init(|| {
        let mut files: Vec<_> = std::fs::read_dir(root().join("examples"))
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        files.sort();
        files.iter().map(|f| serde_json::from_str(&std::fs::read_to_string(f).unwrap()).unwrap()).collect()
    })
}

/// A value for a clinical field, from a random number; may be invalid (then the case is skipped).
fn clinical_value(kind: FieldKind, r: u32) -> Value {
    match kind {
        FieldKind::Bool => json!(r.is_multiple_of(2)),
        FieldKind::Int(_) => json!(r % 12),
        FieldKind::Num(_) => json!(f64::from(r % 100) - 10.0),
        FieldKind::Date => json!(format!("202{}-{:02}-{:02}", 4 + r % 3, 1 + r % 12, 1 + r % 28)),
        FieldKind::Enum(names) => json!(names[r as usize % names.len()]),
        FieldKind::EnumList(names) => {
            let chosen: Vec<&str> =
                names.iter().enumerate().filter(|(i, _)| (r >> (i % 32)) & 1 == 1).map(|(_, n)| *n).collect();
            json!(chosen)
        }
        _ => Value::Null,
    }
}

/// Node values of every line, in tree order; `None` for a node that does not apply (a branch
/// not taken: settling the condition that chooses it may make it apply).
fn values(request: &Value) -> Option<Vec<(Decision, Vec<Option<Truth>>)>> {
    let case = parse_case_value(request.clone()).ok()?;
    let d = evaluate_request(pack(), &case);
    Some(
        d.lines
            .iter()
            .map(|l| (l.decision, l.tree.iter().map(|n| n.applicable.then_some(n.value)).collect()))
            .collect(),
    )
}

fn settled(d: Decision) -> bool {
    matches!(d, Decision::MeetsCriteria | Decision::DoesNotMeetCriteria)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn settling_an_unknown_fact_never_flips_a_settled_value(
        example in 0usize..1000,
        removed in proptest::collection::vec(any::<bool>(), Clinical::FIELDS.len()),
        settle in proptest::collection::vec(any::<bool>(), Clinical::FIELDS.len()),
        draws in proptest::collection::vec(any::<u32>(), Clinical::FIELDS.len()),
    ) {
        let examples = examples();
        let mut before = examples[example % examples.len()].clone();
        if before.get("clinical").is_none() {
            before["clinical"] = json!({});
        }
        // Remove a random set of clinical facts: they become unknown.
        let mut removed_fields = Vec::new();
        for (i, field) in Clinical::FIELDS.iter().enumerate() {
            if removed[i] && !SCOPE_FACTS.contains(&field.name) && !DEFAULTED_FACTS.contains(&field.name) {
                before["clinical"].as_object_mut().unwrap().remove(field.name);
                removed_fields.push(i);
            }
        }
        let Some(before_values) = values(&before) else { return Ok(()) };
        // Settle some of them with arbitrary values.
        let mut after = before.clone();
        let screened = before["clinical"].get("conditions_screened") == Some(&json!(true));
        for &i in &removed_fields {
            if settle[i] && !(screened && settled_by_screening(Clinical::FIELDS[i].name)) {
                let field = &Clinical::FIELDS[i];
                after["clinical"][field.name] = clinical_value(field.kind, draws[i]);
            }
        }
        let Some(after_values) = values(&after) else { return Ok(()) };
        prop_assert_eq!(before_values.len(), after_values.len());
        for ((d0, v0), (d1, v1)) in before_values.iter().zip(&after_values) {
            if settled(*d0) {
                prop_assert_eq!(d0, d1, "a settled decision changed");
            }
            prop_assert_eq!(v0.len(), v1.len(), "the applied criteria changed");
            for (k, (a, b)) in v0.iter().zip(v1).enumerate() {
                if let (Some(a), Some(b)) = (a, b)
                    && *a != Truth::Unknown
                {
                    prop_assert_eq!(a, b, "node {} flipped", k);
                }
            }
        }
    }
}
