//! From pack files to a checked [`Pack`]. Every problem is collected with its file, line and
//! column; a pack that loads has no dangling name, no unknown fact, no test that does not fit
//! its fact, no threshold written as a bare number and no question left unwritten.

use super::error::{PackError, PackErrors};
use super::raw::{
    CodeList, RawConditionMeasure, RawFile, RawLineFilter, RawManifest, RawNode, RawParam, RawScopeRule, RawSelector,
    RawSet, Sp,
};
use super::source::PackSource;
use super::{
    Catalog, CodeEntry, ConditionMeasure, CriteriaSet, DiagnosisPattern, Family, Interpretation, Leaf, LevelMatch,
    LineField, LineFilter, LineKind, Node, NodeId, Pack, PackIdentity, Param, ParamId, Procedure, RegionDef, Role,
    ScopeRule, Selector, Shape,
};
use crate::Decision;
use crate::calendar::Period;
use crate::facts::{self, ArgError, Cmp, DateOp, Kind, Names, Test, Vocab};
use crate::kleene::Truth;
use jiff::civil::Date;
use necessity_case::{Approach, DiagnosisCode, Guidance, Level, ScreenableCondition, Target, Unit};
use serde_json::Value as Json;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::str::FromStr;

type FileId = usize;
/// A named entry of a pack file, with the file it came from.
type Entry<T> = (FileId, Sp<T>);
type Named<T> = BTreeMap<String, Entry<T>>;
/// A compiled leaf: its fact, test, value when missing, label and kind.
/// A leaf's fact, test, value when missing, label and kind, and the question keys it may ask.
type CompiledLeaf = (facts::Fact, Test, Option<Truth>, (String, Kind), Vec<String>);

/// The nodes of `line_rules`.
#[derive(Default)]
struct LineRuleNodes {
    needs: Option<NodeId>,
    no_criteria: Option<NodeId>,
    device: Option<NodeId>,
    device_checks: Vec<NodeId>,
}

/// A place in a pack file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct At {
    file: FileId,
    line: u64,
    column: u64,
}

pub(super) fn compile(source: &PackSource) -> Result<Pack, PackErrors> {
    let mut c = Compiler::new(source);
    let pack = c.run();
    if c.errors.is_empty() {
        pack.map(|mut p| {
            p.warnings = std::mem::take(&mut c.warnings);
            let lens: Vec<usize> = p.sets.iter().map(|s| s.criteria.iter().map(|n| p.trace_len(*n)).sum()).collect();
            for (set, len) in p.sets.iter_mut().zip(lens) {
                set.trace_len = len;
            }
            p
        })
        .ok_or_else(|| PackErrors(Vec::new()))
    } else {
        Err(PackErrors(c.errors))
    }
}

/// Everything a content file defines, tagged with its file.
#[derive(Default)]
struct Merged {
    parameters: BTreeMap<String, (FileId, Sp<RawParam>)>,
    interpretations: BTreeMap<String, (FileId, Sp<super::raw::RawInterpretation>)>,
    families: BTreeMap<String, (FileId, Sp<super::raw::RawFamily>)>,
    region_schemes: Named<BTreeMap<String, Sp<super::raw::RawRegion>>>,
    procedures: BTreeMap<String, (FileId, Sp<super::raw::RawProcedure>)>,
    codes: BTreeMap<String, (FileId, Sp<super::raw::RawCode>)>,
    code_sets: Named<Vec<Sp<String>>>,
    diagnosis_sets: Named<Vec<Sp<String>>>,
    line_kinds: Vec<(FileId, Sp<super::raw::RawLineKind>)>,
    line_rules: Option<(FileId, Sp<super::raw::RawLineRules>)>,
    line_filters: BTreeMap<String, (FileId, Sp<RawLineFilter>)>,
    selectors: BTreeMap<String, (FileId, Sp<RawSelector>)>,
    conditions: BTreeMap<String, (FileId, Sp<RawConditionMeasure>)>,
    questions: BTreeMap<String, (FileId, Sp<String>)>,
    scope_rules: Vec<(FileId, Sp<RawScopeRule>)>,
    criteria: BTreeMap<String, (FileId, Sp<RawNode>)>,
    criteria_sets: BTreeMap<String, (FileId, Sp<RawSet>)>,
    default_sources: Vec<Option<String>>,
}

/// Template bindings and scope while compiling a tree.
#[derive(Clone)]
struct Env {
    bindings: BTreeMap<String, Json>,
    entry_scope: bool,
    /// Whether missing facts become questions (scope rules never ask).
    asks: bool,
}

impl Default for Env {
    fn default() -> Self {
        Self { bindings: BTreeMap::new(), entry_scope: false, asks: true }
    }
}

struct Compiler<'s> {
    source: &'s PackSource,
    files: Vec<(String, &'s str)>,
    errors: Vec<PackError>,
    warnings: Vec<PackError>,
    raw: Merged,
    id_prefixes: Vec<String>,
    params: Vec<Param>,
    param_index: HashMap<String, ParamId>,
    param_used: Vec<bool>,
    interpretations: Vec<Interpretation>,
    interpretation_used: Vec<bool>,
    catalog: Catalog,
    filters: Vec<LineFilter>,
    filter_index: HashMap<String, usize>,
    filter_used: Vec<bool>,
    selectors: Vec<Selector>,
    selector_index: HashMap<String, usize>,
    selector_used: Vec<bool>,
    diagnosis_set_used: Vec<bool>,
    nodes: Vec<Node>,
    /// Compiled definitions without parameters, by name (shared, not copied).
    compiled_defs: HashMap<String, NodeId>,
    defs_in_progress: Vec<String>,
    defs_used: HashSet<String>,
    /// Where each spec id is written, to catch duplicates.
    id_sites: HashMap<String, At>,
    /// Nodes by spec id (first compiled).
    id_nodes: HashMap<String, NodeId>,
    /// Question keys the criteria may ask, with where they are asked first.
    needed_questions: BTreeMap<String, At>,
    /// Criteria sets included by another set.
    sets_included: HashSet<String>,
    /// Overrides, applied once every file is merged.
    pending_overrides: Vec<(String, (FileId, Sp<RawNode>))>,
}

fn spec_id_shape_ok(id: &str) -> bool {
    let mut parts = id.split('-');
    let Some(prefix) = parts.next() else {
        return false;
    };
    if !(2..=5).contains(&prefix.len()) || !prefix.bytes().all(|b| b.is_ascii_uppercase()) {
        return false;
    }
    let rest: Vec<&str> = parts.collect();
    if rest.is_empty() {
        return false;
    }
    let last = rest.len() - 1;
    rest.iter().enumerate().all(|(i, part)| {
        let b = part.as_bytes();
        if b.is_empty() {
            return false;
        }
        let group = b.iter().all(u8::is_ascii_uppercase);
        let number = b.first().is_some_and(u8::is_ascii_digit) && {
            let digits = b.iter().take_while(|c| c.is_ascii_digit()).count();
            let tail = b.get(digits..).unwrap_or_default();
            tail.is_empty() || (tail.len() == 1 && tail.iter().all(u8::is_ascii_lowercase))
        };
        group || (number && i == last)
    })
}

fn is_helper_name(name: &str) -> bool {
    name.bytes().next().is_some_and(|b| b.is_ascii_lowercase())
        && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

fn unit_word(value: f64, unit: Unit) -> String {
    let n = if value.fract() == 0.0 { format!("{value:.0}") } else { format!("{value}") };
    let plural = |one: &str, many: &str| {
        if (value - 1.0).abs() < f64::EPSILON { format!("{n} {one}") } else { format!("{n} {many}") }
    };
    match unit {
        Unit::Score => format!("{n}/10"),
        Unit::Count | Unit::Bmi | Unit::TScore => n,
        Unit::Percent | Unit::Hba1cPercent => format!("{n}%"),
        Unit::Days => plural("day", "days"),
        Unit::Weeks => plural("week", "weeks"),
        Unit::Months => plural("month", "months"),
        Unit::Years => plural("year", "years"),
        Unit::Mm => format!("{n} mm"),
        Unit::Ml => format!("{n} mL"),
        Unit::Celsius => format!("{n} degrees Celsius"),
        Unit::MgMme => format!("{n} mg morphine equivalents"),
    }
}

impl<'s> Compiler<'s> {
    fn new(source: &'s PackSource) -> Self {
        Self {
            source,
            files: Vec::new(),
            errors: Vec::new(),
            warnings: Vec::new(),
            raw: Merged::default(),
            id_prefixes: Vec::new(),
            params: Vec::new(),
            param_index: HashMap::new(),
            param_used: Vec::new(),
            interpretations: Vec::new(),
            interpretation_used: Vec::new(),
            catalog: Catalog::default(),
            filters: Vec::new(),
            filter_index: HashMap::new(),
            filter_used: Vec::new(),
            selectors: Vec::new(),
            selector_index: HashMap::new(),
            selector_used: Vec::new(),
            diagnosis_set_used: Vec::new(),
            nodes: Vec::new(),
            compiled_defs: HashMap::new(),
            defs_in_progress: Vec::new(),
            defs_used: HashSet::new(),
            id_sites: HashMap::new(),
            id_nodes: HashMap::new(),
            needed_questions: BTreeMap::new(),
            sets_included: HashSet::new(),
            pending_overrides: Vec::new(),
        }
    }

    // ----- diagnostics -------------------------------------------------------------------

    fn at<T>(&self, file: FileId, sp: &Sp<T>) -> At {
        At { file, line: sp.referenced.line(), column: sp.referenced.column() }
    }

    fn problem(&self, at: At, message: String, help: Option<String>) -> PackError {
        let (name, text) = self.files.get(at.file).map_or(("pack.yaml", ""), |(n, t)| (n.as_str(), *t));
        let snippet = usize::try_from(at.line)
            .ok()
            .and_then(|l| l.checked_sub(1))
            .and_then(|l| text.lines().nth(l))
            .map(str::to_owned);
        PackError {
            file: format!("{}/{}", self.source.root, name),
            line: at.line,
            column: at.column,
            message,
            help,
            snippet,
        }
    }

    fn error(&mut self, at: At, message: impl Into<String>, help: Option<String>) {
        let e = self.problem(at, message.into(), help);
        self.errors.push(e);
    }

    fn warn(&mut self, at: At, message: impl Into<String>) {
        let w = self.problem(at, message.into(), None);
        self.warnings.push(w);
    }

    // ----- driver ------------------------------------------------------------------------

    fn run(&mut self) -> Option<Pack> {
        let manifest_text = match self.source.file("pack.yaml") {
            Some(t) => t,
            None => {
                self.errors.push(PackError {
                    file: format!("{}/pack.yaml", self.source.root),
                    line: 0,
                    column: 0,
                    message: "the pack has no `pack.yaml`".into(),
                    help: None,
                    snippet: None,
                });
                return None;
            }
        };
        self.files.push(("pack.yaml".into(), manifest_text));
        let manifest: RawManifest = match serde_saphyr::from_str(manifest_text) {
            Ok(m) => m,
            Err(e) => {
                self.yaml_error(0, &e);
                return None;
            }
        };
        let identity = self.identity(&manifest);
        self.id_prefixes = manifest.id_prefixes.iter().map(|p| p.value.clone()).collect();
        self.load_files(&manifest);
        self.apply_overrides();
        if !self.errors.is_empty() {
            return None;
        }
        self.interpretations();
        self.parameters();
        self.catalog();
        self.line_filters();
        self.selectors();
        let conditions = self.conditions();
        let questions = self.raw.questions.iter().map(|(k, (_, v))| (k.clone(), v.value.clone())).collect();
        let sets = self.criteria_sets();
        self.link_procedures(&sets);
        let scope_rules = self.scope_rules();
        let LineRuleNodes {
            needs: line_needs_fact,
            no_criteria: no_criteria_for_code,
            device: device_line,
            device_checks,
        } = self.line_rules();
        self.check_questions();
        self.unused();
        let identity = identity?;
        Some(Pack {
            identity,
            warnings: Vec::new(),
            params: std::mem::take(&mut self.params),
            interpretations: std::mem::take(&mut self.interpretations),
            catalog: std::mem::take(&mut self.catalog),
            selectors: std::mem::take(&mut self.selectors),
            filters: std::mem::take(&mut self.filters),
            conditions,
            questions,
            nodes: std::mem::take(&mut self.nodes),
            sets: sets.into_iter().map(|(_, s)| s).collect(),
            scope_rules,
            line_needs_fact: line_needs_fact?,
            no_criteria_for_code: no_criteria_for_code?,
            device_line,
            device_checks,
            tests_dir: manifest.tests.as_ref().map(|t| t.value.clone()),
        })
    }

    fn yaml_error(&mut self, file: FileId, e: &serde_saphyr::Error) {
        let (line, column) = e.location().map_or((0, 0), |l| (l.line(), l.column()));
        // The parser's own message repeats the location and a snippet; keep its first line.
        let text = e.to_string();
        let message = text.lines().next().unwrap_or("invalid YAML").to_owned();
        let message = message
            .split_once(": ")
            .filter(|(head, _)| head.starts_with("line "))
            .map_or(message.clone(), |(_, m)| m.to_owned());
        self.error(At { file, line, column }, message, None);
    }

    fn date(&mut self, sp: &Sp<String>) -> Option<Date> {
        match Date::from_str(&sp.value) {
            Ok(d) => Some(d),
            Err(_) => {
                let at = self.at(0, sp);
                self.error(at, format!("`{}` is not a date (YYYY-MM-DD)", sp.value), None);
                None
            }
        }
    }

    fn identity(&mut self, m: &RawManifest) -> Option<PackIdentity> {
        let from = self.date(&m.effective_from);
        let to = match &m.effective_to {
            Some(t) => Some(self.date(t)?),
            None => None,
        };
        let from = from?;
        if let Some(to) = to
            && to < from
        {
            let at = m.effective_to.as_ref().map_or(At { file: 0, line: 0, column: 0 }, |t| self.at(0, t));
            self.error(at, format!("`effective_to` {to} is before `effective_from` {from}"), None);
        }
        let mut hasher = Sha256::new();
        let mut add = |name: &str, text: &str| {
            hasher.update(name.as_bytes());
            hasher.update([0]);
            hasher.update((text.len() as u64).to_le_bytes());
            hasher.update(text.as_bytes());
        };
        add("pack.yaml", self.source.file("pack.yaml").unwrap_or_default());
        for f in &m.files {
            add(&f.value, self.source.file(&f.value).unwrap_or_default());
        }
        let hash: String = hasher.finalize().iter().map(|b| format!("{b:02x}")).collect();
        Some(PackIdentity {
            name: m.name.value.clone(),
            version: m.version.value.clone(),
            title: m.title.clone(),
            guideline: m.guideline.clone(),
            effective_from: from,
            effective_to: to,
            content_hash: format!("sha256:{hash}"),
        })
    }

    fn load_files(&mut self, manifest: &RawManifest) {
        for name in &manifest.files {
            let Some(text) = self.source.file(&name.value) else {
                let at = self.at(0, name);
                let help = facts::suggest_name(&name.value, self.source.files.keys().map(String::as_str));
                self.error(at, format!("`{}` is listed but not in the pack folder", name.value), help);
                continue;
            };
            self.files.push((name.value.clone(), text));
            let file = self.files.len() - 1;
            match serde_saphyr::from_str::<RawFile>(text) {
                Ok(raw) => self.merge(file, raw),
                Err(e) => self.yaml_error(file, &e),
            }
        }
    }

    /// Replaces criteria by name with the overrides of a version built on a base.
    fn apply_overrides(&mut self) {
        for (name, (file, node)) in std::mem::take(&mut self.pending_overrides) {
            let at = self.at(file, &node);
            match self.raw.criteria.get_mut(&name) {
                Some(slot) => *slot = (file, node),
                None => self.error(at, format!("`{name}` overrides a criterion the pack does not define"), None),
            }
        }
    }

    fn merge(&mut self, file: FileId, raw: RawFile) {
        macro_rules! merge_map {
            ($field:ident, $what:literal) => {
                for (name, value) in raw.$field {
                    let here = self.at(file, &value);
                    if let Some((other_file, other)) = self.raw.$field.get(&name) {
                        let there = self.at(*other_file, other);
                        let where_ = self.location_text(there);
                        self.error(here, format!("{} `{}` is defined twice (also at {})", $what, name, where_), None);
                    } else {
                        self.raw.$field.insert(name, (file, value));
                    }
                }
            };
        }
        merge_map!(parameters, "parameter");
        merge_map!(interpretations, "interpretation");
        merge_map!(families, "family");
        merge_map!(region_schemes, "region scheme");
        merge_map!(procedures, "procedure");
        merge_map!(codes, "code");
        merge_map!(code_sets, "code set");
        merge_map!(diagnosis_sets, "diagnosis set");
        merge_map!(line_filters, "line filter");
        merge_map!(selectors, "selector");
        merge_map!(conditions, "condition measure");
        merge_map!(questions, "question");
        merge_map!(criteria, "criterion");
        merge_map!(criteria_sets, "criteria set");
        for (name, node) in raw.overrides {
            self.pending_overrides.push((name, (file, node)));
        }
        self.raw.line_kinds.extend(raw.line_kinds.into_iter().map(|k| (file, k)));
        self.raw.scope_rules.extend(raw.scope_rules.into_iter().map(|r| (file, r)));
        if let Some(rules) = raw.line_rules {
            if self.raw.line_rules.is_some() {
                let at = self.at(file, &rules);
                self.error(at, "`line_rules` is defined twice", None);
            } else {
                self.raw.line_rules = Some((file, rules));
            }
        }
        while self.raw.default_sources.len() <= file {
            self.raw.default_sources.push(None);
        }
        if let Some(slot) = self.raw.default_sources.get_mut(file) {
            *slot = raw.source;
        }
    }

    fn location_text(&self, at: At) -> String {
        let name = self.files.get(at.file).map_or("?", |(n, _)| n.as_str());
        format!("{name}:{}:{}", at.line, at.column)
    }

    // ----- parameters and interpretations ------------------------------------------------

    fn parameters(&mut self) {
        let raw = std::mem::take(&mut self.raw.parameters);
        for (name, (file, p)) in &raw {
            let at = self.at(*file, p);
            if !is_helper_name(name) {
                self.error(at, format!("parameter name `{name}` must be snake_case"), None);
            }
            let unit = match Unit::from_str(&p.value.unit.value) {
                Ok(u) => u,
                Err(_) => {
                    let at = self.at(*file, &p.value.unit);
                    let names = Unit::NAMES;
                    self.error(
                        at,
                        format!("`{}` is not a unit", p.value.unit.value),
                        facts::suggest_name(&p.value.unit.value, names.iter().copied()),
                    );
                    continue;
                }
            };
            let value = p.value.value.value;
            let whole = matches!(unit, Unit::Days | Unit::Weeks | Unit::Months | Unit::Years | Unit::Count);
            if !value.is_finite() || (whole && (value.fract() != 0.0 || value < 0.0)) {
                let at = self.at(*file, &p.value.value);
                self.error(at, format!("`{value}` is not a valid value for a parameter in {}", unit.as_str()), None);
            }
            if let Some(i) = &p.value.interpretation {
                let at = self.at(*file, i);
                self.use_interpretation(at, &i.value);
            }
            self.param_index.insert(name.clone(), self.params.len());
            self.params.push(Param {
                name: name.clone(),
                value,
                unit,
                explain: p.value.explain.clone(),
                source: p.value.source.clone(),
            });
            self.param_used.push(false);
        }
        self.raw.parameters = raw;
    }

    fn interpretations(&mut self) {
        for (name, (_, i)) in &self.raw.interpretations {
            self.interpretations.push(Interpretation {
                name: name.clone(),
                explain: i.value.explain.clone(),
                spec: i.value.spec.clone(),
            });
            self.interpretation_used.push(false);
        }
    }

    fn use_interpretation(&mut self, at: At, name: &str) -> Option<usize> {
        match self.interpretations.iter().position(|i| i.name == name) {
            Some(i) => {
                if let Some(u) = self.interpretation_used.get_mut(i) {
                    *u = true;
                }
                Some(i)
            }
            None => {
                let help = facts::suggest_name(name, self.interpretations.iter().map(|i| i.name.as_str()));
                self.error(at, format!("unknown interpretation `{name}`"), help);
                None
            }
        }
    }

    fn param_id(&mut self, at: At, name: &str, units: &[Unit]) -> Option<ParamId> {
        match Names::param(self, name, units) {
            Ok(id) => {
                if let Some(used) = self.param_used.get_mut(id) {
                    *used = true;
                }
                Some(id)
            }
            Err((message, help)) => {
                self.error(at, message, help);
                None
            }
        }
    }

    fn param_display(&self, id: ParamId) -> String {
        self.params.get(id).map_or_else(String::new, |p| unit_word(p.value, p.unit))
    }

    fn period(&self, id: ParamId) -> Period {
        let p = self.params.get(id);
        let (value, unit) = p.map_or((0.0, Unit::Days), |p| (p.value, p.unit));
        #[expect(clippy::cast_possible_truncation, reason = "duration parameters are checked to be whole numbers")]
        let n = value as i64;
        match unit {
            Unit::Days => Period::Days(n),
            Unit::Weeks => Period::Weeks(n),
            Unit::Years => Period::Years(n),
            _ => Period::Months(n),
        }
    }

    // ----- catalog -------------------------------------------------------------------------

    fn catalog(&mut self) {
        // Region schemes.
        let mut scheme_regions: HashMap<String, Vec<usize>> = HashMap::new();
        let schemes = std::mem::take(&mut self.raw.region_schemes);
        for (scheme, (file, regions)) in &schemes {
            let mut ids = Vec::new();
            for (name, region) in &regions.value {
                let at = self.at(*file, region);
                if self.catalog.regions.iter().any(|r| &r.name == name) {
                    self.error(at, format!("region `{name}` is defined in more than one scheme"), None);
                    continue;
                }
                let segments = region.value.segments.as_ref().and_then(|s| self.level_range(*file, s, true));
                let vertebrae = region.value.vertebrae.as_ref().and_then(|s| self.level_range(*file, s, false));
                if segments.is_none() && vertebrae.is_none() {
                    self.error(at, format!("region `{name}` needs `segments` or `vertebrae`"), None);
                }
                ids.push(self.catalog.regions.len());
                self.catalog.regions.push(RegionDef { name: name.clone(), segments, vertebrae });
            }
            scheme_regions.insert(scheme.clone(), ids);
        }
        self.raw.region_schemes = schemes;

        // Families.
        for (name, (file, f)) in &std::mem::take(&mut self.raw.families) {
            let regions = match &f.value.region_scheme {
                Some(s) => match scheme_regions.get(&s.value) {
                    Some(r) => r.clone(),
                    None => {
                        let at = self.at(*file, s);
                        let help = facts::suggest_name(&s.value, scheme_regions.keys().map(String::as_str));
                        self.error(at, format!("unknown region scheme `{}`", s.value), help);
                        Vec::new()
                    }
                },
                None => Vec::new(),
            };
            self.catalog.families.push(Family { name: name.clone(), regions });
        }

        // Procedures (their criteria sets are linked once the sets are compiled).
        let procedures = std::mem::take(&mut self.raw.procedures);
        for (name, (file, p)) in &procedures {
            let Some(family) = self.family_id(*file, &p.value.family) else {
                continue;
            };
            self.catalog.procedures.push(Procedure {
                name: name.clone(),
                label: p.value.label.clone(),
                family,
                criteria: None,
            });
        }
        self.raw.procedures = procedures;
        if self.catalog.procedures.len() > 64 || self.catalog.families.len() > 64 {
            self.error(
                At { file: 0, line: 1, column: 1 },
                "a pack may define at most 64 procedures and 64 families",
                None,
            );
        }

        // Codes.
        let codes = std::mem::take(&mut self.raw.codes);
        for (code, (file, c)) in &codes {
            let at = self.at(*file, c);
            if necessity_case::ProcedureCode::new(code).is_err() {
                self.error(at, format!("`{code}` is not a CPT or HCPCS code"), None);
            }
            let Some(family) = self.family_id(*file, &c.value.family) else {
                continue;
            };
            let region = if c.value.region.value == "any" {
                None
            } else {
                let family_regions = self.catalog.families.get(family).map(|f| f.regions.clone()).unwrap_or_default();
                match family_regions
                    .iter()
                    .copied()
                    .find(|r| self.catalog.regions.get(*r).is_some_and(|d| d.name == c.value.region.value))
                {
                    Some(r) => Some(r),
                    None => {
                        let at = self.at(*file, &c.value.region);
                        let names: Vec<String> = family_regions
                            .iter()
                            .filter_map(|r| self.catalog.regions.get(*r))
                            .map(|r| r.name.clone())
                            .collect();
                        let help = facts::suggest_name(&c.value.region.value, names.iter().map(String::as_str));
                        self.error(
                            at,
                            format!("`{}` is not a region of the family's scheme (nor `any`)", c.value.region.value),
                            help,
                        );
                        None
                    }
                }
            };
            let mut tolerated = 0u64;
            for t in &c.value.tolerates {
                let tat = self.at(*file, t);
                let family_regions = self.catalog.families.get(family).map(|f| f.regions.clone()).unwrap_or_default();
                match family_regions
                    .iter()
                    .copied()
                    .find(|r| self.catalog.regions.get(*r).is_some_and(|d| d.name == t.value))
                {
                    Some(r) => tolerated |= 1u64 << r,
                    None => self.error(tat, format!("`{}` is not a region of the family's scheme", t.value), None),
                }
            }
            let approaches = self.enum_mask(*file, c.value.approach.as_deref().unwrap_or_default(), Approach::NAMES);
            let guidance = self.enum_mask(*file, c.value.guidance.as_deref().unwrap_or_default(), Guidance::NAMES);
            let target = c.value.target.as_ref().and_then(|t| {
                let at = self.at(*file, t);
                self.enum_index(at, &t.value, Target::NAMES).and_then(|i| Target::ALL.get(i).copied())
            });
            let named_targets = match (target, c.value.targets.as_deref()) {
                (Some(t), _) => 1u64 << t.index(),
                (None, Some(list)) => self.enum_mask(*file, list, Target::NAMES),
                (None, None) => 0,
            };
            let add_on_of =
                c.value.add_on_of.as_ref().map(|a| a.iter().map(|s| s.value.clone()).collect()).unwrap_or_default();
            self.catalog.codes.insert(
                code.clone(),
                CodeEntry {
                    code: code.clone(),
                    label: c.value.label.clone(),
                    family,
                    region,
                    tolerated,
                    approaches,
                    guidance,
                    target,
                    named_targets,
                    add_on_of,
                    device: c.value.device,
                },
            );
        }
        for (code, (file, c)) in &codes {
            for primary in c.value.add_on_of.iter().flatten() {
                if !self.catalog.codes.contains_key(&primary.value) {
                    let at = self.at(*file, primary);
                    self.error(
                        at,
                        format!("`{code}` is an add-on of `{}`, which is not in the catalog", primary.value),
                        None,
                    );
                }
            }
        }
        self.raw.codes = codes;

        // Code and diagnosis sets.
        for (name, (file, list)) in &std::mem::take(&mut self.raw.code_sets) {
            let codes = list.value.iter().map(|c| c.value.clone()).collect::<Vec<_>>();
            for c in &list.value {
                if necessity_case::ProcedureCode::new(&c.value).is_err() {
                    let at = self.at(*file, c);
                    self.error(at, format!("`{}` is not a CPT or HCPCS code", c.value), None);
                }
            }
            self.catalog.code_sets.push((name.clone(), codes));
        }
        for (name, (file, list)) in &std::mem::take(&mut self.raw.diagnosis_sets) {
            let mut patterns = Vec::new();
            for p in &list.value {
                let at = self.at(*file, p);
                if let Some(prefix) = p.value.strip_suffix('*') {
                    if prefix.is_empty()
                        || !prefix.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'.')
                    {
                        self.error(at, format!("`{}` is not a diagnosis code prefix", p.value), None);
                    }
                    patterns.push(DiagnosisPattern::Prefix(prefix.to_owned()));
                } else {
                    match DiagnosisCode::new(&p.value) {
                        Ok(code) => patterns.push(DiagnosisPattern::Exact(code.as_str().to_owned())),
                        Err(e) => self.error(at, e, None),
                    }
                }
            }
            self.catalog.diagnosis_sets.push((name.clone(), patterns));
            self.diagnosis_set_used.push(false);
        }

        // Line kinds.
        for (file, kind) in &std::mem::take(&mut self.raw.line_kinds) {
            let at = self.at(*file, kind);
            let codes = kind.value.codes.as_ref().map(|c| self.code_list(*file, c));
            let targets = kind.value.targets.as_deref().map_or(0, |t| self.enum_mask(*file, t, Target::NAMES));
            if codes.is_none() && targets == 0 {
                self.error(at, "a line kind needs `codes` or `targets`", None);
            }
            let mut when = Vec::new();
            for (field, value) in &kind.value.when {
                let vat = self.at(*file, value);
                let Some(f) = self.line_field(vat, field) else {
                    continue;
                };
                let Some(vocab) = f.vocabulary() else {
                    self.error(vat, format!("`{field}` cannot be matched by value"), None);
                    continue;
                };
                if let Some(i) = self.enum_index(vat, &value.value, vocab) {
                    when.push((f, i));
                }
            }
            let needs = kind
                .value
                .needs
                .iter()
                .filter_map(|n| {
                    let nat = self.at(*file, n);
                    self.line_field(nat, &n.value)
                })
                .collect();
            let skip_when_missing = match kind.value.if_missing.as_ref().map(|s| s.value.as_str()) {
                None | Some("ask") => false,
                Some("skip") => true,
                Some(other) => {
                    let iat = kind.value.if_missing.as_ref().map_or(at, |s| self.at(*file, s));
                    self.error(iat, format!("`if_missing` is `ask` or `skip`, not `{other}`"), None);
                    false
                }
            };
            if let Some(i) = &kind.value.interpretation {
                let iat = self.at(*file, i);
                self.use_interpretation(iat, &i.value);
            }
            let Some(procedure) = self.procedure_id(*file, &kind.value.procedure) else {
                continue;
            };
            self.catalog.line_kinds.push(LineKind { codes, targets, when, needs, skip_when_missing, procedure });
        }
    }

    fn level_range(&mut self, file: FileId, range: &Sp<[String; 2]>, segments: bool) -> Option<(u8, u8)> {
        let at = self.at(file, range);
        let parse = |s: &str| -> Option<u8> {
            match (s.parse::<Level>().ok()?, segments) {
                (Level::Segment(upper), true) | (Level::Vertebra(upper), false) => Some(upper.ordinal()),
                _ => None,
            }
        };
        let [a, b] = &range.value;
        match (parse(a), parse(b)) {
            (Some(lo), Some(hi)) if lo <= hi => Some((lo, hi)),
            _ => {
                let what = if segments { "segments such as `L1-L2`" } else { "vertebrae such as `L1`" };
                self.error(at, format!("`[{a}, {b}]` is not a range of {what}, head to tail"), None);
                None
            }
        }
    }

    fn family_id(&mut self, file: FileId, name: &Sp<String>) -> Option<usize> {
        let found = self.catalog.families.iter().position(|f| f.name == name.value);
        if found.is_none() {
            let at = self.at(file, name);
            let help = facts::suggest_name(&name.value, self.catalog.families.iter().map(|f| f.name.as_str()));
            self.error(at, format!("unknown family `{}`", name.value), help);
        }
        found
    }

    fn procedure_id(&mut self, file: FileId, name: &Sp<String>) -> Option<usize> {
        let at = self.at(file, name);
        self.procedure_by_name(at, &name.value)
    }

    fn procedure_by_name(&mut self, at: At, name: &str) -> Option<usize> {
        let found = self.catalog.procedures.iter().position(|p| p.name == name);
        if found.is_none() {
            let help = facts::suggest_name(name, self.catalog.procedures.iter().map(|p| p.name.as_str()));
            self.error(at, format!("unknown procedure `{name}`"), help);
        }
        found
    }

    fn line_field(&mut self, at: At, name: &str) -> Option<LineField> {
        let found = LineField::ALL.iter().find(|(n, _)| *n == name).map(|(_, f)| *f);
        if found.is_none() {
            let help = facts::suggest_name(name, LineField::ALL.iter().map(|(n, _)| *n));
            self.error(at, format!("`{name}` is not a line fact that classifies lines"), help);
        }
        found
    }

    fn enum_index(&mut self, at: At, value: &str, vocabulary: &[&str]) -> Option<usize> {
        let found = vocabulary.iter().position(|v| *v == value);
        if found.is_none() {
            let help = facts::suggest_name(value, vocabulary.iter().copied());
            self.error(at, format!("`{value}` is not one of {}", quoted(vocabulary)), help);
        }
        found
    }

    fn enum_mask(&mut self, file: FileId, values: &[Sp<String>], vocabulary: &[&str]) -> u64 {
        let mut mask = 0;
        for v in values {
            let at = self.at(file, v);
            if let Some(i) = self.enum_index(at, &v.value, vocabulary) {
                mask |= 1u64 << i;
            }
        }
        mask
    }

    /// Codes of a list or a named set; every code must be in the catalog.
    fn code_list(&mut self, file: FileId, list: &Sp<CodeList>) -> Vec<String> {
        let at = self.at(file, list);
        let codes = match &list.value {
            CodeList::Set(name) => match self.catalog.code_sets.iter().find(|(n, _)| n == name) {
                Some((_, codes)) => codes.clone(),
                None => {
                    let help = facts::suggest_name(name, self.catalog.code_sets.iter().map(|(n, _)| n.as_str()));
                    self.error(at, format!("unknown code set `{name}`"), help);
                    Vec::new()
                }
            },
            CodeList::Codes(codes) => codes.clone(),
        };
        for code in &codes {
            if !self.catalog.codes.contains_key(code) {
                self.error(at, format!("code `{code}` is not in the catalog"), None);
            }
        }
        codes
    }

    // ----- line filters and selectors -----------------------------------------------------

    fn line_filters(&mut self) {
        for (name, (file, f)) in &std::mem::take(&mut self.raw.line_filters) {
            let mut families = 0u64;
            for fam in &f.value.families {
                if let Some(i) = self.family_id(*file, fam) {
                    families |= 1u64 << i;
                }
            }
            let mut procedures = 0u64;
            for p in &f.value.procedures {
                if let Some(i) = self.procedure_id(*file, p) {
                    procedures |= 1u64 << i;
                }
            }
            let approaches = self.enum_mask(*file, &f.value.approaches, Approach::NAMES);
            let neurostim_kinds = self.enum_mask(*file, &f.value.neurostim_kinds, necessity_case::NeurostimKind::NAMES);
            self.filter_index.insert(name.clone(), self.filters.len());
            self.filters.push(LineFilter { families, procedures, approaches, neurostim_kinds });
            self.filter_used.push(false);
        }
    }

    fn selectors(&mut self) {
        let raw = std::mem::take(&mut self.raw.selectors);
        // Register names first so that `where` tests cannot refer to selectors out of order.
        for (i, name) in raw.keys().enumerate() {
            self.selector_index.insert(name.clone(), i);
        }
        for (name, (file, s)) in &raw {
            let at = self.at(*file, s);
            let mut procedures = 0u64;
            for p in &s.value.procedures {
                if let Some(i) = self.procedure_id(*file, p) {
                    procedures |= 1u64 << i;
                }
            }
            let word = |this: &mut Self, value: &Option<Sp<String>>, choices: &[&str], default: &str| -> String {
                match value {
                    None => default.to_owned(),
                    Some(v) if choices.contains(&v.value.as_str()) => v.value.clone(),
                    Some(v) => {
                        let vat = this.at(*file, v);
                        this.error(
                            vat,
                            format!("`{}` is not one of {}", v.value, quoted(choices)),
                            facts::suggest_name(&v.value, choices.iter().copied()),
                        );
                        default.to_owned()
                    }
                }
            };
            let region = word(self, &s.value.region, &["same", "any"], "any");
            let levels = word(self, &s.value.levels, &["any", "shared", "each"], "any");
            let side = word(self, &s.value.side, &["any", "overlapping"], "any");
            let uncertain = word(self, &Some(s.value.uncertain.clone()), &["count", "ignore"], "ignore");
            let within = s.value.within.as_ref().and_then(|w| {
                let wat = self.at(*file, w);
                self.param_id(wat, &w.value, &[Unit::Days, Unit::Weeks, Unit::Months, Unit::Years])
            });
            let older_than = s.value.older_than.as_ref().and_then(|w| {
                let wat = self.at(*file, w);
                self.param_id(wat, &w.value, &[Unit::Days, Unit::Weeks, Unit::Months, Unit::Years])
            });
            for p in within.iter().chain(older_than.iter()) {
                if let Some(u) = self.param_used.get_mut(*p) {
                    *u = true;
                }
            }
            if let Some(i) = &s.value.interpretation {
                let iat = self.at(*file, i);
                self.use_interpretation(iat, &i.value);
            }
            let env = Env { bindings: BTreeMap::new(), entry_scope: true, asks: true };
            let where_ = s.value.r#where.iter().filter_map(|w| self.node(*file, w, &env, None)).collect();
            if procedures == 0 {
                self.error(at, format!("selector `{name}` selects no procedure"), None);
            }
            self.selectors.push(Selector {
                name: name.clone(),
                procedures,
                same_region: region == "same",
                levels: match levels.as_str() {
                    "shared" => LevelMatch::Shared,
                    "each" => LevelMatch::Each,
                    _ => LevelMatch::Any,
                },
                overlapping_side: side == "overlapping",
                within,
                older_than,
                count_uncertain: uncertain == "count",
                where_,
            });
            self.selector_used.push(false);
        }
    }

    fn conditions(&mut self) -> Vec<Option<ConditionMeasure>> {
        let mut measures: Vec<Option<ConditionMeasure>> = ScreenableCondition::ALL.iter().map(|_| None).collect();
        for (name, (file, m)) in &std::mem::take(&mut self.raw.conditions) {
            let at = self.at(*file, m);
            let Some(index) = self.enum_index(at, name, ScreenableCondition::NAMES) else {
                continue;
            };
            let fat = self.at(*file, &m.value.fact);
            let raw = RawNode {
                fact: Some(m.value.fact.clone()),
                within: m.value.within.clone(),
                at_most: m.value.at_most.clone(),
                at_least: m.value.at_least.clone(),
                ..RawNode::default()
            };
            // A measurement that is not given falls back to the screening: it is never asked.
            let env = Env { asks: false, ..Env::default() };
            let Some((fact, test, _, _, _)) = self.leaf(*file, fat, &raw, &env) else {
                continue;
            };
            if let Some(slot) = measures.get_mut(index) {
                *slot = Some(ConditionMeasure { fact, test });
            }
        }
        measures
    }

    // ----- criteria -----------------------------------------------------------------------

    fn criteria_sets(&mut self) -> Vec<(String, CriteriaSet)> {
        let raw = std::mem::take(&mut self.raw.criteria_sets);
        let mut out = Vec::new();
        for (name, (file, set)) in &raw {
            let mut criteria = Vec::new();
            let mut visiting = vec![name.clone()];
            self.set_members(&raw, *file, set, &mut criteria, &mut visiting);
            for &id in &criteria {
                let node = self.nodes.get(id);
                if node.is_some_and(|n| n.id.is_none() && n.name.is_none()) {
                    let at = self.at(*file, set);
                    self.error(
                        at,
                        format!("criteria set `{name}`: every top-level criterion needs an id or a name"),
                        None,
                    );
                    break;
                }
            }
            out.push((name.clone(), CriteriaSet { trace_len: 0, criteria }));
        }
        self.raw.criteria_sets = raw;
        out
    }

    fn set_members(
        &mut self,
        all: &BTreeMap<String, (FileId, Sp<RawSet>)>,
        file: FileId,
        set: &Sp<RawSet>,
        into: &mut Vec<NodeId>,
        visiting: &mut Vec<String>,
    ) {
        for include in &set.value.include {
            let at = self.at(file, include);
            match all.get(&include.value) {
                Some(_) if visiting.contains(&include.value) => {
                    self.error(at, format!("criteria set `{}` includes itself", include.value), None);
                }
                Some((ifile, inner)) => {
                    self.sets_included.insert(include.value.clone());
                    visiting.push(include.value.clone());
                    self.set_members(all, *ifile, inner, into, visiting);
                    visiting.pop();
                }
                None => {
                    let help = facts::suggest_name(&include.value, all.keys().map(String::as_str));
                    self.error(at, format!("unknown criteria set `{}`", include.value), help);
                }
            }
        }
        let default_source = self.default_source(file);
        for raw in &set.value.criteria {
            if let Some(id) = self.node(file, raw, &Env::default(), default_source.clone()) {
                into.push(id);
            }
        }
    }

    fn default_source(&self, file: FileId) -> Option<String> {
        self.raw.default_sources.get(file).cloned().flatten()
    }

    fn link_procedures(&mut self, sets: &[(String, CriteriaSet)]) {
        let raw = std::mem::take(&mut self.raw.procedures);
        for (name, (file, p)) in &raw {
            let Some(criteria) = &p.value.criteria else {
                continue;
            };
            let found = sets.iter().position(|(n, _)| *n == criteria.value);
            if found.is_none() {
                let at = self.at(*file, criteria);
                let help = facts::suggest_name(&criteria.value, sets.iter().map(|(n, _)| n.as_str()));
                self.error(at, format!("unknown criteria set `{}`", criteria.value), help);
            }
            if let Some(proc) = self.catalog.procedures.iter_mut().find(|x| &x.name == name) {
                proc.criteria = found;
            }
        }
        for (name, (file, set)) in &std::mem::take(&mut self.raw.criteria_sets) {
            let used = self
                .catalog
                .procedures
                .iter()
                .any(|p| p.criteria.and_then(|c| sets.get(c)).is_some_and(|(n, _)| n == name));
            if !used && !self.sets_included.contains(name) {
                let at = self.at(*file, set);
                self.warn(at, format!("criteria set `{name}` is used by no procedure"));
            }
        }
        self.raw.procedures = raw;
    }

    fn scope_rules(&mut self) -> Vec<ScopeRule> {
        let mut rules = Vec::new();
        for (file, rule) in &std::mem::take(&mut self.raw.scope_rules) {
            let at = self.at(*file, rule);
            let decision = match rule.value.decision.value.as_str() {
                "notification_only" => Decision::NotificationOnly,
                "out_of_scope" => Decision::OutOfScope,
                other => {
                    let dat = self.at(*file, &rule.value.decision);
                    self.error(
                        dat,
                        format!("a scope rule decides `notification_only` or `out_of_scope`, not `{other}`"),
                        None,
                    );
                    continue;
                }
            };
            let codes = rule.value.codes.as_ref().map(|c| self.code_list(*file, c));
            let mut wrapper = rule.value.test.clone();
            wrapper.value.id = Some(rule.value.id.clone());
            wrapper.value.explain = Some(rule.value.explain.clone());
            wrapper.value.source = rule.value.source.clone().or_else(|| self.default_source(*file));
            let env = Env { asks: false, ..Env::default() };
            let Some(node) = self.node(*file, &wrapper, &env, None) else {
                continue;
            };
            if let Some(n) = self.nodes.get_mut(node) {
                n.role = Role::Scope;
            }
            let _ = at;
            rules.push(ScopeRule { node, decision, codes });
        }
        rules
    }

    fn line_rules(&mut self) -> LineRuleNodes {
        let Some((file, rules)) = self.raw.line_rules.take() else {
            self.error(
                At { file: 0, line: 1, column: 1 },
                "the pack needs `line_rules` (the ids for lines that cannot be classified)",
                None,
            );
            return LineRuleNodes::default();
        };
        let needs = self.id_reference(file, &rules.value.line_needs_fact);
        if needs.is_some() {
            let at = self.at(file, &rules.value.line_needs_fact);
            for (name, _) in LineField::ALL {
                self.needed_questions.entry(format!("line.{name}")).or_insert(at);
            }
        }
        let no_criteria = self.id_reference(file, &rules.value.no_criteria_for_code);
        let device = rules.value.device_line.as_ref().and_then(|d| self.id_reference(file, d));
        if device.is_some() {
            let at = self.at(file, &rules.value.line_needs_fact);
            self.needed_questions.entry("line.procedure_line".into()).or_insert(at);
        } else if self.catalog.codes.values().any(|c| c.device) {
            let at = self.at(file, &rules.value.line_needs_fact);
            self.error(at, "the catalog has device codes: `line_rules` needs `device_line`", None);
        }
        let device_checks = rules.value.device_checks.iter().filter_map(|c| self.criterion(file, c)).collect();
        LineRuleNodes { needs, no_criteria, device, device_checks }
    }

    /// A node that carries an id's explanation, for reasons the engine reports itself.
    fn id_reference(&mut self, file: FileId, id: &Sp<String>) -> Option<NodeId> {
        let target = self.criterion(file, id)?;
        let n = self.nodes.get(target)?;
        let node = Node {
            index: self.nodes.len(),
            id: n.id.clone(),
            name: None,
            role: n.role,
            explain: n.explain.clone(),
            source: n.source.clone(),
            interpretation: n.interpretation,
            applies_if: None,
            shape: Shape::All(Vec::new()),
        };
        self.nodes.push(node);
        Some(self.nodes.len() - 1)
    }

    /// The compiled node of a criterion named by id, compiling it if nothing has used it yet.
    fn criterion(&mut self, file: FileId, id: &Sp<String>) -> Option<NodeId> {
        let at = self.at(file, id);
        let target = match self.id_nodes.get(&id.value) {
            Some(n) => *n,
            None => match self.raw.criteria.get(&id.value).map(|(f, n)| (*f, n.clone())) {
                Some((dfile, def)) => {
                    self.defs_used.insert(id.value.clone());
                    self.definition(dfile, &id.value, &def, &Env::default(), at)?
                }
                None => {
                    self.error(at, format!("`{}` is not a defined criterion", id.value), None);
                    return None;
                }
            },
        };
        Some(target)
    }

    /// Compiles a named definition (memoized when it has no parameters).
    fn definition(&mut self, file: FileId, name: &str, raw: &Sp<RawNode>, env: &Env, used_at: At) -> Option<NodeId> {
        let has_params = raw.value.params.as_ref().is_some_and(|p| !p.is_empty());
        if !has_params && let Some(id) = self.compiled_defs.get(name) {
            return Some(*id);
        }
        if self.defs_in_progress.iter().any(|n| n == name) {
            self.error(
                used_at,
                format!("`{name}` refers to itself through {}", self.defs_in_progress.join(" -> ")),
                None,
            );
            return None;
        }
        self.defs_in_progress.push(name.to_owned());
        let mut named = raw.clone();
        if spec_id_shape_ok(name) {
            if named.value.id.is_some() {
                let at = self.at(file, raw);
                self.error(at, format!("`{name}` is already named by its key; remove `id`"), None);
            }
            named.value.id = Some(Sp::new(name.to_owned(), raw.referenced, raw.defined));
        } else if !is_helper_name(name) {
            let at = self.at(file, raw);
            self.error(
                at,
                format!("`{name}` is neither a spec id (such as `ESI-INIT-2`) nor a snake_case helper name"),
                None,
            );
        }
        let default_source = self.default_source(file);
        let result =
            self.node_named(file, &named, env, default_source, (!spec_id_shape_ok(name)).then(|| name.to_owned()));
        self.defs_in_progress.pop();
        if !has_params && let Some(id) = result {
            self.compiled_defs.insert(name.to_owned(), id);
        }
        result
    }

    fn node(&mut self, file: FileId, raw: &Sp<RawNode>, env: &Env, default_source: Option<String>) -> Option<NodeId> {
        self.node_named(file, raw, env, default_source, None)
    }

    fn subst(&mut self, at: At, text: &str, env: &Env) -> Option<String> {
        match text.strip_prefix('$') {
            Some(param) => match env.bindings.get(param) {
                Some(Json::String(v)) => Some(v.clone()),
                Some(other) => {
                    self.error(at, format!("`${param}` is bound to `{other}`, but a name is needed here"), None);
                    None
                }
                None => {
                    self.error(at, format!("`${param}` is not a parameter of this definition"), None);
                    None
                }
            },
            None => Some(text.to_owned()),
        }
    }

    fn subst_json(&mut self, at: At, value: &Json, env: &Env) -> Json {
        match value {
            Json::String(s) if s.starts_with('$') => match env.bindings.get(s.get(1..).unwrap_or_default()) {
                Some(bound) => bound.clone(),
                None => {
                    self.error(at, format!("`{s}` is not a parameter of this definition"), None);
                    Json::Null
                }
            },
            Json::Array(items) => Json::Array(items.iter().map(|i| self.subst_json(at, i, env)).collect()),
            other => other.clone(),
        }
    }

    /// `{name}` in an explanation becomes the parameter's value with its unit; `{$p}` first
    /// becomes the bound parameter's name.
    fn explain(&mut self, at: At, text: &str, env: &Env) -> String {
        if text.contains('\n') {
            self.error(at, "an explanation is one line", None);
        }
        let mut out = String::new();
        let mut rest = text;
        while let Some(open) = rest.find('{') {
            out.push_str(rest.get(..open).unwrap_or_default());
            let after = rest.get(open + 1..).unwrap_or_default();
            let Some(close) = after.find('}') else {
                self.error(at, "an explanation has `{` without `}`", None);
                return out;
            };
            let name = after.get(..close).unwrap_or_default();
            let name = self.subst(at, name, env).unwrap_or_default();
            match self.param_id(at, &name, &[]) {
                Some(id) => out.push_str(&self.param_display(id)),
                None => out.push_str(&name),
            }
            rest = after.get(close + 1..).unwrap_or_default();
        }
        out.push_str(rest);
        out
    }

    fn check_id(&mut self, at: At, id: &str) {
        if !spec_id_shape_ok(id) {
            self.error(
                at,
                format!("`{id}` is not a spec id: expected SECTION-GROUP-N such as `ESI-INIT-2` or `EPI-X-3`"),
                None,
            );
            return;
        }
        let prefix = id.split('-').next().unwrap_or_default();
        if !self.id_prefixes.iter().any(|p| p == prefix) {
            let help = facts::suggest_name(prefix, self.id_prefixes.iter().map(String::as_str));
            self.error(
                at,
                format!("`{id}` has the prefix `{prefix}`, which `pack.yaml` does not list in `id_prefixes`"),
                help,
            );
        }
        match self.id_sites.get(id) {
            Some(site) if *site != at => {
                let where_ = self.location_text(*site);
                self.error(at, format!("spec id `{id}` is defined twice (also at {where_})"), None);
            }
            Some(_) => {}
            None => {
                self.id_sites.insert(id.to_owned(), at);
            }
        }
    }

    #[expect(clippy::too_many_lines, reason = "one match over the node shapes reads best in one place")]
    fn node_named(
        &mut self,
        file: FileId,
        raw: &Sp<RawNode>,
        env: &Env,
        default_source: Option<String>,
        helper_name: Option<String>,
    ) -> Option<NodeId> {
        let at = self.at(file, raw);
        let r = &raw.value;
        let id = r.id.as_ref().map(|i| {
            let iat = self.at(file, i);
            self.check_id(iat, &i.value);
            i.value.clone()
        });
        let role = id.as_deref().map_or(Role::Requirement, Role::from_id);
        if r.params.is_some() && helper_name.is_none() && id.is_none() {
            self.error(at, "`params` belongs to a named definition", None);
        }
        let explain = match &r.explain {
            Some(e) => {
                let eat = self.at(file, e);
                Some(self.explain(eat, &e.value, env))
            }
            None => None,
        };
        let source = r.source.clone().or(default_source.clone());
        if let Some(id) = &id {
            if explain.is_none() {
                self.error(at, format!("`{id}` needs `explain`: one line in our own words"), None);
            }
            if source.is_none() {
                self.error(at, format!("`{id}` needs `source`: the guideline section it comes from"), None);
            }
        }
        let interpretation = r.interpretation.as_ref().and_then(|i| {
            let iat = self.at(file, i);
            self.use_interpretation(iat, &i.value)
        });
        let applies_if = r.applies_if.as_ref().and_then(|a| self.node(file, a, env, None));

        let is_leaf = r.fact.is_some() || r.condition.is_some();
        let mut shapes: Vec<&str> = Vec::new();
        if is_leaf {
            shapes.push(if r.fact.is_some() { "fact" } else { "condition" });
        }
        if r.fact.is_some() && r.condition.is_some() {
            shapes.push("condition");
        }
        for (present, name) in [
            (r.all.is_some(), "all"),
            (r.any.is_some(), "any"),
            (r.of.is_some(), "of"),
            (r.not.is_some(), "not"),
            (r.reference.is_some(), "ref"),
            (r.if_.is_some(), "if"),
        ] {
            if present {
                shapes.push(name);
            }
        }
        if shapes.len() > 1 {
            self.error(at, format!("a node has exactly one shape, this one has {}", quoted(&shapes)), None);
            return None;
        }
        if !is_leaf && r.with.is_some() && r.reference.is_none() {
            self.error(at, "`with` belongs to a `fact` or a `ref`", None);
        }

        let children = |this: &mut Self, list: &[Sp<RawNode>]| -> Vec<NodeId> {
            list.iter().filter_map(|c| this.node(file, c, env, default_source.clone())).collect()
        };
        let shape = if is_leaf {
            let (fact, test, missing_as, label_kind, reads) = self.leaf(file, at, r, env)?;
            let (label, kind) = label_kind;
            let anchor = match &r.anchor {
                None => None,
                Some(a) => {
                    let aat = self.at(file, a);
                    let name = self.subst(aat, &a.value, env)?;
                    if kind != Kind::Date {
                        self.error(aat, "`anchor` belongs to date tests", None);
                    }
                    self.anchor(aat, &name)
                }
            };
            Shape::Leaf(Leaf { fact, test, missing_as, label, kind, anchor, reads })
        } else if let Some(list) = &r.all {
            Shape::All(children(self, list))
        } else if let Some(list) = &r.any {
            Shape::Any(children(self, list))
        } else if let Some(list) = &r.of {
            let Some(n) = &r.at_least else {
                self.error(at, "`of` needs `at_least: <parameter>`", None);
                return None;
            };
            let nat = self.at(file, n);
            let name = self.subst(nat, &n.value, env)?;
            let param = self.param_id(nat, &name, &[Unit::Count])?;
            #[expect(
                clippy::cast_possible_truncation,
                clippy::cast_sign_loss,
                reason = "count parameters are whole and non-negative"
            )]
            let n = self.params.get(param).map_or(0, |p| p.value as usize);
            Shape::AtLeast { n, of: children(self, list) }
        } else if let Some(inner) = &r.not {
            Shape::Not(self.node(file, inner, env, default_source.clone())?)
        } else if let Some(condition) = &r.if_ {
            let (Some(then), Some(otherwise)) = (&r.then, &r.else_) else {
                self.error(at, "`if` needs `then` and `else`", None);
                return None;
            };
            let pend_when_unknown = match r.if_unknown.as_ref().map(|v| v.value.as_str()) {
                None | Some("both") => false,
                Some("pend") => true,
                Some(other) => {
                    self.error(at, format!("`if_unknown` is `both` or `pend`, not `{other}`"), None);
                    false
                }
            };
            Shape::Choose {
                condition: self.node(file, condition, env, default_source.clone())?,
                then: self.node(file, then, env, default_source.clone())?,
                otherwise: self.node(file, otherwise, env, default_source.clone())?,
                pend_when_unknown,
            }
        } else if let Some(reference) = &r.reference {
            let rat = self.at(file, reference);
            let target = self.reference(file, rat, &reference.value, r.with.as_ref(), env)?;
            if id.is_none() && explain.is_none() && helper_name.is_none() {
                if applies_if.is_none() {
                    return Some(target);
                }
                // The same criterion, applied only when `applies_if` holds: it keeps its identity.
                let t = self.nodes.get(target)?;
                let node = Node {
                    index: self.nodes.len(),
                    id: t.id.clone(),
                    name: t.name.clone(),
                    role: t.role,
                    explain: t.explain.clone(),
                    source: t.source.clone(),
                    interpretation: t.interpretation,
                    applies_if,
                    shape: Shape::All(vec![target]),
                };
                self.nodes.push(node);
                return Some(self.nodes.len() - 1);
            }
            Shape::All(vec![target])
        } else {
            if role != Role::Advisory {
                self.error(
                    at,
                    "a node needs a shape: `all`, `any`, `at_least` + `of`, `not`, `ref`, `if` or `fact`",
                    None,
                );
                return None;
            }
            Shape::All(Vec::new())
        };
        if r.then.is_some() && r.if_.is_none() || r.else_.is_some() && r.if_.is_none() {
            self.error(at, "`then` and `else` belong to `if`", None);
        }
        if r.at_least.is_some() && !is_leaf && r.of.is_none() {
            self.error(at, "`at_least` needs `of` (a list of criteria) or `fact`", None);
        }
        self.nodes.push(Node {
            index: self.nodes.len(),
            id: id.clone(),
            name: helper_name,
            role,
            explain,
            source,
            interpretation,
            applies_if,
            shape,
        });
        let index = self.nodes.len() - 1;
        if let Some(id) = id {
            self.id_nodes.entry(id).or_insert(index);
        }
        Some(index)
    }

    fn reference(
        &mut self,
        file: FileId,
        at: At,
        name: &str,
        with: Option<&BTreeMap<String, Sp<Json>>>,
        env: &Env,
    ) -> Option<NodeId> {
        let name = self.subst(at, name, env)?;
        let Some((dfile, def)) = self.raw.criteria.get(&name).map(|(f, d)| (*f, d.clone())) else {
            let help = facts::suggest_name(&name, self.raw.criteria.keys().map(String::as_str));
            self.error(at, format!("`{name}` is not a defined criterion"), help);
            return None;
        };
        self.defs_used.insert(name.clone());
        let formal: Vec<String> = def.value.params.iter().flatten().map(|p| p.value.clone()).collect();
        let mut bindings = BTreeMap::new();
        for (arg, value) in with.into_iter().flatten() {
            let vat = self.at(file, value);
            if !formal.contains(arg) {
                let help = facts::suggest_name(arg, formal.iter().map(String::as_str));
                self.error(vat, format!("`{name}` has no parameter `{arg}`"), help);
                continue;
            }
            let bound = self.subst_json(vat, &value.value, env);
            bindings.insert(arg.clone(), bound);
        }
        for p in &formal {
            if !bindings.contains_key(p) {
                match def.value.defaults.as_ref().and_then(|d| d.get(p)) {
                    Some(default) => {
                        bindings.insert(p.clone(), default.value.clone());
                    }
                    None => {
                        self.error(at, format!("`{name}` needs `{p}` under `with:`"), None);
                        return None;
                    }
                }
            }
        }
        let inner_env = Env { bindings, entry_scope: env.entry_scope, asks: env.asks };
        if formal.is_empty() {
            self.definition(dfile, &name, &def, &inner_env, at)
        } else {
            // Definitions with parameters are compiled per use; track cycles by name.
            if self.defs_in_progress.contains(&name) {
                self.error(at, format!("`{name}` refers to itself"), None);
                return None;
            }
            self.defs_in_progress.push(name.clone());
            let mut named = def.clone();
            let helper = if spec_id_shape_ok(&name) {
                named.value.id = Some(Sp::new(name.clone(), def.referenced, def.defined));
                None
            } else {
                Some(name.clone())
            };
            let default_source = self.default_source(dfile);
            let result = self.node_named(dfile, &named, &inner_env, default_source, helper);
            self.defs_in_progress.pop();
            result
        }
    }

    /// A leaf: its fact, its test, what a missing fact means, and how it reads.
    #[expect(clippy::too_many_lines, reason = "one match over the tests reads best in one place")]
    fn leaf(&mut self, file: FileId, at: At, r: &RawNode, env: &Env) -> Option<CompiledLeaf> {
        let (name, nat) = match (&r.fact, &r.condition) {
            (Some(f), _) => (self.subst(self.at(file, f), &f.value, env)?, self.at(file, f)),
            (None, Some(c)) => {
                (format!("condition.{}", self.subst(self.at(file, c), &c.value, env)?), self.at(file, c))
            }
            (None, None) => return None,
        };
        let mut args: BTreeMap<String, Json> = BTreeMap::new();
        let mut arg_sites: BTreeMap<String, At> = BTreeMap::new();
        for (k, v) in r.with.iter().flatten() {
            let vat = self.at(file, v);
            args.insert(k.clone(), self.subst_json(vat, &v.value, env));
            arg_sites.insert(k.clone(), vat);
        }
        let names = NamesView { c: self, entry_scope: env.entry_scope };
        let resolved = facts::resolve(&name, &args, &names);
        let resolved = match resolved {
            Ok(r) => r,
            Err(ArgError { arg, message, help }) => {
                let eat = arg.and_then(|a| arg_sites.get(&a).copied()).unwrap_or(nat);
                self.error(eat, message, help);
                return None;
            }
        };
        self.mark_used_from_args(&args);
        if env.asks {
            for key in &resolved.reads {
                self.needed_questions.entry(key.clone()).or_insert(nat);
            }
        }
        let kind = resolved.kind;

        // Exactly one test.
        let ops: Vec<&str> = [
            (r.is.is_some(), "is"),
            (r.one_of.is_some(), "one_of"),
            (r.not_one_of.is_some(), "not_one_of"),
            (r.at_least.is_some(), "at_least"),
            (r.at_most.is_some(), "at_most"),
            (r.above.is_some(), "above"),
            (r.below.is_some(), "below"),
            (r.includes_any.is_some(), "includes_any"),
            (r.includes_only.is_some(), "includes_only"),
            (r.includes_none.is_some(), "includes_none"),
            (r.count_at_least.is_some(), "count_at_least"),
            (r.count_at_most.is_some(), "count_at_most"),
            (r.within.is_some(), "within"),
            (r.more_than_before.is_some(), "more_than_before"),
            (r.at_least_ago.is_some(), "at_least_ago"),
            (r.given.is_some(), "given"),
            (r.none.is_some(), "none"),
            (r.some.is_some(), "some"),
        ]
        .into_iter()
        .filter_map(|(present, name)| present.then_some(name))
        .collect();
        if ops.len() > 1 {
            self.error(at, format!("a test has one operator, this one has {}", quoted(&ops)), None);
            return None;
        }
        let mismatch = |this: &mut Self, op: &str| {
            this.error(at, format!("`{op}` does not apply to `{name}`, which is {}", kind.describe()), None);
        };
        let param_of = |this: &mut Self, sp: &Sp<String>, units: &[Unit]| -> Option<(ParamId, f64, String)> {
            let pat = this.at(file, sp);
            let pname = this.subst(pat, &sp.value, env)?;
            let id = this.param_id(pat, &pname, units)?;
            let value = this.params.get(id).map_or(0.0, |p| p.value);
            Some((id, value, pname))
        };
        let number_units = |kind: Kind| -> Vec<Unit> {
            match kind {
                Kind::Number(u) => vec![u],
                Kind::Count => vec![Unit::Count],
                _ => Vec::new(),
            }
        };
        let vocab_names = |this: &Self, vocab: Vocab| -> Vec<String> {
            match vocab {
                Vocab::Static(v) => v.iter().map(|s| (*s).to_owned()).collect(),
                Vocab::Families => this.catalog.families.iter().map(|f| f.name.clone()).collect(),
                Vocab::Procedures => this.catalog.procedures.iter().map(|p| p.name.clone()).collect(),
                Vocab::Regions => this.catalog.regions.iter().map(|r| r.name.clone()).collect(),
            }
        };
        let mask_of = |this: &mut Self, vocab: Vocab, values: &[String], vat: At| -> Option<u64> {
            let names = vocab_names(this, vocab);
            let refs: Vec<&str> = names.iter().map(String::as_str).collect();
            let mut mask = 0u64;
            for v in values {
                let v = this.subst(vat, v, env)?;
                mask |= 1u64 << this.enum_index(vat, &v, &refs)?;
            }
            Some(mask)
        };

        let op = ops.first().copied().unwrap_or(if kind == Kind::Bool { "is" } else { "" });
        let (test, label_tail) = match op {
            "is" => match (kind, r.is.as_ref().map(|v| &v.value)) {
                (Kind::Bool, None | Some(Json::Bool(true))) => (Test::Is(true), String::new()),
                (Kind::Bool, Some(Json::Bool(false))) => (Test::Is(false), " is false".into()),
                (Kind::Enum(vocab), Some(Json::String(s))) => {
                    let vat = r.is.as_ref().map_or(at, |v| self.at(file, v));
                    let mask = mask_of(self, vocab, std::slice::from_ref(s), vat)?;
                    (Test::InSet { mask, negate: false }, format!(" is {s}"))
                }
                (_, Some(v)) => {
                    self.error(at, format!("`is: {v}` does not fit `{name}`, which is {}", kind.describe()), None);
                    return None;
                }
                (_, None) => {
                    self.error(
                        at,
                        format!("`{name}` is {}: give a test such as `at_least`, `one_of` or `given`", kind.describe()),
                        None,
                    );
                    return None;
                }
            },
            "one_of" | "not_one_of" => {
                let negate = op == "not_one_of";
                let list = if negate { r.not_one_of.as_ref() } else { r.one_of.as_ref() }?;
                let vat = self.at(file, list);
                match kind {
                    Kind::Enum(vocab) => {
                        let mask = mask_of(self, vocab, &list.value, vat)?;
                        (Test::InSet { mask, negate }, format!(" {op} [{}]", list.value.join(", ")))
                    }
                    Kind::Text if !negate => {
                        let mut codes = Vec::new();
                        for item in &list.value {
                            let item = self.subst(vat, item, env)?;
                            match self.catalog.code_sets.iter().find(|(n, _)| *n == item) {
                                Some((_, set)) => codes.extend(set.iter().cloned()),
                                None if self.catalog.codes.contains_key(&item) => codes.push(item),
                                None => self.error(
                                    vat,
                                    format!("`{item}` is neither a catalogued code nor a code set"),
                                    None,
                                ),
                            }
                        }
                        (Test::CodeIn(codes), format!(" one_of [{}]", list.value.join(", ")))
                    }
                    _ => {
                        mismatch(self, op);
                        return None;
                    }
                }
            }
            "at_least" | "at_most" | "above" | "below" => {
                let cmp = match op {
                    "at_least" => Cmp::AtLeast,
                    "at_most" => Cmp::AtMost,
                    "above" => Cmp::Above,
                    _ => Cmp::Below,
                };
                let sp = match op {
                    "at_least" => r.at_least.as_ref(),
                    "at_most" => r.at_most.as_ref(),
                    "above" => r.above.as_ref(),
                    _ => r.below.as_ref(),
                }?;
                let units = number_units(kind);
                if units.is_empty() {
                    mismatch(self, op);
                    return None;
                }
                let (param, threshold, pname) = param_of(self, sp, &units)?;
                (Test::Compare { cmp, threshold }, format!(" {} {pname} ({})", cmp.word(), self.param_display(param)))
            }
            "within" | "more_than_before" | "at_least_ago" => {
                if kind != Kind::Date {
                    mismatch(self, op);
                    return None;
                }
                let (dop, sp) = match op {
                    "within" => (DateOp::Within, r.within.as_ref()),
                    "more_than_before" => (DateOp::MoreThanBefore, r.more_than_before.as_ref()),
                    _ => (DateOp::AtLeastAgo, r.at_least_ago.as_ref()),
                };
                let (param, _, pname) = param_of(self, sp?, &[Unit::Days, Unit::Weeks, Unit::Months, Unit::Years])?;
                let period = self.period(param);
                (Test::Date { op: dop, period }, format!(" {} {pname} ({})", dop.word(), self.param_display(param)))
            }
            "includes_any" => {
                let sp = r.includes_any.as_ref()?;
                let vat = self.at(file, sp);
                match (kind, &sp.value) {
                    (Kind::EnumList(vocab), Json::Array(items)) => {
                        let values: Vec<String> = items.iter().filter_map(|i| i.as_str().map(str::to_owned)).collect();
                        let mask = mask_of(self, vocab, &values, vat)?;
                        (Test::ListAny(mask), format!(" includes_any [{}]", values.join(", ")))
                    }
                    (Kind::Levels, Json::Array(items)) => {
                        let mut levels = Vec::new();
                        for item in items {
                            match item.as_str().map(str::parse::<Level>) {
                                Some(Ok(level)) => levels.push(level),
                                _ => {
                                    self.error(vat, format!("`{item}` is not a spinal level"), None);
                                    return None;
                                }
                            }
                        }
                        let shown: Vec<String> = levels.iter().map(ToString::to_string).collect();
                        (Test::LevelsAny(levels), format!(" includes_any [{}]", shown.join(", ")))
                    }
                    (Kind::Diagnoses, Json::String(set)) => {
                        let set = self.subst(vat, set, env)?;
                        let id = match Names::diagnosis_set(self, &set) {
                            Ok(id) => id,
                            Err((m, h)) => {
                                self.error(vat, m, h);
                                return None;
                            }
                        };
                        let patterns = self.catalog.diagnosis_sets.get(id).map(|(_, p)| p.clone()).unwrap_or_default();
                        (Test::DiagnosesAny(patterns), format!(" includes_any {set}"))
                    }
                    _ => {
                        self.error(vat, format!("`includes_any` on `{name}` takes a list of its values (or, for diagnoses, a diagnosis set)"), None);
                        return None;
                    }
                }
            }
            "includes_only" | "includes_none" => {
                let sp = if op == "includes_only" { r.includes_only.as_ref() } else { r.includes_none.as_ref() }?;
                let vat = self.at(file, sp);
                let Kind::EnumList(vocab) = kind else {
                    mismatch(self, op);
                    return None;
                };
                let mask = mask_of(self, vocab, &sp.value, vat)?;
                let test = if op == "includes_only" { Test::ListOnly(mask) } else { Test::ListNone(mask) };
                (test, format!(" {op} [{}]", sp.value.join(", ")))
            }
            "count_at_least" | "count_at_most" => {
                if !matches!(kind, Kind::EnumList(_) | Kind::Levels) {
                    mismatch(self, op);
                    return None;
                }
                let (cmp, sp) = if op == "count_at_least" {
                    (Cmp::AtLeast, r.count_at_least.as_ref())
                } else {
                    (Cmp::AtMost, r.count_at_most.as_ref())
                };
                let (param, threshold, pname) = param_of(self, sp?, &[Unit::Count])?;
                (Test::ListCount { cmp, threshold }, format!(" {op} {pname} ({})", self.param_display(param)))
            }
            "given" => {
                if r.given.as_ref().is_some_and(|g| !g.value) {
                    self.error(at, "`given: false` is not a test; use `given: true`", None);
                }
                (Test::Given, " given".into())
            }
            "none" | "some" => {
                if !matches!(kind, Kind::Count | Kind::Records | Kind::EnumList(_) | Kind::Levels) {
                    mismatch(self, op);
                    return None;
                }
                let flag = if op == "none" { r.none.as_ref() } else { r.some.as_ref() };
                if flag.is_some_and(|f| !f.value) {
                    self.error(
                        at,
                        format!(
                            "`{op}: false` is not a test; use `{}: true`",
                            if op == "none" { "some" } else { "none" }
                        ),
                        None,
                    );
                }
                (Test::Zero(op == "none"), format!(" {op}"))
            }
            _ => {
                self.error(
                    at,
                    format!("`{name}` is {}: give a test such as `at_least`, `one_of` or `given`", kind.describe()),
                    None,
                );
                return None;
            }
        };
        let missing_as = match r.missing.as_ref().map(|m| m.value.as_str()) {
            None => None,
            Some("met" | "present") => Some(Truth::Met),
            Some("not_met" | "absent") => Some(Truth::NotMet),
            Some(other) => {
                let mat = r.missing.as_ref().map_or(at, |m| self.at(file, m));
                self.error(mat, format!("`missing` is `met`, `not_met`, `present` or `absent`, not `{other}`"), None);
                None
            }
        };
        let args_text = if args.is_empty() {
            String::new()
        } else {
            let parts: Vec<String> = args
                .iter()
                .map(|(k, v)| match v {
                    Json::String(s) => format!("{k}: {s}"),
                    Json::Array(items) => {
                        format!("{k}: [{}]", items.iter().filter_map(Json::as_str).collect::<Vec<_>>().join(", "))
                    }
                    other => format!("{k}: {other}"),
                })
                .collect();
            format!("({})", parts.join(", "))
        };
        let label = format!("{name}{args_text}{label_tail}");
        Some((resolved.fact, test, missing_as, (label, kind), resolved.reads))
    }

    /// `service_date` (no anchor) or a selector whose latest entry's date is the anchor.
    fn anchor(&mut self, at: At, name: &str) -> Option<usize> {
        if name == "service_date" {
            return None;
        }
        match Names::selector(self, name) {
            Ok(id) => {
                if let Some(used) = self.selector_used.get_mut(id) {
                    *used = true;
                }
                Some(id)
            }
            Err((message, help)) => {
                self.error(at, message, help);
                None
            }
        }
    }

    fn mark_used_from_args(&mut self, args: &BTreeMap<String, Json>) {
        for v in args.values() {
            let words: Vec<&str> = match v {
                Json::String(s) => vec![s.as_str()],
                Json::Array(items) => items.iter().filter_map(Json::as_str).collect(),
                _ => Vec::new(),
            };
            for w in words {
                if let Some(i) = self.param_index.get(w).copied()
                    && let Some(u) = self.param_used.get_mut(i)
                {
                    *u = true;
                }
                if let Some(i) = self.selector_index.get(w).copied()
                    && let Some(u) = self.selector_used.get_mut(i)
                {
                    *u = true;
                }
                if let Some(i) = self.filter_index.get(w).copied()
                    && let Some(u) = self.filter_used.get_mut(i)
                {
                    *u = true;
                }
                if let Some(i) = self.catalog.diagnosis_sets.iter().position(|(n, _)| n == w)
                    && let Some(u) = self.diagnosis_set_used.get_mut(i)
                {
                    *u = true;
                }
            }
        }
    }

    // ----- completeness -------------------------------------------------------------------

    fn check_questions(&mut self) {
        let needed = std::mem::take(&mut self.needed_questions);
        for (key, at) in &needed {
            if !self.raw.questions.contains_key(key) {
                self.error(
                    *at,
                    format!("no question for `{key}`, which this criterion may ask for"),
                    Some("add it under `questions:`".into()),
                );
            }
        }
        let unused: Vec<(String, At)> = self
            .raw
            .questions
            .iter()
            .filter(|(k, _)| !needed.contains_key(*k))
            .map(|(k, (f, v))| (k.clone(), self.at(*f, v)))
            .collect();
        for (key, at) in unused {
            self.warn(at, format!("question `{key}` is never asked"));
        }
    }

    fn unused(&mut self) {
        let params: Vec<(String, At)> = self
            .params
            .iter()
            .zip(&self.param_used)
            .filter(|(_, used)| !**used)
            .filter_map(|(p, _)| self.raw.parameters.get(&p.name).map(|(f, raw)| (p.name.clone(), self.at(*f, raw))))
            .collect();
        for (name, at) in params {
            self.warn(at, format!("parameter `{name}` is never used"));
        }
        let defs: Vec<(String, At)> = self
            .raw
            .criteria
            .iter()
            .filter(|(k, _)| !self.defs_used.contains(*k) && !self.compiled_defs.contains_key(*k))
            .map(|(k, (f, v))| (k.clone(), self.at(*f, v)))
            .collect();
        for (name, at) in defs {
            self.warn(at, format!("criterion `{name}` is never used"));
        }
        let interpretations: Vec<(String, At)> = self
            .interpretations
            .iter()
            .zip(&self.interpretation_used)
            .filter(|(_, u)| !**u)
            .filter_map(|(i, _)| {
                self.raw.interpretations.get(&i.name).map(|(f, raw)| (i.name.clone(), self.at(*f, raw)))
            })
            .collect();
        for (name, at) in interpretations {
            self.warn(at, format!("interpretation `{name}` is never referred to"));
        }
        let selectors: Vec<(String, At)> = self
            .selectors
            .iter()
            .zip(&self.selector_used)
            .filter(|(_, u)| !**u)
            .filter_map(|(s, _)| self.raw.selectors.get(&s.name).map(|(f, raw)| (s.name.clone(), self.at(*f, raw))))
            .collect();
        for (name, at) in selectors {
            self.warn(at, format!("selector `{name}` is never used"));
        }
    }
}

fn quoted(names: &[&str]) -> String {
    names.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")
}

/// The compiler's names, as the fact vocabulary asks for them.
struct NamesView<'c, 's> {
    c: &'c Compiler<'s>,
    entry_scope: bool,
}

impl Names for Compiler<'_> {
    fn param(&self, name: &str, units: &[Unit]) -> Result<ParamId, (String, Option<String>)> {
        NamesView { c: self, entry_scope: false }.param(name, units)
    }
    fn selector(&self, name: &str) -> Result<usize, (String, Option<String>)> {
        NamesView { c: self, entry_scope: false }.selector(name)
    }
    fn filter(&self, name: &str) -> Result<usize, (String, Option<String>)> {
        NamesView { c: self, entry_scope: false }.filter(name)
    }
    fn diagnosis_set(&self, name: &str) -> Result<usize, (String, Option<String>)> {
        NamesView { c: self, entry_scope: false }.diagnosis_set(name)
    }
    fn family(&self, name: &str) -> Result<usize, (String, Option<String>)> {
        NamesView { c: self, entry_scope: false }.family(name)
    }
    fn in_entry_scope(&self) -> bool {
        false
    }
}

impl Names for NamesView<'_, '_> {
    fn param(&self, name: &str, units: &[Unit]) -> Result<ParamId, (String, Option<String>)> {
        let Some(id) = self.c.param_index.get(name).copied() else {
            if name.parse::<f64>().is_ok() {
                return Err((
                    format!("`{name}` is a bare number: every threshold is a named parameter"),
                    Some("define it under `parameters:` and use its name".into()),
                ));
            }
            return Err((
                format!("unknown parameter `{name}`"),
                facts::suggest_name(name, self.c.params.iter().map(|p| p.name.as_str())),
            ));
        };
        let unit = self.c.params.get(id).map(|p| p.unit);
        match unit {
            Some(u) if units.is_empty() || units.contains(&u) => Ok(id),
            Some(u) => Err((
                format!(
                    "parameter `{name}` is in {}, but this needs {}",
                    u.as_str(),
                    units.iter().map(|u| u.as_str()).collect::<Vec<_>>().join(" or ")
                ),
                None,
            )),
            None => Err((format!("unknown parameter `{name}`"), None)),
        }
    }

    fn selector(&self, name: &str) -> Result<usize, (String, Option<String>)> {
        self.c.selector_index.get(name).copied().ok_or_else(|| {
            (
                format!("unknown selector `{name}`"),
                facts::suggest_name(name, self.c.selector_index.keys().map(String::as_str)),
            )
        })
    }

    fn filter(&self, name: &str) -> Result<usize, (String, Option<String>)> {
        self.c.filter_index.get(name).copied().ok_or_else(|| {
            (
                format!("unknown line filter `{name}`"),
                facts::suggest_name(name, self.c.filter_index.keys().map(String::as_str)),
            )
        })
    }

    fn diagnosis_set(&self, name: &str) -> Result<usize, (String, Option<String>)> {
        self.c.catalog.diagnosis_sets.iter().position(|(n, _)| n == name).ok_or_else(|| {
            (
                format!("unknown diagnosis set `{name}`"),
                facts::suggest_name(name, self.c.catalog.diagnosis_sets.iter().map(|(n, _)| n.as_str())),
            )
        })
    }

    fn in_entry_scope(&self) -> bool {
        self.entry_scope
    }

    fn family(&self, name: &str) -> Result<usize, (String, Option<String>)> {
        self.c.catalog.families.iter().position(|f| f.name == name).ok_or_else(|| {
            (
                format!("unknown family `{name}`"),
                facts::suggest_name(name, self.c.catalog.families.iter().map(|f| f.name.as_str())),
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::spec_id_shape_ok;

    #[test]
    fn spec_id_shapes() {
        for ok in [
            "ESI-INIT-2",
            "ESI-INIT-2a",
            "EPI-X-3",
            "GEN-T",
            "GEN-SEV",
            "SCS-TRIAL-P-1",
            "MBB-PARS",
            "SNRB-1",
            "FCT-X-20",
        ] {
            assert!(spec_id_shape_ok(ok), "{ok}");
        }
        for bad in ["esi-init-2", "ESI", "ESI-", "ESI-2-INIT", "E-X-1", "ESI-INIT-2A", "ESI--2", "ESI-INIT-2ab"] {
            assert!(!spec_id_shape_ok(bad), "{bad}");
        }
    }
}
