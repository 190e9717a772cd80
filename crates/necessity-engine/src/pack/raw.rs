//! The pack files as written: YAML structures with source locations, before any checking.
//! `compile` turns them into the checked [`super::Pack`].

use serde::Deserialize;
use serde_saphyr::Spanned;
use std::collections::BTreeMap;

pub(crate) type Sp<T> = Spanned<T>;

/// `pack.yaml`: who the pack is and which files hold it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawManifest {
    pub name: Sp<String>,
    pub version: Sp<String>,
    pub title: String,
    /// The guideline the criteria restate, by name.
    pub guideline: String,
    pub effective_from: Sp<String>,
    pub effective_to: Option<Sp<String>>,
    /// Spec id prefixes the pack may use (`GEN`, `EPI`, ...).
    pub id_prefixes: Vec<Sp<String>>,
    /// Content files, in load order.
    pub files: Vec<Sp<String>>,
    /// Folder of test cases, relative to the pack folder.
    pub tests: Option<Sp<String>>,
    /// Another version this one builds on: its content files are read too (see `PackSource`),
    /// and `overrides` replace its criteria.
    #[expect(dead_code, reason = "resolved by PackSource when files are read; declared so the manifest accepts it")]
    pub base: Option<Sp<String>>,
}

/// One content file. Every section is optional; the pack is the union of its files and a name
/// defined twice is an error.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawFile {
    /// Default guideline section for the file's criteria.
    pub source: Option<String>,
    #[serde(default)]
    pub parameters: BTreeMap<String, Sp<RawParam>>,
    #[serde(default)]
    pub interpretations: BTreeMap<String, Sp<RawInterpretation>>,
    #[serde(default)]
    pub families: BTreeMap<String, Sp<RawFamily>>,
    #[serde(default)]
    pub region_schemes: BTreeMap<String, Sp<BTreeMap<String, Sp<RawRegion>>>>,
    #[serde(default)]
    pub procedures: BTreeMap<String, Sp<RawProcedure>>,
    #[serde(default)]
    pub codes: BTreeMap<String, Sp<RawCode>>,
    #[serde(default)]
    pub code_sets: BTreeMap<String, Sp<Vec<Sp<String>>>>,
    #[serde(default)]
    pub diagnosis_sets: BTreeMap<String, Sp<Vec<Sp<String>>>>,
    #[serde(default)]
    pub line_kinds: Vec<Sp<RawLineKind>>,
    pub line_rules: Option<Sp<RawLineRules>>,
    #[serde(default)]
    pub line_filters: BTreeMap<String, Sp<RawLineFilter>>,
    #[serde(default)]
    pub selectors: BTreeMap<String, Sp<RawSelector>>,
    #[serde(default)]
    pub conditions: BTreeMap<String, Sp<RawConditionMeasure>>,
    #[serde(default)]
    pub questions: BTreeMap<String, Sp<String>>,
    #[serde(default)]
    pub scope_rules: Vec<Sp<RawScopeRule>>,
    #[serde(default)]
    pub criteria: BTreeMap<String, Sp<RawNode>>,
    #[serde(default)]
    pub criteria_sets: BTreeMap<String, Sp<RawSet>>,
    /// Criteria that replace definitions of the same name (a version built on a base).
    #[serde(default)]
    pub overrides: BTreeMap<String, Sp<RawNode>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawParam {
    pub value: Sp<f64>,
    pub unit: Sp<String>,
    pub explain: String,
    /// The spec id or interpretation the number comes from.
    pub source: String,
    pub interpretation: Option<Sp<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawInterpretation {
    pub explain: String,
    /// Where the spec states (or leaves open) the point.
    pub spec: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawFamily {
    #[expect(dead_code, reason = "required documentation for pack authors")]
    pub label: String,
    pub region_scheme: Option<Sp<String>>,
}

/// An inclusive range of segments and/or vertebrae belonging to a region.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRegion {
    #[expect(dead_code, reason = "required documentation for pack authors")]
    pub label: String,
    pub segments: Option<Sp<[String; 2]>>,
    pub vertebrae: Option<Sp<[String; 2]>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawProcedure {
    pub family: Sp<String>,
    pub label: String,
    /// The criteria set that decides lines of this procedure.
    pub criteria: Option<Sp<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawCode {
    pub label: String,
    pub family: Sp<String>,
    /// A region of the family's scheme, or `any` (levels decide).
    pub region: Sp<String>,
    /// Regions whose levels are not a coding error on this code: the criteria judge them
    /// (thoracic facet levels are `FCT-X-6`, whichever code names them).
    #[serde(default)]
    pub tolerates: Vec<Sp<String>>,
    pub approach: Option<Vec<Sp<String>>>,
    pub guidance: Option<Vec<Sp<String>>>,
    pub target: Option<Sp<String>>,
    /// The targets a code names when it names several and the line chooses (64520: lumbar or
    /// thoracic sympathetic); a line that does not say is still one of them.
    pub targets: Option<Vec<Sp<String>>>,
    pub add_on_of: Option<Vec<Sp<String>>>,
    /// A device code takes the decision of its family's procedure lines (`NEU-DEV-1`).
    #[serde(default)]
    pub device: bool,
}

/// How a line or a prior procedure finds its procedure; the first kind that matches wins.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawLineKind {
    pub codes: Option<Sp<CodeList>>,
    pub targets: Option<Vec<Sp<String>>>,
    /// Line facts that must equal these values for the kind to match (absent: no match).
    #[serde(default)]
    pub when: BTreeMap<String, Sp<String>>,
    /// Line facts without which the line's criteria cannot be chosen (`GEN-LINE-1`).
    #[serde(default)]
    pub needs: Vec<Sp<String>>,
    /// `ask` (default): a missing `when` fact is asked for (`GEN-LINE-1`); `skip`: the kind
    /// does not match and the next is tried.
    pub if_missing: Option<Sp<String>>,
    pub interpretation: Option<Sp<String>>,
    pub procedure: Sp<String>,
}

/// A list of codes, or the name of a code set.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub(crate) enum CodeList {
    Set(String),
    Codes(Vec<String>),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawLineRules {
    /// The id reported when a line lacks a fact that chooses its criteria (defined in
    /// `criteria`).
    pub line_needs_fact: Sp<String>,
    /// The id reported when the pack has no criteria for a catalogued code.
    pub no_criteria_for_code: Sp<String>,
    /// The id reported on device lines, which take their procedure line's decision.
    pub device_line: Option<Sp<String>>,
    /// Criteria a device line is checked against besides (session rules such as GEN-MULTI-1).
    #[serde(default)]
    pub device_checks: Vec<Sp<String>>,
}

/// Which lines of the session a session fact counts; every given list must match.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawLineFilter {
    #[serde(default)]
    pub families: Vec<Sp<String>>,
    #[serde(default)]
    pub procedures: Vec<Sp<String>>,
    #[serde(default)]
    pub approaches: Vec<Sp<String>>,
    #[serde(default)]
    pub neurostim_kinds: Vec<Sp<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawSelector {
    #[expect(dead_code, reason = "required documentation for pack authors")]
    pub explain: String,
    pub procedures: Vec<Sp<String>>,
    /// `same` as the line's region, or `any`.
    #[serde(default)]
    pub region: Option<Sp<String>>,
    /// `any`, `shared` (shares a requested level), `each` (covers every requested level).
    #[serde(default)]
    pub levels: Option<Sp<String>>,
    /// `any` or `overlapping` (a bilateral entry overlaps either side).
    #[serde(default)]
    pub side: Option<Sp<String>>,
    /// Window before the service date (a parameter).
    pub within: Option<Sp<String>>,
    /// Only entries more than this long before the service date (a parameter).
    pub older_than: Option<Sp<String>>,
    /// `count` entries whose procedure or region cannot be told (limits), or `ignore` them
    /// (evidence).
    pub uncertain: Sp<String>,
    /// Tests every matching entry must pass.
    #[serde(default)]
    pub r#where: Vec<Sp<RawNode>>,
    pub interpretation: Option<Sp<String>>,
}

/// A measurement that decides a screenable condition when given.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawConditionMeasure {
    pub fact: Sp<String>,
    pub within: Option<Sp<String>>,
    pub at_most: Option<Sp<String>>,
    pub at_least: Option<Sp<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawScopeRule {
    pub id: Sp<String>,
    pub decision: Sp<String>,
    pub explain: Sp<String>,
    pub source: Option<String>,
    /// Codes the rule looks at; absent: every line.
    pub codes: Option<Sp<CodeList>>,
    pub test: Sp<RawNode>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawSet {
    #[expect(dead_code, reason = "required documentation for pack authors")]
    pub label: String,
    #[serde(default)]
    pub include: Vec<Sp<String>>,
    #[serde(default)]
    pub criteria: Vec<Sp<RawNode>>,
}

/// A criteria node. Exactly one shape key (`all`, `any`, `at_least`+`of`, `not`, `ref`,
/// `if`, `fact`, `condition`) says what it is.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawNode {
    pub id: Option<Sp<String>>,
    pub explain: Option<Sp<String>>,
    pub source: Option<String>,
    pub interpretation: Option<Sp<String>>,
    /// Formal parameters of a definition used with `ref` + `with`.
    pub params: Option<Vec<Sp<String>>>,
    pub applies_if: Option<Box<Sp<RawNode>>>,

    pub all: Option<Vec<Sp<RawNode>>>,
    pub any: Option<Vec<Sp<RawNode>>>,
    pub of: Option<Vec<Sp<RawNode>>>,
    pub not: Option<Box<Sp<RawNode>>>,
    #[serde(rename = "ref")]
    pub reference: Option<Sp<String>>,
    #[serde(rename = "if")]
    pub if_: Option<Box<Sp<RawNode>>>,
    pub then: Option<Box<Sp<RawNode>>>,
    #[serde(rename = "else")]
    pub else_: Option<Box<Sp<RawNode>>>,
    /// With `if`: `pend` (stay unknown, asking only for the condition) or `both` (default:
    /// evaluate both branches and keep their common value).
    pub if_unknown: Option<Sp<String>>,
    /// Default arguments of a definition's `params`.
    pub defaults: Option<BTreeMap<String, Sp<serde_json::Value>>>,
    /// For date tests and anchored facts: count back from the latest entry a selector picks
    /// instead of the service date (`service_date` for the service date).
    pub anchor: Option<Sp<String>>,
    pub fact: Option<Sp<String>>,
    pub condition: Option<Sp<String>>,
    pub with: Option<BTreeMap<String, Sp<serde_json::Value>>>,

    pub is: Option<Sp<serde_json::Value>>,
    pub one_of: Option<Sp<Vec<String>>>,
    pub not_one_of: Option<Sp<Vec<String>>>,
    pub at_least: Option<Sp<String>>,
    pub at_most: Option<Sp<String>>,
    pub above: Option<Sp<String>>,
    pub below: Option<Sp<String>>,
    pub includes_any: Option<Sp<serde_json::Value>>,
    pub includes_only: Option<Sp<Vec<String>>>,
    pub includes_none: Option<Sp<Vec<String>>>,
    pub count_at_least: Option<Sp<String>>,
    pub count_at_most: Option<Sp<String>>,
    pub within: Option<Sp<String>>,
    pub more_than_before: Option<Sp<String>>,
    pub at_least_ago: Option<Sp<String>>,
    pub given: Option<Sp<bool>>,
    pub none: Option<Sp<bool>>,
    pub some: Option<Sp<bool>>,
    /// The value a leaf takes when its fact is missing, for facts the engine decides from
    /// codes and injectates (exclusions "never unknown").
    pub missing: Option<Sp<String>>,
}
