//! What a provider's office must answer for a set of codes: every question the criteria of
//! those codes' procedures may ask, with the type of its answer. Built from the compiled pack
//! (which leaf reads which fact) and the request's JSON Schema (what each fact holds), never
//! written by hand, so it cannot drift from the criteria.

use crate::pack::{LineField, NodeId, Pack, ProcId, Shape};
use serde::Serialize;
use serde_json::Value as Json;
use std::collections::BTreeSet;

/// The questions for a set of codes.
#[derive(Debug, Serialize)]
pub struct Questionnaire {
    pub pack: String,
    pub codes: Vec<CodeScope>,
    pub questions: Vec<QuestionItem>,
}

/// How the pack treats one requested code.
#[derive(Debug, Serialize)]
pub struct CodeScope {
    pub code: String,
    /// The pack's short label; `None` for a code the pack does not list.
    pub label: Option<String>,
    /// The procedures a line with this code may be, with criteria of their own.
    pub procedures: Vec<String>,
    /// Why the code brings no questions of its own, when it does not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// One question, with where its answer goes and what the answer holds.
#[derive(Debug, Serialize)]
pub struct QuestionItem {
    pub key: String,
    pub question: String,
    /// Where the answer goes in a request (`clinical.pain_score`, `services[].levels`).
    pub answer_at: String,
    pub answer: AnswerType,
    /// The criterion ids whose decision reads it.
    pub criteria: Vec<String>,
    /// The procedures that ask it.
    pub procedures: Vec<String>,
}

/// What an answer holds, from the request schema.
#[derive(Debug, Default, Serialize)]
pub struct AnswerType {
    /// `yes_no`, `integer`, `number`, `date`, `one_of`, `list_of`, `level`, `levels`, `diagnoses`,
    /// `text`, `records` (a list of entries, such as prior procedures), or `correction` (a coding
    /// problem to correct, not a fact to state).
    pub kind: &'static str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub values: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub minimum: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub maximum: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// The questions the criteria of `codes` may ask, in request order (member, diagnoses, line,
/// clinical, conservative care, imaging, history), each once.
#[must_use]
pub fn questionnaire(pack: &Pack, codes: &[&str]) -> Questionnaire {
    let schema = necessity_case::json_schema();
    let mut found = Found::default();
    let mut scopes = Vec::new();
    for code in codes {
        scopes.push(code_scope(pack, code, &mut found));
    }
    let mut questions: Vec<QuestionItem> = found
        .keys
        .into_iter()
        .map(|(key, asked)| {
            let (answer_at, answer) = answer_type(&schema, &key);
            QuestionItem {
                // A question that names what the request states reads, here, in general terms.
                question: pack.question(&key).unwrap_or(&key).replace("{stated}", "<the code>"),
                key,
                answer_at,
                answer,
                criteria: asked.ids.into_iter().collect(),
                procedures: asked.procedures.into_iter().collect(),
            }
        })
        .collect();
    questions.sort_by_key(|q| section_rank(&q.key));
    Questionnaire { pack: format!("{} {}", pack.identity.name, pack.identity.version), codes: scopes, questions }
}

/// Question keys in first-found order, each with the ids and procedures that ask it.
#[derive(Default)]
struct Found {
    keys: Vec<(String, AskedBy)>,
}

/// The criterion ids and the procedures that ask a question.
#[derive(Default)]
struct AskedBy {
    ids: BTreeSet<String>,
    procedures: BTreeSet<String>,
}

impl Found {
    fn add(&mut self, key: &str, id: Option<&str>, procedure: &str) {
        let at = match self.keys.iter().position(|(k, _)| k == key) {
            Some(at) => at,
            None => {
                self.keys.push((key.to_owned(), Default::default()));
                self.keys.len() - 1
            }
        };
        if let Some((_, asked)) = self.keys.get_mut(at) {
            asked.ids.extend(id.map(str::to_owned));
            asked.procedures.insert(procedure.to_owned());
        }
    }
}

fn code_scope(pack: &Pack, code: &str, found: &mut Found) -> CodeScope {
    let catalog = &pack.catalog;
    let Some(entry) = catalog.codes.get(code) else {
        return CodeScope {
            code: code.to_owned(),
            label: None,
            procedures: Vec::new(),
            note: Some("not in the catalog: out of scope for this guideline (GEN-CODE-1)".to_owned()),
        };
    };
    let mut procedures: Vec<ProcId> = Vec::new();
    for kind in catalog.line_kinds.iter().filter(|k| k.codes.as_ref().is_some_and(|c| c.iter().any(|c| c == code))) {
        let Some(procedure) = catalog.procedures.get(kind.procedure) else { continue };
        // The facts that choose among the code's procedures are asked first (GEN-LINE-1).
        let chooses = kind.when.iter().map(|(field, _)| *field).chain(kind.needs.iter().copied());
        for field in chooses.filter(|f| *f != LineField::Levels || kind.needs.contains(f)) {
            found.add(&format!("line.{}", field.name()), Some("GEN-LINE-1"), &procedure.name);
        }
        if procedure.criteria.is_some() && !procedures.contains(&kind.procedure) {
            procedures.push(kind.procedure);
        }
    }
    for &p in &procedures {
        let Some(procedure) = catalog.procedures.get(p) else { continue };
        if let Some(set) = procedure.criteria {
            for &top in &pack.set(set).criteria {
                walk(pack, top, None, &procedure.name, found, &mut BTreeSet::new());
            }
        }
    }
    if entry.device
        && let Some(device) = pack.device_line
    {
        // A device line alone is asked for its procedure line (see `eval::device_line`).
        found.add("line.procedure_line", pack.node(device).id.as_deref(), "device");
    }
    let ruled_by = pack
        .scope_rules
        .iter()
        .filter(|r| r.codes.as_ref().is_some_and(|c| c.iter().any(|c| c == code)))
        .filter_map(|r| pack.node(r.node).id.clone())
        .collect::<Vec<_>>();
    let note = if entry.device {
        Some("a device code: it takes the decision of its stimulator procedure line (NEU-DEV-1)".to_owned())
    } else if !ruled_by.is_empty() {
        Some(format!("scope rules that may decide it before any criteria: {}", ruled_by.join(", ")))
    } else if procedures.is_empty() {
        Some("no criteria in this pack: out of scope (GEN-CODE-1)".to_owned())
    } else {
        None
    };
    CodeScope {
        code: code.to_owned(),
        label: Some(entry.label.clone()),
        procedures: procedures.iter().filter_map(|p| catalog.procedures.get(*p)).map(|p| p.name.clone()).collect(),
        note,
    }
}

/// Every question a node's subtree may ask, credited to the nearest enclosing criterion id.
fn walk(
    pack: &Pack,
    at: NodeId,
    within: Option<&str>,
    procedure: &str,
    found: &mut Found,
    seen: &mut BTreeSet<NodeId>,
) {
    if !seen.insert(at) {
        return;
    }
    let node = pack.node(at);
    let within = node.id.as_deref().or(within);
    if let Some(condition) = node.applies_if {
        walk(pack, condition, within, procedure, found, seen);
    }
    match &node.shape {
        Shape::All(children) | Shape::Any(children) | Shape::AtLeast { of: children, .. } => {
            for &c in children {
                walk(pack, c, within, procedure, found, seen);
            }
        }
        Shape::Not(inner) => walk(pack, *inner, within, procedure, found, seen),
        Shape::Choose { condition, then, otherwise, .. } => {
            for &c in [condition, then, otherwise] {
                walk(pack, c, within, procedure, found, seen);
            }
        }
        Shape::Leaf(leaf) => {
            for key in &leaf.reads {
                found.add(key, within, procedure);
            }
            let selectors = leaf.fact.selector().into_iter().chain(leaf.anchor);
            for selector in selectors.filter_map(|s| pack.selectors.get(s)) {
                for &w in &selector.where_ {
                    walk(pack, w, within, procedure, found, seen);
                }
            }
        }
    }
    // A node reached again from another criterion still credits that criterion.
    seen.remove(&at);
}

/// Request order: who, what, the line, the clinical picture, then the records.
fn section_rank(key: &str) -> usize {
    const ORDER: [&str; 9] =
        ["member", "request", "diagnoses", "line", "clinical", "conservative_care", "imaging", "history", "condition"];
    let section = key.split('.').next().unwrap_or(key);
    ORDER.iter().position(|s| *s == section).unwrap_or(ORDER.len())
}

/// Where a question's answer goes and what it holds, read from the request schema. A key the
/// schema does not hold is a coding correction (`line.primary_code`: add the primary code).
fn answer_type(schema: &Json, key: &str) -> (String, AnswerType) {
    let mut parts = key.split('.');
    let first = parts.next().unwrap_or_default();
    let (root, mut answer_at) = match first {
        "line" => ("services", "services[]".to_owned()),
        "request" => match parts.next() {
            Some(field) => (field, field.to_owned()),
            None => ("", String::new()),
        },
        other => (other, other.to_owned()),
    };
    // The node the key names, and the reference it was reached by (`Level`).
    let mut raw = schema.get("properties").and_then(|p| p.get(root));
    let mut at = raw.map(|s| resolve(schema, s));
    if first == "line" {
        raw = at.and_then(|s| s.get("items"));
        at = raw.map(|s| resolve(schema, s));
    }
    for part in parts {
        let inside = at.map(|s| match s.get("items") {
            Some(items) if type_of(s) == "array" => {
                answer_at.push_str("[]");
                resolve(schema, items)
            }
            _ => s,
        });
        raw = inside.and_then(|s| s.get("properties")).and_then(|p| p.get(part));
        at = raw.map(|p| resolve(schema, p));
        answer_at.push('.');
        answer_at.push_str(part);
    }
    match (at, raw) {
        (Some(_), Some(raw)) if ref_name(raw) == "Level" => (
            answer_at,
            AnswerType { kind: "level", description: describe(schema, raw).description, ..AnswerType::default() },
        ),
        (Some(s), _) => (answer_at, describe(schema, s)),
        (None, _) => (answer_at, AnswerType { kind: "correction", ..AnswerType::default() }),
    }
}

/// Follows `$ref`, and an `anyOf` of a type and null (an optional fact), keeping the
/// outermost description.
fn resolve<'s>(schema: &'s Json, mut at: &'s Json) -> &'s Json {
    for _ in 0..8 {
        if let Some(reference) = at.get("$ref").and_then(Json::as_str) {
            let name = reference.trim_start_matches("#/$defs/");
            match schema.get("$defs").and_then(|d| d.get(name)) {
                Some(def) => at = def,
                None => return at,
            }
        } else if let Some(options) = at.get("anyOf").and_then(Json::as_array) {
            match options.iter().find(|o| o.get("type").and_then(Json::as_str) != Some("null")) {
                Some(option) if options.len() == 2 => at = option,
                _ => return at,
            }
        } else {
            return at;
        }
    }
    at
}

/// The JSON type of a schema node, ignoring `null` (an optional fact): `"boolean"` for
/// `["boolean", "null"]`.
fn type_of(s: &Json) -> &str {
    match s.get("type") {
        Some(Json::String(t)) => t,
        Some(Json::Array(types)) => types.iter().filter_map(Json::as_str).find(|t| *t != "null").unwrap_or_default(),
        _ => "",
    }
}

/// The `$defs` name a node refers to (`Level` for `{"$ref": "#/$defs/Level"}`, optional or
/// not).
fn ref_name(s: &Json) -> &str {
    fn direct(s: &Json) -> Option<&str> {
        s.get("$ref").and_then(Json::as_str).map(|r| r.trim_start_matches("#/$defs/"))
    }
    direct(s)
        .or_else(|| s.get("anyOf").and_then(Json::as_array).and_then(|options| options.iter().find_map(direct)))
        .unwrap_or_default()
}

fn describe(schema: &Json, s: &Json) -> AnswerType {
    let text = |k: &str| s.get(k).and_then(Json::as_str).map(str::to_owned);
    let number = |k: &str| s.get(k).and_then(Json::as_f64);
    let values = |s: &Json| -> Vec<String> {
        s.get("enum")
            .and_then(Json::as_array)
            .map_or_else(Vec::new, |v| v.iter().filter_map(Json::as_str).map(str::to_owned).collect())
    };
    let mut answer = AnswerType { description: text("description"), ..AnswerType::default() };
    let kind = type_of(s);
    answer.kind = match kind {
        "boolean" => "yes_no",
        "integer" | "number" => {
            answer.minimum = number("minimum");
            answer.maximum = number("maximum");
            if kind == "integer" { "integer" } else { "number" }
        }
        "string" if text("format").as_deref() == Some("date") => "date",
        "string" if s.get("enum").is_some() => {
            answer.values = values(s);
            "one_of"
        }
        "string" => "text",
        "array" => {
            let raw_items = s.get("items").unwrap_or(&Json::Null);
            let items = resolve(schema, raw_items);
            match ref_name(raw_items) {
                "Level" => "levels",
                "DiagnosisCode" => "diagnoses",
                _ if items.get("enum").is_some() => {
                    answer.values = values(items);
                    "list_of"
                }
                _ => "records",
            }
        }
        _ => "text",
    };
    answer
}
