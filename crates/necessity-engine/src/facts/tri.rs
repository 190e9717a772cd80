//! Kleene values that remember which missing facts left them unknown, so a derived fact asks
//! only for what could settle it.

use super::{Missing, Value};
use crate::kleene::Truth;

#[derive(Debug, Clone)]
pub(crate) struct Tri {
    pub truth: Truth,
    pub missing: Vec<Missing>,
}

impl Tri {
    pub(crate) fn met() -> Self {
        Self { truth: Truth::Met, missing: Vec::new() }
    }

    pub(crate) fn not_met() -> Self {
        Self { truth: Truth::NotMet, missing: Vec::new() }
    }

    pub(crate) fn from_bool(b: bool) -> Self {
        if b { Self::met() } else { Self::not_met() }
    }

    pub(crate) fn unknown(missing: Missing) -> Self {
        Self { truth: Truth::Unknown, missing: vec![missing] }
    }

    /// A yes/no that may be missing.
    pub(crate) fn flag(value: Option<bool>, missing: impl FnOnce() -> Missing) -> Self {
        value.map_or_else(|| Self::unknown(missing()), Self::from_bool)
    }

    pub(crate) fn and(self, other: Self) -> Self {
        match (self.truth, other.truth) {
            (Truth::NotMet, _) => self,
            (_, Truth::NotMet) => other,
            (Truth::Met, _) => other,
            (_, Truth::Met) => self,
            _ => Self { truth: Truth::Unknown, missing: [self.missing, other.missing].concat() },
        }
    }

    pub(crate) fn or(self, other: Self) -> Self {
        match (self.truth, other.truth) {
            (Truth::Met, _) => self,
            (_, Truth::Met) => other,
            (Truth::NotMet, _) => other,
            (_, Truth::NotMet) => self,
            _ => Self { truth: Truth::Unknown, missing: [self.missing, other.missing].concat() },
        }
    }

    /// Swaps met and not met; an unknown keeps what it misses.
    pub(crate) fn not(self) -> Self {
        Self { truth: self.truth.not(), missing: self.missing }
    }

    pub(crate) fn all(items: impl IntoIterator<Item = Self>) -> Self {
        let mut acc = Self::met();
        for item in items {
            acc = acc.and(item);
            if acc.truth == Truth::NotMet {
                break;
            }
        }
        acc
    }

    pub(crate) fn any(items: impl IntoIterator<Item = Self>) -> Self {
        let mut acc = Self::not_met();
        for item in items {
            acc = acc.or(item);
            if acc.truth == Truth::Met {
                break;
            }
        }
        acc
    }

    /// As a yes/no fact value; unknown becomes missing, with its missing facts noted.
    pub(crate) fn into_value<'a>(self, missing: &mut Vec<Missing>) -> Value<'a> {
        match self.truth {
            Truth::Met => Value::Bool(true),
            Truth::NotMet => Value::Bool(false),
            Truth::Unknown => {
                missing.extend(self.missing);
                Value::Missing
            }
        }
    }
}
