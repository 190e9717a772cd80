//! Imaging facts (`GEN-IMG`): a study counts only if read by an independent radiologist; its
//! findings must correlate with the clinical findings and lie where the line is.

use super::tri::Tri;
use super::{Missing, Value};
use crate::calendar;
use crate::eval::{LineRegion, Scope, region_of_level};
use crate::pack::ParamId;
use necessity_case::{DueTo, Finding, ImagingStudy, Level, Side};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LesionMatch {
    /// A qualifying finding at each requested level, on the requested side (transforaminal).
    EachLevelAndSide,
    /// A qualifying finding anywhere in the line's region (interlaminar, caudal).
    LineRegion,
}

#[derive(Debug, Clone)]
pub(crate) struct LesionArgs {
    pub modalities: u64,
    pub matching: LesionMatch,
    /// Finding kinds that qualify as a herniation: they must compress a root and be recent.
    pub herniation_kinds: u64,
    /// Finding kinds that qualify as stenosis: no age limit unless caused by a herniation.
    pub stenosis_kinds: u64,
    pub herniation_within: ParamId,
}

fn has(mask: u64, index: usize) -> bool {
    u32::try_from(index).ok().and_then(|i| 1u64.checked_shl(i)).is_some_and(|bit| mask & bit != 0)
}

fn study_path(i: usize, field: &'static str) -> Missing {
    Missing::item("imaging", i, field)
}

fn finding_path(i: usize, j: usize, field: &'static str) -> Missing {
    Missing::sub("imaging", i, "findings", j, field)
}

/// The study is of an accepted modality and independently read (`GEN-IMG-1`).
fn independently_read(i: usize, study: &ImagingStudy, modalities: u64) -> Tri {
    let modality = match study.modality {
        Some(m) => Tri::from_bool(has(modalities, m.index())),
        None => Tri::unknown(study_path(i, "modality")),
    };
    modality.and(Tri::flag(study.independent_radiologist, || study_path(i, "independent_radiologist")))
}

/// An independently read study of these modalities exists (`GEN-IMG-1`); with `correlated`,
/// one that also correlates with the clinical findings (`GEN-IMG-2`).
pub(super) fn advanced_done<'a>(
    scope: &Scope<'_, 'a>,
    modalities: u64,
    correlated: bool,
    missing: &mut Vec<Missing>,
) -> Value<'a> {
    let Some(studies) = &scope.req.case.imaging else {
        missing.push(Missing::top("imaging", ""));
        return Value::Missing;
    };
    Tri::any(studies.iter().enumerate().map(|(i, s)| {
        let read = independently_read(i, s, modalities);
        if correlated {
            read.and(Tri::flag(s.correlates_with_clinical, || study_path(i, "correlates_with_clinical")))
        } else {
            read
        }
    }))
    .into_value(missing)
}

pub(super) fn lesion<'a>(scope: &Scope<'_, 'a>, args: &LesionArgs, missing: &mut Vec<Missing>) -> Value<'a> {
    let Some(studies) = &scope.req.case.imaging else {
        missing.push(Missing::top("imaging", ""));
        return Value::Missing;
    };
    let service = scope.service_date();
    let window = super::history::period_of(scope, args.herniation_within);
    let qualifies = |i: usize, j: usize, study: &ImagingStudy, f: &Finding| -> Tri {
        let recent = || match study.date {
            Some(d) => Tri::from_bool(calendar::within(d, service, window)),
            None => Tri::unknown(study_path(i, "date")),
        };
        if has(args.herniation_kinds, f.kind.index()) {
            Tri::flag(f.nerve_root_compression, || finding_path(i, j, "nerve_root_compression")).and(recent())
        } else if has(args.stenosis_kinds, f.kind.index()) {
            if f.due_to == Some(DueTo::DiscHerniation) { recent() } else { Tri::met() }
        } else {
            Tri::not_met()
        }
    };
    // Every (study, finding) pair that could show the lesion, with where it is.
    let candidates = |place: &dyn Fn(usize, usize, &Finding) -> Tri| -> Tri {
        Tri::any(studies.iter().enumerate().map(|(i, study)| {
            let read = independently_read(i, study, args.modalities)
                .and(Tri::flag(study.correlates_with_clinical, || study_path(i, "correlates_with_clinical")));
            let findings = match &study.findings {
                Some(findings) => {
                    Tri::any(findings.iter().enumerate().map(|(j, f)| qualifies(i, j, study, f).and(place(i, j, f))))
                }
                None => Tri::unknown(study_path(i, "findings")),
            };
            read.and(findings)
        }))
    };
    let line = scope.line();
    let result = match args.matching {
        LesionMatch::EachLevelAndSide => {
            let Some(levels) = line.levels.as_deref() else {
                missing.push(Missing::line(scope.line, "levels"));
                return Value::Missing;
            };
            let sides: &[Side] = match line.side {
                Some(Side::Bilateral) => &[Side::Left, Side::Right],
                Some(Side::Left) => &[Side::Left],
                Some(Side::Right) => &[Side::Right],
                None => {
                    missing.push(Missing::line(scope.line, "side"));
                    return Value::Missing;
                }
            };
            Tri::all(levels.iter().flat_map(|level| {
                sides.iter().map(move |side| {
                    let place = move |i: usize, j: usize, f: &Finding| at_level_and_side(i, j, f, *level, *side);
                    candidates(&place)
                })
            }))
        }
        LesionMatch::LineRegion => {
            let info = scope.line_info();
            let (LineRegion::Known(region), Some(family)) = (info.region, info.family) else {
                missing.push(Missing::line(scope.line, "levels"));
                return Value::Missing;
            };
            let pack = scope.req.pack;
            let place = move |i: usize, j: usize, f: &Finding| match f.level {
                Some(level) => Tri::from_bool(region_of_level(pack, family, level) == Some(region)),
                None => Tri::unknown(finding_path(i, j, "level")),
            };
            candidates(&place)
        }
    };
    result.into_value(missing)
}

fn at_level_and_side(i: usize, j: usize, f: &Finding, level: Level, side: Side) -> Tri {
    let level_ok = match f.level {
        Some(l) => Tri::from_bool(l.touches(level)),
        None => Tri::unknown(finding_path(i, j, "level")),
    };
    let side_ok = match f.side {
        Some(s) => Tri::from_bool(s == side || s == Side::Bilateral),
        None => Tri::unknown(finding_path(i, j, "side")),
    };
    level_ok.and(side_ok)
}
