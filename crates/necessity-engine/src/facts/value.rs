//! Values of facts, the tests a leaf applies to them, and how both read in a trace.

use crate::calendar::{self, Period};
use crate::kleene::Truth;
use crate::pack::{DiagnosisPattern, Pack};
use jiff::civil::Date;
use necessity_case::{DiagnosisCode, FieldValue, Level, Unit};

/// Where the names of an enum fact's values come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Vocab {
    Static(&'static [&'static str]),
    Families,
    Procedures,
    Regions,
}

/// What a fact holds, for checking the tests a pack applies to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Bool,
    Number(Unit),
    Date,
    Enum(Vocab),
    EnumList(Vocab),
    /// A count with lower and upper bounds.
    Count,
    Levels,
    Diagnoses,
    Text,
    Texts,
    Records,
}

impl Kind {
    pub(crate) fn describe(self) -> &'static str {
        match self {
            Self::Bool => "a yes/no fact",
            Self::Number(_) => "a number",
            Self::Date => "a date",
            Self::Enum(_) => "one value of a list",
            Self::EnumList(_) => "a list of values",
            Self::Count => "a count",
            Self::Levels => "a list of spinal levels",
            Self::Diagnoses => "a list of diagnosis codes",
            Self::Text => "a code",
            Self::Texts => "a list of texts",
            Self::Records => "a list of records",
        }
    }

    pub(crate) fn from_field(kind: necessity_case::FieldKind) -> Self {
        use necessity_case::FieldKind as F;
        match kind {
            F::Bool => Self::Bool,
            F::Int(u) | F::Num(u) => Self::Number(u),
            F::Date => Self::Date,
            F::Enum(v) => Self::Enum(Vocab::Static(v)),
            F::EnumList(v) => Self::EnumList(Vocab::Static(v)),
            F::Levels => Self::Levels,
            F::Diagnoses => Self::Diagnoses,
            F::Text => Self::Text,
            F::Texts => Self::Texts,
            F::Records => Self::Records,
        }
    }
}

/// The value of a fact for one request (and line).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Value<'a> {
    Missing,
    Bool(bool),
    Number(f64),
    Date(Date),
    Enum(usize),
    /// One of these values, the request does not say which (a code that allows two approaches).
    OneOf(u64),
    EnumList(u64),
    /// Between `lo` and `hi`; `hi == u32::MAX` is unbounded.
    Count {
        lo: u32,
        hi: u32,
    },
    Levels(&'a [Level]),
    Diagnoses(&'a [DiagnosisCode]),
    Text(&'a str),
    Texts(&'a [String]),
    Records(usize),
}

impl<'a> From<FieldValue<'a>> for Value<'a> {
    fn from(v: FieldValue<'a>) -> Self {
        match v {
            FieldValue::Missing => Self::Missing,
            FieldValue::Bool(b) => Self::Bool(b),
            #[expect(clippy::cast_precision_loss, reason = "case integers are small, bounded values")]
            FieldValue::Int(i) => Self::Number(i as f64),
            FieldValue::Num(n) => Self::Number(n),
            FieldValue::Date(d) => Self::Date(d),
            FieldValue::Enum(i) => Self::Enum(i),
            FieldValue::EnumList(m) => Self::EnumList(m),
            FieldValue::Levels(l) => Self::Levels(l),
            FieldValue::Diagnoses(d) => Self::Diagnoses(d),
            FieldValue::Text(t) => Self::Text(t),
            FieldValue::Texts(t) => Self::Texts(t),
            FieldValue::Records(n) => Self::Records(n),
        }
    }
}

impl Value<'_> {
    pub(crate) fn count(n: usize) -> Self {
        let n = u32::try_from(n).unwrap_or(u32::MAX);
        Self::Count { lo: n, hi: n }
    }

    /// How the value reads in a trace. Names borrow from the pack's vocabularies; only levels,
    /// codes and texts are copied.
    pub(crate) fn shown<'p>(&self, kind: Kind, pack: &'p Pack) -> Shown<'p> {
        match *self {
            Self::Missing => Shown::Missing,
            Self::Bool(b) => Shown::Bool(b),
            Self::Number(n) => Shown::Number(n),
            Self::Date(d) => Shown::Date(d),
            Self::Enum(i) => Shown::Name(enum_name(kind, i, pack)),
            Self::OneOf(m) => Shown::OneOf { one_of: mask_names(kind, m, pack) },
            Self::EnumList(m) => Shown::Names(mask_names(kind, m, pack)),
            Self::Count { lo, hi } => Shown::Count { lo, hi },
            Self::Levels(l) => Shown::Texts(l.iter().map(ToString::to_string).collect()),
            Self::Diagnoses(d) => Shown::Texts(d.iter().map(|c| c.as_str().to_owned()).collect()),
            Self::Text(t) => Shown::Texts(vec![t.to_owned()]),
            Self::Texts(t) => Shown::Texts(t.to_vec()),
            Self::Records(n) => {
                let n = u32::try_from(n).unwrap_or(u32::MAX);
                Shown::Count { lo: n, hi: n }
            }
        }
    }
}

fn vocab_of(kind: Kind) -> Option<Vocab> {
    match kind {
        Kind::Enum(v) | Kind::EnumList(v) => Some(v),
        _ => None,
    }
}

fn enum_name(kind: Kind, i: usize, pack: &Pack) -> &str {
    let name = match vocab_of(kind) {
        Some(Vocab::Static(names)) => names.get(i).copied(),
        Some(Vocab::Families) => pack.catalog.families.get(i).map(|f| f.name.as_str()),
        Some(Vocab::Procedures) => pack.catalog.procedures.get(i).map(|p| p.name.as_str()),
        Some(Vocab::Regions) => pack.catalog.regions.get(i).map(|r| r.name.as_str()),
        None => None,
    };
    name.unwrap_or("")
}

fn mask_names(kind: Kind, mask: u64, pack: &Pack) -> Vec<&str> {
    (0..64).filter(|i| mask & (1u64 << i) != 0).map(|i| enum_name(kind, i, pack)).collect()
}

/// A value as a trace shows it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(untagged)]
pub enum Shown<'p> {
    Missing,
    Bool(bool),
    Number(f64),
    Date(Date),
    Name(&'p str),
    Names(Vec<&'p str>),
    /// One of these values; the request does not say which.
    OneOf {
        one_of: Vec<&'p str>,
    },
    Count {
        lo: u32,
        hi: u32,
    },
    Texts(Vec<String>),
}

impl std::fmt::Display for Shown<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Missing => f.write_str("not given"),
            Self::Bool(b) => f.write_str(if *b { "yes" } else { "no" }),
            Self::Number(n) => write!(f, "{n}"),
            Self::Date(d) => write!(f, "{d}"),
            Self::Name(n) => f.write_str(n),
            Self::Names(n) if n.is_empty() => f.write_str("none"),
            Self::Names(n) => f.write_str(&n.join(", ")),
            Self::OneOf { one_of } => write!(f, "one of {}", one_of.join(", ")),
            Self::Count { lo, hi } if lo == hi => write!(f, "{lo}"),
            Self::Count { lo, hi } if *hi == u32::MAX => write!(f, "at least {lo}"),
            Self::Count { lo, hi } => write!(f, "{lo} to {hi}"),
            Self::Texts(t) if t.is_empty() => f.write_str("none"),
            Self::Texts(t) => f.write_str(&t.join(", ")),
        }
    }
}

/// A fact that was needed and not given: the question that asks for it and where its answer
/// goes in the request. A small copyable value; its key and path are written out only when
/// shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Missing {
    /// The part of the request (`clinical`, `line`, `imaging`, `history`, ...).
    scope: &'static str,
    /// The field; empty for a whole list (`imaging`, `history`).
    field: &'static str,
    at: Place,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum Place {
    /// `scope.field` (or `scope` alone).
    Top,
    /// A top-level request field: the path is the field alone (`diagnoses`).
    Root,
    /// `services[i].field`.
    Line(u32),
    /// `services[i].<path_field>`, asked as `line.field`.
    LineAs(u32, &'static str),
    /// `scope[i].field`.
    Item(u32),
    /// `scope[i].list[j].field`, asked as `scope.list.field`.
    Sub(u32, &'static str, u32),
}

fn index(i: usize) -> u32 {
    u32::try_from(i).unwrap_or(u32::MAX)
}

impl Missing {
    /// `scope.field` at the top of the request (`clinical.pain_score`), or a whole list
    /// (`imaging`, with an empty field).
    pub(crate) fn top(scope: &'static str, field: &'static str) -> Self {
        Self { scope, field, at: Place::Top }
    }

    /// A top-level request field asked as `scope.field` (`request.diagnoses` at `diagnoses`).
    pub(crate) fn root(scope: &'static str, field: &'static str) -> Self {
        Self { scope, field, at: Place::Root }
    }

    pub(crate) fn line(line: usize, field: &'static str) -> Self {
        Self { scope: "line", field, at: Place::Line(index(line)) }
    }

    /// Asked as `line.asked`, answered at `services[i].path_field`.
    pub(crate) fn line_as(line: usize, asked: &'static str, path_field: &'static str) -> Self {
        Self { scope: "line", field: asked, at: Place::LineAs(index(line), path_field) }
    }

    /// `scope[i].field` (`imaging[0].date`, `history[2].relief_percent`).
    pub(crate) fn item(scope: &'static str, i: usize, field: &'static str) -> Self {
        Self { scope, field, at: Place::Item(index(i)) }
    }

    /// `scope[i].list[j].field` (`imaging[0].findings[1].level`).
    pub(crate) fn sub(scope: &'static str, i: usize, list: &'static str, j: usize, field: &'static str) -> Self {
        Self { scope, field, at: Place::Sub(index(i), list, index(j)) }
    }

    /// The diagnosis code this asks about, for a question about one of the request's codes.
    pub(crate) fn stated_diagnosis<'c>(&self, case: &'c necessity_case::Case) -> Option<&'c str> {
        match self.at {
            Place::Item(i) if self.scope == "diagnoses" => {
                case.diagnoses.as_deref()?.get(usize::try_from(i).ok()?).map(necessity_case::DiagnosisCode::as_str)
            }
            _ => None,
        }
    }

    /// The question key: `clinical.pain_score`, `line.levels`, `imaging.findings.level`.
    #[must_use]
    pub fn key(&self) -> String {
        let list = match self.at {
            Place::Sub(_, list, _) => list,
            _ => "",
        };
        [self.scope, list, self.field].iter().filter(|p| !p.is_empty()).copied().collect::<Vec<_>>().join(".")
    }

    /// Where the answer goes: `clinical.pain_score`, `services[0].levels`,
    /// `imaging[0].findings[1].level`.
    #[must_use]
    pub fn path(&self) -> String {
        self.to_string()
    }
}

/// Shows the path where the answer goes.
impl std::fmt::Display for Missing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.at {
            Place::Top => f.write_str(self.scope)?,
            Place::Root => return f.write_str(self.field),
            Place::Line(i) | Place::LineAs(i, _) => write!(f, "services[{i}]")?,
            Place::Item(i) => write!(f, "{}[{i}]", self.scope)?,
            Place::Sub(i, list, j) => write!(f, "{}[{i}].{list}[{j}]", self.scope)?,
        }
        let field = if let Place::LineAs(_, field) = self.at { field } else { self.field };
        if field.is_empty() { Ok(()) } else { write!(f, ".{field}") }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cmp {
    AtLeast,
    AtMost,
    Above,
    Below,
}

impl Cmp {
    pub(crate) fn word(self) -> &'static str {
        match self {
            Self::AtLeast => "at_least",
            Self::AtMost => "at_most",
            Self::Above => "above",
            Self::Below => "below",
        }
    }

    fn holds(self, value: f64, threshold: f64) -> bool {
        match self {
            Self::AtLeast => value >= threshold,
            Self::AtMost => value <= threshold,
            Self::Above => value > threshold,
            Self::Below => value < threshold,
        }
    }

    /// Kleene comparison of a count known to lie in `lo..=hi`.
    fn bounds(self, lo: u32, hi: u32, threshold: f64) -> Truth {
        let (lo, hi) = (f64::from(lo), if hi == u32::MAX { f64::INFINITY } else { f64::from(hi) });
        let (surely, possibly) = match self {
            Self::AtLeast | Self::Above => (self.holds(lo, threshold), self.holds(hi, threshold)),
            Self::AtMost | Self::Below => (self.holds(hi, threshold), self.holds(lo, threshold)),
        };
        if surely {
            Truth::Met
        } else if possibly {
            Truth::Unknown
        } else {
            Truth::NotMet
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DateOp {
    Within,
    MoreThanBefore,
    AtLeastAgo,
}

impl DateOp {
    pub(crate) fn word(self) -> &'static str {
        match self {
            Self::Within => "within",
            Self::MoreThanBefore => "more_than_before",
            Self::AtLeastAgo => "at_least_ago",
        }
    }
}

/// What a leaf checks of its fact.
#[derive(Debug, Clone)]
pub(crate) enum Test {
    /// The yes/no fact is this.
    Is(bool),
    /// The enum value is in (or, negated, outside) this set.
    InSet {
        mask: u64,
        negate: bool,
    },
    Compare {
        cmp: Cmp,
        threshold: f64,
    },
    Date {
        op: DateOp,
        period: Period,
    },
    ListAny(u64),
    ListOnly(u64),
    ListNone(u64),
    ListCount {
        cmp: Cmp,
        threshold: f64,
    },
    DiagnosesAny(Vec<DiagnosisPattern>),
    /// Some listed level is (or touches) one of these.
    LevelsAny(Vec<Level>),
    CodeIn(Vec<String>),
    /// The fact is given (missing stays unknown: a completeness problem).
    Given,
    /// A count is zero (`true`) or at least one (`false`).
    Zero(bool),
}

impl Test {
    /// The test's value on a fact value, relative to the service date.
    pub(crate) fn apply(&self, value: &Value<'_>, service_date: Date) -> Truth {
        use Truth::{Met, NotMet, Unknown};
        match (self, value) {
            (Self::Given, Value::Missing) => Unknown,
            (Self::Given, _) => Met,
            (_, Value::Missing) => Unknown,
            (Self::Is(want), Value::Bool(b)) => Truth::from_bool(b == want),
            (Self::InSet { mask, negate }, Value::Enum(i)) => {
                let inside =
                    u32::try_from(*i).ok().and_then(|i| 1u64.checked_shl(i)).is_some_and(|bit| mask & bit != 0);
                Truth::from_bool(inside != *negate)
            }
            (Self::InSet { mask, negate }, Value::OneOf(possible)) => {
                let inside = if possible & !mask == 0 {
                    Met
                } else if possible & mask == 0 {
                    NotMet
                } else {
                    Unknown
                };
                if *negate { inside.not() } else { inside }
            }
            (Self::Compare { cmp, threshold, .. }, Value::Number(n)) => Truth::from_bool(cmp.holds(*n, *threshold)),
            (Self::Compare { cmp, threshold, .. }, Value::Count { lo, hi }) => cmp.bounds(*lo, *hi, *threshold),
            (Self::Date { op, period, .. }, Value::Date(d)) => Truth::from_bool(match op {
                DateOp::Within => calendar::within(*d, service_date, *period),
                DateOp::MoreThanBefore => calendar::more_than_before(*d, service_date, *period),
                DateOp::AtLeastAgo => calendar::at_least_ago(*d, service_date, *period),
            }),
            (Self::ListAny(mask), Value::EnumList(m)) => Truth::from_bool(m & mask != 0),
            (Self::ListNone(mask), Value::EnumList(m)) => Truth::from_bool(m & mask == 0),
            (Self::ListOnly(mask), Value::EnumList(m)) => Truth::from_bool(*m != 0 && m & !mask == 0),
            (Self::ListCount { cmp, threshold, .. }, Value::EnumList(m)) => {
                Truth::from_bool(cmp.holds(f64::from(m.count_ones()), *threshold))
            }
            (Self::ListCount { cmp, threshold, .. }, Value::Levels(l)) => {
                #[expect(clippy::cast_precision_loss, reason = "lists are short")]
                let n = l.len() as f64;
                Truth::from_bool(cmp.holds(n, *threshold))
            }
            (Self::DiagnosesAny(patterns), Value::Diagnoses(codes)) => {
                Truth::from_bool(codes.iter().any(|c| patterns.iter().any(|p| p.matches(c.as_str()))))
            }
            (Self::CodeIn(codes), Value::Text(t)) => Truth::from_bool(codes.iter().any(|c| c == t)),
            (Self::LevelsAny(wanted), Value::Levels(l)) => {
                Truth::from_bool(l.iter().any(|x| wanted.iter().any(|w| w.touches(*x))))
            }
            (Self::Zero(zero), Value::Count { lo, hi }) => {
                let is_zero = if *hi == 0 {
                    Met
                } else if *lo > 0 {
                    NotMet
                } else {
                    Unknown
                };
                if *zero { is_zero } else { is_zero.not() }
            }
            (Self::Zero(zero), Value::Records(n)) => Truth::from_bool((*n == 0) == *zero),
            (Self::Zero(zero), Value::EnumList(m)) => Truth::from_bool((*m == 0) == *zero),
            (Self::Zero(zero), Value::Levels(l)) => Truth::from_bool(l.is_empty() == *zero),
            // The loader only pairs tests with facts of a fitting kind.
            _ => Unknown,
        }
    }
}
