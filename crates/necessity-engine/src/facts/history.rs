//! History facts: prior procedures matched by a selector (procedure, region, levels, side,
//! window), counted in sessions or entries, or read from the most recent match.
//!
//! An entry whose procedure or region cannot be told counts toward limits when the selector
//! says so and is never evidence for a requirement: an unknown may hold an approval back, never
//! grant one.

use super::tri::Tri;
use super::{Missing, Value};
use crate::calendar::{self, Period};
use crate::eval::{LineRegion, Scope, value_of};
use crate::kleene::Truth;
use crate::pack::{LevelMatch, ParamId, Selector, SelectorId};
use jiff::civil::Date;
use necessity_case::{FieldDef, Level, PriorProcedure, Side};
use std::collections::BTreeSet;

/// How a history entry meets a selector.
#[derive(Debug, Clone, PartialEq)]
enum Match {
    No,
    /// Surely a match.
    Sure,
    /// Cannot be told apart (procedure, region, level or side unknown); counted for limits.
    Counted,
    /// Its `where` tests are unknown: a match or not.
    Possible(Vec<Missing>),
    /// A match or not once the line states its levels or side.
    Unplaced(Vec<Missing>),
}

impl Match {
    /// What would settle a match that is not known to be one.
    fn unsure(&self) -> Option<&[Missing]> {
        match self {
            Self::Possible(why) | Self::Unplaced(why) => Some(why),
            Self::No | Self::Sure | Self::Counted => None,
        }
    }
}

/// What a match is measured against: the service date and window, or another anchor.
#[derive(Debug, Clone, Copy)]
struct Anchor {
    date: Date,
    window: Option<Period>,
    /// Only entries more than this long before the anchor.
    older_than: Option<Period>,
    /// Entries on the anchor date itself are part of the anchor's session.
    exclude_anchor_date: bool,
    use_where: bool,
}

pub(crate) fn period_of(scope: &Scope<'_, '_>, param: ParamId) -> Period {
    let p = scope.req.pack.param(param);
    #[expect(clippy::cast_possible_truncation, reason = "duration parameters are whole numbers, checked on load")]
    let n = p.value as i64;
    match p.unit {
        necessity_case::Unit::Days => Period::Days(n),
        necessity_case::Unit::Weeks => Period::Weeks(n),
        necessity_case::Unit::Years => Period::Years(n),
        _ => Period::Months(n),
    }
}

fn selector<'a>(scope: &Scope<'_, 'a>, id: SelectorId) -> Option<&'a Selector> {
    let pack: &'a crate::pack::Pack = scope.req.pack;
    pack.selectors.get(id)
}

fn service_anchor(scope: &Scope<'_, '_>, sel: &Selector) -> Anchor {
    Anchor {
        date: scope.service_date(),
        window: sel.within.map(|p| period_of(scope, p)),
        older_than: sel.older_than.map(|p| period_of(scope, p)),
        exclude_anchor_date: false,
        use_where: true,
    }
}

fn levels_touch(a: &[Level], b: &[Level]) -> bool {
    a.iter().any(|x| b.iter().any(|y| x.touches(*y)))
}

fn sides_overlap(a: Side, b: Side) -> bool {
    a == b || a == Side::Bilateral || b == Side::Bilateral
}

fn matches(scope: &Scope<'_, '_>, sel: &Selector, index: usize, anchor: Anchor) -> Match {
    let req = scope.req;
    let (Some(entry), Some(info)) = (req.history.get(index), req.entries.get(index)) else {
        return Match::No;
    };
    if info.procedures & sel.procedures == 0 {
        return Match::No;
    }
    let in_window = match anchor.window {
        Some(period) => calendar::within(entry.date, anchor.date, period),
        None => entry.date <= anchor.date,
    };
    let old_enough = anchor.older_than.is_none_or(|p| calendar::more_than_before(entry.date, anchor.date, p));
    if !in_window || !old_enough || (anchor.exclude_anchor_date && entry.date == anchor.date) {
        return Match::No;
    }
    let mut uncertain = !(info.certain && info.procedures & !sel.procedures == 0);
    // What the line itself leaves unstated makes a match unknown, not uncertain: the answer
    // to a question about the line settles it.
    let mut line_unstated = Vec::new();
    let line = scope.line_info();
    if sel.same_region {
        match (line.region, info.region) {
            (LineRegion::Known(r), Some(e)) if r != e => return Match::No,
            (LineRegion::Known(_), Some(_)) => {}
            _ => uncertain = true,
        }
    }
    if sel.levels != LevelMatch::Any {
        match (line.line.levels.as_deref(), entry.levels.as_deref()) {
            (Some(wanted), Some(had)) => {
                let ok = match sel.levels {
                    LevelMatch::Shared => levels_touch(wanted, had),
                    _ => wanted.iter().all(|w| had.iter().any(|h| h.touches(*w))),
                };
                if !ok {
                    return Match::No;
                }
            }
            (None, Some(_)) => line_unstated.push(Missing::line(scope.line, "levels")),
            _ => uncertain = true,
        }
    }
    if sel.overlapping_side {
        match (line.line.side, entry.side) {
            (Some(a), Some(b)) if !sides_overlap(a, b) => return Match::No,
            (Some(_), Some(_)) => {}
            (None, Some(_)) => line_unstated.push(Missing::line(scope.line, "side")),
            _ => uncertain = true,
        }
    }
    if uncertain {
        return if sel.count_uncertain { Match::Counted } else { Match::No };
    }
    if !anchor.use_where || sel.where_.is_empty() {
        return if line_unstated.is_empty() { Match::Sure } else { Match::Unplaced(line_unstated) };
    }
    let entry_scope = Scope { req, line: scope.line, entry: Some(index) };
    let mut missing = Vec::new();
    let verdict =
        Truth::all(sel.where_.iter().map(|w| value_of(req.pack, *w, &entry_scope, &mut missing)).collect::<Vec<_>>());
    match verdict {
        Truth::NotMet => Match::No,
        _ if !line_unstated.is_empty() => Match::Unplaced(line_unstated),
        Truth::Met => Match::Sure,
        Truth::Unknown => Match::Possible(missing),
    }
}

fn all_matches(scope: &Scope<'_, '_>, sel: &Selector, anchor: Anchor) -> Vec<(usize, Match)> {
    (0..scope.req.history.len()).map(|i| (i, matches(scope, sel, i, anchor))).filter(|(_, m)| *m != Match::No).collect()
}

fn date_of(scope: &Scope<'_, '_>, i: usize) -> Option<Date> {
    scope.req.history.get(i).map(|e| e.date)
}

pub(super) fn sessions<'a>(scope: &Scope<'_, 'a>, sel: SelectorId, missing: &mut Vec<Missing>) -> Value<'a> {
    let Some(sel) = selector(scope, sel) else {
        return Value::Missing;
    };
    let found = all_matches(scope, sel, service_anchor(scope, sel));
    let mut sure = BTreeSet::new();
    let mut maybe = BTreeSet::new();
    for (i, m) in &found {
        let Some(date) = date_of(scope, *i) else {
            continue;
        };
        if let Some(why) = m.unsure() {
            missing.extend(why.iter().cloned());
        } else {
            sure.insert(date);
        }
        maybe.insert(date);
    }
    Value::Count {
        lo: u32::try_from(sure.len()).unwrap_or(u32::MAX),
        hi: u32::try_from(maybe.len()).unwrap_or(u32::MAX),
    }
}

pub(super) fn entries<'a>(scope: &Scope<'_, 'a>, sel: SelectorId, missing: &mut Vec<Missing>) -> Value<'a> {
    let Some(sel) = selector(scope, sel) else {
        return Value::Missing;
    };
    let found = all_matches(scope, sel, service_anchor(scope, sel));
    let lo = found.iter().filter(|(_, m)| m.unsure().is_none()).count();
    for (_, m) in &found {
        if let Some(why) = m.unsure() {
            missing.extend(why.iter().cloned());
        }
    }
    Value::Count { lo: u32::try_from(lo).unwrap_or(u32::MAX), hi: u32::try_from(found.len()).unwrap_or(u32::MAX) }
}

/// The most sessions of the selected procedures at any one requested level (entries that
/// cannot be placed count at every level when the selector counts them).
pub(super) fn sessions_per_level<'a>(scope: &Scope<'_, 'a>, sel: SelectorId, missing: &mut Vec<Missing>) -> Value<'a> {
    let Some(sel) = selector(scope, sel) else {
        return Value::Missing;
    };
    let Some(requested) = scope.line().levels.as_deref() else {
        missing.push(Missing::line(scope.line, "levels"));
        return Value::Missing;
    };
    let found = all_matches(scope, sel, service_anchor(scope, sel));
    let (mut lo, mut hi) = (0u32, 0u32);
    for level in requested {
        let mut sure = BTreeSet::new();
        let mut maybe = BTreeSet::new();
        for (i, m) in &found {
            let Some(entry) = scope.req.history.get(*i) else { continue };
            let here = match entry.levels.as_deref() {
                Some(levels) => levels.iter().any(|l| l.touches(*level)),
                None => sel.count_uncertain,
            };
            if !here {
                continue;
            }
            if let Some(why) = m.unsure() {
                missing.extend(why.iter().copied());
            } else {
                sure.insert(entry.date);
            }
            maybe.insert(entry.date);
        }
        lo = lo.max(u32::try_from(sure.len()).unwrap_or(u32::MAX));
        hi = hi.max(u32::try_from(maybe.len()).unwrap_or(u32::MAX));
    }
    Value::Count { lo, hi }
}

/// The most recent session of evidence entries (surely the selected procedure; entries that
/// merely count toward limits are not): the matching entries on the latest date, then the
/// other entries of the selected procedures on that date. A session recorded as several
/// entries (64493 at L4-L5 and 64494 at L5-S1 on one day) is one prior procedure, and what it
/// states once (its relief) holds for all of it.
fn latest(scope: &Scope<'_, '_>, sel: &Selector, missing: &mut Vec<Missing>) -> Option<Vec<usize>> {
    let found = all_matches(scope, sel, service_anchor(scope, sel));
    // Which entry is the most recent match waits on the line's own levels or side.
    let unplaced: Vec<Missing> = found
        .iter()
        .filter_map(|(_, m)| if let Match::Unplaced(why) = m { Some(why.iter().copied()) } else { None })
        .flatten()
        .collect();
    if !unplaced.is_empty() {
        missing.extend(unplaced);
        return None;
    }
    let evidence: Vec<usize> =
        found.iter().filter_map(|(i, m)| matches!(m, Match::Sure | Match::Possible(_)).then_some(*i)).collect();
    let Some(last) = evidence.iter().filter_map(|i| date_of(scope, *i)).max() else {
        missing.push(no_prior());
        return None;
    };
    // A later entry that may be the selected procedure may be the most recent one, and what it
    // gave is not known: it holds the judgement back until the history says what it was.
    if found.iter().any(|(i, m)| *m == Match::Counted && date_of(scope, *i).is_some_and(|date| date > last)) {
        missing.push(no_prior());
        return None;
    }
    let mut session: Vec<usize> = evidence.into_iter().filter(|i| date_of(scope, *i) == Some(last)).collect();
    let same_day = scope.req.entries.iter().enumerate().filter(|(i, info)| {
        !session.contains(i)
            && date_of(scope, *i) == Some(last)
            && info.certain
            && info.procedures & !sel.procedures == 0
    });
    let others: Vec<usize> = same_day.map(|(i, _)| i).collect();
    session.extend(others);
    Some(session)
}

/// The first entry of the session that states the field, else the session's first entry.
fn stating(scope: &Scope<'_, '_>, session: &[usize], states: impl Fn(&PriorProcedure) -> bool) -> Option<usize> {
    session
        .iter()
        .copied()
        .find(|i| scope.req.history.get(*i).is_some_and(&states))
        .or_else(|| session.first().copied())
}

/// What settles a prior procedure the history does not show: the history itself.
fn no_prior() -> Missing {
    Missing::top("history", "")
}

pub(super) fn prior_field<'a>(
    scope: &Scope<'_, 'a>,
    sel: SelectorId,
    field: &'static FieldDef<PriorProcedure>,
    missing: &mut Vec<Missing>,
) -> Value<'a> {
    let Some(sel) = selector(scope, sel) else {
        return Value::Missing;
    };
    let Some(session) = latest(scope, sel, missing) else {
        return Value::Missing;
    };
    let Some(i) = stating(scope, &session, |e| (field.get)(e) != necessity_case::FieldValue::Missing) else {
        missing.push(no_prior());
        return Value::Missing;
    };
    let Some(entry) = scope.req.history.get(i) else {
        return Value::Missing;
    };
    let value = Value::from((field.get)(entry));
    if value == Value::Missing {
        missing.push(Missing::item("history", i, field.name));
    }
    value
}

pub(super) fn prior_relief_lasted<'a>(
    scope: &Scope<'_, 'a>,
    sel: SelectorId,
    period: ParamId,
    missing: &mut Vec<Missing>,
) -> Value<'a> {
    let Some(sel) = selector(scope, sel) else {
        return Value::Missing;
    };
    let Some(session) = latest(scope, sel, missing) else {
        return Value::Missing;
    };
    let Some(i) = stating(scope, &session, |e| e.relief_duration_days.is_some()) else {
        missing.push(no_prior());
        return Value::Missing;
    };
    let Some(entry) = scope.req.history.get(i) else {
        return Value::Missing;
    };
    let period = period_of(scope, period);
    Tri::flag(
        entry.relief_duration_days.map(|d| calendar::lasted_at_least(entry.date, i64::from(d.get()), period)),
        || Missing::item("history", i, "relief_duration_days"),
    )
    .into_value(missing)
}

/// Whether the entry at `index` was itself initial: no other selected procedure in the window
/// before its date (entries on its own date are its own session).
fn was_initial(scope: &Scope<'_, '_>, sel: &Selector, index: usize, window: Period) -> bool {
    let Some(date) = date_of(scope, index) else {
        return true;
    };
    let anchor = Anchor { date, window: Some(window), older_than: None, exclude_anchor_date: true, use_where: false };
    !(0..scope.req.history.len()).any(|j| j != index && matches(scope, sel, j, anchor) != Match::No)
}

pub(super) fn prior_was_initial<'a>(
    scope: &Scope<'_, 'a>,
    sel: SelectorId,
    window: ParamId,
    missing: &mut Vec<Missing>,
) -> Value<'a> {
    let Some(sel) = selector(scope, sel) else {
        return Value::Missing;
    };
    let Some(i) = latest(scope, sel, missing).and_then(|session| session.first().copied()) else {
        return Value::Missing;
    };
    Value::Bool(was_initial(scope, sel, i, period_of(scope, window)))
}

/// Second injections since the episode began. The episode begins at the most recent selected
/// entry that was itself initial.
pub(super) fn second_injections_in_episode<'a>(
    scope: &Scope<'_, 'a>,
    sel: SelectorId,
    window: ParamId,
    missing: &mut Vec<Missing>,
) -> Value<'a> {
    let Some(sel) = selector(scope, sel) else {
        return Value::Missing;
    };
    let window = period_of(scope, window);
    let anchor = Anchor {
        date: scope.service_date(),
        window: None,
        older_than: None,
        exclude_anchor_date: false,
        use_where: false,
    };
    let mut chain: Vec<usize> = all_matches(scope, sel, anchor).into_iter().map(|(i, _)| i).collect();
    chain.sort_by_key(|i| std::cmp::Reverse((date_of(scope, *i), *i)));
    let Some(start) =
        chain.iter().copied().find(|i| was_initial(scope, sel, *i, window)).or_else(|| chain.last().copied())
    else {
        return Value::count(0);
    };
    let Some(start_date) = date_of(scope, start) else {
        return Value::count(0);
    };
    let (mut lo, mut hi) = (0u32, 0u32);
    // Entries on the start's own date are the initial session itself.
    for i in chain.into_iter().filter(|i| date_of(scope, *i).is_some_and(|d| d > start_date)) {
        match scope.req.history.get(i).and_then(|e| e.is_second_injection) {
            Some(true) => {
                lo += 1;
                hi += 1;
            }
            Some(false) => {}
            None => {
                hi += 1;
                missing.push(Missing::item("history", i, "is_second_injection"));
            }
        }
    }
    Value::Count { lo, hi }
}

/// Conservative care kept up since the most recent selected procedure: an episode that is
/// ongoing or ended after it.
pub(super) fn care_maintained_since<'a>(
    scope: &Scope<'_, 'a>,
    sel: SelectorId,
    missing: &mut Vec<Missing>,
) -> Value<'a> {
    let Some(sel) = selector(scope, sel) else {
        return Value::Missing;
    };
    let Some(i) = latest(scope, sel, missing).and_then(|session| session.first().copied()) else {
        return Value::Missing;
    };
    let Some(prior) = date_of(scope, i) else {
        return Value::Missing;
    };
    let Some(episodes) = &scope.req.case.conservative_care else {
        missing.push(Missing::top("conservative_care", ""));
        return Value::Missing;
    };
    Tri::any(episodes.iter().enumerate().map(|(k, e)| match (e.ongoing, e.end) {
        (Some(true), _) => Tri::met(),
        (_, Some(end)) => Tri::from_bool(end > prior),
        _ => Tri::unknown(Missing::item("conservative_care", k, "end")),
    }))
    .into_value(missing)
}

/// The date a window is anchored at: the latest entry the selector picks (a stimulator trial),
/// or missing (with the history asked for) when there is none.
pub(crate) fn anchor_date(scope: &Scope<'_, '_>, sel: SelectorId, missing: &mut Vec<Missing>) -> Option<Date> {
    let Some(sel) = selector(scope, sel) else {
        missing.push(no_prior());
        return None;
    };
    latest(scope, sel, missing).and_then(|s| s.first().copied()).and_then(|i| date_of(scope, i))
}
