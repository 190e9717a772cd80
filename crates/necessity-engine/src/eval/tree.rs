//! Evaluating criteria trees: every node's value under Kleene logic, and, when asked, a trace
//! of every node with the facts its leaves read and the facts they missed.

use super::context::Scope;
use crate::determination::TraceNode;
use crate::facts::Missing;
use crate::kleene::Truth;
use crate::pack::{NodeId, Pack, Shape};

/// The value of a node, without a trace (scope rules, selector tests).
pub(crate) fn value_of(pack: &Pack, node: NodeId, scope: &Scope<'_, '_>, missing: &mut Vec<Missing>) -> Truth {
    let mut walker = Walker { pack, scope, trace: None, sink: Some(missing), depth: 0 };
    walker.eval(node)
}

/// The value of a node and the trace of its whole tree.
pub(crate) fn trace<'p>(pack: &'p Pack, node: NodeId, scope: &Scope<'_, '_>, into: &mut Vec<TraceNode<'p>>) -> Truth {
    let mut walker = Walker { pack, scope, trace: Some(std::mem::take(into)), sink: None, depth: 0 };
    let value = walker.eval(node);
    *into = walker.trace.unwrap_or_default();
    value
}

struct Walker<'p, 's, 'r, 'a, 'm> {
    pack: &'p Pack,
    scope: &'s Scope<'r, 'a>,
    trace: Option<Vec<TraceNode<'p>>>,
    /// Where an untraced walk collects missing facts.
    sink: Option<&'m mut Vec<Missing>>,
    depth: u16,
}

impl<'p> Walker<'p, '_, '_, '_, '_> {
    fn eval(&mut self, id: NodeId) -> Truth {
        let pack = self.pack;
        let node = pack.node(id);
        let slot = self.trace.as_mut().map(|t| {
            t.push(TraceNode {
                node,
                depth: self.depth,
                end: 0,
                value: Truth::Unknown,
                applicable: true,
                reading: None,
                missing: Vec::new(),
            });
            t.len() - 1
        });
        let applies = node.applies_if.map(|cond| {
            let mut ignored = Vec::new();
            value_of(pack, cond, self.scope, &mut ignored)
        });
        // The body is evaluated even when the node does not apply, so that a trace always has
        // the same nodes for the same criteria; a node that does not apply holds.
        self.depth += 1;
        let body = self.shape(id, slot);
        self.depth -= 1;
        // A requirement that does not apply is met; an exclusion or contraindication that does
        // not apply is absent. With `applies_if` unknown, the value is what it would be either
        // way, or unknown.
        let inapplicable = if node.role.holds_against() { Truth::NotMet } else { Truth::Met };
        let (value, applicable) = match applies {
            Some(Truth::NotMet) => (inapplicable, false),
            Some(c) => (Truth::choose(c, body, inapplicable), true),
            None => (body, true),
        };
        if let (Some(trace), Some(slot)) = (self.trace.as_mut(), slot) {
            let end = trace.len();
            if let Some(entry) = trace.get_mut(slot) {
                entry.value = value;
                entry.applicable = applicable;
                entry.end = end;
            }
        }
        value
    }

    /// Records a subtree that does not apply, node by node, so that a trace keeps the same
    /// shape whichever branch is taken.
    fn not_applicable(&mut self, id: NodeId) {
        let pack = self.pack;
        let Some(trace) = self.trace.as_mut() else { return };
        let start = trace.len();
        let mut stack = vec![(id, self.depth)];
        while let Some((at, depth)) = stack.pop() {
            let node = pack.node(at);
            trace.push(TraceNode {
                node,
                depth,
                end: 0,
                value: if node.role.holds_against() { Truth::NotMet } else { Truth::Met },
                applicable: false,
                reading: None,
                missing: Vec::new(),
            });
            let children: &[NodeId] = match &node.shape {
                Shape::All(c) | Shape::Any(c) | Shape::AtLeast { of: c, .. } => c,
                Shape::Not(c) => std::slice::from_ref(c),
                Shape::Choose { condition, then, otherwise, .. } => &[*condition, *then, *otherwise],
                Shape::Leaf(_) => &[],
            };
            stack.extend(children.iter().rev().map(|c| (*c, depth + 1)));
        }
        // Ends, from the last node back: a node's subtree ends where the next node at its depth
        // or shallower begins.
        let end = trace.len();
        for i in (start..end).rev() {
            let depth = trace.get(i).map_or(0, |n| n.depth);
            let next = (i + 1..end).find(|j| trace.get(*j).is_some_and(|n| n.depth <= depth)).unwrap_or(end);
            if let Some(n) = trace.get_mut(i) {
                n.end = next;
            }
        }
    }

    fn shape(&mut self, id: NodeId, slot: Option<usize>) -> Truth {
        let pack = self.pack;
        match &pack.node(id).shape {
            Shape::All(children) => Truth::all(children.iter().map(|c| self.eval(*c))),
            Shape::Any(children) => Truth::any(children.iter().map(|c| self.eval(*c))),
            Shape::AtLeast { n, of } => Truth::at_least(*n, of.iter().map(|c| self.eval(*c))),
            Shape::Not(child) => self.eval(*child).not(),
            Shape::Choose { condition, then, otherwise, pend_when_unknown } => match self.eval(*condition) {
                // The branch not taken does not apply: it is recorded, not evaluated.
                Truth::Met => {
                    let t = self.eval(*then);
                    self.not_applicable(*otherwise);
                    t
                }
                Truth::NotMet => {
                    self.not_applicable(*then);
                    self.eval(*otherwise)
                }
                Truth::Unknown if *pend_when_unknown => {
                    self.not_applicable(*then);
                    self.not_applicable(*otherwise);
                    Truth::Unknown
                }
                Truth::Unknown => {
                    let t = self.eval(*then);
                    let o = self.eval(*otherwise);
                    Truth::choose(Truth::Unknown, t, o)
                }
            },
            Shape::Leaf(leaf) => {
                let mut missing = Vec::new();
                let value = leaf.fact.value(self.scope, &mut missing);
                let date = match leaf.anchor {
                    None => Some(self.scope.service_date()),
                    Some(sel) => crate::facts::anchor_date(self.scope, sel, &mut missing),
                };
                let truth = match (value, leaf.missing_as, date) {
                    (crate::facts::Value::Missing, Some(fixed), _) => fixed,
                    (_, _, Some(date)) => leaf.test.apply(&value, date),
                    (_, _, None) => Truth::Unknown,
                };
                if truth == Truth::Unknown {
                    missing.sort();
                    missing.dedup();
                } else {
                    missing.clear();
                }
                if let (Some(trace), Some(slot)) = (self.trace.as_mut(), slot) {
                    if let Some(entry) = trace.get_mut(slot) {
                        entry.reading = Some(value.shown(leaf.kind, pack));
                        entry.missing = missing;
                    }
                } else if let Some(sink) = self.sink.as_mut() {
                    sink.extend(missing);
                }
                truth
            }
        }
    }
}
