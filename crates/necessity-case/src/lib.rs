//! The prior-authorization request ("case") model of necessity.
//!
//! A [`Case`] is one request: one member, one date of service, one or more service lines done in
//! the same session, and the clinical information supporting them. Every clinical fact is an
//! `Option`: absent means *unknown*, never false. [`parse_case`] turns JSON into a validated
//! case or an error that names the JSON path and what was wrong.
//!
//! The fact tables ([`FactStruct`]) expose each field by its snake_case name so that the policy
//! pack can refer to `clinical.pain_score` without any per-field code in the engine.

mod codes;
mod enums;
mod facts;
mod level;
mod model;
mod numbers;
mod parse;

pub use codes::{DiagnosisCode, ProcedureCode};
pub use enums::*;
pub use facts::{FactField, FactListItem, FactScalar, FactStruct, FieldDef, FieldKind, FieldValue, Unit};
pub use level::{Level, Region, Vertebra};
pub use model::*;
pub use numbers::*;
pub use parse::{CaseError, Issue, MAX_SERVICE_LINES, json_schema, parse_case, parse_case_value, parse_prior};
