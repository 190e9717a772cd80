//! The questionnaire comes from the criteria: whatever a determination asks for a request, the
//! questionnaire for the request's codes lists, with a question text and a typed answer.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use necessity_case::parse_case_value;
use necessity_engine::{Pack, PackSource, evaluate, pack_tests, questionnaire};
use std::collections::BTreeMap;
use std::path::Path;

fn pack() -> (Pack, PackSource) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../packs/interventional-pain/2026-06-14");
    let source = PackSource::from_dir(&dir).unwrap();
    (Pack::load(&source).unwrap(), source)
}

#[test]
fn every_question_a_determination_asks_is_in_the_questionnaire_for_its_codes() {
    let (pack, source) = pack();
    let cases = pack_tests::load(&source, pack.tests_dir().unwrap()).unwrap();
    let mut by_codes: BTreeMap<Vec<String>, Vec<String>> = BTreeMap::new();
    let mut checked = 0;
    for case in &cases {
        let Ok(request) = parse_case_value(case.request.clone()) else { continue };
        let codes: Vec<String> = request.services.iter().map(|s| s.code.as_str().to_owned()).collect();
        let listed = by_codes.entry(codes.clone()).or_insert_with(|| {
            let refs: Vec<&str> = codes.iter().map(String::as_str).collect();
            questionnaire(&pack, &refs).questions.into_iter().map(|q| q.key).collect()
        });
        let determination = evaluate(&pack, &request, request.reported_history());
        for asked in &determination.questions {
            assert!(
                listed.contains(&asked.key),
                "{}: the determination asks `{}`, the questionnaire for {codes:?} does not",
                case.title(),
                asked.key
            );
            checked += 1;
        }
    }
    assert!(checked > 500, "only {checked} questions checked");
}

#[test]
fn a_transforaminal_code_asks_what_chooses_its_criteria_and_what_they_read() {
    let (pack, _) = pack();
    let q = questionnaire(&pack, &["64483"]);
    assert_eq!(q.codes[0].procedures, ["snrb", "therapeutic_epidural"]);
    let item = |key: &str| q.questions.iter().find(|i| i.key == key).unwrap_or_else(|| panic!("no `{key}`"));
    let purpose = item("line.purpose");
    assert_eq!(purpose.answer_at, "services[].purpose");
    assert_eq!(purpose.answer.kind, "one_of");
    assert_eq!(purpose.answer.values, ["diagnostic", "therapeutic"]);
    assert!(purpose.criteria.contains(&"GEN-LINE-1".to_owned()));
    let pain = item("clinical.pain_score");
    assert_eq!((pain.answer.kind, pain.answer.minimum, pain.answer.maximum), ("integer", Some(0.0), Some(10.0)));
    assert_eq!(pain.criteria, ["GEN-SEV"]);
    assert_eq!(item("clinical.radicular_pain").answer.kind, "yes_no");
    assert_eq!(item("imaging.findings.level").answer.kind, "level");
    assert_eq!(item("imaging.findings.level").answer_at, "imaging[].findings[].level");
    assert_eq!(item("history.relief_percent").answer_at, "history[].relief_percent");
    assert_eq!(item("line.levels").answer.kind, "levels");
    assert_eq!(item("diagnoses").answer.kind, "diagnoses");
    assert!(!item("diagnoses").question.contains("{stated}"));
    // Nothing of another section.
    assert!(q.questions.iter().all(|i| !i.key.starts_with("clinical.scs_")));
    // Member and request questions come before line questions, line before clinical.
    let first_line = q.questions.iter().position(|i| i.key.starts_with("line.")).unwrap();
    let first_clinical = q.questions.iter().position(|i| i.key.starts_with("clinical.")).unwrap();
    assert!(first_line < first_clinical);
}

#[test]
fn codes_without_criteria_say_why_and_ask_nothing_of_their_own() {
    let (pack, _) = pack();
    let q = questionnaire(&pack, &["99213"]);
    assert!(q.codes[0].note.as_deref().unwrap().contains("GEN-CODE-1"));
    assert!(q.codes[0].label.is_none());
    assert!(q.questions.is_empty());
    // A device code asks only for the procedure line it goes with.
    let q = questionnaire(&pack, &["L8680"]);
    assert!(q.codes[0].note.as_deref().unwrap().contains("NEU-DEV-1"));
    assert_eq!(q.questions.iter().map(|i| i.key.as_str()).collect::<Vec<_>>(), ["line.procedure_line"]);
    assert_eq!(q.questions[0].answer.kind, "correction");
}

#[test]
fn a_stimulator_code_asks_for_the_condition_with_its_values() {
    let (pack, _) = pack();
    let q = questionnaire(&pack, &["63650"]);
    let condition = q.questions.iter().find(|i| i.key == "clinical.scs_condition").unwrap();
    assert_eq!(condition.answer.kind, "one_of");
    assert!(condition.answer.values.contains(&"painful_diabetic_neuropathy".to_owned()));
    assert!(condition.criteria.contains(&"SCS-TRIAL-1".to_owned()));
    assert!(q.questions.iter().any(|i| i.key == "line.neurostim_phase"));
}
