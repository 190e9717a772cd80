//! The names a pack may use for facts, their arguments, and what they hold. Checked once, when
//! the pack loads: an unknown name, a wrong argument or a misspelt parameter never reaches
//! evaluation.

use super::care::{CareArgs, CareQuestion, Supervision};
use super::imaging::{LesionArgs, LesionMatch};
use super::{Exclude, Fact, Kind, SessionCount, SessionQuery, Vocab};
use crate::pack::{DiagnosisSetId, FilterId, ParamId, SelectorId};
use necessity_case::{
    Approach, CareEpisode, CareKind, Clinical, FactStruct, FindingKind, Guidance, ImagingModality, Member,
    PriorProcedure, ScreenableCondition, ServiceLine, Target, Unit,
};
use serde_json::Value as Json;
use std::collections::BTreeMap;

/// What the compiler knows by name, for resolving arguments.
pub(crate) trait Names {
    fn param(&self, name: &str, units: &[Unit]) -> Result<ParamId, (String, Option<String>)>;
    fn selector(&self, name: &str) -> Result<SelectorId, (String, Option<String>)>;
    fn filter(&self, name: &str) -> Result<FilterId, (String, Option<String>)>;
    fn diagnosis_set(&self, name: &str) -> Result<DiagnosisSetId, (String, Option<String>)>;
    fn family(&self, name: &str) -> Result<usize, (String, Option<String>)>;
    /// Whether the leaf is a selector's `where` test (which reads `entry.*` facts).
    fn in_entry_scope(&self) -> bool;
}

/// A problem with a fact reference: which argument (if any), what, and a suggestion.
#[derive(Debug)]
pub(crate) struct ArgError {
    pub arg: Option<String>,
    pub message: String,
    pub help: Option<String>,
}

impl ArgError {
    fn on(arg: &str, (message, help): (String, Option<String>)) -> Self {
        Self { arg: Some(arg.to_owned()), message, help }
    }

    fn fact(message: String, help: Option<String>) -> Self {
        Self { arg: None, message, help }
    }
}

/// The arguments of one fact reference, consumed by name.
struct Args<'x, N: Names> {
    given: &'x BTreeMap<String, Json>,
    used: Vec<&'x str>,
    names: &'x N,
}

impl<'x, N: Names> Args<'x, N> {
    fn raw(&mut self, arg: &str) -> Option<&'x Json> {
        let (key, value) = self.given.get_key_value(arg)?;
        self.used.push(key.as_str());
        Some(value)
    }

    fn required(&mut self, arg: &str) -> Result<&'x Json, ArgError> {
        self.raw(arg).ok_or_else(|| ArgError::fact(format!("missing argument `{arg}` (give it under `with:`)"), None))
    }

    fn word(&mut self, arg: &str) -> Result<Option<&'x str>, ArgError> {
        match self.raw(arg) {
            None => Ok(None),
            Some(Json::String(s)) => Ok(Some(s.as_str())),
            Some(other) => Err(ArgError::on(arg, (format!("expected a name, found `{other}`"), None))),
        }
    }

    fn required_word(&mut self, arg: &str) -> Result<&'x str, ArgError> {
        self.required(arg)?;
        self.used.pop();
        self.word(arg)?.ok_or_else(|| ArgError::fact(format!("missing argument `{arg}`"), None))
    }

    fn param(&mut self, arg: &str, units: &[Unit]) -> Result<ParamId, ArgError> {
        let name = self.required_word(arg)?;
        self.names.param(name, units).map_err(|e| ArgError::on(arg, e))
    }

    fn selector(&mut self) -> Result<SelectorId, ArgError> {
        let name = self.required_word("of")?;
        self.names.selector(name).map_err(|e| ArgError::on("of", e))
    }

    fn choice<T: Copy>(&mut self, arg: &str, choices: &[(&str, T)], default: Option<T>) -> Result<T, ArgError> {
        match self.word(arg)? {
            None => default.ok_or_else(|| ArgError::fact(format!("missing argument `{arg}`"), None)),
            Some(w) => choices.iter().find(|(n, _)| *n == w).map(|(_, v)| *v).ok_or_else(|| {
                let names: Vec<&str> = choices.iter().map(|(n, _)| *n).collect();
                ArgError::on(
                    arg,
                    (format!("`{w}` is not one of {}", quoted(&names)), suggest(w, names.iter().copied())),
                )
            }),
        }
    }

    fn words(&mut self, arg: &str) -> Result<Option<Vec<&'x str>>, ArgError> {
        match self.raw(arg) {
            None => Ok(None),
            Some(Json::Array(items)) => items
                .iter()
                .map(|i| match i {
                    Json::String(s) => Ok(s.as_str()),
                    other => Err(ArgError::on(arg, (format!("expected a list of names, found `{other}`"), None))),
                })
                .collect::<Result<Vec<_>, _>>()
                .map(Some),
            Some(other) => Err(ArgError::on(arg, (format!("expected a list of names, found `{other}`"), None))),
        }
    }

    /// A list of values of a closed vocabulary, as a bit set.
    fn vocabulary_set(&mut self, arg: &str, vocabulary: &[&str]) -> Result<Option<u64>, ArgError> {
        let Some(words) = self.words(arg)? else {
            return Ok(None);
        };
        let mut mask = 0u64;
        for w in words {
            let i = vocabulary.iter().position(|v| *v == w).ok_or_else(|| {
                ArgError::on(
                    arg,
                    (format!("`{w}` is not one of {}", quoted(vocabulary)), suggest(w, vocabulary.iter().copied())),
                )
            })?;
            mask |= 1u64 << i;
        }
        Ok(Some(mask))
    }

    fn required_set(&mut self, arg: &str, vocabulary: &[&str]) -> Result<u64, ArgError> {
        self.vocabulary_set(arg, vocabulary)?.ok_or_else(|| ArgError::fact(format!("missing argument `{arg}`"), None))
    }

    fn filters(&mut self, arg: &str) -> Result<Vec<FilterId>, ArgError> {
        let Some(words) = self.words(arg)? else {
            return Ok(Vec::new());
        };
        words.into_iter().map(|w| self.names.filter(w).map_err(|e| ArgError::on(arg, e))).collect()
    }

    fn finish(self) -> Result<(), ArgError> {
        for name in self.given.keys() {
            if !self.used.contains(&name.as_str()) {
                return Err(ArgError::on(name, (format!("`{name}` is not an argument of this fact"), None)));
            }
        }
        Ok(())
    }
}

fn quoted(names: &[&str]) -> String {
    names.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")
}

/// "did you mean" for a misspelt name.
pub(crate) fn suggest<'a>(wrong: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<String> {
    candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(wrong, c), c))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| format!("did you mean `{c}`?"))
}

const DURATIONS: &[Unit] = &[Unit::Days, Unit::Weeks, Unit::Months, Unit::Years];
const SUPERVISION: &[(&str, Supervision)] = &[
    ("any", Supervision::Any),
    ("supervised", Supervision::Supervised),
    ("physician_supervised", Supervision::PhysicianSupervised),
];
const EXCLUDE: &[(&str, Exclude)] =
    &[("this_line", Exclude::This), ("same_procedure", Exclude::SameProcedure), ("nothing", Exclude::Nothing)];

/// One documented fact name, for `necessity facts` and the questionnaire.
#[derive(Debug, Clone, serde::Serialize)]
pub struct FactDoc {
    pub name: String,
    pub holds: &'static str,
    pub arguments: &'static [&'static str],
    pub doc: &'static str,
    /// Question keys of the request facts it reads.
    pub reads: Vec<String>,
}

struct Derived {
    name: &'static str,
    holds: &'static str,
    arguments: &'static [&'static str],
    doc: &'static str,
    reads: &'static [&'static str],
}

const CARE_READS: &[&str] = &[
    "conservative_care",
    "conservative_care.start",
    "conservative_care.end",
    "conservative_care.supervised",
    "conservative_care.physician_supervised",
    "conservative_care.tailored",
    "conservative_care.instructed_by_md_do_pt_with_return_demo",
    "conservative_care.compliance_documented",
];
const IMAGING_READS: &[&str] = &[
    "imaging",
    "imaging.modality",
    "imaging.date",
    "imaging.independent_radiologist",
    "imaging.correlates_with_clinical",
    "imaging.findings",
    "imaging.findings.level",
    "imaging.findings.side",
    "imaging.findings.nerve_root_compression",
    "line.levels",
    "line.side",
];

/// Every derived fact, with what it computes.
const DERIVED: &[Derived] = &[
    Derived {
        name: "member.age_years",
        holds: "a number of years",
        arguments: &[],
        doc: "whole years from birth to the service date",
        reads: &["member.birth_date"],
    },
    Derived {
        name: "member.skeletally_mature",
        holds: "yes/no",
        arguments: &["adult_age"],
        doc: "the stated maturity, else age at least `adult_age`",
        reads: &["member.skeletally_mature", "member.birth_date"],
    },
    Derived {
        name: "member.pregnant",
        holds: "yes/no",
        arguments: &["diagnoses"],
        doc: "stated pregnancy; absent counts as not pregnant unless a diagnosis of the set is on the request; a male member is not pregnant",
        reads: &[],
    },
    Derived {
        name: "member.lactating",
        holds: "yes/no",
        arguments: &["diagnoses"],
        doc: "stated lactation; absent counts as not lactating unless a diagnosis of the set is on the request; a male member is not lactating",
        reads: &[],
    },
    Derived {
        name: "condition.<name>",
        holds: "yes/no",
        arguments: &[],
        doc: "a screenable condition: stated, measured (the pack's `conditions`), or settled by the screening attestation",
        reads: &[],
    },
    Derived {
        name: "request.diagnoses",
        holds: "a list of diagnosis codes",
        arguments: &[],
        doc: "the request's ICD-10-CM codes",
        reads: &["request.diagnoses"],
    },
    Derived {
        name: "request.diagnoses_billable",
        holds: "yes/no",
        arguments: &[],
        doc: "every diagnosis code is billable in the ICD-10-CM release in force on the service date; each one that is not is asked about",
        reads: &["diagnoses"],
    },
    Derived {
        name: "request.history_reported",
        holds: "yes/no",
        arguments: &[],
        doc: "the request reports the member's prior procedures, if only as an empty list (which says there are none); absent, the history is asked for",
        reads: &["history"],
    },
    Derived {
        name: "line.code_listed",
        holds: "yes/no",
        arguments: &[],
        doc: "the line's code is in the pack's catalog",
        reads: &[],
    },
    Derived {
        name: "line.family",
        holds: "a family",
        arguments: &[],
        doc: "the family of the line's code",
        reads: &[],
    },
    Derived {
        name: "line.procedure",
        holds: "a procedure",
        arguments: &[],
        doc: "the procedure the line was classified as",
        reads: &[],
    },
    Derived {
        name: "line.region",
        holds: "a region",
        arguments: &[],
        doc: "the code's region, or the region all the line's levels share",
        reads: &["line.levels"],
    },
    Derived {
        name: "line.approach",
        holds: "an approach",
        arguments: &[],
        doc: "the approach the code decides, else the line's",
        reads: &["line.approach"],
    },
    Derived {
        name: "line.guidance",
        holds: "a guidance",
        arguments: &[],
        doc: "the guidance the code implies, else the line's",
        reads: &["line.guidance"],
    },
    Derived {
        name: "line.target",
        holds: "a target",
        arguments: &[],
        doc: "the target the code decides, else the line's",
        reads: &["line.target"],
    },
    Derived {
        name: "line.primary_code_present",
        holds: "yes, or unknown",
        arguments: &[],
        doc: "an add-on code's primary code is on the request (unknown, for correction, when not)",
        reads: &["line.primary_code"],
    },
    Derived {
        name: "line.levels_in_code_region",
        holds: "yes, or unknown",
        arguments: &[],
        doc: "every level of the line lies in its code's region (unknown, for correction, when not)",
        reads: &["line.levels_region"],
    },
    Derived {
        name: "line.level_regions",
        holds: "a list of regions",
        arguments: &[],
        doc: "the regions of the line's levels in its family's scheme",
        reads: &["line.levels"],
    },
    Derived {
        name: "line.levels_among",
        holds: "yes/no",
        arguments: &["list"],
        doc: "some requested level is (or touches) a level the clinical list names",
        reads: &["line.levels"],
    },
    Derived {
        name: "history.sessions_per_level",
        holds: "a count",
        arguments: &["of"],
        doc: "the most sessions of the selected procedures at any one requested level",
        reads: &["history", "line.levels"],
    },
    Derived {
        name: "modic.within",
        holds: "yes/no",
        arguments: &["vertebrae"],
        doc: "a Modic type 1 or 2 finding at one of these vertebrae",
        reads: &["clinical.modic_findings"],
    },
    Derived {
        name: "modic.outside",
        holds: "yes/no",
        arguments: &["vertebrae"],
        doc: "a Modic type 1 or 2 finding at a vertebra not listed",
        reads: &["clinical.modic_findings"],
    },
    Derived {
        name: "surgery.at_requested_level",
        holds: "yes/no",
        arguments: &["allowed_kinds", "allowed_after"],
        doc: "a prior lumbar surgery at a requested level, unless of an allowed kind, more than `allowed_after` before, with radicular pain resolved",
        reads: &[
            "clinical.prior_lumbar_surgery",
            "clinical.prior_lumbar_surgery.level",
            "clinical.prior_lumbar_surgery.kind",
            "clinical.prior_lumbar_surgery.date",
            "clinical.prior_lumbar_surgery.radicular_pain_resolved",
            "line.levels",
        ],
    },
    Derived {
        name: "session.lines",
        holds: "a count",
        arguments: &["lines", "except", "exclude"],
        doc: "lines of the session that pass the filter",
        reads: &[],
    },
    Derived {
        name: "session.units",
        holds: "a count",
        arguments: &["lines", "except", "exclude"],
        doc: "units billed on those lines",
        reads: &[],
    },
    Derived {
        name: "session.level_sides",
        holds: "a count",
        arguments: &["lines", "except", "exclude"],
        doc: "levels x sides on those lines (bilateral counts 2)",
        reads: &[],
    },
    Derived {
        name: "session.levels",
        holds: "a count",
        arguments: &["lines", "except", "exclude"],
        doc: "distinct levels on those lines (one level both sides is one)",
        reads: &[],
    },
    Derived {
        name: "session.levels_per_region",
        holds: "a count",
        arguments: &["lines", "except", "exclude"],
        doc: "the most distinct levels in any one region",
        reads: &[],
    },
    Derived {
        name: "session.regions",
        holds: "a count",
        arguments: &["lines", "except", "exclude"],
        doc: "distinct regions of those lines",
        reads: &[],
    },
    Derived {
        name: "session.families",
        holds: "a count",
        arguments: &["lines", "except", "exclude"],
        doc: "distinct families of those lines",
        reads: &[],
    },
    Derived {
        name: "session.targets",
        holds: "a count",
        arguments: &["lines", "except", "exclude"],
        doc: "distinct targets of those lines (a line whose target is not known counts as one more)",
        reads: &[],
    },
    Derived {
        name: "history.sessions",
        holds: "a count",
        arguments: &["of"],
        doc: "distinct dates of the selected prior procedures",
        reads: &["history"],
    },
    Derived {
        name: "history.entries",
        holds: "a count",
        arguments: &["of"],
        doc: "selected prior procedures",
        reads: &["history"],
    },
    Derived {
        name: "history.second_injections_in_episode",
        holds: "a count",
        arguments: &["of", "window"],
        doc: "second injections since the episode began (the latest selected entry that was itself initial)",
        reads: &["history.is_second_injection"],
    },
    Derived {
        name: "prior.<field>",
        holds: "the field's value",
        arguments: &["of"],
        doc: "a field of the most recent selected prior procedure",
        reads: &["history"],
    },
    Derived {
        name: "prior.relief_lasted",
        holds: "yes/no",
        arguments: &["of", "period"],
        doc: "the most recent selected procedure's relief lasted at least `period` (date + relief days on or after date + period)",
        reads: &["history", "history.relief_duration_days"],
    },
    Derived {
        name: "prior.was_initial",
        holds: "yes/no",
        arguments: &["of", "window"],
        doc: "no other selected procedure lies within `window` before the most recent one",
        reads: &["history"],
    },
    Derived {
        name: "imaging.advanced_done",
        holds: "yes/no",
        arguments: &["modalities"],
        doc: "a study of these modalities read by an independent radiologist",
        reads: &["imaging", "imaging.modality", "imaging.independent_radiologist"],
    },
    Derived {
        name: "imaging.correlated",
        holds: "yes/no",
        arguments: &["modalities"],
        doc: "an independently read study of these modalities correlates with the clinical findings",
        reads: &["imaging", "imaging.modality", "imaging.independent_radiologist", "imaging.correlates_with_clinical"],
    },
    Derived {
        name: "imaging.lesion",
        holds: "yes/no",
        arguments: &["modalities", "match", "herniation_kinds", "stenosis_kinds", "herniation_within"],
        doc: "an independently read, clinically correlated study shows a qualifying herniation (recent enough, compressing a root) or stenosis where the line is",
        reads: IMAGING_READS,
    },
    Derived {
        name: "care.maintained_since",
        holds: "yes/no",
        arguments: &["of"],
        doc: "a conservative care episode is ongoing, or ended after the most recent selected procedure",
        reads: &["conservative_care", "conservative_care.end", "history"],
    },
    Derived {
        name: "care.therapy_component",
        holds: "yes/no",
        arguments: &["therapy", "exception", "complementary", "home_program_requires", "supervision"],
        doc: "a qualifying therapy episode (or a documented exception)",
        reads: CARE_READS,
    },
    Derived {
        name: "care.complementary_component",
        holds: "yes/no",
        arguments: &[
            "therapy",
            "exception",
            "complementary",
            "home_program_requires",
            "supervision",
            "interventional_history",
            "anchor",
        ],
        doc: "a complementary episode (medication, alternative therapy)",
        reads: CARE_READS,
    },
    Derived {
        name: "care.duration_reached",
        holds: "yes/no",
        arguments: &[
            "therapy",
            "exception",
            "complementary",
            "home_program_requires",
            "supervision",
            "period",
            "interventional_history",
            "anchor",
        ],
        doc: "the therapy span (earliest start to latest end) reaches `period` with a complementary episode overlapping it; with an exception, the complementary span",
        reads: CARE_READS,
    },
];

/// Every fact name a pack may use, documented.
#[must_use]
pub fn documented_facts() -> Vec<FactDoc> {
    let mut docs: Vec<FactDoc> = DERIVED
        .iter()
        .map(|d| FactDoc {
            name: d.name.to_owned(),
            holds: d.holds,
            arguments: d.arguments,
            doc: d.doc,
            reads: d.reads.iter().map(|r| (*r).to_owned()).collect(),
        })
        .collect();
    let direct = |prefix: &str, name: &str, kind: necessity_case::FieldKind, doc: &'static str| FactDoc {
        name: format!("{prefix}.{name}"),
        holds: kind.describe(),
        arguments: &[],
        doc,
        reads: vec![format!("{prefix}.{name}")],
    };
    docs.extend(Clinical::FIELDS.iter().map(|f| direct("clinical", f.name, f.kind, f.doc)));
    docs.extend(Member::FIELDS.iter().map(|f| direct("member", f.name, f.kind, f.doc)));
    docs.extend(ServiceLine::FIELDS.iter().map(|f| direct("line", f.name, f.kind, f.doc)));
    docs
}

/// Every fact name, for suggestions.
pub(crate) fn derived_fact_names() -> impl Iterator<Item = String> {
    DERIVED
        .iter()
        .map(|d| d.name.to_owned())
        .chain(ScreenableCondition::NAMES.iter().map(|c| format!("condition.{c}")))
        .chain(Clinical::FIELDS.iter().map(|f| format!("clinical.{}", f.name)))
        .chain(Member::FIELDS.iter().map(|f| format!("member.{}", f.name)))
        .chain(ServiceLine::FIELDS.iter().map(|f| format!("line.{}", f.name)))
        .chain(PriorProcedure::FIELDS.iter().map(|f| format!("prior.{}", f.name)))
}

/// A resolved fact: what to compute, what it holds, and the question keys it may report.
pub(crate) struct Resolved {
    pub fact: Fact,
    pub kind: Kind,
    pub reads: Vec<String>,
}

/// Resolves a fact name and its arguments.
pub(crate) fn resolve<N: Names>(name: &str, given: &BTreeMap<String, Json>, names: &N) -> Result<Resolved, ArgError> {
    let mut args = Args { given, used: Vec::new(), names };
    let static_reads =
        DERIVED.iter().find(|d| d.name == name).map(|d| d.reads.iter().map(|r| (*r).to_owned()).collect());
    let mut reads: Vec<String> = static_reads.unwrap_or_default();
    let (fact, kind) = match name {
        "member.age_years" => (Fact::AgeYears, Kind::Number(Unit::Years)),
        "member.skeletally_mature" => {
            (Fact::SkeletallyMature { adult_age: args.param("adult_age", &[Unit::Years])? }, Kind::Bool)
        }
        "member.pregnant" | "member.lactating" => {
            let set = args.required_word("diagnoses")?;
            let diagnoses = names.diagnosis_set(set).map_err(|e| ArgError::on("diagnoses", e))?;
            let fact =
                if name == "member.pregnant" { Fact::Pregnant { diagnoses } } else { Fact::Lactating { diagnoses } };
            (fact, Kind::Bool)
        }
        "request.diagnoses" => (Fact::Diagnoses, Kind::Diagnoses),
        "request.diagnoses_billable" => (Fact::DiagnosesBillable, Kind::Bool),
        "request.history_reported" => (Fact::HistoryReported, Kind::Bool),
        "line.code_listed" => (Fact::LineCodeListed, Kind::Bool),
        "line.family" => (Fact::LineFamily, Kind::Enum(Vocab::Families)),
        "line.procedure" => (Fact::LineProcedure, Kind::Enum(Vocab::Procedures)),
        "line.region" => (Fact::LineRegion, Kind::Enum(Vocab::Regions)),
        "line.approach" => (Fact::LineApproach, Kind::Enum(Vocab::Static(Approach::NAMES))),
        "line.guidance" => (Fact::LineGuidance, Kind::Enum(Vocab::Static(Guidance::NAMES))),
        "line.target" => (Fact::LineTarget, Kind::Enum(Vocab::Static(Target::NAMES))),
        "line.primary_code_present" => (Fact::LinePrimaryCodePresent, Kind::Bool),
        "line.levels_in_code_region" => (Fact::LineLevelsInCodeRegion, Kind::Bool),
        "line.level_regions" => (Fact::LineLevelRegions, Kind::EnumList(Vocab::Regions)),
        "line.levels_among" => {
            let list = args.required_word("list")?;
            let field = list
                .strip_prefix("clinical.")
                .and_then(Clinical::field)
                .filter(|f| f.kind == necessity_case::FieldKind::Levels)
                .ok_or_else(|| {
                    let levels: Vec<String> = Clinical::FIELDS
                        .iter()
                        .filter(|f| f.kind == necessity_case::FieldKind::Levels)
                        .map(|f| format!("clinical.{}", f.name))
                        .collect();
                    ArgError::on(
                        "list",
                        (
                            format!("`{list}` is not a list of levels under `clinical`"),
                            suggest(list, levels.iter().map(String::as_str)),
                        ),
                    )
                })?;
            reads.push(format!("clinical.{}", field.name));
            (Fact::LineLevelsAmong(field), Kind::Bool)
        }
        "history.sessions_per_level" => (Fact::HistorySessionsPerLevel(args.selector()?), Kind::Count),
        "modic.within" | "modic.outside" => {
            let words = args.words("vertebrae")?.unwrap_or_default();
            let mut vertebrae = Vec::new();
            for w in words {
                match w.parse::<necessity_case::Level>() {
                    Ok(level @ necessity_case::Level::Vertebra(_)) => vertebrae.push(level),
                    _ => {
                        return Err(ArgError::on("vertebrae", (format!("`{w}` is not a vertebra such as `L4`"), None)));
                    }
                }
            }
            if vertebrae.is_empty() {
                return Err(ArgError::fact("missing argument `vertebrae`".into(), None));
            }
            (Fact::Modic { vertebrae, outside: name == "modic.outside" }, Kind::Bool)
        }
        "surgery.at_requested_level" => {
            let allowed_kinds = args.required_set("allowed_kinds", necessity_case::SurgeryKind::NAMES)?;
            let allowed_after = args.param("allowed_after", DURATIONS)?;
            (Fact::SurgeryAtRequestedLevel { allowed_kinds, allowed_after }, Kind::Bool)
        }
        "session.lines"
        | "session.units"
        | "session.level_sides"
        | "session.levels"
        | "session.levels_per_region"
        | "session.regions"
        | "session.families"
        | "session.targets" => {
            let count = match name {
                "session.lines" => SessionCount::Lines,
                "session.units" => SessionCount::Units,
                "session.level_sides" => SessionCount::LevelSides,
                "session.levels" => SessionCount::Levels { per_region: false },
                "session.levels_per_region" => SessionCount::Levels { per_region: true },
                "session.families" => SessionCount::Families,
                "session.targets" => SessionCount::Targets,
                _ => SessionCount::Regions,
            };
            let lines_name = args.required_word("lines")?;
            let lines = names.filter(lines_name).map_err(|e| ArgError::on("lines", e))?;
            let except = args.filters("except")?;
            let exclude = args.choice("exclude", EXCLUDE, Some(Exclude::This))?;
            (Fact::Session(count, SessionQuery { lines, except, exclude }), Kind::Count)
        }
        "history.sessions" => (Fact::HistorySessions(args.selector()?), Kind::Count),
        "history.entries" => (Fact::HistoryEntries(args.selector()?), Kind::Count),
        "history.second_injections_in_episode" => {
            let of = args.selector()?;
            (Fact::SecondInjectionsInEpisode { of, window: args.param("window", DURATIONS)? }, Kind::Count)
        }
        "prior.relief_lasted" => {
            let of = args.selector()?;
            (Fact::PriorReliefLasted { of, period: args.param("period", DURATIONS)? }, Kind::Bool)
        }
        "prior.was_initial" => {
            let of = args.selector()?;
            (Fact::PriorWasInitial { of, window: args.param("window", DURATIONS)? }, Kind::Bool)
        }
        "imaging.advanced_done" => (
            Fact::ImagingAdvancedDone { modalities: args.required_set("modalities", ImagingModality::NAMES)? },
            Kind::Bool,
        ),
        "imaging.correlated" => (
            Fact::ImagingCorrelated { modalities: args.required_set("modalities", ImagingModality::NAMES)? },
            Kind::Bool,
        ),
        "imaging.lesion" => {
            let lesion = LesionArgs {
                modalities: args.required_set("modalities", ImagingModality::NAMES)?,
                matching: args.choice(
                    "match",
                    &[("each_level_and_side", LesionMatch::EachLevelAndSide), ("line_region", LesionMatch::LineRegion)],
                    None,
                )?,
                herniation_kinds: args.required_set("herniation_kinds", FindingKind::NAMES)?,
                stenosis_kinds: args.required_set("stenosis_kinds", FindingKind::NAMES)?,
                herniation_within: args.param("herniation_within", DURATIONS)?,
            };
            (Fact::ImagingLesion(Box::new(lesion)), Kind::Bool)
        }
        "care.maintained_since" => (Fact::CareMaintainedSince { of: args.selector()? }, Kind::Bool),
        "care.therapy_component" | "care.complementary_component" | "care.duration_reached" => {
            let question = match name {
                "care.therapy_component" => CareQuestion::Therapy,
                "care.complementary_component" => CareQuestion::Complementary,
                _ => CareQuestion::Duration,
            };
            let home_fields: Vec<&str> = CareEpisode::FIELDS.iter().map(|f| f.name).collect();
            let requires = args.words("home_program_requires")?.unwrap_or_default();
            let mut home_program_requires = Vec::new();
            for w in requires {
                let field =
                    CareEpisode::field(w).filter(|f| f.kind == necessity_case::FieldKind::Bool).ok_or_else(|| {
                        ArgError::on(
                            "home_program_requires",
                            (
                                format!("`{w}` is not a yes/no field of a care episode"),
                                suggest(w, home_fields.iter().copied()),
                            ),
                        )
                    })?;
                home_program_requires.push(field);
            }
            let care = CareArgs {
                therapy: args.required_set("therapy", CareKind::NAMES)?,
                exception: args.required_set("exception", CareKind::NAMES)?,
                complementary: args.required_set("complementary", CareKind::NAMES)?,
                home_program: 1u64 << CareKind::HomeExerciseProgram.index(),
                home_program_requires,
                supervision: args.choice("supervision", SUPERVISION, None)?,
                period: if question == CareQuestion::Duration { Some(args.param("period", DURATIONS)?) } else { None },
                interventional_families: {
                    let mut mask = 0u64;
                    for family in args.words("interventional_history")?.unwrap_or_default() {
                        mask |= 1u64 << names.family(family).map_err(|e| ArgError::on("interventional_history", e))?;
                    }
                    mask
                },
                anchor: match args.word("anchor")? {
                    None | Some("service_date") => None,
                    Some(sel) => Some(names.selector(sel).map_err(|e| ArgError::on("anchor", e))?),
                },
            };
            (Fact::Care(question, Box::new(care)), Kind::Bool)
        }
        other => return resolve_named_field(other, args, names, &mut reads),
    };
    args.finish()?;
    Ok(Resolved { fact, kind, reads })
}

/// Names made of a prefix and a field or condition name.
fn resolve_named_field<N: Names>(
    name: &str,
    mut args: Args<'_, N>,
    names: &N,
    reads: &mut Vec<String>,
) -> Result<Resolved, ArgError> {
    let unknown = || {
        ArgError::fact(
            format!("unknown fact `{name}`"),
            suggest(name, derived_fact_names().collect::<Vec<_>>().iter().map(String::as_str)).or_else(|| {
                Some("facts are `clinical.*`, `member.*`, `line.*`, `condition.*`, `prior.*` or a derived fact; `necessity facts` lists them".into())
            }),
        )
    };
    let Some((prefix, field)) = name.split_once('.') else {
        return Err(unknown());
    };
    let (fact, kind) = match prefix {
        "clinical" => {
            let f = Clinical::field(field).ok_or_else(unknown)?;
            if f.optional {
                reads.push(name.to_owned());
            }
            (Fact::Clinical(f), Kind::from_field(f.kind))
        }
        "member" => {
            let f = Member::field(field).ok_or_else(unknown)?;
            if f.optional {
                reads.push(name.to_owned());
            }
            (Fact::Member(f), Kind::from_field(f.kind))
        }
        "line" => {
            let f = ServiceLine::field(field).ok_or_else(unknown)?;
            if f.optional {
                reads.push(name.to_owned());
            }
            (Fact::Line(f), Kind::from_field(f.kind))
        }
        "condition" => {
            let c = ScreenableCondition::NAMES
                .iter()
                .position(|n| *n == field)
                .and_then(|i| ScreenableCondition::ALL.get(i).copied())
                .ok_or_else(unknown)?;
            let stated = Clinical::field(field).ok_or_else(unknown)?;
            reads.push(format!("clinical.{field}"));
            (Fact::Condition(c, stated), Kind::Bool)
        }
        "prior" => {
            let f = PriorProcedure::field(field).ok_or_else(unknown)?;
            if f.optional {
                reads.push(format!("history.{field}"));
            }
            (Fact::PriorField { of: args.selector()?, field: f }, Kind::from_field(f.kind))
        }
        "entry" if names.in_entry_scope() => {
            let f = PriorProcedure::field(field).ok_or_else(unknown)?;
            if f.optional {
                reads.push(format!("history.{field}"));
            }
            (Fact::Entry(f), Kind::from_field(f.kind))
        }
        "entry" => {
            return Err(ArgError::fact(
                format!("`{name}` can only be read in a selector's `where` tests"),
                Some("use `prior.<field>` with `of: <selector>` in criteria".into()),
            ));
        }
        _ => return Err(unknown()),
    };
    args.finish()?;
    Ok(Resolved { fact, kind, reads: std::mem::take(reads) })
}
