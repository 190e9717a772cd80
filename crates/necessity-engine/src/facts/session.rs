//! Line and session facts: what the code decides, regions, add-on codes, and counts over the
//! session's lines (`GEN-T`: a session is everything done on one date; lines decided by a scope
//! rule stand apart).

use super::tri::Tri;
use super::{Exclude, Missing, SessionCount, SessionQuery, Value};
use crate::eval::{LineRegion, Scope, region_of_level};
use crate::pack::LineFilter;
use necessity_case::Side;
use std::collections::{BTreeMap, BTreeSet};

pub(super) fn line_region<'a>(scope: &Scope<'_, 'a>, missing: &mut Vec<Missing>) -> Value<'a> {
    match scope.line_info().region {
        LineRegion::Known(r) => Value::Enum(r),
        LineRegion::Several | LineRegion::Unknown => {
            missing.push(Missing::line(scope.line, "levels"));
            Value::Missing
        }
    }
}

/// A value the code decides (one bit), allows (several bits) or leaves to the line (missing).
pub(super) fn line_enum_choice<'a>(
    mask: u64,
    scope: &Scope<'_, 'a>,
    field: &'static str,
    missing: &mut Vec<Missing>,
) -> Value<'a> {
    match mask.count_ones() {
        0 => {
            missing.push(Missing::line(scope.line, field));
            Value::Missing
        }
        1 => Value::Enum(mask.trailing_zeros() as usize),
        _ => Value::OneOf(mask),
    }
}

/// `GEN-CODE-2`: an add-on code needs its primary code on the request; unknown (for
/// correction) when it is not there.
pub(super) fn primary_code_present<'a>(scope: &Scope<'_, 'a>, missing: &mut Vec<Missing>) -> Value<'a> {
    let Some(code) = scope.line_info().code else {
        return Value::Bool(true);
    };
    if code.add_on_of.is_empty() {
        return Value::Bool(true);
    }
    let present = scope.req.case.services.iter().any(|l| code.add_on_of.iter().any(|p| p == l.code.as_str()));
    Tri::from_bool(present).or(Tri::unknown(Missing::line_as(scope.line, "primary_code", "code"))).into_value(missing)
}

/// `GEN-CODE-4`: every level lies in the region the code names; unknown (for correction) when
/// one does not.
pub(super) fn levels_in_code_region<'a>(scope: &Scope<'_, 'a>, missing: &mut Vec<Missing>) -> Value<'a> {
    let info = scope.line_info();
    let (Some(code), Some(levels)) = (info.code, info.line.levels.as_deref()) else {
        return Value::Bool(true);
    };
    let Some(region) = code.region else {
        return Value::Bool(true);
    };
    let inside = levels.iter().all(|l| {
        region_of_level(scope.req.pack, code.family, *l).is_some_and(|r| {
            r == region
                || u32::try_from(r).ok().and_then(|r| 1u64.checked_shl(r)).is_some_and(|bit| code.tolerated & bit != 0)
        })
    });
    Tri::from_bool(inside).or(Tri::unknown(Missing::line_as(scope.line, "levels_region", "levels"))).into_value(missing)
}

/// Whether a line passes a filter: surely, possibly (its procedure or approach is not known),
/// or not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Pass {
    No,
    Possibly,
    Surely,
}

fn passes(filter: &LineFilter, info: &crate::eval::LineInfo<'_>) -> Pass {
    let mut pass = Pass::Surely;
    if filter.families != 0 && info.family.is_none_or(|f| filter.families & (1u64 << f) == 0) {
        return Pass::No;
    }
    if filter.procedures != 0 {
        match info.procedure {
            Some(p) if filter.procedures & (1u64 << p) != 0 => {}
            Some(_) => return Pass::No,
            // Pending a classifying fact: it counts if it could still be one of them.
            None if info.possible & filter.procedures != 0 => pass = Pass::Possibly,
            None => return Pass::No,
        }
    }
    if filter.neurostim_kinds != 0 {
        match info.line.neurostim_kind {
            Some(k) if filter.neurostim_kinds & (1u64 << k.index()) != 0 => {}
            Some(_) => return Pass::No,
            None => pass = Pass::Possibly,
        }
    }
    if filter.approaches != 0 {
        let a = info.approaches;
        if a == 0 || (a & filter.approaches != 0 && a & !filter.approaches != 0) {
            pass = Pass::Possibly;
        } else if a & filter.approaches == 0 {
            return Pass::No;
        }
    }
    pass
}

/// Counts over the session's lines that the query selects.
pub(super) fn count<'a>(
    scope: &Scope<'_, 'a>,
    what: SessionCount,
    query: &SessionQuery,
    missing: &mut Vec<Missing>,
) -> Value<'a> {
    let req = scope.req;
    let this = scope.line_info();
    let filter = |id: usize| req.pack.filters.get(id);
    let mut selected: Vec<(usize, Pass)> = Vec::new();
    for (j, info) in req.lines.iter().enumerate() {
        if !info.in_session() {
            continue;
        }
        let excluded = match query.exclude {
            Exclude::This => j == scope.line,
            Exclude::SameProcedure => j == scope.line || (this.procedure.is_some() && info.procedure == this.procedure),
            Exclude::Nothing => false,
        };
        if excluded {
            continue;
        }
        let mut pass = filter(query.lines).map_or(Pass::No, |f| passes(f, info));
        for except in &query.except {
            match filter(*except).map_or(Pass::No, |f| passes(f, info)) {
                Pass::Surely => pass = Pass::No,
                Pass::Possibly => pass = pass.min(Pass::Possibly),
                Pass::No => {}
            }
        }
        if pass != Pass::No {
            selected.push((j, pass));
        }
    }
    let (lo, hi) = match what {
        SessionCount::Lines => bounds(&selected, |_| (1, 1)),
        SessionCount::Units => bounds(&selected, |j| {
            let u = req.lines.get(j).map_or(0, |l| l.line.units.get());
            (u, u)
        }),
        SessionCount::LevelSides => bounds(&selected, |j| {
            let Some(info) = req.lines.get(j) else {
                return (0, 0);
            };
            let n = info.level_count();
            let (slo, shi) = match info.line.side {
                Some(Side::Bilateral) => (2, 2),
                Some(_) => (1, 1),
                None => (1, 2),
            };
            (n.saturating_mul(slo), n.saturating_mul(shi))
        }),
        SessionCount::Levels { per_region } => distinct_levels(scope, &selected, per_region),
        SessionCount::Targets => {
            let mut sure = BTreeSet::new();
            let mut maybe = BTreeSet::new();
            let mut unknown = 0u32;
            // What lines of unstated target may be, from their codes (64520: lumbar or thoracic).
            let mut unstated: Vec<u64> = Vec::new();
            for (j, pass) in &selected {
                let Some(info) = req.lines.get(*j) else { continue };
                match info.target {
                    Some(t) => {
                        if *pass == Pass::Surely {
                            sure.insert(t);
                        }
                        maybe.insert(t);
                    }
                    None => {
                        unknown += 1;
                        if *pass == Pass::Surely {
                            unstated.push(info.code.map_or(0, |c| c.named_targets));
                        }
                    }
                }
            }
            let sure_mask = sure.iter().fold(0u64, |m, t| m | 1u64 << t.index());
            // A line whose code cannot name any target already counted is one more target.
            let surely_another = unstated.iter().any(|m| *m != 0 && m & sure_mask == 0);
            let lo = u32::try_from(sure.len()).unwrap_or(u32::MAX).saturating_add(u32::from(surely_another));
            (lo, u32::try_from(maybe.len()).unwrap_or(u32::MAX).saturating_add(unknown))
        }
        SessionCount::Families => {
            let sure: BTreeSet<usize> = selected
                .iter()
                .filter(|(_, p)| *p == Pass::Surely)
                .filter_map(|(j, _)| req.lines.get(*j).and_then(|l| l.family))
                .collect();
            let maybe: BTreeSet<usize> =
                selected.iter().filter_map(|(j, _)| req.lines.get(*j).and_then(|l| l.family)).collect();
            (u32::try_from(sure.len()).unwrap_or(u32::MAX), u32::try_from(maybe.len()).unwrap_or(u32::MAX))
        }
        SessionCount::Regions => {
            let mut sure = BTreeSet::new();
            let mut maybe = BTreeSet::new();
            let mut unknown = 0u32;
            for (j, pass) in &selected {
                match req.lines.get(*j).map(|l| l.region) {
                    Some(LineRegion::Known(r)) => {
                        if *pass == Pass::Surely {
                            sure.insert(r);
                        }
                        maybe.insert(r);
                    }
                    Some(LineRegion::Several) if *pass == Pass::Surely => {
                        return Value::Count { lo: 2, hi: u32::MAX };
                    }
                    _ => {
                        // A line of a code that allows any region, without levels.
                        unknown += 1;
                        missing.push(Missing::line(*j, "levels"));
                    }
                }
            }
            let lo = u32::try_from(sure.len()).unwrap_or(u32::MAX);
            let hi = u32::try_from(maybe.len()).unwrap_or(u32::MAX).saturating_add(unknown);
            (lo, hi)
        }
    };
    Value::Count { lo, hi }
}

fn bounds(selected: &[(usize, Pass)], each: impl Fn(usize) -> (u32, u32)) -> (u32, u32) {
    selected.iter().fold((0u32, 0u32), |(lo, hi), (j, pass)| {
        let (a, b) = each(*j);
        (if *pass == Pass::Surely { lo.saturating_add(a) } else { lo }, hi.saturating_add(b))
    })
}

/// Distinct levels over the selected lines (one level on both sides is one level); lines
/// without levels count one level per unit. Per region: the largest count in any one region.
fn distinct_levels(scope: &Scope<'_, '_>, selected: &[(usize, Pass)], per_region: bool) -> (u32, u32) {
    #[derive(Default)]
    struct Tally {
        sure: BTreeSet<necessity_case::Level>,
        maybe: BTreeSet<necessity_case::Level>,
        anonymous_sure: u32,
        anonymous_maybe: u32,
    }
    let mut by_region: BTreeMap<Option<usize>, Tally> = BTreeMap::new();
    for (j, pass) in selected {
        let Some(info) = scope.req.lines.get(*j) else {
            continue;
        };
        let key = match (per_region, info.region) {
            (true, LineRegion::Known(r)) => Some(r),
            _ => None,
        };
        let tally = by_region.entry(key).or_default();
        match &info.line.levels {
            Some(levels) => {
                for l in levels {
                    if *pass == Pass::Surely {
                        tally.sure.insert(*l);
                    }
                    tally.maybe.insert(*l);
                }
            }
            None => {
                let units = info.line.units.get();
                if *pass == Pass::Surely {
                    tally.anonymous_sure += units;
                }
                tally.anonymous_maybe += units;
            }
        }
    }
    by_region.values().fold((0, 0), |(lo, hi), t| {
        let l = u32::try_from(t.sure.len()).unwrap_or(u32::MAX).saturating_add(t.anonymous_sure);
        let h = u32::try_from(t.maybe.len()).unwrap_or(u32::MAX).saturating_add(t.anonymous_maybe);
        (lo.max(l), hi.max(h))
    })
}

/// The regions of the line's levels, in its family's scheme.
pub(super) fn level_regions<'a>(scope: &Scope<'_, 'a>, missing: &mut Vec<Missing>) -> Value<'a> {
    let info = scope.line_info();
    let (Some(levels), Some(family)) = (info.line.levels.as_deref(), info.family) else {
        missing.push(Missing::line(scope.line, "levels"));
        return Value::Missing;
    };
    let mask = levels
        .iter()
        .filter_map(|l| region_of_level(scope.req.pack, family, *l))
        .fold(0u64, |m, r| m | u32::try_from(r).ok().and_then(|r| 1u64.checked_shl(r)).unwrap_or(0));
    Value::EnumList(mask)
}

/// Some requested level is (or touches) a level a clinical list names.
pub(super) fn levels_among<'a>(
    scope: &Scope<'_, 'a>,
    field: &'static necessity_case::FieldDef<necessity_case::Clinical>,
    missing: &mut Vec<Missing>,
) -> Value<'a> {
    let Some(requested) = scope.line().levels.as_deref() else {
        missing.push(Missing::line(scope.line, "levels"));
        return Value::Missing;
    };
    match (field.get)(&scope.req.case.clinical) {
        necessity_case::FieldValue::Levels(listed) => {
            Value::Bool(requested.iter().any(|r| listed.iter().any(|l| l.touches(*r))))
        }
        _ => {
            missing.push(Missing::top("clinical", field.name));
            Value::Missing
        }
    }
}
