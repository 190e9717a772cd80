//! Facts: what a criterion can read. *Direct* facts are fields of the request
//! (`clinical.pain_score`), found through the case model's field tables. *Derived* facts are
//! computed here, once, from the request and the member's history: windows and counts
//! (`GEN-T`), sessions, levels and sides, imaging, conservative care. The pack composes them and
//! supplies every threshold; this module holds no clinical threshold of its own.
//!
//! `vocabulary` says which names exist and checks their arguments when the pack is loaded;
//! the other modules compute values when a request is evaluated.

mod care;
mod history;
mod imaging;
mod member;
mod session;
mod tri;
mod value;
mod vocabulary;

pub(crate) use history::anchor_date;
pub(crate) use value::{Cmp, DateOp, Kind, Test, Value, Vocab};
pub use value::{Missing, Shown};
pub(crate) use vocabulary::{ArgError, Names, resolve, suggest as suggest_name};
pub use vocabulary::{FactDoc, documented_facts};

use crate::eval::Scope;
use crate::pack::{DiagnosisSetId, FilterId, ParamId, SelectorId};
use necessity_case::{Clinical, FieldDef, Member, PriorProcedure, ScreenableCondition, ServiceLine};

/// A fact as the compiled pack refers to it.
#[derive(Debug)]
pub(crate) enum Fact {
    Clinical(&'static FieldDef<Clinical>),
    Member(&'static FieldDef<Member>),
    Line(&'static FieldDef<ServiceLine>),
    /// A field of the history entry a selector is looking at (selector `where` tests).
    Entry(&'static FieldDef<PriorProcedure>),
    Diagnoses,
    AgeYears,
    SkeletallyMature {
        adult_age: ParamId,
    },
    Pregnant {
        diagnoses: DiagnosisSetId,
    },
    Lactating {
        diagnoses: DiagnosisSetId,
    },
    Condition(ScreenableCondition, &'static FieldDef<Clinical>),
    /// Every diagnosis is a billable ICD-10-CM code on the service date.
    DiagnosesBillable,
    /// The request reports its history, if only as an empty list.
    HistoryReported,
    LineCodeListed,
    LineFamily,
    LineProcedure,
    LineRegion,
    LineApproach,
    LineGuidance,
    LineTarget,
    LinePrimaryCodePresent,
    LineLevelsInCodeRegion,
    LineLevelRegions,
    /// Some requested level is among the levels a clinical fact lists (fusions, planned
    /// augmentation).
    LineLevelsAmong(&'static FieldDef<Clinical>),
    HistorySessionsPerLevel(SelectorId),
    /// Modic findings at (or, `outside`, away from) these vertebrae.
    Modic {
        vertebrae: Vec<necessity_case::Level>,
        outside: bool,
    },
    /// A prior lumbar surgery at a requested level, other than an allowed kind done long enough
    /// ago with radicular pain resolved.
    SurgeryAtRequestedLevel {
        allowed_kinds: u64,
        allowed_after: ParamId,
    },
    Session(SessionCount, SessionQuery),
    HistorySessions(SelectorId),
    HistoryEntries(SelectorId),
    PriorField {
        of: SelectorId,
        field: &'static FieldDef<PriorProcedure>,
    },
    PriorReliefLasted {
        of: SelectorId,
        period: ParamId,
    },
    PriorWasInitial {
        of: SelectorId,
        window: ParamId,
    },
    SecondInjectionsInEpisode {
        of: SelectorId,
        window: ParamId,
    },
    ImagingAdvancedDone {
        modalities: u64,
    },
    ImagingCorrelated {
        modalities: u64,
    },
    ImagingLesion(Box<imaging::LesionArgs>),
    Care(care::CareQuestion, Box<care::CareArgs>),
    CareMaintainedSince {
        of: SelectorId,
    },
}

impl Fact {
    /// The history selector the fact looks through, if any.
    pub(crate) fn selector(&self) -> Option<SelectorId> {
        match self {
            Self::HistorySessionsPerLevel(of)
            | Self::HistorySessions(of)
            | Self::HistoryEntries(of)
            | Self::PriorField { of, .. }
            | Self::PriorReliefLasted { of, .. }
            | Self::PriorWasInitial { of, .. }
            | Self::SecondInjectionsInEpisode { of, .. }
            | Self::CareMaintainedSince { of } => Some(*of),
            _ => None,
        }
    }
}

/// What a session fact counts over the lines a query selects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SessionCount {
    Lines,
    Units,
    LevelSides,
    Levels { per_region: bool },
    Regions,
    Families,
    Targets,
}

/// Which lines of the session a session fact looks at.
#[derive(Debug, Clone)]
pub(crate) struct SessionQuery {
    pub lines: FilterId,
    pub except: Vec<FilterId>,
    pub exclude: Exclude,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Exclude {
    /// Every other line.
    This,
    /// Lines of another procedure than this line's.
    SameProcedure,
    /// Every line, this one included.
    Nothing,
}

impl Fact {
    /// The fact's value for the line (and history entry) in scope; missing inputs are noted.
    pub(crate) fn value<'a>(&self, scope: &Scope<'_, 'a>, missing: &mut Vec<Missing>) -> Value<'a> {
        let case = scope.req.case;
        // The key and path are only formatted when the fact is missing.
        let direct = |v: necessity_case::FieldValue<'a>, where_: &dyn Fn() -> Missing, missing: &mut Vec<Missing>| {
            let v = Value::from(v);
            if matches!(v, Value::Missing) {
                missing.push(where_());
            }
            v
        };
        match self {
            Self::Clinical(f) => direct((f.get)(&case.clinical), &|| Missing::top("clinical", f.name), missing),
            Self::Member(f) => direct((f.get)(&case.member), &|| Missing::top("member", f.name), missing),
            Self::Line(f) => direct((f.get)(scope.line()), &|| Missing::line(scope.line, f.name), missing),
            Self::Entry(f) => match scope.entry() {
                Some((i, entry)) => direct((f.get)(entry), &|| Missing::item("history", i, f.name), missing),
                None => Value::Missing,
            },
            Self::Diagnoses => match &case.diagnoses {
                Some(d) => Value::Diagnoses(d),
                None => {
                    missing.push(Missing::root("request", "diagnoses"));
                    Value::Missing
                }
            },
            Self::DiagnosesBillable => member::diagnoses_billable(scope, missing),
            Self::HistoryReported => {
                if case.history.is_some() || !scope.req.history.is_empty() {
                    Value::Bool(true)
                } else {
                    missing.push(Missing::top("history", ""));
                    Value::Missing
                }
            }
            Self::AgeYears => member::age_years(scope, missing),
            Self::SkeletallyMature { adult_age } => member::skeletally_mature(scope, *adult_age, missing),
            Self::Pregnant { diagnoses } => member::pregnant(scope, *diagnoses),
            Self::Lactating { diagnoses } => member::lactating(scope, *diagnoses),
            Self::Condition(c, field) => member::condition(scope, *c, field, missing),
            Self::LineCodeListed => Value::Bool(scope.line_info().code.is_some()),
            Self::LineFamily => scope.line_info().family.map_or(Value::Missing, Value::Enum),
            Self::LineProcedure => scope.line_info().procedure.map_or(Value::Missing, Value::Enum),
            Self::LineRegion => session::line_region(scope, missing),
            Self::LineApproach => session::line_enum_choice(scope.line_info().approaches, scope, "approach", missing),
            Self::LineGuidance => session::line_enum_choice(scope.line_info().guidance, scope, "guidance", missing),
            Self::LineTarget => match scope.line_info().target {
                Some(t) => Value::Enum(t.index()),
                None => {
                    missing.push(Missing::line(scope.line, "target"));
                    Value::Missing
                }
            },
            Self::LinePrimaryCodePresent => session::primary_code_present(scope, missing),
            Self::LineLevelsInCodeRegion => session::levels_in_code_region(scope, missing),
            Self::LineLevelRegions => session::level_regions(scope, missing),
            Self::LineLevelsAmong(field) => session::levels_among(scope, field, missing),
            Self::HistorySessionsPerLevel(sel) => history::sessions_per_level(scope, *sel, missing),
            Self::Modic { vertebrae, outside } => member::modic(scope, vertebrae, *outside, missing),
            Self::SurgeryAtRequestedLevel { allowed_kinds, allowed_after } => {
                member::surgery_at_requested_level(scope, *allowed_kinds, *allowed_after, missing)
            }
            Self::Session(count, query) => session::count(scope, *count, query, missing),
            Self::HistorySessions(sel) => history::sessions(scope, *sel, missing),
            Self::HistoryEntries(sel) => history::entries(scope, *sel, missing),
            Self::PriorField { of, field } => history::prior_field(scope, *of, field, missing),
            Self::PriorReliefLasted { of, period } => history::prior_relief_lasted(scope, *of, *period, missing),
            Self::PriorWasInitial { of, window } => history::prior_was_initial(scope, *of, *window, missing),
            Self::SecondInjectionsInEpisode { of, window } => {
                history::second_injections_in_episode(scope, *of, *window, missing)
            }
            Self::ImagingAdvancedDone { modalities } => imaging::advanced_done(scope, *modalities, false, missing),
            Self::ImagingCorrelated { modalities } => imaging::advanced_done(scope, *modalities, true, missing),
            Self::ImagingLesion(args) => imaging::lesion(scope, args, missing),
            Self::Care(question, args) => care::evaluate(scope, *question, args, missing),
            Self::CareMaintainedSince { of } => history::care_maintained_since(scope, *of, missing),
        }
    }
}
