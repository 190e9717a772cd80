//! Which ICD-10-CM diagnosis codes are billable on a date of service.
//!
//! The tables in `data/` are derived from the CMS ICD-10-CM releases (public domain) as shipped
//! in the PyPI package `simple-icd-10-cm`, by `derive/derive_tables.py`; `PROVENANCE.md` says
//! which files and how. A code is billable when the tabular list does not subdivide it further:
//! `M54.16` is, the header `M54.1` is not.
//!
//! The tables are compiled into the binary as text and indexed on first use: every code packed
//! into a `u64` (seven characters at most, big-endian, so numeric order is code order) in a
//! sorted list, a few milliseconds once; start-up pays nothing and a lookup is a binary search.

use jiff::civil::{Date, date};
use std::sync::OnceLock;

/// One CMS release of the code set and the date it took effect.
#[derive(Debug)]
pub struct Release {
    /// `2026-04-01`: the CMS release that took effect on that date.
    pub name: &'static str,
    pub effective_from: Date,
    table: &'static str,
    index: OnceLock<Vec<u64>>,
}

/// The installed releases, oldest first.
static RELEASES: [Release; 2] = [
    Release::new("2025-04-01", date(2025, 4, 1), include_str!("../data/icd10cm-billable-2025-04-01.txt")),
    Release::new("2026-04-01", date(2026, 4, 1), include_str!("../data/icd10cm-billable-2026-04-01.txt")),
];

/// Every installed release, oldest first.
#[must_use]
pub fn releases() -> &'static [Release] {
    &RELEASES
}

/// The release in force on `service_date`: the newest that took effect on or before it. A date
/// before every installed release is checked against the oldest: codes change little from one
/// release to the next, and checking against a near release beats not checking at all.
#[must_use]
pub fn release_on(service_date: Date) -> &'static Release {
    let [oldest, ..] = &RELEASES;
    RELEASES.iter().rev().find(|r| r.effective_from <= service_date).unwrap_or(oldest)
}

impl Release {
    const fn new(name: &'static str, effective_from: Date, table: &'static str) -> Self {
        Self { name, effective_from, table, index: OnceLock::new() }
    }

    /// Whether `code` (dotted `M54.16` or not `M5416`, any case) is a billable code of this
    /// release.
    #[must_use]
    pub fn is_billable(&self, code: &str) -> bool {
        let Some(packed) = pack(code.bytes().filter(|b| *b != b'.').map(|b| b.to_ascii_uppercase())) else {
            return false;
        };
        self.codes().binary_search(&packed).is_ok()
    }

    /// How many billable codes the release holds.
    #[must_use]
    pub fn len(&self) -> usize {
        self.codes().len()
    }

    /// Whether the release holds no code (never, for a shipped table).
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.codes().is_empty()
    }

    fn codes(&self) -> &[u64] {
        self.index.get_or_init(|| index_of(self.table))
    }
}

/// A code of three to seven characters as a number whose order is the code's order; `None` for
/// anything that cannot be a code.
fn pack(bytes: impl Iterator<Item = u8>) -> Option<u64> {
    let mut packed = 0u64;
    let mut len = 0;
    for b in bytes {
        if len == 7 || !b.is_ascii_alphanumeric() {
            return None;
        }
        packed |= u64::from(b) << (8 * (7 - len));
        len += 1;
    }
    (len >= 3).then_some(packed)
}

/// Every billable code of a table, packed and sorted. A line is a category and the rest of
/// each of its codes (`.` for the category itself).
fn index_of(table: &str) -> Vec<u64> {
    let mut codes = Vec::with_capacity(80_000);
    for line in table.lines().filter(|l| !l.starts_with('#')) {
        let mut parts = line.split(' ');
        let Some(category) = parts.next() else { continue };
        for rest in parts {
            let rest = if rest == "." { "" } else { rest };
            codes.extend(pack(category.bytes().chain(rest.bytes())));
        }
    }
    codes.sort_unstable();
    codes
}

#[cfg(test)]
mod tests {
    use super::*;

    fn current() -> &'static Release {
        release_on(date(2026, 7, 15))
    }

    #[test]
    fn leaf_codes_are_billable_dotted_or_not() {
        for code in ["M54.16", "M5416", "m54.16", "Z33.1", "M96.1", "G89.11", "A00.0", "M54.50", "A33"] {
            assert!(current().is_billable(code), "{code}");
        }
    }

    #[test]
    fn headers_and_unknown_codes_are_not_billable() {
        for code in ["M54.1", "M54", "M54.5", "A00", "M54.99", "Z99.999", "", "M5", "M54.161234", "Ü54.1", "M54-16"] {
            assert!(!current().is_billable(code), "{code}");
        }
    }

    #[test]
    fn seventh_character_extensions_are_billable_where_defined() {
        assert!(current().is_billable("S32.010A"));
        assert!(!current().is_billable("S32.010"));
    }

    #[test]
    fn the_release_follows_the_service_date() {
        assert_eq!(release_on(date(2026, 3, 31)).name, "2025-04-01");
        assert_eq!(release_on(date(2026, 4, 1)).name, "2026-04-01");
        assert_eq!(release_on(date(2024, 1, 1)).name, "2025-04-01");
        // Multiple sclerosis was subdivided in the later release.
        assert!(release_on(date(2026, 3, 31)).is_billable("G35"));
        assert!(!release_on(date(2026, 4, 1)).is_billable("G35"));
        assert!(release_on(date(2026, 4, 1)).is_billable("G35.A"));
    }

    #[test]
    fn the_tables_hold_the_cms_counts() {
        assert_eq!(releases().iter().map(Release::len).collect::<Vec<_>>(), [74_255, 74_714]);
        assert!(releases().iter().all(|r| !r.is_empty()));
    }
}
