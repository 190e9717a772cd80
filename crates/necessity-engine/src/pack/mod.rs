//! The policy pack: the clinical content as checked data. Loaded once from a folder of YAML
//! files (`pack.yaml` lists them), validated completely, then evaluated many times.

mod compile;
mod error;
mod raw;
mod source;

pub use error::{PackError, PackErrors, PackWarning};
pub use source::PackSource;

use crate::facts::{Fact, Test};
use crate::kleene::Truth;
use jiff::civil::Date;
use necessity_case::{Target, Unit};
use std::collections::HashMap;

pub(crate) type NodeId = usize;
pub(crate) type ParamId = usize;
pub(crate) type ProcId = usize;
pub(crate) type FamilyId = usize;
pub(crate) type RegionId = usize;
pub(crate) type SelectorId = usize;
pub(crate) type FilterId = usize;
pub(crate) type SetId = usize;
pub(crate) type DiagnosisSetId = usize;

/// Who a pack is: enough to reproduce any determination made with it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PackIdentity {
    pub name: String,
    pub version: String,
    pub title: String,
    pub guideline: String,
    pub effective_from: Date,
    /// Last day in force; `None` while the version is current.
    pub effective_to: Option<Date>,
    /// SHA-256 over every file of the pack, in load order.
    pub content_hash: String,
}

/// A loaded, fully validated policy pack.
#[derive(Debug)]
pub struct Pack {
    pub identity: PackIdentity,
    /// Problems that do not stop the pack from loading (an unused parameter, say).
    pub warnings: Vec<PackWarning>,
    pub(crate) params: Vec<Param>,
    pub(crate) interpretations: Vec<Interpretation>,
    pub(crate) catalog: Catalog,
    pub(crate) selectors: Vec<Selector>,
    pub(crate) filters: Vec<LineFilter>,
    pub(crate) conditions: Vec<Option<ConditionMeasure>>,
    pub(crate) questions: HashMap<String, String>,
    pub(crate) nodes: Vec<Node>,
    pub(crate) sets: Vec<CriteriaSet>,
    pub(crate) scope_rules: Vec<ScopeRule>,
    pub(crate) line_needs_fact: NodeId,
    pub(crate) no_criteria_for_code: NodeId,
    pub(crate) device_line: Option<NodeId>,
    /// Criteria device lines are checked against besides their procedure line's decision.
    pub(crate) device_checks: Vec<NodeId>,
    pub(crate) tests_dir: Option<String>,
}

/// A named number of the pack.
#[derive(Debug, Clone)]
pub struct Param {
    pub name: String,
    pub value: f64,
    pub unit: Unit,
    pub explain: String,
    pub source: String,
}

/// A documented reading of the spec where it is silent or ambiguous.
#[derive(Debug, Clone)]
pub struct Interpretation {
    pub name: String,
    pub explain: String,
    pub spec: String,
}

#[derive(Debug, Default)]
pub(crate) struct Catalog {
    pub families: Vec<Family>,
    pub regions: Vec<RegionDef>,
    pub procedures: Vec<Procedure>,
    pub codes: HashMap<String, CodeEntry>,
    pub code_sets: Vec<(String, Vec<String>)>,
    pub diagnosis_sets: Vec<(String, Vec<DiagnosisPattern>)>,
    pub line_kinds: Vec<LineKind>,
}

#[derive(Debug)]
pub(crate) struct Family {
    pub name: String,
    /// Regions of the family's scheme (indexes into `Catalog::regions`).
    pub regions: Vec<RegionId>,
}

#[derive(Debug)]
pub(crate) struct RegionDef {
    pub name: String,
    /// Inclusive range of segment upper-vertebra ordinals.
    pub segments: Option<(u8, u8)>,
    /// Inclusive range of vertebra ordinals.
    pub vertebrae: Option<(u8, u8)>,
}

#[derive(Debug)]
pub(crate) struct Procedure {
    pub name: String,
    pub label: String,
    pub family: FamilyId,
    pub criteria: Option<SetId>,
}

#[derive(Debug)]
pub(crate) struct CodeEntry {
    pub code: String,
    pub label: String,
    pub family: FamilyId,
    /// `None`: any region, decided by the levels.
    pub region: Option<RegionId>,
    /// Bit set of regions whose levels are not a coding error on this code.
    pub tolerated: u64,
    /// Approaches the code allows (bit set over `Approach`); 0 when the line says.
    pub approaches: u64,
    /// Guidance the code implies (bit set over `Guidance`); 0 when the line says.
    pub guidance: u64,
    pub target: Option<Target>,
    /// Bit set over `Target` of what the code can target (0: anything).
    pub named_targets: u64,
    pub add_on_of: Vec<String>,
    pub device: bool,
}

/// An ICD-10-CM code or a prefix (`O*`) in a diagnosis set.
#[derive(Debug, Clone)]
pub(crate) enum DiagnosisPattern {
    Exact(String),
    Prefix(String),
}

impl DiagnosisPattern {
    pub(crate) fn matches(&self, code: &str) -> bool {
        match self {
            Self::Exact(c) => c == code,
            Self::Prefix(p) => code.starts_with(p.as_str()),
        }
    }
}

/// Line facts that classify a line (`when`, `needs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LineField {
    Target,
    Purpose,
    DiagnosticGoal,
    NeurostimPhase,
    NeurostimKind,
    Side,
    Levels,
}

impl LineField {
    pub(crate) const ALL: [(&'static str, Self); 7] = [
        ("target", Self::Target),
        ("purpose", Self::Purpose),
        ("diagnostic_goal", Self::DiagnosticGoal),
        ("neurostim_phase", Self::NeurostimPhase),
        ("neurostim_kind", Self::NeurostimKind),
        ("side", Self::Side),
        ("levels", Self::Levels),
    ];

    pub(crate) fn name(self) -> &'static str {
        Self::ALL.iter().find(|(_, f)| *f == self).map_or("", |(n, _)| n)
    }

    /// The vocabulary of the field's values, for `when`.
    pub(crate) fn vocabulary(self) -> Option<&'static [&'static str]> {
        use necessity_case as c;
        match self {
            Self::Target => Some(c::Target::NAMES),
            Self::Purpose => Some(c::Purpose::NAMES),
            Self::DiagnosticGoal => Some(c::DiagnosticGoal::NAMES),
            Self::NeurostimPhase => Some(c::NeurostimPhase::NAMES),
            Self::NeurostimKind => Some(c::NeurostimKind::NAMES),
            Self::Side => Some(c::Side::NAMES),
            Self::Levels => None,
        }
    }
}

#[derive(Debug)]
pub(crate) struct LineKind {
    pub codes: Option<Vec<String>>,
    /// Bit set over `Target`, for history entries that carry no code.
    pub targets: u64,
    pub when: Vec<(LineField, usize)>,
    pub needs: Vec<LineField>,
    /// A missing `when` fact rules the kind out instead of asking for it.
    pub skip_when_missing: bool,
    pub procedure: ProcId,
}

/// Which prior procedures a history query looks at.
#[derive(Debug)]
pub(crate) struct Selector {
    pub name: String,
    /// Bit set over procedures.
    pub procedures: u64,
    pub same_region: bool,
    pub levels: LevelMatch,
    pub overlapping_side: bool,
    pub within: Option<ParamId>,
    pub older_than: Option<ParamId>,
    /// Entries whose procedure or region cannot be told count (limits) or are ignored
    /// (evidence).
    pub count_uncertain: bool,
    pub where_: Vec<NodeId>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LevelMatch {
    Any,
    Shared,
    Each,
}

/// Which lines of the session a session fact counts.
#[derive(Debug)]
pub(crate) struct LineFilter {
    /// Bit sets; 0 means "any".
    pub families: u64,
    pub procedures: u64,
    pub approaches: u64,
    pub neurostim_kinds: u64,
}

/// A measurement that decides a screenable condition when it is given.
#[derive(Debug)]
pub(crate) struct ConditionMeasure {
    pub fact: Fact,
    pub test: Test,
}

/// A criteria node: a combinator or a leaf test, with its spec id when the spec names it.
#[derive(Debug)]
pub struct Node {
    /// Position in the pack's node list (`Pack::nodes`).
    pub(crate) index: usize,
    pub id: Option<String>,
    /// Name of a helper definition that has no spec id.
    pub name: Option<String>,
    pub role: Role,
    pub explain: Option<String>,
    pub source: Option<String>,
    pub(crate) interpretation: Option<usize>,
    pub(crate) applies_if: Option<NodeId>,
    pub(crate) shape: Shape,
}

#[derive(Debug)]
pub(crate) enum Shape {
    All(Vec<NodeId>),
    Any(Vec<NodeId>),
    AtLeast {
        n: usize,
        of: Vec<NodeId>,
    },
    Not(NodeId),
    Choose {
        condition: NodeId,
        then: NodeId,
        otherwise: NodeId,
        /// With an unknown condition, stay unknown without evaluating either branch (so only
        /// the condition is asked for), instead of evaluating both.
        pend_when_unknown: bool,
    },
    Leaf(Leaf),
}

#[derive(Debug)]
pub(crate) struct Leaf {
    pub fact: Fact,
    pub test: Test,
    /// The value when the fact is missing; `None`: unknown.
    pub missing_as: Option<Truth>,
    /// Date tests count back from the latest entry this selector picks, not the service date.
    pub anchor: Option<SelectorId>,
    /// How the leaf reads in a trace, e.g. `clinical.pain_score at_least gen_sev_pain_min (3)`.
    pub label: String,
    pub kind: crate::facts::Kind,
    /// The question keys the fact may ask (`clinical.pain_score`, `history.relief_percent`).
    pub reads: Vec<String>,
}

/// What a node's value means, from the group letter of its id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Requirement,
    /// `P`: procedural requirement or limit.
    Limit,
    /// `X`: holds = not medically necessary.
    Exclusion,
    /// `C`: holds = must not be auto-approved.
    Contraindication,
    /// `N`: shown, never decides.
    Advisory,
    /// `S`: scope rule.
    Scope,
}

impl Role {
    pub(crate) fn from_id(id: &str) -> Self {
        for group in id.split('-').skip(1) {
            match group {
                "X" => return Self::Exclusion,
                "C" => return Self::Contraindication,
                "N" => return Self::Advisory,
                "P" => return Self::Limit,
                "S" => return Self::Scope,
                _ => {}
            }
        }
        Self::Requirement
    }

    /// Exclusions and contraindications fail the line when they hold.
    #[must_use]
    pub fn holds_against(self) -> bool {
        matches!(self, Self::Exclusion | Self::Contraindication)
    }
}

#[derive(Debug)]
pub(crate) struct CriteriaSet {
    /// Nodes a trace of the set holds, to size it once.
    pub trace_len: usize,
    pub criteria: Vec<NodeId>,
}

#[derive(Debug)]
pub(crate) struct ScopeRule {
    pub node: NodeId,
    pub decision: crate::Decision,
    pub codes: Option<Vec<String>>,
}

impl Pack {
    /// Loads and validates a pack.
    pub fn load(source: &PackSource) -> Result<Self, PackErrors> {
        compile::compile(source)
    }

    /// Every parameter, in name order.
    #[must_use]
    pub fn parameters(&self) -> &[Param] {
        &self.params
    }

    /// Every documented interpretation.
    #[must_use]
    pub fn interpretations(&self) -> &[Interpretation] {
        &self.interpretations
    }

    /// The folder of the pack's own test cases, relative to the pack folder.
    #[must_use]
    pub fn tests_dir(&self) -> Option<&str> {
        self.tests_dir.as_deref()
    }

    /// Every criteria node, in load order.
    #[must_use]
    pub fn nodes(&self) -> &[Node] {
        &self.nodes
    }

    /// Every spec id the pack implements.
    pub fn spec_ids(&self) -> impl Iterator<Item = &str> {
        let mut ids: Vec<&str> = self.nodes.iter().filter_map(|n| n.id.as_deref()).collect();
        ids.sort_unstable();
        ids.dedup();
        ids.into_iter()
    }

    /// Whether the pack is in force on this date.
    #[must_use]
    pub fn in_force_on(&self, date: Date) -> bool {
        date >= self.identity.effective_from && self.identity.effective_to.is_none_or(|to| date <= to)
    }

    pub(crate) fn node(&self, id: NodeId) -> &Node {
        // Node ids come from the compiler, which only hands out ids of nodes it pushed.
        #[expect(clippy::indexing_slicing, reason = "ids are created by the compiler for this arena")]
        &self.nodes[id]
    }

    pub(crate) fn param(&self, id: ParamId) -> &Param {
        #[expect(clippy::indexing_slicing, reason = "ids are created by the compiler for this arena")]
        &self.params[id]
    }

    pub(crate) fn set(&self, id: SetId) -> &CriteriaSet {
        #[expect(clippy::indexing_slicing, reason = "ids are created by the compiler for this arena")]
        &self.sets[id]
    }

    pub(crate) fn question(&self, key: &str) -> Option<&str> {
        self.questions.get(key).map(String::as_str)
    }
}

impl Pack {
    /// How many nodes a trace of this node holds.
    pub(crate) fn trace_len(&self, id: NodeId) -> usize {
        1 + match &self.node(id).shape {
            Shape::All(c) | Shape::Any(c) | Shape::AtLeast { of: c, .. } => c.iter().map(|c| self.trace_len(*c)).sum(),
            Shape::Not(c) => self.trace_len(*c),
            Shape::Choose { condition, then, otherwise, .. } => {
                self.trace_len(*condition) + self.trace_len(*then) + self.trace_len(*otherwise)
            }
            Shape::Leaf(_) => 0,
        }
    }
}

/// Nodes are the same when they are the same node of a pack.
impl PartialEq for Node {
    fn eq(&self, other: &Self) -> bool {
        self.index == other.index
    }
}

impl Eq for Node {}

impl Node {
    /// Position in [`Pack::nodes`], for renderers that cache per node.
    #[must_use]
    pub fn index(&self) -> usize {
        self.index
    }

    /// The node's shape as the pack writes it.
    #[must_use]
    pub fn shape_name(&self) -> &'static str {
        match self.shape {
            Shape::All(_) => "all",
            Shape::Any(_) => "any",
            Shape::AtLeast { .. } => "at_least",
            Shape::Not(_) => "not",
            Shape::Choose { .. } => "if",
            Shape::Leaf(_) => "test",
        }
    }

    /// The leaf's test as written, for leaves.
    #[must_use]
    pub fn test_label(&self) -> Option<&str> {
        match &self.shape {
            Shape::Leaf(leaf) => Some(&leaf.label),
            _ => None,
        }
    }
}
