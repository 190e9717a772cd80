//! Pack versions by date of service: the version in force on the service date decides, the
//! determination says which, and a date no version covers is out of scope.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use necessity_case::parse_case;
use necessity_engine::{Decision, Library, Pack, PackSource, pack_tests};
use std::path::Path;

fn load(dir: &str) -> (Pack, PackSource) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let source = PackSource::from_dir(&root.join(dir)).unwrap();
    (Pack::load(&source).unwrap(), source)
}

fn library() -> Library {
    let (current, _) = load("../../packs/interventional-pain/2026-06-14");
    let (earlier, _) = load("tests/fixtures/interventional-pain/2025-06-14");
    Library::new(vec![current, earlier]).unwrap()
}

/// A first lumbar transforaminal injection with clear radiculopathy and no imaging.
fn request(service_date: &str) -> String {
    format!(
        r#"{{"service_date":"{service_date}","services":[{{"code":"64483","side":"left","levels":["L4-L5"],"injectates":["corticosteroid"],"contrast_used":true}}],
        "clinical":{{"pain_score":7,"adl_iadl_impaired_count":3,"physical_exam_completed":true,"radicular_pain":true,"radiculopathy":true,
        "radiculopathy_signs":["reflex_abnormality"],"neurogenic_claudication":false,"reevaluated_after_conservative_care":true,
        "no_significant_improvement":true,"invasive_therapy_considered":true,"conditions_screened":true}},
        "conservative_care":[{{"kind":"physical_therapy","start":"2025-01-06","end":"2025-02-14"}},{{"kind":"adjunctive_medication","start":"2025-01-02","ongoing":true}}],
        "imaging":[]}}"#
    )
}

#[test]
fn the_version_in_force_on_the_service_date_decides_and_is_named() {
    let library = library();
    let before = parse_case(&request("2026-06-13")).unwrap();
    let d = library.evaluate(&before, before.reported_history()).unwrap();
    assert_eq!(d.pack.version, "2025-06-14-test");
    assert_eq!(d.decision, Decision::MeetsCriteria);

    let after = parse_case(&request("2026-06-14")).unwrap();
    let d = library.evaluate(&after, after.reported_history()).unwrap();
    assert_eq!(d.pack.version, "2026-06-14");
    assert_eq!(d.decision, Decision::DoesNotMeetCriteria);
    assert!(d.lines[0].reasons.iter().any(|r| r.id == "ESI-INIT-2"));
}

#[test]
fn a_date_no_version_covers_is_out_of_scope_with_the_installed_versions() {
    let library = library();
    let case = parse_case(&request("2025-06-13")).unwrap();
    let err = library.evaluate(&case, case.reported_history()).unwrap_err();
    let message = err.to_string();
    assert!(message.contains("no version of the policy pack is in force on 2025-06-13"), "{message}");
    assert!(message.contains("2025-06-14-test (2025-06-14 to 2026-06-13)"), "{message}");
    assert!(message.contains("2026-06-14 (2026-06-14 to open)"), "{message}");
}

#[test]
fn overlapping_versions_are_refused() {
    let (current, _) = load("../../packs/interventional-pain/2026-06-14");
    let (again, _) = load("../../packs/interventional-pain/2026-06-14");
    let err = Library::new(vec![current, again]).unwrap_err();
    assert!(err.to_string().contains("must not overlap"));
}

#[test]
fn a_version_built_on_a_base_carries_its_own_tests_not_the_bases() {
    let (earlier, source) = load("tests/fixtures/interventional-pain/2025-06-14");
    let cases = pack_tests::load(&source, earlier.tests_dir().unwrap()).unwrap();
    assert_eq!(cases.len(), 2);
    for case in &cases {
        pack_tests::run(&earlier, case).unwrap();
    }
    assert_ne!(
        earlier.identity.content_hash,
        load("../../packs/interventional-pain/2026-06-14").0.identity.content_hash
    );
}
