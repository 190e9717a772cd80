//! `evaluate`: a pure function of (case, pack, history) to a [`Determination`]. No I/O, no
//! clock (every window counts back from the service date), no error for missing clinical data
//! (missing data is unknown).

mod context;
mod tree;

pub(crate) use context::{LineInfo, LineRegion, Request, Scope, region_of_level};
pub(crate) use tree::value_of;

use crate::determination::{Advisory, Decision, Determination, LineResult, Question, Reading, Reason, TraceNode};
use crate::facts::Missing;
use crate::kleene::Truth;
use crate::pack::{NodeId, Pack, Role, Shape};
use necessity_case::{Case, PriorProcedure};

/// Evaluates a request against a pack, with the member's history (what the request reports
/// plus what is stored for the member).
#[must_use]
pub fn evaluate<'p>(pack: &'p Pack, case: &Case, history: &[PriorProcedure]) -> Determination<'p> {
    let req = Request::new(pack, case, history);
    let mut lines: Vec<LineResult<'p>> = (0..req.lines.len()).map(|i| evaluate_line(pack, &req, i)).collect();
    // Device lines take the decision of their procedure lines, once those are decided.
    for i in 0..lines.len() {
        if let Some(device) = device_line(pack, &req, &lines, i)
            && let Some(slot) = lines.get_mut(i)
        {
            *slot = device;
        }
    }
    let decision = Decision::overall(lines.iter().map(|l| l.decision));
    let questions = merge_questions(lines.iter().flat_map(|l| l.questions.iter().cloned()));
    let mut advisories: Vec<Advisory<'p>> = Vec::new();
    for a in lines.iter().flat_map(|l| l.advisories.iter()) {
        if !advisories.iter().any(|x| x.id == a.id) {
            advisories.push(a.clone());
        }
    }
    Determination {
        request_id: case.id.clone(),
        case_hash: case.content_hash(),
        service_date: case.service_date,
        pack: &pack.identity,
        decision,
        lines,
        questions,
        advisories,
    }
}

/// Evaluates a request with only the history it carries.
#[must_use]
pub fn evaluate_request<'p>(pack: &'p Pack, case: &Case) -> Determination<'p> {
    evaluate(pack, case, case.reported_history())
}

fn evaluate_line<'p>(pack: &'p Pack, req: &Request<'_>, index: usize) -> LineResult<'p> {
    #[expect(clippy::indexing_slicing, reason = "index ranges over the request's lines")]
    let info = &req.lines[index];
    let scope = Scope { req, line: index, entry: None };
    let procedure = info.procedure.and_then(|p| pack.catalog.procedures.get(p));
    let mut result = LineResult {
        index,
        code: info.line.code.as_str().to_owned(),
        code_label: pack.catalog.codes.get(info.line.code.as_str()).map(|c| c.label.as_str()),
        procedure: procedure.map(|p| p.name.as_str()),
        procedure_label: procedure.map(|p| p.label.as_str()),
        decision: Decision::PendForInformation,
        reasons: Vec::new(),
        questions: Vec::new(),
        advisories: Vec::new(),
        tree: Vec::new(),
    };

    // Scope rules decide the whole line.
    if let Some(rule) = info.scope_rule.and_then(|r| pack.scope_rules.get(r)) {
        let mut trace = Vec::new();
        tree::trace(pack, rule.node, &scope, &mut trace);
        result.decision = rule.decision;
        result.reasons.push(plain_reason(pack, rule.node, Truth::Met, Vec::new()));
        result.tree = trace;
        return result;
    }

    // A line that lacks the facts choosing its criteria pends for them (`GEN-LINE-1`), unless
    // none of the procedures it could be has criteria in this pack.
    let could_be_decided = pack
        .catalog
        .procedures
        .iter()
        .enumerate()
        .any(|(i, p)| info.possible & (1u64 << i) != 0 && p.criteria.is_some());
    if !info.needs.is_empty() && could_be_decided {
        let missing: Vec<Missing> = info.needs.iter().map(|f| Missing::line(index, f.name())).collect();
        let reason = plain_reason(pack, pack.line_needs_fact, Truth::Unknown, missing);
        result.questions = questions_for(pack, req, index, std::slice::from_ref(&reason));
        result.reasons.push(reason);
        result.decision = Decision::PendForInformation;
        return result;
    }

    let Some(set) = procedure.and_then(|p| p.criteria) else {
        result.reasons.push(plain_reason(pack, pack.no_criteria_for_code, Truth::Met, Vec::new()));
        result.decision = Decision::OutOfScope;
        return result;
    };

    let mut trace: Vec<TraceNode<'p>> = Vec::with_capacity(pack.set(set).trace_len);
    let mut line_value = Truth::Met;
    for &top in &pack.set(set).criteria {
        let node = pack.node(top);
        let value = tree::trace(pack, top, &scope, &mut trace);
        match node.role {
            Role::Advisory => {}
            role if role.holds_against() => line_value = line_value.and(value.not()),
            _ => line_value = line_value.and(value),
        }
    }
    result.decision = Decision::from_truth(line_value);
    result.reasons = reasons(&trace);
    result.questions = questions_for(pack, req, index, &result.reasons);
    result.advisories = trace
        .iter()
        .filter(|e| e.depth == 0 && e.applicable && e.value == Truth::Met)
        .filter_map(|e| {
            let node = e.node;
            (node.role == Role::Advisory).then(|| advisory(node)).flatten()
        })
        .collect();
    result.tree = trace;
    result
}

/// `NEU-DEV-1`: a device line takes the least favourable decision of its family's procedure
/// lines; without one it pends for correction.
fn device_line<'p>(
    pack: &'p Pack,
    req: &Request<'_>,
    lines: &[LineResult<'p>],
    index: usize,
) -> Option<LineResult<'p>> {
    let info = req.lines.get(index)?;
    let code = info.code.filter(|c| c.device)?;
    let node = pack.device_line?;
    let procedures: Vec<Decision> = req
        .lines
        .iter()
        .zip(lines)
        .filter(|(other, _)| {
            other.in_session() && other.family == Some(code.family) && other.code.is_some_and(|c| !c.device)
        })
        .map(|(_, result)| result.decision)
        .collect();
    let mut result = lines.get(index)?.clone();
    result.advisories.clear();
    if procedures.is_empty() {
        result.reasons =
            vec![plain_reason(pack, node, Truth::Unknown, vec![Missing::line_as(index, "procedure_line", "code")])];
        result.decision = Decision::PendForInformation;
    } else {
        result.reasons = vec![plain_reason(pack, node, Truth::Met, Vec::new())];
        result.decision = procedures.iter().copied().min().unwrap_or(Decision::PendForInformation);
    }
    // Session rules hold for a device line as for any other.
    let scope = Scope { req, line: index, entry: None };
    let mut trace = Vec::new();
    let mut checks = Truth::Met;
    for &check in &pack.device_checks {
        checks = checks.and(tree::trace(pack, check, &scope, &mut trace));
    }
    result.reasons.extend(reasons(&trace));
    result.decision = result.decision.min(Decision::from_truth(checks));
    result.questions = questions_for(pack, req, index, &result.reasons);
    result.tree = trace;
    Some(result)
}

fn advisory(node: &crate::pack::Node) -> Option<Advisory<'_>> {
    Some(Advisory {
        node,
        id: node.id.as_deref()?,
        explain: node.explain.as_deref().unwrap_or(""),
        source: node.source.as_deref().unwrap_or(""),
    })
}

fn plain_reason(pack: &Pack, node: NodeId, value: Truth, missing: Vec<Missing>) -> Reason<'_> {
    let n = pack.node(node);
    Reason {
        node: n,
        id: n.id.as_deref().unwrap_or(""),
        role: n.role,
        value,
        explain: n.explain.as_deref().unwrap_or(""),
        source: n.source.as_deref().unwrap_or(""),
        within: None,
        facts: Vec::new(),
        missing,
    }
}

/// Every criterion with an id that holds the line back: requirements not met, exclusions and
/// contraindications present, and anything unknown, found by descending only through nodes
/// that hold the line back (so an alternative that was met hides nothing and shows nothing).
fn reasons<'p>(trace: &[TraceNode<'p>]) -> Vec<Reason<'p>> {
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(e) = trace.get(i) {
        if e.depth == 0 {
            let node = e.node;
            if node.role != Role::Advisory {
                let against = node.role.holds_against();
                collect(trace, i, against, None, None, &mut out);
            }
        }
        i = e.end.max(i + 1);
    }
    out
}

/// The value as it bears on the line: an exclusion that holds counts as not met.
fn bearing(value: Truth, against: bool) -> Truth {
    if against { value.not() } else { value }
}

/// How a parent's value bears on its children's reporting.
#[derive(Clone, Copy)]
struct Parent {
    value: Truth,
    /// Every child must hold for the parent to hold (`all`, or `any` under a negation).
    conjunctive: bool,
}

/// Reports the node if it explains its parent's value: at the top of the line every criterion
/// that is not met (or unknown) is reported, so a failing exclusion does not hide an unknown
/// indication; below that, a child explains a parent that is not met if it is not met itself,
/// or if it is unknown and the parent needs every child (so the reviewer sees everything the
/// group lacks at once); an unknown inside an alternative that already failed could not change
/// anything. A parent that is unknown is explained by its unknown children.
fn collect<'p>(
    trace: &[TraceNode<'p>],
    at: usize,
    against: bool,
    parent: Option<Parent>,
    within: Option<&'p str>,
    out: &mut Vec<Reason<'p>>,
) {
    let Some(e) = trace.get(at) else { return };
    let value = bearing(e.value, against);
    let holds_back = match parent {
        None => value != Truth::Met,
        Some(p) => {
            (value == p.value && p.value != Truth::Met)
                || (p.conjunctive && p.value == Truth::NotMet && value == Truth::Unknown)
        }
    };
    if !e.applicable || !holds_back {
        return;
    }
    let node = e.node;
    let mut inner_within = within;
    if let Some(id) = node.id.as_deref().filter(|id| Some(*id) != within) {
        let subtree = trace.get(at..e.end).unwrap_or_default();
        let mut missing = Vec::new();
        if e.value == Truth::Unknown {
            unknown_leaves_missing(trace, at, &mut missing);
        }
        missing.sort();
        missing.dedup();
        let mut facts: Vec<Reading<'p>> = Vec::new();
        for s in subtree {
            if let (Some(reading), Some(label)) = (&s.reading, s.node.test_label())
                && !facts.iter().any(|f| f.fact == label)
            {
                facts.push(Reading { node: s.node, fact: label, value: reading.clone() });
            }
        }
        out.push(Reason {
            node,
            id,
            role: node.role,
            value: e.value,
            explain: node.explain.as_deref().unwrap_or(""),
            source: node.source.as_deref().unwrap_or(""),
            within,
            facts,
            missing,
        });
        inner_within = Some(id);
    }
    // Descend into the children that hold the parent back.
    let children = child_indices(trace, at);
    let conjunctive = match &node.shape {
        Shape::All(_) => !against,
        Shape::Any(_) => against,
        _ => false,
    };
    let this = Some(Parent { value, conjunctive });
    match &node.shape {
        Shape::Not(_) => {
            for c in children {
                collect(trace, c, !against, Some(Parent { value, conjunctive: false }), inner_within, out);
            }
        }
        Shape::Choose { .. } => {
            // Children are condition, then, otherwise: the condition is not a reason, and the
            // branch not taken does not apply.
            for c in children.skip(1) {
                collect(trace, c, against, this, inner_within, out);
            }
        }
        _ => {
            for c in children {
                collect(trace, c, against, this, inner_within, out);
            }
        }
    }
}

/// The missing facts that leave a node unknown: those of its unknown leaves, reached through
/// unknown children only (an unknown inside a part that is already decided settles nothing).
fn unknown_leaves_missing(trace: &[TraceNode<'_>], at: usize, into: &mut Vec<Missing>) {
    let Some(e) = trace.get(at) else { return };
    if e.value != Truth::Unknown || !e.applicable {
        return;
    }
    into.extend(e.missing.iter().cloned());
    for c in child_indices(trace, at) {
        unknown_leaves_missing(trace, c, into);
    }
}

/// The positions of a node's children in a preorder trace.
fn child_indices<'t>(trace: &'t [TraceNode<'_>], at: usize) -> impl Iterator<Item = usize> + 't {
    let end = trace.get(at).map_or(at, |e| e.end);
    let mut next = at + 1;
    std::iter::from_fn(move || {
        (next < end).then(|| {
            let child = next;
            next = trace.get(child).map_or(end, |c| c.end.max(child + 1));
            child
        })
    })
}

/// One question per missing item, naming the ids its answer would settle. A question's text
/// may name what the request states at its paths (`{stated}`: the diagnosis codes it asks
/// about).
fn questions_for(pack: &Pack, req: &Request<'_>, line: usize, reasons: &[Reason<'_>]) -> Vec<Question> {
    let mut questions: Vec<Question> = Vec::new();
    let mut stated: Vec<Vec<&str>> = Vec::new();
    for reason in reasons.iter().filter(|r| r.value == Truth::Unknown) {
        for m in &reason.missing {
            let (key, path) = (m.key(), m.path());
            let at = match questions.iter().position(|q| q.key == key) {
                Some(i) => i,
                None => {
                    let text = pack.question(&key).unwrap_or(&key).to_owned();
                    questions.push(Question { key, text, paths: Vec::new(), settles: Vec::new(), lines: vec![line] });
                    stated.push(Vec::new());
                    questions.len() - 1
                }
            };
            if let (Some(q), Some(stated)) = (questions.get_mut(at), stated.get_mut(at)) {
                if !q.paths.contains(&path) {
                    q.paths.push(path);
                    stated.extend(m.stated_diagnosis(req.case));
                }
                if !q.settles.iter().any(|s| s == reason.id) {
                    q.settles.push(reason.id.to_owned());
                }
            }
        }
    }
    for (q, stated) in questions.iter_mut().zip(stated) {
        if q.text.contains("{stated}") {
            q.text = q.text.replace("{stated}", &stated.join(", "));
        }
    }
    questions
}

fn merge_questions(all: impl Iterator<Item = Question>) -> Vec<Question> {
    let mut merged: Vec<Question> = Vec::new();
    for q in all {
        match merged.iter_mut().find(|m| m.key == q.key) {
            Some(m) => {
                for p in q.paths {
                    if !m.paths.contains(&p) {
                        m.paths.push(p);
                    }
                }
                for s in q.settles {
                    if !m.settles.contains(&s) {
                        m.settles.push(s);
                    }
                }
                for l in q.lines {
                    if !m.lines.contains(&l) {
                        m.lines.push(l);
                    }
                }
            }
            None => merged.push(q),
        }
    }
    merged
}
