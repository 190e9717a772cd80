//! `necessity serve`: the decision service. Requests are evaluated against the installed pack
//! versions and the member's stored history; determinations, history changes, reviews and
//! the audit trail are written by one committer per server (`committer.rs`) in group-committed
//! transactions; the HTTP API (`api.rs`) reads directly.
//!
//! Nothing here produces a denial: a determination is at worst `does_not_meet_criteria`, and a
//! denial exists only as a human review.

pub mod api;
pub mod audit;
pub mod committer;
pub mod keys;
mod openapi;
mod problem;
pub mod store;

use crate::wire;
use committer::StoredEntry;
use necessity_case::{Case, PriorProcedure};
use necessity_engine::{Decision, Library};
use std::net::SocketAddr;
use store::Store;

/// How to run the service.
#[derive(Debug, Clone)]
pub struct Config {
    pub listen: SocketAddr,
    pub database_url: String,
    /// Largest request body accepted, in bytes.
    pub max_body_bytes: usize,
    /// Check each evaluation against the member's history as read inside the committer's
    /// transaction (the default). Off, the evaluation made on the history read when the
    /// request arrived stands, and concurrent requests for one member can all pass a limit:
    /// only for the test that proves the serialization is needed.
    pub serialize_members: bool,
}

/// What every handler and the committer share: the packs and their JSON fragments.
#[derive(Debug)]
pub struct Shared {
    pub library: Library,
    fragments: Vec<wire::Fragments>,
    pub serialize_members: bool,
}

/// A determination rendered for storage.
#[derive(Debug)]
pub struct Rendered {
    pub json: String,
    pub decision: Decision,
    pub case_hash: String,
    /// `name version content_hash`, or `none`.
    pub pack: String,
    /// Lines whose own decision is `meets_criteria`, when the request's is.
    pub authorized_lines: Vec<usize>,
}

impl Shared {
    #[must_use]
    pub fn new(library: Library, serialize_members: bool) -> Self {
        let fragments = library.packs().iter().map(wire::Fragments::new).collect();
        Self { library, fragments, serialize_members }
    }

    /// Evaluates a request against the member's stored history and what the request reports;
    /// returns that history and the determination.
    #[must_use]
    pub fn render_with_stored(&self, case: &Case, stored: &[StoredEntry]) -> (Vec<PriorProcedure>, Rendered) {
        // Entries are written by the committer from parsed procedures, so they parse.
        let parsed = stored.iter().filter_map(|e| serde_json::from_str(&e.entry_json).ok()).collect();
        let history = combined_history(parsed, case.reported_history());
        let rendered = self.render(case, &history);
        (history, rendered)
    }

    /// Evaluates a request against the member's history and renders the determination JSON.
    #[must_use]
    pub fn render(&self, case: &Case, history: &[PriorProcedure]) -> Rendered {
        let mut bytes = Vec::with_capacity(16 * 1024);
        match self.library.evaluate(case, history) {
            Ok(d) => {
                let fragments = self.library.index_for_date(case.service_date).and_then(|i| self.fragments.get(i));
                if let Some(fragments) = fragments
                    && wire::write(&mut bytes, &d, fragments).is_err()
                {
                    bytes.clear();
                }
                let authorized_lines = if d.decision == Decision::MeetsCriteria {
                    d.lines.iter().filter(|l| l.decision == Decision::MeetsCriteria).map(|l| l.index).collect()
                } else {
                    Vec::new()
                };
                Rendered {
                    json: String::from_utf8(bytes).unwrap_or_default(),
                    decision: d.decision,
                    case_hash: d.case_hash.clone(),
                    pack: format!("{} {} {}", d.pack.name, d.pack.version, d.pack.content_hash),
                    authorized_lines,
                }
            }
            Err(why) => {
                if wire::write_no_version(&mut bytes, case, &why).is_err() {
                    bytes.clear();
                }
                Rendered {
                    json: String::from_utf8(bytes).unwrap_or_default(),
                    decision: Decision::OutOfScope,
                    case_hash: case.content_hash(),
                    pack: "none".to_owned(),
                    authorized_lines: Vec::new(),
                }
            }
        }
    }
}

/// The member's stored history and what the request reports, each procedure once.
#[must_use]
pub fn combined_history(mut stored: Vec<PriorProcedure>, reported: &[PriorProcedure]) -> Vec<PriorProcedure> {
    for entry in reported {
        if !stored.contains(entry) {
            stored.push(entry.clone());
        }
    }
    stored
}

/// The history entry a line of an authorized request becomes: the procedure as requested, on
/// the service date.
#[must_use]
pub fn authorized_entry(case: &Case, line: usize) -> Option<PriorProcedure> {
    const CARRIED: &[&str] = &[
        "code",
        "target",
        "modifiers",
        "side",
        "levels",
        "purpose",
        "diagnostic_goal",
        "injectates",
        "ablation_technique",
        "neurostim_phase",
        "neurostim_kind",
    ];
    let service = serde_json::to_value(case.services.get(line)?).ok()?;
    let mut entry = serde_json::Map::new();
    for key in CARRIED {
        if let Some(v) = service.get(*key) {
            entry.insert((*key).to_owned(), v.clone());
        }
    }
    entry.insert("date".to_owned(), serde_json::Value::String(case.service_date.to_string()));
    serde_json::from_value(serde_json::Value::Object(entry)).ok()
}

/// The time now as stored: RFC 3339 in UTC with microseconds, always the same length, so
/// that text order is time order.
#[must_use]
pub fn now_text() -> String {
    jiff::fmt::temporal::DateTimePrinter::new().precision(Some(6)).timestamp_to_string(&jiff::Timestamp::now())
}

/// A new identifier: a prefix, the time, and randomness (sortable by creation).
#[must_use]
pub fn new_id(prefix: &str) -> String {
    let nanos = jiff::Timestamp::now().as_nanosecond();
    let mut random = [0u8; 6];
    // Uniqueness rests on the time as well; a failed read of randomness leaves zeros.
    let _ = getrandom::fill(&mut random);
    format!("{prefix}_{nanos:x}{}", audit::hex(&random))
}

/// Runs the service until Ctrl-C or SIGTERM.
pub async fn serve(config: Config, library: Library) -> anyhow::Result<()> {
    let store = Store::open(&config.database_url)
        .await
        .map_err(|e| anyhow::anyhow!("cannot open the database {}: {e}", store::redact(&config.database_url)))?;
    let listener = tokio::net::TcpListener::bind(config.listen).await?;
    let local = listener.local_addr()?;
    let app = api::router(&config, library, store);
    tracing::info!(address = %local, "necessity serving");
    axum::serve(listener, app).with_graceful_shutdown(shutdown()).await?;
    Ok(())
}

async fn shutdown() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
}
