//! The JSON form of a determination (`docs/determination.md`). Its own types and writer, so
//! the engine can change without breaking clients.
//!
//! The criteria tree is most of the output and most of it is constant per pack node (ids,
//! shapes, the tests as written), so each node's constant part is escaped once per run
//! ([`Fragments`]) and the tree is written as bytes; everything else goes through serde.

use necessity_engine::{Determination, LineResult, Missing, Pack, Question, Role, TraceNode, shown_value};
use serde::Serialize;

/// Version of this JSON form; bumped on any incompatible change.
pub const FORMAT_VERSION: u32 = 1;

/// The constant JSON of every criteria node of a pack, escaped once: the node in a tree
/// (`"id":…,"name":…,"shape":…,"test":…`), the node as a reason (`"id":…,"kind":…,
/// "explanation":…,"source":…`), its test as a fact label, and the node as an advisory.
#[derive(Debug)]
pub struct Fragments {
    heads: Vec<String>,
    reason_heads: Vec<String>,
    labels: Vec<String>,
    advisories: Vec<String>,
}

impl Fragments {
    #[must_use]
    pub fn new(pack: &Pack) -> Self {
        let quote = |s: &str| serde_json::to_string(s).unwrap_or_else(|_| "\"\"".to_owned());
        let heads = pack
            .nodes()
            .iter()
            .map(|node| {
                let mut head = String::new();
                if let Some(id) = &node.id {
                    head.push_str(&format!("\"id\":{},", quote(id)));
                }
                if let Some(name) = &node.name {
                    head.push_str(&format!("\"name\":{},", quote(name)));
                }
                head.push_str(&format!("\"shape\":\"{}\"", node.shape_name()));
                if let Some(test) = node.test_label() {
                    head.push_str(&format!(",\"test\":{}", quote(test)));
                }
                head
            })
            .collect();
        let text = |s: &Option<String>| quote(s.as_deref().unwrap_or(""));
        let reason_heads = pack
            .nodes()
            .iter()
            .map(|n| {
                format!(
                    "\"id\":{},\"kind\":\"{}\",\"explanation\":{},\"source\":{}",
                    text(&n.id),
                    role_word(n.role),
                    text(&n.explain),
                    text(&n.source)
                )
            })
            .collect();
        let labels = pack.nodes().iter().map(|n| quote(n.test_label().unwrap_or(""))).collect();
        let advisories = pack
            .nodes()
            .iter()
            .map(|n| {
                format!(
                    "{{\"id\":{},\"explanation\":{},\"source\":{}}}",
                    text(&n.id),
                    text(&n.explain),
                    text(&n.source)
                )
            })
            .collect();
        Self { heads, reason_heads, labels, advisories }
    }

    fn get<'f>(list: &'f [String], node: &necessity_engine::Node) -> &'f [u8] {
        list.get(node.index()).map_or(b"null", |s| s.as_bytes())
    }
}

#[derive(Debug, Serialize)]
struct WirePack<'a> {
    name: &'a str,
    version: &'a str,
    effective_from: String,
    effective_to: Option<String>,
    content_hash: &'a str,
}

#[derive(Debug, Serialize)]
struct WireEngine {
    name: &'static str,
    version: &'static str,
}

#[derive(Debug, Serialize)]
struct WireQuestion<'a> {
    question: &'a str,
    key: &'a str,
    /// Where the answers go in the request.
    answer_at: &'a [String],
    /// Ids the answer would settle.
    settles: &'a [String],
    lines: &'a [usize],
}

/// Request paths of missing facts, written without building strings.
struct Paths<'m>(&'m [Missing]);

impl Serialize for Paths<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.iter().map(PathOf))
    }
}

struct PathOf<'m>(&'m Missing);

impl Serialize for PathOf<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self.0)
    }
}

fn role_word(role: Role) -> &'static str {
    match role {
        Role::Requirement => "requirement",
        Role::Limit => "limit",
        Role::Exclusion => "exclusion",
        Role::Contraindication => "contraindication",
        Role::Advisory => "advisory",
        Role::Scope => "scope",
    }
}

fn questions(qs: &[Question]) -> Vec<WireQuestion<'_>> {
    qs.iter()
        .map(|q| WireQuestion {
            question: &q.text,
            key: &q.key,
            answer_at: &q.paths,
            settles: &q.settles,
            lines: &q.lines,
        })
        .collect()
}

fn write_advisories(out: &mut Vec<u8>, list: &[necessity_engine::Advisory<'_>], fragments: &Fragments) {
    out.push(b'[');
    for (i, a) in list.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(Fragments::get(&fragments.advisories, a.node));
    }
    out.push(b']');
}

fn write_reasons(out: &mut Vec<u8>, line: &LineResult<'_>, fragments: &Fragments) -> serde_json::Result<()> {
    out.push(b'[');
    for (i, r) in line.reasons.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.push(b'{');
        out.extend_from_slice(Fragments::get(&fragments.reason_heads, r.node));
        out.extend_from_slice(b",\"value\":\"");
        out.extend_from_slice(r.shown_value().as_bytes());
        out.extend_from_slice(b"\",\"within\":");
        serde_json::to_writer(&mut *out, &r.within)?;
        out.extend_from_slice(b",\"facts\":[");
        for (k, f) in r.facts.iter().enumerate() {
            if k > 0 {
                out.push(b',');
            }
            out.extend_from_slice(b"{\"fact\":");
            out.extend_from_slice(Fragments::get(&fragments.labels, f.node));
            out.extend_from_slice(b",\"value\":");
            serde_json::to_writer(&mut *out, &f.value)?;
            out.push(b'}');
        }
        out.extend_from_slice(b"],\"missing\":");
        serde_json::to_writer(&mut *out, &Paths(&r.missing))?;
        out.push(b'}');
    }
    out.push(b']');
    Ok(())
}

/// A JSON object written field by field.
struct Object<'o> {
    out: &'o mut Vec<u8>,
    first: bool,
}

impl<'o> Object<'o> {
    fn open(out: &'o mut Vec<u8>) -> Self {
        out.push(b'{');
        Self { out, first: true }
    }

    fn key(&mut self, name: &str) {
        if !self.first {
            self.out.push(b',');
        }
        self.first = false;
        self.out.push(b'"');
        self.out.extend_from_slice(name.as_bytes());
        self.out.extend_from_slice(b"\":");
    }

    fn value(&mut self, name: &str, value: &impl Serialize) -> serde_json::Result<()> {
        self.key(name);
        serde_json::to_writer(&mut *self.out, value)
    }

    fn close(self) {
        self.out.push(b'}');
    }
}

/// Writes the nodes `start..end` of a preorder tree that are siblings at the top of that range.
fn write_nodes(
    out: &mut Vec<u8>,
    nodes: &[TraceNode<'_>],
    start: usize,
    end: usize,
    fragments: &Fragments,
) -> serde_json::Result<()> {
    out.push(b'[');
    let mut i = start;
    while let Some(node) = nodes.get(i).filter(|_| i < end) {
        if i > start {
            out.push(b',');
        }
        write_node(out, nodes, i, node, fragments)?;
        i = node.subtree_end().max(i + 1);
    }
    out.push(b']');
    Ok(())
}

fn write_node(
    out: &mut Vec<u8>,
    nodes: &[TraceNode<'_>],
    at: usize,
    node: &TraceNode<'_>,
    fragments: &Fragments,
) -> serde_json::Result<()> {
    out.push(b'{');
    out.extend_from_slice(
        fragments.heads.get(node.node.index()).map_or("\"shape\":\"test\"", String::as_str).as_bytes(),
    );
    let value = if node.applicable { shown_value(node.node.role, node.value) } else { "not_applicable" };
    out.extend_from_slice(b",\"value\":\"");
    out.extend_from_slice(value.as_bytes());
    out.push(b'"');
    if let Some(read) = &node.reading {
        out.extend_from_slice(b",\"read\":");
        serde_json::to_writer(&mut *out, read)?;
    }
    if !node.missing.is_empty() {
        out.extend_from_slice(b",\"missing\":");
        serde_json::to_writer(&mut *out, &Paths(&node.missing))?;
    }
    // The criteria under a node that does not apply are not shown.
    let end = node.subtree_end();
    if node.applicable && end > at + 1 {
        out.extend_from_slice(b",\"children\":");
        write_nodes(out, nodes, at + 1, end, fragments)?;
    }
    out.push(b'}');
    Ok(())
}

fn write_line(out: &mut Vec<u8>, line: &LineResult<'_>, fragments: &Fragments) -> serde_json::Result<()> {
    let mut o = Object::open(out);
    o.value("index", &line.index)?;
    o.value("code", &line.code)?;
    o.value("code_label", &line.code_label)?;
    o.value("procedure", &line.procedure)?;
    o.value("procedure_label", &line.procedure_label)?;
    o.value("decision", &line.decision.as_str())?;
    o.key("reasons");
    write_reasons(o.out, line, fragments)?;
    o.value("questions", &questions(&line.questions))?;
    o.key("advisories");
    write_advisories(o.out, &line.advisories, fragments);
    o.key("criteria");
    write_nodes(o.out, &line.tree, 0, line.tree.len(), fragments)?;
    o.close();
    Ok(())
}

/// Writes a determination as one line of compact JSON.
pub fn write(out: &mut Vec<u8>, d: &Determination<'_>, fragments: &Fragments) -> serde_json::Result<()> {
    let mut o = Object::open(out);
    o.value("format", &FORMAT_VERSION)?;
    o.value("request_id", &d.request_id)?;
    o.value("case_hash", &d.case_hash)?;
    o.value("service_date", &d.service_date.to_string())?;
    o.value(
        "pack",
        &WirePack {
            name: &d.pack.name,
            version: &d.pack.version,
            effective_from: d.pack.effective_from.to_string(),
            effective_to: d.pack.effective_to.map(|t| t.to_string()),
            content_hash: &d.pack.content_hash,
        },
    )?;
    o.value("decision", &d.decision.as_str())?;
    o.value("action", &d.decision.action())?;
    o.key("lines");
    o.out.push(b'[');
    for (i, line) in d.lines.iter().enumerate() {
        if i > 0 {
            o.out.push(b',');
        }
        write_line(o.out, line, fragments)?;
    }
    o.out.push(b']');
    o.value("questions", &questions(&d.questions))?;
    o.key("advisories");
    write_advisories(o.out, &d.advisories, fragments);
    o.value("engine", &WireEngine { name: "necessity", version: env!("CARGO_PKG_VERSION") })?;
    o.close();
    Ok(())
}

/// The JSON form of an input error.
#[derive(Debug, Serialize)]
pub struct WireInputError<'a> {
    pub format: u32,
    /// `line`, `element` or `request`, and its 1-based number.
    pub at: &'static str,
    pub position: usize,
    pub errors: Vec<WireIssue<'a>>,
}

#[derive(Debug, Serialize)]
pub struct WireIssue<'a> {
    pub path: &'a str,
    pub message: &'a str,
}

/// Writes the out-of-scope answer for a request no installed version covers.
pub fn write_no_version(
    out: &mut Vec<u8>,
    case: &necessity_case::Case,
    why: &necessity_engine::NoVersionInForce,
) -> serde_json::Result<()> {
    let explanation = why.to_string();
    let mut o = Object::open(out);
    o.value("format", &FORMAT_VERSION)?;
    o.value("request_id", &case.id)?;
    o.value("case_hash", &case.content_hash())?;
    o.value("service_date", &case.service_date.to_string())?;
    o.value("pack", &serde_json::Value::Null)?;
    o.value("decision", &necessity_engine::Decision::OutOfScope.as_str())?;
    o.value("action", &necessity_engine::Decision::OutOfScope.action())?;
    let lines: Vec<serde_json::Value> = case
        .services
        .iter()
        .enumerate()
        .map(|(i, line)| {
            serde_json::json!({
                "index": i,
                "code": line.code.as_str(),
                "code_label": null,
                "procedure": null,
                "procedure_label": null,
                "decision": "out_of_scope",
                "reasons": [{
                    "id": NO_VERSION_IN_FORCE,
                    "kind": "scope",
                    "value": "met",
                    "explanation": explanation,
                    "source": "",
                    "within": null,
                    "facts": [],
                    "missing": [],
                }],
                "questions": [],
                "advisories": [],
                "criteria": [],
            })
        })
        .collect();
    o.value("lines", &lines)?;
    o.value("questions", &serde_json::json!([]))?;
    o.value("advisories", &serde_json::json!([]))?;
    o.value("engine", &WireEngine { name: "necessity", version: env!("CARGO_PKG_VERSION") })?;
    o.close();
    Ok(())
}

/// The reason code of a request no installed version covers. Not a spec id: it is about the
/// installation, not a criterion.
pub const NO_VERSION_IN_FORCE: &str = "no_version_in_force";
