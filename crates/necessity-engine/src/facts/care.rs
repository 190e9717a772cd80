//! Conservative care (`GEN-CM`, `GEN-FAIL-1`). The duration is measured on the therapy
//! component, from the earliest start to the latest end of its episodes, with at least one
//! complementary episode overlapping that span; with a documented exception it is measured on
//! the complementary episodes. An ongoing episode ends at the service date.
//!
//! Episodes with missing details are handled by bounds: the duration is met if the episodes
//! known to qualify reach it, not met if even every possibly-qualifying episode cannot, and
//! unknown in between.

use super::tri::Tri;
use super::{Missing, Value};
use crate::calendar::{self, Period};
use crate::eval::Scope;
use crate::kleene::Truth;
use crate::pack::ParamId;
use jiff::civil::Date;
use necessity_case::{CareEpisode, FieldDef, FieldValue};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CareQuestion {
    /// `GEN-CM-1`: a qualifying therapy episode, or a documented exception.
    Therapy,
    /// `GEN-CM-2`: a complementary episode.
    Complementary,
    /// `GEN-FAIL-1`: the course reached the minimum duration.
    Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Supervision {
    Any,
    Supervised,
    PhysicianSupervised,
}

#[derive(Debug, Clone)]
pub(crate) struct CareArgs {
    /// Bit sets over `CareKind`.
    pub therapy: u64,
    pub exception: u64,
    pub complementary: u64,
    pub home_program: u64,
    /// Yes/no fields a home program must have to count.
    pub home_program_requires: Vec<&'static FieldDef<CareEpisode>>,
    pub supervision: Supervision,
    pub period: Option<ParamId>,
    /// Prior procedures of these families (bit set) count as complementary care
    /// (`SCS-CM-1`): each a one-day episode, done by a physician.
    pub interventional_families: u64,
    /// Measure up to the latest entry this selector picks (a stimulator trial) instead of the
    /// service date.
    pub anchor: Option<crate::pack::SelectorId>,
}

fn is(mask: u64, episode: &CareEpisode) -> bool {
    mask & (1u64 << episode.kind.index()) != 0
}

fn field(i: usize, name: &'static str) -> Missing {
    Missing::item("conservative_care", i, name)
}

/// Whether an episode counts: its supervision and, for home programs, their requirements.
fn counts(i: usize, episode: &CareEpisode, args: &CareArgs) -> Tri {
    let supervision = match args.supervision {
        Supervision::Any => Tri::met(),
        Supervision::Supervised => Tri::flag(episode.supervised, || field(i, "supervised")),
        Supervision::PhysicianSupervised => {
            Tri::flag(episode.physician_supervised, || field(i, "physician_supervised"))
        }
    };
    let home = if is(args.home_program, episode) {
        Tri::all(args.home_program_requires.iter().map(|f| match (f.get)(episode) {
            FieldValue::Bool(b) => Tri::from_bool(b),
            _ => Tri::unknown(field(i, f.name)),
        }))
    } else {
        Tri::met()
    };
    supervision.and(home)
}

/// An episode's dates as far as they are known; `None` bounds are unknown. Episodes that start
/// after the service date do not count.
#[derive(Debug, Clone, Copy)]
struct Dates {
    start: Option<Date>,
    end: Option<Date>,
}

fn dates(episode: &CareEpisode, service: Date) -> Option<Dates> {
    if episode.start.is_some_and(|s| s > service) {
        return None;
    }
    let end = match (episode.end, episode.ongoing) {
        (Some(end), _) => Some(end.min(service)),
        (None, Some(true)) => Some(service),
        (None, _) => None,
    };
    Some(Dates { start: episode.start, end })
}

/// A candidate episode for a span: surely counted, or possibly.
struct Candidate {
    sure: bool,
    dates: Dates,
}

fn candidates(
    episodes: &[CareEpisode],
    kinds: u64,
    args: &CareArgs,
    service: Date,
    missing: &mut Vec<Missing>,
) -> Vec<Candidate> {
    let mut out = Vec::new();
    for (i, episode) in episodes.iter().enumerate().filter(|(_, e)| is(kinds, e)) {
        let Some(d) = dates(episode, service) else {
            continue;
        };
        let counted = counts(i, episode, args);
        if counted.truth == Truth::NotMet {
            continue;
        }
        let dated = d.start.is_some() && d.end.is_some();
        if !dated {
            if d.start.is_none() {
                missing.push(field(i, "start"));
            }
            if d.end.is_none() {
                missing.push(field(i, "end"));
            }
        }
        missing.extend(counted.missing.iter().cloned());
        out.push(Candidate { sure: counted.truth == Truth::Met && dated, dates: d });
    }
    out
}

/// Whether a span of the `main` episodes reaching `period` is overlapped by an `overlap`
/// episode: with sure episodes only (lower bound) or with every possible one (upper bound).
fn span_reaches(
    main: &[Candidate],
    overlap: Option<&[Candidate]>,
    period: Period,
    service: Date,
    optimistic: bool,
) -> bool {
    let chosen: Vec<&Candidate> = main.iter().filter(|c| optimistic || c.sure).collect();
    let start = chosen.iter().map(|c| c.dates.start.unwrap_or(Date::MIN)).min();
    let end = chosen.iter().map(|c| c.dates.end.unwrap_or(service)).max();
    let (Some(start), Some(end)) = (start, end) else {
        return false;
    };
    if !calendar::spans_at_least(start, end, period) {
        return false;
    }
    overlap.is_none_or(|others| {
        others
            .iter()
            .filter(|c| optimistic || c.sure)
            .any(|c| c.dates.start.unwrap_or(Date::MIN) <= end && c.dates.end.unwrap_or(service) >= start)
    })
}

fn bounded(sure: bool, possible: bool, missing: Vec<Missing>) -> Tri {
    if sure {
        Tri::met()
    } else if possible {
        Tri { truth: Truth::Unknown, missing }
    } else {
        Tri::not_met()
    }
}

pub(super) fn evaluate<'a>(
    scope: &Scope<'_, 'a>,
    question: CareQuestion,
    args: &CareArgs,
    missing: &mut Vec<Missing>,
) -> Value<'a> {
    let Some(episodes) = &scope.req.case.conservative_care else {
        missing.push(Missing::top("conservative_care", ""));
        return Value::Missing;
    };
    let service = match args.anchor {
        None => scope.service_date(),
        Some(sel) => match super::history::anchor_date(scope, sel, missing) {
            Some(date) => date,
            None => return Value::Missing,
        },
    };
    let present = |kinds: u64| {
        Tri::any(
            episodes
                .iter()
                .enumerate()
                .filter(|(_, e)| is(kinds, e) && dates(e, service).is_some())
                .map(|(i, e)| counts(i, e, args)),
        )
    };
    let procedures = interventional(scope, args, service);
    let tri = match question {
        CareQuestion::Therapy => present(args.therapy | args.exception),
        CareQuestion::Complementary => present(args.complementary).or(Tri::from_bool(!procedures.is_empty())),
        CareQuestion::Duration => {
            let Some(period) = args.period else {
                return Value::Missing;
            };
            let period = super::history::period_of(scope, period);
            let mut why = Vec::new();
            let therapy = candidates(episodes, args.therapy, args, service, &mut why);
            let mut complementary = candidates(episodes, args.complementary, args, service, &mut why);
            complementary.extend(
                procedures.iter().map(|d| Candidate { sure: true, dates: Dates { start: Some(*d), end: Some(*d) } }),
            );
            let by_therapy = bounded(
                span_reaches(&therapy, Some(&complementary), period, service, false),
                span_reaches(&therapy, Some(&complementary), period, service, true),
                why.clone(),
            );
            let by_exception = present(args.exception).and(bounded(
                span_reaches(&complementary, None, period, service, false),
                span_reaches(&complementary, None, period, service, true),
                why,
            ));
            by_therapy.or(by_exception)
        }
    };
    let mut tri = tri;
    tri.missing.sort();
    tri.missing.dedup();
    tri.into_value(missing)
}

/// Dates of prior procedures that count as complementary care (`SCS-CM-1`).
fn interventional(scope: &Scope<'_, '_>, args: &CareArgs, until: Date) -> Vec<Date> {
    if args.interventional_families == 0 {
        return Vec::new();
    }
    let req = scope.req;
    req.history
        .iter()
        .zip(&req.entries)
        .filter(|(e, info)| {
            e.date <= until
                && req.pack.catalog.procedures.iter().enumerate().any(|(p, proc_)| {
                    info.procedures & (1u64 << p) != 0 && args.interventional_families & (1u64 << proc_.family) != 0
                })
        })
        .map(|(e, _)| e.date)
        .collect()
}
