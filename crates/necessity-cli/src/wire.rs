//! The JSON form of a determination. Its own types, converted by hand from the engine's, so
//! the engine can change without breaking clients; `docs/determination.md` documents them.

use necessity_engine::{Determination, LineResult, Question, Shown, TraceNode, shown_value};
use serde::Serialize;

/// Version of this JSON form; bumped on any incompatible change.
pub const FORMAT_VERSION: u32 = 1;

#[derive(Debug, Serialize)]
pub struct WireDetermination<'a> {
    pub format: u32,
    pub request_id: Option<&'a str>,
    pub case_hash: &'a str,
    pub service_date: String,
    pub pack: WirePack<'a>,
    pub decision: &'static str,
    pub action: &'static str,
    pub lines: Vec<WireLine<'a>>,
    pub questions: Vec<WireQuestion<'a>>,
    pub advisories: Vec<WireAdvisory<'a>>,
    pub engine: WireEngine,
}

#[derive(Debug, Serialize)]
pub struct WirePack<'a> {
    pub name: &'a str,
    pub version: &'a str,
    pub effective_from: String,
    pub effective_to: Option<String>,
    pub content_hash: &'a str,
}

#[derive(Debug, Serialize)]
pub struct WireEngine {
    pub name: &'static str,
    pub version: &'static str,
}

#[derive(Debug, Serialize)]
pub struct WireLine<'a> {
    pub index: usize,
    pub code: &'a str,
    pub code_label: Option<&'a str>,
    pub procedure: Option<&'a str>,
    pub procedure_label: Option<&'a str>,
    pub decision: &'static str,
    pub reasons: Vec<WireReason<'a>>,
    pub questions: Vec<WireQuestion<'a>>,
    pub advisories: Vec<WireAdvisory<'a>>,
    /// The criteria applied, as a tree, with every node's value.
    pub criteria: Vec<WireNode<'a>>,
}

#[derive(Debug, Serialize)]
pub struct WireReason<'a> {
    pub id: &'a str,
    pub kind: &'static str,
    pub value: &'static str,
    pub explanation: &'a str,
    pub source: &'a str,
    pub within: Option<&'a str>,
    pub facts: Vec<WireFact<'a>>,
    pub missing: Vec<&'a str>,
}

#[derive(Debug, Serialize)]
pub struct WireFact<'a> {
    pub fact: &'a str,
    pub value: &'a Shown,
}

#[derive(Debug, Serialize)]
pub struct WireQuestion<'a> {
    pub question: &'a str,
    pub key: &'a str,
    /// Where the answers go in the request.
    pub answer_at: &'a [String],
    /// Ids the answer would settle.
    pub settles: &'a [String],
    pub lines: &'a [usize],
}

#[derive(Debug, Serialize)]
pub struct WireAdvisory<'a> {
    pub id: &'a str,
    pub explanation: &'a str,
    pub source: &'a str,
}

#[derive(Debug, Serialize)]
pub struct WireNode<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<&'a str>,
    pub shape: &'static str,
    pub value: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub test: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub read: Option<&'a Shown>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub missing: Vec<&'a str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub children: Vec<WireNode<'a>>,
}

fn role_word(role: necessity_engine::Role) -> &'static str {
    match role {
        necessity_engine::Role::Requirement => "requirement",
        necessity_engine::Role::Limit => "limit",
        necessity_engine::Role::Exclusion => "exclusion",
        necessity_engine::Role::Contraindication => "contraindication",
        necessity_engine::Role::Advisory => "advisory",
        necessity_engine::Role::Scope => "scope",
    }
}

fn question(q: &Question) -> WireQuestion<'_> {
    WireQuestion { question: &q.text, key: &q.key, answer_at: &q.paths, settles: &q.settles, lines: &q.lines }
}

/// Builds the nested tree from the preorder trace (children are the following nodes one level
/// deeper, up to the next node at the same depth or above).
fn tree<'a>(nodes: &'a [TraceNode<'a>]) -> Vec<WireNode<'a>> {
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(first) = nodes.get(i) {
        let depth = first.depth;
        let end = nodes.iter().skip(i + 1).position(|n| n.depth <= depth).map_or(nodes.len(), |p| i + 1 + p);
        // The criteria under a node that does not apply are not shown.
        let children = if first.applicable { nodes.get(i + 1..end).map(tree).unwrap_or_default() } else { Vec::new() };
        out.push(WireNode {
            id: first.node.id.as_deref(),
            name: first.node.name.as_deref(),
            shape: first.shape(),
            value: if first.applicable { shown_value(first.node.role, first.value) } else { "not_applicable" },
            test: first.test,
            read: first.reading.as_ref(),
            missing: first.missing.iter().map(|m| m.path.as_str()).collect(),
            children,
        });
        i = end;
    }
    out
}

fn line<'a>(l: &'a LineResult<'a>) -> WireLine<'a> {
    WireLine {
        index: l.index,
        code: &l.code,
        code_label: l.code_label,
        procedure: l.procedure,
        procedure_label: l.procedure_label,
        decision: l.decision.as_str(),
        reasons: l
            .reasons
            .iter()
            .map(|r| WireReason {
                id: r.id,
                kind: role_word(r.role),
                value: r.shown_value(),
                explanation: r.explain,
                source: r.source,
                within: r.within,
                facts: r.facts.iter().map(|f| WireFact { fact: f.fact, value: &f.value }).collect(),
                missing: r.missing.iter().map(|m| m.path.as_str()).collect(),
            })
            .collect(),
        questions: l.questions.iter().map(question).collect(),
        advisories: l
            .advisories
            .iter()
            .map(|a| WireAdvisory { id: a.id, explanation: a.explain, source: a.source })
            .collect(),
        criteria: tree(&l.tree),
    }
}

/// The wire form of a determination.
#[must_use]
pub fn determination<'a>(d: &'a Determination<'a>) -> WireDetermination<'a> {
    WireDetermination {
        format: FORMAT_VERSION,
        request_id: d.request_id.as_deref(),
        case_hash: &d.case_hash,
        service_date: d.service_date.to_string(),
        pack: WirePack {
            name: &d.pack.name,
            version: &d.pack.version,
            effective_from: d.pack.effective_from.to_string(),
            effective_to: d.pack.effective_to.map(|t| t.to_string()),
            content_hash: &d.pack.content_hash,
        },
        decision: d.decision.as_str(),
        action: d.decision.action(),
        lines: d.lines.iter().map(line).collect(),
        questions: d.questions.iter().map(question).collect(),
        advisories: d
            .advisories
            .iter()
            .map(|a| WireAdvisory { id: a.id, explanation: a.explain, source: a.source })
            .collect(),
        engine: WireEngine { name: "necessity", version: env!("CARGO_PKG_VERSION") },
    }
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
