//! Kleene's strong three-valued logic (`shared/spec/outcomes.md`).

use serde::Serialize;

/// The value of a criterion: shown to hold, shown not to hold, or not decidable from the case.
///
/// Ordered `NotMet < Unknown < Met`, so ALL is the minimum and ANY the maximum.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Truth {
    NotMet,
    Unknown,
    Met,
}

impl Truth {
    #[must_use]
    pub fn from_bool(b: bool) -> Self {
        if b { Self::Met } else { Self::NotMet }
    }

    #[must_use]
    pub fn and(self, other: Self) -> Self {
        self.min(other)
    }

    #[must_use]
    pub fn or(self, other: Self) -> Self {
        self.max(other)
    }

    /// Swaps met and not met; unknown stays unknown.
    #[must_use]
    #[expect(clippy::should_implement_trait, reason = "named after the logic operator, used by value")]
    pub fn not(self) -> Self {
        match self {
            Self::Met => Self::NotMet,
            Self::NotMet => Self::Met,
            Self::Unknown => Self::Unknown,
        }
    }

    /// ALL: not met if any child is not met; else unknown if any is unknown; else met.
    pub fn all(values: impl IntoIterator<Item = Self>) -> Self {
        values.into_iter().fold(Self::Met, Self::and)
    }

    /// ANY: met if any child is met; else unknown if any is unknown; else not met.
    pub fn any(values: impl IntoIterator<Item = Self>) -> Self {
        values.into_iter().fold(Self::NotMet, Self::or)
    }

    /// AT LEAST n of m: met once n are met; not met once more than m-n are not met; else unknown.
    pub fn at_least(n: usize, values: impl IntoIterator<Item = Self>) -> Self {
        let (mut met, mut not_met, mut total) = (0usize, 0usize, 0usize);
        for v in values {
            total += 1;
            match v {
                Self::Met => met += 1,
                Self::NotMet => not_met += 1,
                Self::Unknown => {}
            }
        }
        if met >= n {
            Self::Met
        } else if not_met + n > total {
            Self::NotMet
        } else {
            Self::Unknown
        }
    }

    /// If-then-else: the branch the condition picks; with an unknown condition, the branches'
    /// common value when they agree, else unknown (settling the condition can only pick one).
    #[must_use]
    pub fn choose(condition: Self, then: Self, otherwise: Self) -> Self {
        match condition {
            Self::Met => then,
            Self::NotMet => otherwise,
            Self::Unknown if then == otherwise => then,
            Self::Unknown => Self::Unknown,
        }
    }

    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Met => "met",
            Self::NotMet => "not_met",
            Self::Unknown => "unknown",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Truth::{self, *};
    use proptest::prelude::*;

    fn truth() -> impl Strategy<Value = Truth> {
        prop_oneof![Just(Met), Just(NotMet), Just(Unknown)]
    }

    /// The three values in the information order: unknown can become either of the others.
    fn refines(before: Truth, after: Truth) -> bool {
        before == Unknown || before == after
    }

    #[test]
    fn truth_tables() {
        assert_eq!(Truth::all([Met, Unknown]), Unknown);
        assert_eq!(Truth::all([NotMet, Unknown]), NotMet);
        assert_eq!(Truth::all([]), Met);
        assert_eq!(Truth::any([NotMet, Unknown]), Unknown);
        assert_eq!(Truth::any([Met, Unknown]), Met);
        assert_eq!(Truth::any([]), NotMet);
        assert_eq!(Unknown.not(), Unknown);
        assert_eq!(Truth::at_least(2, [Met, Unknown, NotMet]), Unknown);
        assert_eq!(Truth::at_least(2, [Met, NotMet, NotMet]), NotMet);
        assert_eq!(Truth::at_least(2, [Met, Met, Unknown]), Met);
        assert_eq!(Truth::at_least(3, [Met, Met]), NotMet);
        assert_eq!(Truth::at_least(0, []), Met);
        assert_eq!(Truth::choose(Unknown, Met, Met), Met);
        assert_eq!(Truth::choose(Unknown, Met, NotMet), Unknown);
        assert_eq!(Truth::choose(Met, NotMet, Met), NotMet);
    }

    proptest! {
        #[test]
        fn all_and_any_are_de_morgan_duals(v in proptest::collection::vec(truth(), 0..8)) {
            prop_assert_eq!(Truth::all(v.iter().copied()).not(), Truth::any(v.iter().map(|t| t.not())));
        }

        #[test]
        fn at_least_one_is_any_and_at_least_all_is_all(v in proptest::collection::vec(truth(), 1..8)) {
            prop_assert_eq!(Truth::at_least(1, v.iter().copied()), Truth::any(v.iter().copied()));
            prop_assert_eq!(Truth::at_least(v.len(), v.iter().copied()), Truth::all(v.iter().copied()));
        }

        #[test]
        fn combinators_are_monotone(
            v in proptest::collection::vec(truth(), 1..8),
            replacement in proptest::collection::vec(truth(), 8),
            n in 0usize..9,
        ) {
            // Settling unknown children never flips a settled result.
            let settled: Vec<Truth> = v.iter().zip(&replacement)
                .map(|(t, r)| if *t == Unknown { *r } else { *t }).collect();
            prop_assert!(refines(Truth::all(v.iter().copied()), Truth::all(settled.iter().copied())));
            prop_assert!(refines(Truth::any(v.iter().copied()), Truth::any(settled.iter().copied())));
            prop_assert!(refines(Truth::at_least(n, v.iter().copied()), Truth::at_least(n, settled.iter().copied())));
            prop_assert!(refines(v[0].not(), settled[0].not()));
            if v.len() >= 3 {
                prop_assert!(refines(Truth::choose(v[0], v[1], v[2]), Truth::choose(settled[0], settled[1], settled[2])));
            }
        }

        #[test]
        fn at_least_counts_exactly(met in 0usize..5, not_met in 0usize..5, unknown in 0usize..5, n in 0usize..12) {
            let values = std::iter::repeat_n(Met, met)
                .chain(std::iter::repeat_n(NotMet, not_met))
                .chain(std::iter::repeat_n(Unknown, unknown));
            let expected = if met >= n { Met } else if met + unknown < n { NotMet } else { Unknown };
            prop_assert_eq!(Truth::at_least(n, values), expected);
        }
    }
}
