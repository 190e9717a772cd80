//! What the engine returns (`shared/spec/outcomes.md`): per-line and overall decisions, every
//! reason with its id, value, explanation, facts read and facts missing, the questions a
//! provider's office can answer, advisories, and the identities that make it reproducible.

use crate::facts::{Missing, Shown};
use crate::kleene::Truth;
use crate::pack::{Node, PackIdentity, Role};
use jiff::civil::Date;
use serde::Serialize;

/// A line's or a request's decision. The engine never denies: the strongest negative outcome
/// routes the request to a physician reviewer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    DoesNotMeetCriteria,
    PendForInformation,
    MeetsCriteria,
    NotificationOnly,
    OutOfScope,
}

impl Decision {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::DoesNotMeetCriteria => "does_not_meet_criteria",
            Self::PendForInformation => "pend_for_information",
            Self::MeetsCriteria => "meets_criteria",
            Self::NotificationOnly => "notification_only",
            Self::OutOfScope => "out_of_scope",
        }
    }

    /// What the plan does with it.
    #[must_use]
    pub fn action(self) -> &'static str {
        match self {
            Self::DoesNotMeetCriteria => "route to a physician reviewer with the reasons; never an automatic denial",
            Self::PendForInformation => "ask the provider for the missing items",
            Self::MeetsCriteria => "approve automatically",
            Self::NotificationOnly => "record the notification; no review",
            Self::OutOfScope => "route to the plan's other policy",
        }
    }

    pub(crate) fn from_truth(t: Truth) -> Self {
        match t {
            Truth::Met => Self::MeetsCriteria,
            Truth::Unknown => Self::PendForInformation,
            Truth::NotMet => Self::DoesNotMeetCriteria,
        }
    }

    /// The request's decision: the least favourable reviewed line; notification-only and
    /// out-of-scope lines never lower it.
    #[must_use]
    pub fn overall(lines: impl IntoIterator<Item = Self>) -> Self {
        let mut reviewed: Option<Self> = None;
        let mut any_notification = false;
        for d in lines {
            match d {
                Self::NotificationOnly => any_notification = true,
                Self::OutOfScope => {}
                other => reviewed = Some(reviewed.map_or(other, |r| r.min(other))),
            }
        }
        reviewed.unwrap_or(if any_notification { Self::NotificationOnly } else { Self::OutOfScope })
    }
}

/// The value of a reason as reports show it: `met` / `not_met` / `unknown` for requirements
/// and limits, `present` / `absent` / `unknown` for exclusions and contraindications.
#[must_use]
pub fn shown_value(role: Role, value: Truth) -> &'static str {
    match (role.holds_against(), value) {
        (_, Truth::Unknown) => "unknown",
        (true, Truth::Met) => "present",
        (true, Truth::NotMet) => "absent",
        (false, v) => v.as_str(),
    }
}

/// The result of evaluating one request.
#[derive(Debug, Clone)]
pub struct Determination<'p> {
    pub request_id: Option<String>,
    pub case_hash: String,
    pub service_date: Date,
    pub pack: &'p PackIdentity,
    pub decision: Decision,
    pub lines: Vec<LineResult<'p>>,
    /// Every missing item, merged across lines.
    pub questions: Vec<Question>,
    /// Advisory notes that apply, once each.
    pub advisories: Vec<Advisory<'p>>,
}

/// One service line's result.
#[derive(Debug, Clone)]
pub struct LineResult<'p> {
    pub index: usize,
    pub code: String,
    pub code_label: Option<&'p str>,
    pub procedure: Option<&'p str>,
    pub procedure_label: Option<&'p str>,
    pub decision: Decision,
    pub reasons: Vec<Reason<'p>>,
    pub questions: Vec<Question>,
    pub advisories: Vec<Advisory<'p>>,
    /// Every node of the criteria applied, in preorder.
    pub tree: Vec<TraceNode<'p>>,
}

/// A criterion that decided (or holds back) the line.
#[derive(Debug, Clone)]
pub struct Reason<'p> {
    /// The criterion (its id, explanation and source are the node's).
    pub node: &'p Node,
    pub id: &'p str,
    pub role: Role,
    pub value: Truth,
    pub explain: &'p str,
    pub source: &'p str,
    /// The nearest enclosing criterion with an id, if any.
    pub within: Option<&'p str>,
    pub facts: Vec<Reading<'p>>,
    pub missing: Vec<Missing>,
}

impl Reason<'_> {
    /// `met`, `not_met`, `present`, `absent` or `unknown`.
    #[must_use]
    pub fn shown_value(&self) -> &'static str {
        shown_value(self.role, self.value)
    }
}

/// A fact a criterion read, and its value.
#[derive(Debug, Clone, PartialEq)]
pub struct Reading<'p> {
    /// The leaf that read it.
    pub node: &'p Node,
    pub fact: &'p str,
    pub value: Shown<'p>,
}

/// One missing item, as a question for the provider's office.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Question {
    pub key: String,
    pub text: String,
    /// Where the answer goes in the request.
    pub paths: Vec<String>,
    /// Ids the answer would settle.
    pub settles: Vec<String>,
    /// Lines (0-based) it concerns.
    pub lines: Vec<usize>,
}

/// An advisory note for the reviewer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Advisory<'p> {
    pub node: &'p Node,
    pub id: &'p str,
    pub explain: &'p str,
    pub source: &'p str,
}

/// One node of an applied criteria tree, in preorder.
#[derive(Debug, Clone)]
pub struct TraceNode<'p> {
    pub node: &'p Node,
    pub depth: u16,
    pub value: Truth,
    /// False when the node's `applies_if` did not hold or it is a branch not taken (its value is
    /// then met, or absent for an exclusion).
    pub applicable: bool,
    /// For a leaf: the value its fact had.
    pub reading: Option<Shown<'p>>,
    /// For an unknown leaf: what was missing.
    pub missing: Vec<Missing>,
    /// The index after this node's subtree.
    pub(crate) end: usize,
}

impl<'p> TraceNode<'p> {
    /// `all`, `any`, `at_least`, `not`, `if` or `test`.
    #[must_use]
    pub fn shape(&self) -> &'static str {
        self.node.shape_name()
    }

    /// The leaf's test as written (`clinical.pain_score at_least gen_sev_pain_min (3/10)`).
    #[must_use]
    pub fn test(&self) -> Option<&'p str> {
        self.node.test_label()
    }

    /// The position, in the line's tree, just after this node's subtree.
    #[must_use]
    pub fn subtree_end(&self) -> usize {
        self.end
    }
}
