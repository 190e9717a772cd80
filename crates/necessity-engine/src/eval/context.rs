//! What evaluation knows about a request before any criterion runs: each line's catalog entry,
//! scope decision, procedure and region, and each history entry's classification.

use crate::facts::Missing;
use crate::kleene::Truth;
use crate::pack::{CodeEntry, FamilyId, LineField, LineKind, Pack, ProcId, RegionId};
use necessity_case::{Case, Level, PriorProcedure, ServiceLine, Side, Target};

/// A request being evaluated.
#[derive(Debug)]
pub(crate) struct Request<'a> {
    pub pack: &'a Pack,
    pub case: &'a Case,
    pub history: &'a [PriorProcedure],
    pub lines: Vec<LineInfo<'a>>,
    pub entries: Vec<EntryInfo>,
    /// Positions of the diagnoses that are not billable on the service date (`NEC-ICD-1`),
    /// looked up once for all lines.
    pub unbillable_diagnoses: Vec<usize>,
}

/// Where a line's levels put it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LineRegion {
    Known(RegionId),
    /// Levels in more than one region of a code that allows any.
    Several,
    Unknown,
}

#[derive(Debug)]
pub(crate) struct LineInfo<'a> {
    pub line: &'a ServiceLine,
    pub code: Option<&'a CodeEntry>,
    pub family: Option<FamilyId>,
    /// The scope rule that decided the line, if any (such lines stand apart from session rules).
    pub scope_rule: Option<usize>,
    pub procedure: Option<ProcId>,
    /// Procedures the line could be while a classifying fact is missing (bit set).
    pub possible: u64,
    /// Line facts missing to choose the line's criteria (`GEN-LINE-1`).
    pub needs: Vec<LineField>,
    pub region: LineRegion,
    /// Possible approaches (bit set over `Approach`); 0 when not known.
    pub approaches: u64,
    pub guidance: u64,
    pub target: Option<Target>,
}

impl LineInfo<'_> {
    /// Whether session rules count this line.
    pub(crate) fn in_session(&self) -> bool {
        self.scope_rule.is_none() && self.family.is_some()
    }

    /// Levels as counted: the listed levels, or one per unit when none are listed.
    pub(crate) fn level_count(&self) -> u32 {
        match &self.line.levels {
            Some(levels) => u32::try_from(levels.len()).unwrap_or(u32::MAX),
            None => self.line.units.get(),
        }
    }
}

/// What a history entry could be.
#[derive(Debug, Clone)]
pub(crate) struct EntryInfo {
    /// Procedures the entry could be (bit set).
    pub procedures: u64,
    /// The entry is exactly one procedure, its classification not in doubt.
    pub certain: bool,
    /// Its region, when the code or levels tell.
    pub region: Option<RegionId>,
}

/// One line (and maybe one history entry) that facts are evaluated for.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Scope<'r, 'a> {
    pub req: &'r Request<'a>,
    pub line: usize,
    pub entry: Option<usize>,
}

impl<'r, 'a> Scope<'r, 'a> {
    pub(crate) fn line(&self) -> &'a ServiceLine {
        self.line_info().line
    }

    pub(crate) fn line_info(&self) -> &'r LineInfo<'a> {
        #[expect(clippy::indexing_slicing, reason = "scopes are made only for existing lines")]
        &self.req.lines[self.line]
    }

    pub(crate) fn entry(&self) -> Option<(usize, &'a PriorProcedure)> {
        let i = self.entry?;
        self.req.history.get(i).map(|e| (i, e))
    }

    pub(crate) fn service_date(&self) -> jiff::civil::Date {
        self.req.case.service_date
    }
}

impl<'a> Request<'a> {
    pub(crate) fn new(pack: &'a Pack, case: &'a Case, history: &'a [PriorProcedure]) -> Self {
        let lines = case.services.iter().map(|line| line_info(pack, line)).collect();
        let entries = history.iter().map(|e| entry_info(pack, e)).collect();
        let release = necessity_icd10cm::release_on(case.service_date);
        let unbillable_diagnoses = case
            .diagnoses
            .iter()
            .flatten()
            .enumerate()
            .filter(|(_, d)| !release.is_billable(d.as_str()))
            .map(|(i, _)| i)
            .collect();
        let mut req = Self { pack, case, history, lines, entries, unbillable_diagnoses };
        req.apply_scope_rules();
        req
    }

    /// Scope rules run first; the first that applies decides the line.
    fn apply_scope_rules(&mut self) {
        for i in 0..self.lines.len() {
            let code = self.case.services.get(i).map(|l| l.code.as_str()).unwrap_or_default();
            let rule = self.pack.scope_rules.iter().position(|rule| {
                rule.codes.as_ref().is_none_or(|codes| codes.iter().any(|c| c == code)) && {
                    let scope = Scope { req: self, line: i, entry: None };
                    let mut missing: Vec<Missing> = Vec::new();
                    super::tree::value_of(self.pack, rule.node, &scope, &mut missing) == Truth::Met
                }
            });
            if let Some(info) = self.lines.get_mut(i) {
                info.scope_rule = rule;
            }
        }
    }
}

fn line_info<'a>(pack: &'a Pack, line: &'a ServiceLine) -> LineInfo<'a> {
    let code = pack.catalog.codes.get(line.code.as_str());
    let family = code.map(|c| c.family);
    let target = code.and_then(|c| c.target).or(line.target);
    let approaches = narrowed(code.map_or(0, |c| c.approaches), line.approach.map(|a| a.index()));
    let guidance = narrowed(code.map_or(0, |c| c.guidance), line.guidance.map(|g| g.index()));
    let class = match code {
        Some(code) => {
            let view = LineView { line, target };
            classify(pack.catalog.line_kinds.iter().filter(|k| kind_covers_code(k, &code.code)), &view)
        }
        None => Classification { procedure: None, possible: 0, needs: Vec::new() },
    };
    let region = match (code, family) {
        (Some(c), _) if c.region.is_some() => c.region.map_or(LineRegion::Unknown, LineRegion::Known),
        (_, Some(f)) => region_of_levels(pack, f, line.levels.as_deref()),
        _ => LineRegion::Unknown,
    };
    LineInfo {
        line,
        code,
        family,
        scope_rule: None,
        procedure: class.procedure,
        possible: class.possible,
        needs: class.needs,
        region,
        approaches,
        guidance,
        target,
    }
}

/// The code's possible values, narrowed by what the line states when the code allows it.
fn narrowed(from_code: u64, stated: Option<usize>) -> u64 {
    let stated_bit = stated.and_then(|i| u32::try_from(i).ok()).and_then(|i| 1u64.checked_shl(i));
    match (from_code, stated_bit) {
        (0, Some(bit)) => bit,
        (mask, Some(bit)) if mask & bit != 0 => bit,
        (mask, _) => mask,
    }
}

/// The region all levels share in the family's scheme.
pub(crate) fn region_of_levels(pack: &Pack, family: FamilyId, levels: Option<&[Level]>) -> LineRegion {
    let Some(levels) = levels.filter(|l| !l.is_empty()) else {
        return LineRegion::Unknown;
    };
    let mut found = None;
    for level in levels {
        match (region_of_level(pack, family, *level), found) {
            (None, _) => return LineRegion::Unknown,
            (Some(r), None) => found = Some(r),
            (Some(r), Some(prev)) if r != prev => return LineRegion::Several,
            _ => {}
        }
    }
    found.map_or(LineRegion::Unknown, LineRegion::Known)
}

pub(crate) fn region_of_level(pack: &Pack, family: FamilyId, level: Level) -> Option<RegionId> {
    let family = pack.catalog.families.get(family)?;
    family.regions.iter().copied().find(|&r| {
        pack.catalog.regions.get(r).is_some_and(|def| {
            let within = |range: Option<(u8, u8)>, v: u8| range.is_some_and(|(lo, hi)| (lo..=hi).contains(&v));
            match level {
                Level::Segment(upper) => within(def.segments, upper.ordinal()),
                Level::Vertebra(v) => within(def.vertebrae, v.ordinal()),
            }
        })
    })
}

/// The facts of a line or history entry that classify it.
trait Classifiable {
    fn field_value(&self, field: LineField) -> Option<usize>;
    fn has(&self, field: LineField) -> bool;
}

struct LineView<'a> {
    line: &'a ServiceLine,
    target: Option<Target>,
}

impl Classifiable for LineView<'_> {
    fn field_value(&self, field: LineField) -> Option<usize> {
        let l = self.line;
        match field {
            LineField::Target => self.target.map(|t| t.index()),
            LineField::Purpose => l.purpose.map(|v| v.index()),
            LineField::DiagnosticGoal => l.diagnostic_goal.map(|v| v.index()),
            LineField::NeurostimPhase => l.neurostim_phase.map(|v| v.index()),
            LineField::NeurostimKind => l.neurostim_kind.map(|v| v.index()),
            LineField::Side => l.side.map(Side::index),
            LineField::Levels => None,
        }
    }

    fn has(&self, field: LineField) -> bool {
        match field {
            LineField::Levels => self.line.levels.is_some(),
            other => self.field_value(other).is_some(),
        }
    }
}

/// A history entry as the line kinds see it: its target is the code's where the code decides
/// it, and what a line must state to be judged (`needs`) is not asked of history - a prior
/// stellate ganglion block with no side recorded is still a sympathetic block.
struct EntryView<'a> {
    entry: &'a PriorProcedure,
    target: Option<Target>,
}

impl Classifiable for EntryView<'_> {
    fn field_value(&self, field: LineField) -> Option<usize> {
        let e = self.entry;
        match field {
            LineField::Target => self.target.map(|t| t.index()),
            LineField::Purpose => e.purpose.map(|v| v.index()),
            LineField::DiagnosticGoal => e.diagnostic_goal.map(|v| v.index()),
            LineField::NeurostimPhase => e.neurostim_phase.map(|v| v.index()),
            LineField::NeurostimKind => e.neurostim_kind.map(|v| v.index()),
            LineField::Side => e.side.map(Side::index),
            LineField::Levels => None,
        }
    }

    fn has(&self, _field: LineField) -> bool {
        true
    }
}

/// How one line kind fits: chosen, ruled out, or undecidable for lack of these facts.
enum Fit {
    Chosen,
    RuledOut,
    Lacks(Vec<LineField>),
}

fn fit(kind: &LineKind, item: &impl Classifiable) -> Fit {
    let mut lacking = Vec::new();
    for (field, want) in &kind.when {
        match item.field_value(*field) {
            Some(v) if v == *want => {}
            Some(_) => return Fit::RuledOut,
            None if kind.skip_when_missing => return Fit::RuledOut,
            None => lacking.push(*field),
        }
    }
    let needed: Vec<LineField> = kind.needs.iter().copied().filter(|f| !item.has(*f) && !lacking.contains(f)).collect();
    lacking.extend(needed);
    if lacking.is_empty() { Fit::Chosen } else { Fit::Lacks(lacking) }
}

fn kind_covers_code(kind: &LineKind, code: &str) -> bool {
    kind.codes.as_ref().is_some_and(|codes| codes.iter().any(|c| c == code))
}

/// What a line or history entry is: its procedure when one kind fits, else the procedures it
/// could still be and the facts that would tell (`GEN-LINE-1`).
pub(crate) struct Classification {
    pub procedure: Option<ProcId>,
    /// Bit set of the procedures not ruled out.
    pub possible: u64,
    pub needs: Vec<LineField>,
}

fn classify<'k>(kinds: impl Iterator<Item = &'k LineKind>, item: &impl Classifiable) -> Classification {
    let mut possible = 0u64;
    let mut needs: Option<Vec<LineField>> = None;
    for kind in kinds {
        let bit = 1u64 << kind.procedure;
        match fit(kind, item) {
            Fit::Chosen if needs.is_none() => {
                return Classification { procedure: Some(kind.procedure), possible: bit, needs: Vec::new() };
            }
            Fit::Chosen => {
                // An earlier kind lacks a fact: this one is one more possibility, and the last.
                possible |= bit;
                break;
            }
            Fit::RuledOut => {}
            Fit::Lacks(fields) => {
                possible |= bit;
                needs.get_or_insert(fields);
            }
        }
    }
    Classification { procedure: None, possible, needs: needs.unwrap_or_default() }
}

/// A history entry's possible procedures: an entry that lacks a classifying fact could be any
/// procedure it does not rule out (it counts toward limits, never as evidence).
fn entry_info(pack: &Pack, entry: &PriorProcedure) -> EntryInfo {
    let code = entry.code.as_ref().and_then(|c| pack.catalog.codes.get(c.as_str()));
    let applicable = pack.catalog.line_kinds.iter().filter(|k| match code {
        Some(code) => kind_covers_code(k, &code.code),
        None => entry.target.is_some_and(|t| k.targets & (1u64 << t.index()) != 0),
    });
    let view = EntryView { entry, target: code.and_then(|c| c.target).or(entry.target) };
    let class = classify(applicable, &view);
    let (procedures, certain) = (class.possible, class.procedure.is_some());
    let family = code.map(|c| c.family).or_else(|| {
        (procedures != 0)
            .then(|| procedures.trailing_zeros() as usize)
            .and_then(|p| pack.catalog.procedures.get(p))
            .map(|p| p.family)
    });
    let region = code.and_then(|c| c.region).or_else(|| {
        family.and_then(|f| match region_of_levels(pack, f, entry.levels.as_deref()) {
            LineRegion::Known(r) => Some(r),
            _ => None,
        })
    });
    EntryInfo { procedures, certain, region }
}
