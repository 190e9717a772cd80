//! The HTTP API, versioned under `/v1` and described by `/openapi.json`. Writes go to the
//! committer; reads go to the database directly. Logs carry the route, the status, the
//! latency and ids — never a path with a member id in it, never clinical content.

use super::committer::{self, Import, Job, JobError, Prepared, Review, Submit, Submitted};
use super::keys::{self, Caller, Role};
use super::problem::{FieldError, Problem};
use super::store::Store;
use super::{Config, Shared};
use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, MatchedPath, Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use necessity_case::CaseError;
use necessity_engine::Library;
use serde::Deserialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use sqlx::Row;
use sqlx::any::AnyRow;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, RwLock};
use tokio::sync::{mpsc, oneshot};
use tower_http::catch_panic::CatchPanicLayer;

/// What the handlers share.
#[derive(Debug, Clone)]
pub struct AppState {
    shared: Arc<Shared>,
    store: Store,
    jobs: mpsc::Sender<Job>,
    /// Idempotency keys whose submission is being applied, by organisation.
    in_flight: Arc<Mutex<HashSet<(String, String)>>>,
    /// Keys already looked up (a key never changes once created).
    callers: Arc<RwLock<HashMap<String, Caller>>>,
}

/// The service's routes, with the committer started on `store`.
pub fn router(config: &Config, library: Library, store: Store) -> Router {
    let shared = Arc::new(Shared::new(library, config.serialize_members));
    let jobs = committer::start(Arc::clone(&shared), store.clone());
    let state = AppState { shared, store, jobs, in_flight: Arc::default(), callers: Arc::default() };
    Router::new()
        .route("/v1/health", get(health))
        .route("/openapi.json", get(openapi))
        .route("/v1/packs", get(packs))
        .route("/v1/determinations", post(submit))
        .route("/v1/evaluations", post(evaluate))
        .route("/v1/determinations/{id}", get(determination))
        .route("/v1/determinations/{id}/reviews", post(review))
        .route("/v1/members/{member_id}/determinations", get(member_determinations))
        .route("/v1/members/{member_id}/history", get(member_history).post(import_history))
        .fallback(|| async { Problem::not_found("no such endpoint; see /openapi.json") })
        .layer(DefaultBodyLimit::max(config.max_body_bytes))
        .layer(middleware::from_fn(log_request))
        .layer(CatchPanicLayer::custom(|_| {
            tracing::error!("a handler panicked");
            Problem::internal().into_response()
        }))
        .with_state(state)
}

/// One line per request: method, route template, status, latency. No path parameters (they
/// hold member ids), no bodies.
async fn log_request(request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let route = request.extensions().get::<MatchedPath>().map_or_else(|| "-".to_owned(), |p| p.as_str().to_owned());
    let started = std::time::Instant::now();
    let response = next.run(request).await;
    tracing::info!(
        %method,
        route,
        status = response.status().as_u16(),
        micros = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX),
        "request"
    );
    response
}

fn json_response(status: StatusCode, body: String) -> Response {
    let mut response = (status, body).into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

async fn caller(state: &AppState, headers: &HeaderMap) -> Result<Caller, Problem> {
    let key = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .ok_or_else(Problem::unauthorized)?;
    if let Some(known) = state.callers.read().ok().and_then(|c| c.get(key).cloned()) {
        return Ok(known);
    }
    match keys::lookup(&state.store, key).await {
        Ok(Some(found)) => {
            if let Ok(mut cache) = state.callers.write() {
                cache.insert(key.to_owned(), found.clone());
            }
            Ok(found)
        }
        Ok(None) => Err(Problem::unauthorized()),
        Err(e) => {
            tracing::error!(error = %e, "key lookup failed");
            Err(Problem::unavailable("the database is not answering; retry"))
        }
    }
}

fn require(caller: &Caller, allowed: &[Role]) -> Result<(), Problem> {
    if allowed.contains(&caller.role) {
        Ok(())
    } else {
        let names: Vec<&str> = allowed.iter().map(|r| r.as_str()).collect();
        Err(Problem::forbidden(format!("this needs a key with the role {}", names.join(" or "))))
    }
}

/// The organisation a caller's reads are limited to (submitters see only their own).
fn org_filter(caller: &Caller) -> Option<&str> {
    (caller.role == Role::Submitter).then_some(caller.org.as_str())
}

fn body_text(body: Result<Bytes, BytesRejection>) -> Result<(Bytes, String), Problem> {
    let bytes = body.map_err(|r| Problem::body(r.status(), r.body_text()))?;
    let text = String::from_utf8(bytes.to_vec()).map_err(|e| {
        Problem::invalid(
            "the body is not UTF-8 text",
            vec![FieldError {
                path: ".".into(),
                message: format!("invalid byte at offset {}", e.utf8_error().valid_up_to()),
            }],
        )
    })?;
    Ok((bytes, text))
}

fn case_problem(e: CaseError) -> Problem {
    let errors = e.issues.into_iter().map(|i| FieldError { path: i.path, message: i.message }).collect();
    Problem::invalid("the request is not valid", errors)
}

/// The rows of a read that selects by one value.
async fn rows_where(state: &AppState, sql: &'static str, value: &str) -> Result<Vec<AnyRow>, Problem> {
    sqlx::query(sql).bind(value.to_owned()).fetch_all(&state.store.pool).await.map_err(|e| unavailable(&e))
}

fn unavailable(e: &sqlx::Error) -> Problem {
    tracing::error!(error = %e, "database read failed");
    Problem::unavailable("the database is not answering; retry")
}

async fn health(State(state): State<AppState>) -> Response {
    match sqlx::query("SELECT 1").execute(&state.store.pool).await {
        Ok(_) => json_response(StatusCode::OK, r#"{"status":"ok"}"#.to_owned()),
        Err(e) => unavailable(&e).into_response(),
    }
}

async fn openapi() -> Response {
    json_response(StatusCode::OK, super::openapi::document().to_string())
}

async fn packs(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, Problem> {
    caller(&state, &headers).await?;
    let list: Vec<Value> = state
        .shared
        .library
        .packs()
        .iter()
        .map(|p| {
            json!({
                "name": p.identity.name,
                "version": p.identity.version,
                "effective_from": p.identity.effective_from.to_string(),
                "effective_to": p.identity.effective_to.map(|d| d.to_string()),
                "content_hash": p.identity.content_hash,
            })
        })
        .collect();
    Ok(json_response(StatusCode::OK, json!({ "packs": list }).to_string()))
}

/// Holds an idempotency key as in flight until the submission is answered.
struct InFlight {
    set: Arc<Mutex<HashSet<(String, String)>>>,
    key: (String, String),
}

impl Drop for InFlight {
    fn drop(&mut self) {
        if let Ok(mut set) = self.set.lock() {
            set.remove(&self.key);
        }
    }
}

async fn submit(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, Problem> {
    let caller = caller(&state, &headers).await?;
    require(&caller, &[Role::Submitter, Role::Administrator])?;
    let (bytes, text) = body_text(body)?;
    let case = necessity_case::parse_case(&text).map_err(case_problem)?;
    let Some(member_id) = case.member.id.clone().filter(|m| !m.trim().is_empty()) else {
        return Err(Problem::invalid(
            "the member must be identified",
            vec![FieldError { path: "member.id".into(), message: "required to keep the member's history".into() }],
        ));
    };
    let idempotency_key = match headers.get("idempotency-key") {
        None => None,
        Some(v) => match v.to_str() {
            Ok(k) if !k.is_empty() && k.len() <= 200 => Some(k.to_owned()),
            _ => {
                return Err(Problem::invalid(
                    "bad Idempotency-Key",
                    vec![FieldError { path: "Idempotency-Key".into(), message: "1 to 200 visible characters".into() }],
                ));
            }
        },
    };
    let _in_flight = match &idempotency_key {
        Some(k) => {
            let key = (caller.org.clone(), k.clone());
            let fresh = state.in_flight.lock().map(|mut s| s.insert(key.clone())).unwrap_or(false);
            if !fresh {
                return Err(Problem::conflict("a submission with this Idempotency-Key is still being processed"));
            }
            Some(InFlight { set: Arc::clone(&state.in_flight), key })
        }
        None => None,
    };
    // Evaluated here, in parallel with other requests; the committer checks the history.
    let stored = committer::stored_history(&state.store.pool, &member_id).await.map_err(|e| unavailable(&e))?;
    let prepared = Prepared::new(&state.shared, &case, &stored);
    let job = Submit {
        org: caller.org.clone(),
        member_id,
        case,
        request_json: text,
        body_hash: super::audit::hex(&Sha256::digest(&bytes)),
        idempotency_key,
        prepared,
    };
    let (reply, answer) = oneshot::channel();
    state
        .jobs
        .send(Job::Submit(Box::new(job), reply))
        .await
        .map_err(|_| Problem::unavailable("the service is stopping"))?;
    match answer.await.map_err(|_| Problem::unavailable("the service is stopping"))? {
        Ok(Submitted::Created { id, body }) => {
            tracing::info!(determination = %id, "determination stored");
            Ok(created(&id, body))
        }
        Ok(Submitted::Replayed { id, body }) => {
            let mut response = created(&id, body);
            response.headers_mut().insert("idempotent-replayed", HeaderValue::from_static("true"));
            Ok(response)
        }
        Err(JobError::KeyReused) => Err(Problem::invalid(
            "this Idempotency-Key was used with a different request",
            vec![FieldError { path: "Idempotency-Key".into(), message: "already used with another body".into() }],
        )),
        Err(JobError::NotFound) => Err(Problem::not_found("not found")),
        Err(JobError::Unavailable(why)) => Err(Problem::unavailable(why)),
    }
}

/// 201 with the determination's address.
fn created(id: &str, body: String) -> Response {
    let mut response = json_response(StatusCode::CREATED, body);
    if let Ok(location) = HeaderValue::from_str(&format!("/v1/determinations/{id}")) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    response
}

async fn evaluate(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, Problem> {
    caller(&state, &headers).await?;
    let (_, text) = body_text(body)?;
    let case = necessity_case::parse_case(&text).map_err(case_problem)?;
    let stored = match case.member.id.as_deref() {
        Some(member) => committer::stored_history(&state.store.pool, member).await.map_err(|e| unavailable(&e))?,
        None => Vec::new(),
    };
    let (_, rendered) = state.shared.render_with_stored(&case, &stored);
    Ok(json_response(StatusCode::OK, rendered.json))
}

async fn determination(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, Problem> {
    let caller = caller(&state, &headers).await?;
    let row = sqlx::query("SELECT org, member_id, created_at, determination_json FROM determinations WHERE id = $1")
        .bind(&id)
        .fetch_optional(&state.store.pool)
        .await
        .map_err(|e| unavailable(&e))?;
    let Some(row) = row else { return Err(Problem::not_found("no such determination")) };
    let org: String = row.try_get("org").map_err(|e| unavailable(&e))?;
    if org_filter(&caller).is_some_and(|o| o != org) {
        return Err(Problem::not_found("no such determination"));
    }
    let reviews = rows_where(
        &state,
        "SELECT id, reviewer_name, reviewer_npi, reviewer_role, decision, reason, created_at FROM reviews
         WHERE determination_id = $1 ORDER BY created_at, id",
        &id,
    )
    .await?;
    let reviews: Vec<Value> = reviews
        .iter()
        .map(|r| {
            let s = |c: &str| r.try_get::<String, _>(c).unwrap_or_default();
            committer::review_json(
                &s("id"),
                &id,
                [&s("reviewer_name"), &s("reviewer_npi"), &s("reviewer_role")],
                &s("decision"),
                &s("reason"),
                &s("created_at"),
            )
        })
        .collect();
    let s = |c: &str| row.try_get::<String, _>(c).unwrap_or_default();
    let body = format!(
        r#"{{"id":{},"org":{},"member_id":{},"created_at":{},"determination":{},"reviews":{}}}"#,
        Value::String(id),
        Value::String(org),
        Value::String(s("member_id")),
        Value::String(s("created_at")),
        s("determination_json"),
        Value::Array(reviews),
    );
    Ok(json_response(StatusCode::OK, body))
}

async fn member_determinations(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(member_id): Path<String>,
) -> Result<Response, Problem> {
    let caller = caller(&state, &headers).await?;
    let rows = rows_where(
        &state,
        "SELECT id, org, request_id, service_date, decision, created_at FROM determinations
         WHERE member_id = $1 ORDER BY created_at, id",
        &member_id,
    )
    .await?;
    let list: Vec<Value> = rows
        .iter()
        .filter(|r| org_filter(&caller).is_none_or(|o| r.try_get::<String, _>("org").is_ok_and(|x| x == o)))
        .map(|r| {
            let s = |c: &str| r.try_get::<String, _>(c).unwrap_or_default();
            json!({
                "id": s("id"),
                "request_id": r.try_get::<Option<String>, _>("request_id").ok().flatten(),
                "service_date": s("service_date"),
                "decision": s("decision"),
                "created_at": s("created_at"),
            })
        })
        .collect();
    Ok(json_response(StatusCode::OK, json!({ "member_id": member_id, "determinations": list }).to_string()))
}

async fn member_history(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(member_id): Path<String>,
) -> Result<Response, Problem> {
    let caller = caller(&state, &headers).await?;
    require(&caller, &[Role::Reviewer, Role::Administrator])?;
    let rows = rows_where(&state, "SELECT id, source, determination_id, entry_json, created_at FROM history WHERE member_id = $1 ORDER BY created_at, id", &member_id).await?;
    let list: Vec<Value> = rows
        .iter()
        .map(|r| {
            let s = |c: &str| r.try_get::<String, _>(c).unwrap_or_default();
            json!({
                "id": s("id"),
                "source": s("source"),
                "determination_id": r.try_get::<Option<String>, _>("determination_id").ok().flatten(),
                "created_at": s("created_at"),
                "entry": serde_json::from_str::<Value>(&s("entry_json")).unwrap_or(Value::Null),
            })
        })
        .collect();
    Ok(json_response(StatusCode::OK, json!({ "member_id": member_id, "history": list }).to_string()))
}

/// Claims history in bulk: one prior procedure per line (NDJSON); all or nothing.
async fn import_history(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(member_id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, Problem> {
    let caller = caller(&state, &headers).await?;
    require(&caller, &[Role::Administrator])?;
    let (_, text) = body_text(body)?;
    let mut entries = Vec::new();
    let mut errors = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        match necessity_case::parse_prior(line) {
            Ok(entry) => entries.push(entry),
            Err(e) => errors.extend(e.issues.into_iter().map(|i| FieldError {
                path: if i.path.is_empty() || i.path == "." {
                    format!("line {}", n + 1)
                } else {
                    format!("line {}: {}", n + 1, i.path)
                },
                message: i.message,
            })),
        }
    }
    if !errors.is_empty() {
        return Err(Problem::invalid("some history lines are not valid; nothing was imported", errors));
    }
    let (reply, answer) = oneshot::channel();
    state
        .jobs
        .send(Job::Import(Import { member_id, entries }, reply))
        .await
        .map_err(|_| Problem::unavailable("the service is stopping"))?;
    match answer.await.map_err(|_| Problem::unavailable("the service is stopping"))? {
        Ok(n) => Ok(json_response(StatusCode::OK, json!({ "imported": n }).to_string())),
        Err(JobError::Unavailable(why)) => Err(Problem::unavailable(why)),
        Err(_) => Err(Problem::unavailable("the import was not applied; retry")),
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ReviewBody {
    reviewer: Reviewer,
    decision: String,
    #[serde(default)]
    reason: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Reviewer {
    name: String,
    npi: String,
    role: String,
}

/// A National Provider Identifier: ten digits, the last a Luhn check digit over `80840` and
/// the first nine.
fn npi_valid(npi: &str) -> bool {
    if npi.len() != 10 || !npi.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    let digits: Vec<u32> = "80840".bytes().chain(npi.bytes()).map(|b| u32::from(b - b'0')).collect();
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, d)| {
            if i % 2 == 1 {
                let doubled = d * 2;
                if doubled > 9 { doubled - 9 } else { doubled }
            } else {
                *d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

async fn review(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, Problem> {
    let caller = caller(&state, &headers).await?;
    require(&caller, &[Role::Reviewer, Role::Administrator])?;
    let (_, text) = body_text(body)?;
    let mut de = serde_json::Deserializer::from_str(&text);
    let parsed: ReviewBody = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        Problem::invalid(
            "the review is not valid",
            vec![FieldError { path: e.path().to_string(), message: e.inner().to_string() }],
        )
    })?;
    let mut errors = Vec::new();
    if !["approve", "deny", "modify"].contains(&parsed.decision.as_str()) {
        errors.push(FieldError { path: "decision".into(), message: "one of approve, deny, modify".into() });
    }
    if parsed.decision != "approve" && parsed.reason.trim().is_empty() {
        errors.push(FieldError {
            path: "reason".into(),
            message: format!("a decision to {} needs the reviewer's reason", parsed.decision),
        });
    }
    if parsed.reviewer.name.trim().is_empty() {
        errors.push(FieldError { path: "reviewer.name".into(), message: "required".into() });
    }
    if !npi_valid(&parsed.reviewer.npi) {
        errors.push(FieldError {
            path: "reviewer.npi".into(),
            message: "a 10-digit NPI with a valid check digit".into(),
        });
    }
    if parsed.reviewer.role.trim().is_empty() {
        errors.push(FieldError { path: "reviewer.role".into(), message: "required (for example: physician)".into() });
    }
    if !errors.is_empty() {
        return Err(Problem::invalid("the review is not valid", errors));
    }
    let job = Review {
        determination_id: id,
        reviewer_name: parsed.reviewer.name,
        reviewer_npi: parsed.reviewer.npi,
        reviewer_role: parsed.reviewer.role,
        decision: parsed.decision,
        reason: parsed.reason,
        org_filter: org_filter(&caller).map(str::to_owned),
    };
    let (reply, answer) = oneshot::channel();
    state.jobs.send(Job::Review(job, reply)).await.map_err(|_| Problem::unavailable("the service is stopping"))?;
    match answer.await.map_err(|_| Problem::unavailable("the service is stopping"))? {
        Ok(review) => Ok(json_response(StatusCode::CREATED, review.to_string())),
        Err(JobError::NotFound) => Err(Problem::not_found("no such determination")),
        Err(JobError::Unavailable(why)) => Err(Problem::unavailable(why)),
        Err(JobError::KeyReused) => Err(Problem::unavailable("unexpected answer; retry")),
    }
}

#[cfg(test)]
mod tests {
    use super::npi_valid;

    #[test]
    fn npi_check_digit() {
        assert!(npi_valid("1234567893"));
        assert!(!npi_valid("1234567890"));
        assert!(!npi_valid("123456789"));
        assert!(!npi_valid("12345678a3"));
    }
}
