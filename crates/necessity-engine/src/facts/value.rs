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

    /// How the value reads in a trace, owning what it needs.
    pub(crate) fn shown(&self, kind: Kind, pack: &Pack) -> Shown {
        match *self {
            Self::Missing => Shown::Missing,
            Self::Bool(b) => Shown::Bool(b),
            Self::Number(n) => Shown::Number(n),
            Self::Date(d) => Shown::Date(d),
            Self::Enum(i) => Shown::Names(vec![enum_name(kind, i, pack)]),
            Self::OneOf(m) => Shown::OneOf(mask_names(kind, m, pack)),
            Self::EnumList(m) => Shown::Names(mask_names(kind, m, pack)),
            Self::Count { lo, hi } => Shown::Count { lo, hi },
            Self::Levels(l) => Shown::Names(l.iter().map(ToString::to_string).collect()),
            Self::Diagnoses(d) => Shown::Names(d.iter().map(|c| c.as_str().to_owned()).collect()),
            Self::Text(t) => Shown::Names(vec![t.to_owned()]),
            Self::Texts(t) => Shown::Names(t.to_vec()),
            Self::Records(n) => {
                Shown::Count { lo: u32::try_from(n).unwrap_or(u32::MAX), hi: u32::try_from(n).unwrap_or(u32::MAX) }
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

fn enum_name(kind: Kind, i: usize, pack: &Pack) -> String {
    match vocab_of(kind) {
        Some(Vocab::Static(names)) => names.get(i).map_or_else(|| i.to_string(), |s| (*s).to_owned()),
        Some(Vocab::Families) => pack.catalog.families.get(i).map_or_else(String::new, |f| f.name.clone()),
        Some(Vocab::Procedures) => pack.catalog.procedures.get(i).map_or_else(String::new, |p| p.name.clone()),
        Some(Vocab::Regions) => pack.catalog.regions.get(i).map_or_else(String::new, |r| r.name.clone()),
        None => i.to_string(),
    }
}

fn mask_names(kind: Kind, mask: u64, pack: &Pack) -> Vec<String> {
    (0..64).filter(|i| mask & (1u64 << i) != 0).map(|i| enum_name(kind, i, pack)).collect()
}

/// A value as a trace shows it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(untagged)]
pub enum Shown {
    Missing,
    Bool(bool),
    Number(f64),
    Date(Date),
    Names(Vec<String>),
    OneOf(Vec<String>),
    Count { lo: u32, hi: u32 },
}

impl std::fmt::Display for Shown {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Missing => f.write_str("not given"),
            Self::Bool(b) => f.write_str(if *b { "yes" } else { "no" }),
            Self::Number(n) => write!(f, "{n}"),
            Self::Date(d) => write!(f, "{d}"),
            Self::Names(n) if n.is_empty() => f.write_str("none"),
            Self::Names(n) => f.write_str(&n.join(", ")),
            Self::OneOf(n) => write!(f, "one of {}", n.join(", ")),
            Self::Count { lo, hi } if lo == hi => write!(f, "{lo}"),
            Self::Count { lo, hi } if *hi == u32::MAX => write!(f, "at least {lo}"),
            Self::Count { lo, hi } => write!(f, "{lo} to {hi}"),
        }
    }
}

/// A fact that was needed and not given, by its question key and its place in the request.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Missing {
    /// The question that asks for it, e.g. `clinical.pain_score`, `imaging.independent_radiologist`.
    pub key: String,
    /// Where it goes in the request, e.g. `imaging[0].independent_radiologist`.
    pub path: String,
}

impl Missing {
    pub(crate) fn at(key: &str, path: &str) -> Self {
        Self { key: key.to_owned(), path: path.to_owned() }
    }

    pub(crate) fn line(line: usize, field: &str) -> Self {
        Self { key: format!("line.{field}"), path: format!("services[{line}].{field}") }
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
