//! Installed pack versions, and the choice of the one in force on a request's service date.

use crate::determination::Determination;
use crate::pack::{Pack, PackIdentity};
use jiff::civil::Date;
use necessity_case::{Case, PriorProcedure};
use std::fmt;

/// Every installed version of the policy packs.
#[derive(Debug)]
pub struct Library {
    packs: Vec<Pack>,
}

/// Two versions of one pack in force on the same day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OverlappingVersions {
    pub name: String,
    pub first: String,
    pub second: String,
}

impl fmt::Display for OverlappingVersions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "pack `{}`: versions {} and {} are both in force on some days; effective ranges must not overlap",
            self.name, self.first, self.second
        )
    }
}

impl std::error::Error for OverlappingVersions {}

/// No installed version is in force on the service date: the guideline does not apply, and the
/// request is out of scope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoVersionInForce {
    pub service_date: Date,
    pub installed: Vec<PackIdentity>,
}

impl fmt::Display for NoVersionInForce {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let installed: Vec<String> = self
            .installed
            .iter()
            .map(|p| {
                let to = p.effective_to.map_or_else(|| "open".to_owned(), |d| d.to_string());
                format!("{} {} ({} to {to})", p.name, p.version, p.effective_from)
            })
            .collect();
        write!(
            f,
            "no version of the policy pack is in force on {}; installed: {}",
            self.service_date,
            installed.join(", ")
        )
    }
}

impl std::error::Error for NoVersionInForce {}

impl Library {
    /// Checks that the versions of each pack do not overlap in time.
    pub fn new(mut packs: Vec<Pack>) -> Result<Self, OverlappingVersions> {
        packs.sort_by(|a, b| {
            (&a.identity.name, a.identity.effective_from).cmp(&(&b.identity.name, b.identity.effective_from))
        });
        for pair in packs.windows(2) {
            if let [a, b] = pair
                && a.identity.name == b.identity.name
                && a.identity.effective_to.is_none_or(|to| to >= b.identity.effective_from)
            {
                return Err(OverlappingVersions {
                    name: a.identity.name.clone(),
                    first: a.identity.version.clone(),
                    second: b.identity.version.clone(),
                });
            }
        }
        Ok(Self { packs })
    }

    /// The installed versions, by name and date.
    #[must_use]
    pub fn packs(&self) -> &[Pack] {
        &self.packs
    }

    /// The version in force on a date.
    #[must_use]
    pub fn for_date(&self, date: Date) -> Option<&Pack> {
        self.index_for_date(date).and_then(|i| self.packs.get(i))
    }

    /// The position in [`Library::packs`] of the version in force on a date.
    #[must_use]
    pub fn index_for_date(&self, date: Date) -> Option<usize> {
        self.packs.iter().position(|p| p.in_force_on(date))
    }

    /// Evaluates a request with the version in force on its service date.
    pub fn evaluate(&self, case: &Case, history: &[PriorProcedure]) -> Result<Determination<'_>, NoVersionInForce> {
        match self.for_date(case.service_date) {
            Some(pack) => Ok(crate::evaluate(pack, case, history)),
            None => Err(NoVersionInForce {
                service_date: case.service_date,
                installed: self.packs.iter().map(|p| p.identity.clone()).collect(),
            }),
        }
    }
}
