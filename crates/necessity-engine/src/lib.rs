//! The necessity engine: a policy pack of medical-necessity criteria, loaded from data files
//! and checked, and a pure function that evaluates a prior-authorization request against it.
//!
//! ```text
//! request ──parse──▶ Case ─┐
//!                          ├─▶ evaluate(&Pack, &Case, &history) ─▶ Determination
//! pack files ──load──▶ Pack┘
//! ```
//!
//! - [`Pack::load`] reads and validates a pack (see `packs/` and `ARCHITECTURE.md`).
//! - [`evaluate`] never fails and never reads the clock: missing facts are unknown, windows
//!   count back from the service date.
//! - [`Determination`] carries every reason with its spec id; the engine never denies.

mod calendar;
mod determination;
mod eval;
mod facts;
mod kleene;
mod library;
mod pack;
pub mod pack_tests;
mod questionnaire;

pub use determination::{
    Advisory, Decision, Determination, LineResult, Question, Reading, Reason, TraceNode, shown_value,
};
pub use eval::{evaluate, evaluate_request};
pub use facts::{FactDoc, Missing, Shown, documented_facts};
pub use kleene::Truth;
pub use library::{Library, NoVersionInForce, OverlappingVersions};
pub use pack::{Interpretation, Node, Pack, PackError, PackErrors, PackIdentity, PackSource, PackWarning, Param, Role};
pub use questionnaire::{AnswerType, CodeScope, QuestionItem, Questionnaire, questionnaire};
