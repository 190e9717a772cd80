//! Evaluating criteria trees: every node's value under Kleene logic, and, when asked, a trace
//! of every node with the facts its leaves read and the facts they missed.

use super::context::Scope;
use crate::facts::{Missing, Shown};
use crate::kleene::Truth;
use crate::pack::{NodeId, Pack, Shape};

/// One evaluated node, in preorder. `end` is the index after its subtree.
#[derive(Debug, Clone)]
pub(crate) struct Evaluated {
    pub node: NodeId,
    pub depth: u16,
    pub end: usize,
    pub value: Truth,
    /// False when the node's `applies_if` did not hold (its value is then `Met`).
    pub applicable: bool,
    /// For leaves: the fact's value.
    pub reading: Option<Shown>,
    /// For unknown leaves: what was missing.
    pub missing: Vec<Missing>,
}

/// The value of a node, without a trace (scope rules, selector tests).
pub(crate) fn value_of(pack: &Pack, node: NodeId, scope: &Scope<'_, '_>, missing: &mut Vec<Missing>) -> Truth {
    let mut walker = Walker { pack, scope, trace: None, sink: Some(missing), depth: 0 };
    walker.eval(node)
}

/// The value of a node and the trace of its whole tree.
pub(crate) fn trace(pack: &Pack, node: NodeId, scope: &Scope<'_, '_>, into: &mut Vec<Evaluated>) -> Truth {
    let mut walker = Walker { pack, scope, trace: Some(std::mem::take(into)), sink: None, depth: 0 };
    let value = walker.eval(node);
    *into = walker.trace.unwrap_or_default();
    value
}

struct Walker<'p, 's, 'r, 'a, 'm> {
    pack: &'p Pack,
    scope: &'s Scope<'r, 'a>,
    trace: Option<Vec<Evaluated>>,
    /// Where an untraced walk collects missing facts.
    sink: Option<&'m mut Vec<Missing>>,
    depth: u16,
}

impl Walker<'_, '_, '_, '_, '_> {
    fn eval(&mut self, id: NodeId) -> Truth {
        let pack = self.pack;
        let node = pack.node(id);
        let slot = self.trace.as_mut().map(|t| {
            t.push(Evaluated {
                node: id,
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
        let (value, applicable) = match applies {
            Some(Truth::NotMet) => (Truth::Met, false),
            // `applies_if` unknown: the node holds if it does not apply or if its body holds.
            Some(c) => (c.not().or(body), true),
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

    fn shape(&mut self, id: NodeId, slot: Option<usize>) -> Truth {
        let pack = self.pack;
        match &pack.node(id).shape {
            Shape::All(children) => Truth::all(children.iter().map(|c| self.eval(*c)).collect::<Vec<_>>()),
            Shape::Any(children) => Truth::any(children.iter().map(|c| self.eval(*c)).collect::<Vec<_>>()),
            Shape::AtLeast { n, of } => Truth::at_least(*n, of.iter().map(|c| self.eval(*c)).collect::<Vec<_>>()),
            Shape::Not(child) => self.eval(*child).not(),
            Shape::Choose { condition, then, otherwise } => {
                let c = self.eval(*condition);
                let t = self.eval(*then);
                let o = self.eval(*otherwise);
                Truth::choose(c, t, o)
            }
            Shape::Leaf(leaf) => {
                let mut missing = Vec::new();
                let value = leaf.fact.value(self.scope, &mut missing);
                let truth = match (value, leaf.missing_as) {
                    (crate::facts::Value::Missing, Some(fixed)) => fixed,
                    _ => leaf.test.apply(&value, self.scope.service_date()),
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
