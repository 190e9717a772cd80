//! Every write goes through one committer per server: it takes the jobs waiting, applies them
//! in order in one transaction — reading each member's history inside it, so a request sees
//! every procedure authorized before it (the limits hold under concurrency) — commits once,
//! and only then answers them all. One commit (one fsync) serves the whole batch: group
//! commit, with every answer still sent after its data is durable.
//!
//! With PostgreSQL and several servers, each batch first takes one advisory lock, so batches
//! of all servers apply one after another and the audit chain stays a single chain.

use super::audit::{GENESIS, Record};
use super::store::{Backend, Store};
use super::{Shared, new_id};
use necessity_case::{Case, PriorProcedure};
use necessity_engine::Decision;
use serde_json::Value as Json;
use sqlx::{Any, Row, Transaction};
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};

/// How many jobs one transaction takes at most.
const MAX_BATCH: usize = 256;

/// A write waiting for the committer.
#[derive(Debug)]
pub enum Job {
    Submit(Box<Submit>, oneshot::Sender<Result<Submitted, JobError>>),
    Review(Review, oneshot::Sender<Result<Json, JobError>>),
    Import(Import, oneshot::Sender<Result<usize, JobError>>),
}

#[derive(Debug)]
pub struct Submit {
    pub org: String,
    pub member_id: String,
    pub case: Case,
    /// SHA-256 of the body as received, for idempotency.
    pub body_hash: String,
    pub idempotency_key: Option<String>,
    /// The member's stored history read before queueing, used instead of reading it in the
    /// transaction. Only when member serialization is switched off (a test proves the limits
    /// then fail); `None` in service.
    pub history_snapshot: Option<Vec<PriorProcedure>>,
}

#[derive(Debug)]
pub enum Submitted {
    Created {
        id: String,
        body: String,
    },
    /// The same idempotency key and body as an earlier submission: its response.
    Replayed {
        id: String,
        body: String,
    },
}

#[derive(Debug)]
pub struct Review {
    pub determination_id: String,
    pub reviewer_name: String,
    pub reviewer_npi: String,
    pub reviewer_role: String,
    pub decision: String,
    pub reason: String,
    /// Submitters may not review; reviewers and administrators see every organisation.
    pub org_filter: Option<String>,
}

#[derive(Debug)]
pub struct Import {
    pub member_id: String,
    pub entries: Vec<PriorProcedure>,
}

/// Why a job was not applied.
#[derive(Debug)]
pub enum JobError {
    /// The same idempotency key with another body.
    KeyReused,
    NotFound,
    /// The database failed; nothing of the batch was committed.
    Unavailable(String),
}

/// Starts the committer; it runs until every sender is dropped.
pub fn start(shared: Arc<Shared>, store: Store) -> mpsc::Sender<Job> {
    let (tx, mut rx) = mpsc::channel::<Job>(4 * MAX_BATCH);
    tokio::spawn(async move {
        while let Some(first) = rx.recv().await {
            let mut batch = vec![first];
            while batch.len() < MAX_BATCH {
                match rx.try_recv() {
                    Ok(job) => batch.push(job),
                    Err(_) => break,
                }
            }
            run_batch(&shared, &store, batch).await;
        }
    });
    tx
}

/// An answer waiting for the commit.
enum Reply {
    Submit(oneshot::Sender<Result<Submitted, JobError>>, Result<Submitted, JobError>),
    Review(oneshot::Sender<Result<Json, JobError>>, Result<Json, JobError>),
    Import(oneshot::Sender<Result<usize, JobError>>, Result<usize, JobError>),
}

impl Reply {
    fn send(self) {
        // A caller that went away (a dropped connection) needs no answer.
        match self {
            Self::Submit(to, r) => drop(to.send(r)),
            Self::Review(to, r) => drop(to.send(r)),
            Self::Import(to, r) => drop(to.send(r)),
        }
    }

    fn fail(self, why: &str) {
        match self {
            Self::Submit(to, _) => drop(to.send(Err(JobError::Unavailable(why.to_owned())))),
            Self::Review(to, _) => drop(to.send(Err(JobError::Unavailable(why.to_owned())))),
            Self::Import(to, _) => drop(to.send(Err(JobError::Unavailable(why.to_owned())))),
        }
    }
}

/// The end of the audit chain as the batch extends it.
struct Chain {
    seq: i64,
    head: String,
}

async fn run_batch(shared: &Shared, store: &Store, batch: Vec<Job>) {
    let size = batch.len();
    let mut replies = Vec::with_capacity(size);
    let outcome = apply_all(shared, store, batch, &mut replies).await;
    match outcome {
        Ok(()) => {
            tracing::debug!(jobs = size, "batch committed");
            for r in replies {
                r.send();
            }
        }
        Err(e) => {
            tracing::error!(jobs = size, error = %e, "batch rolled back");
            for r in replies {
                r.fail("the database did not accept the change; nothing was stored, retry");
            }
        }
    }
}

async fn apply_all(
    shared: &Shared,
    store: &Store,
    batch: Vec<Job>,
    replies: &mut Vec<Reply>,
) -> Result<(), sqlx::Error> {
    // SQLite: take the write lock at the start, so the transaction waits for it (busy
    // timeout) instead of failing when it first writes after reading.
    let mut tx = match store.backend {
        Backend::Sqlite => store.pool.begin_with("BEGIN IMMEDIATE").await,
        Backend::Postgres => store.pool.begin().await,
    };
    let mut failed = None;
    if let Ok(tx) = tx.as_mut()
        && store.backend == Backend::Postgres
        && let Err(e) = sqlx::query("SELECT pg_advisory_xact_lock(7302)").execute(&mut **tx).await
    {
        failed = Some(e);
    }
    let mut chain = Chain { seq: 0, head: GENESIS.to_owned() };
    if let (Ok(tx), None) = (tx.as_mut(), &failed) {
        match sqlx::query("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1").fetch_optional(&mut **tx).await {
            Ok(Some(row)) => {
                chain.seq = row.try_get("seq")?;
                chain.head = row.try_get("hash")?;
            }
            Ok(None) => {}
            Err(e) => failed = Some(e),
        }
    }
    for job in batch {
        let reply = match (&mut tx, &failed) {
            (Ok(tx), None) => apply(shared, tx, &mut chain, job).await,
            _ => Ok(match job {
                Job::Submit(_, to) => Reply::Submit(to, Err(JobError::NotFound)),
                Job::Review(_, to) => Reply::Review(to, Err(JobError::NotFound)),
                Job::Import(_, to) => Reply::Import(to, Err(JobError::NotFound)),
            }),
        };
        match reply {
            Ok(r) => replies.push(r),
            Err((e, r)) => {
                replies.push(r);
                failed.get_or_insert(e);
            }
        }
    }
    let tx = tx?;
    if let Some(e) = failed {
        drop(tx.rollback().await);
        return Err(e);
    }
    tx.commit().await
}

type Applied = Result<Reply, (sqlx::Error, Reply)>;

async fn apply(shared: &Shared, tx: &mut Transaction<'static, Any>, chain: &mut Chain, job: Job) -> Applied {
    match job {
        Job::Submit(s, to) => match submit(shared, tx, chain, *s).await {
            Ok(r) => Ok(Reply::Submit(to, r)),
            Err(e) => Err((e, Reply::Submit(to, Err(JobError::NotFound)))),
        },
        Job::Review(r, to) => match review(shared, tx, chain, r).await {
            Ok(r) => Ok(Reply::Review(to, r)),
            Err(e) => Err((e, Reply::Review(to, Err(JobError::NotFound)))),
        },
        Job::Import(i, to) => match import(tx, i).await {
            Ok(n) => Ok(Reply::Import(to, Ok(n))),
            Err(e) => Err((e, Reply::Import(to, Err(JobError::NotFound)))),
        },
    }
}

/// The member's stored history, read in the transaction.
pub async fn stored_history<'e, E>(executor: E, member_id: &str) -> Result<Vec<PriorProcedure>, sqlx::Error>
where
    E: sqlx::Executor<'e, Database = Any>,
{
    let rows = sqlx::query("SELECT entry_json FROM history WHERE member_id = $1 ORDER BY created_at, id")
        .bind(member_id)
        .fetch_all(executor)
        .await?;
    Ok(rows
        .iter()
        .filter_map(|r| r.try_get::<String, _>("entry_json").ok())
        .filter_map(|j| serde_json::from_str(&j).ok())
        .collect())
}

async fn submit(
    shared: &Shared,
    tx: &mut Transaction<'static, Any>,
    chain: &mut Chain,
    job: Submit,
) -> Result<Result<Submitted, JobError>, sqlx::Error> {
    if let Some(key) = &job.idempotency_key {
        let earlier =
            sqlx::query("SELECT body_hash, determination_id FROM idempotency WHERE org = $1 AND idem_key = $2")
                .bind(&job.org)
                .bind(key)
                .fetch_optional(&mut **tx)
                .await?;
        if let Some(row) = earlier {
            let hash: String = row.try_get("body_hash")?;
            if hash != job.body_hash {
                return Ok(Err(JobError::KeyReused));
            }
            let id: String = row.try_get("determination_id")?;
            let stored = sqlx::query("SELECT determination_json, created_at FROM determinations WHERE id = $1")
                .bind(&id)
                .fetch_one(&mut **tx)
                .await?;
            let body = submission_body(
                &id,
                &stored.try_get::<String, _>("created_at")?,
                &stored.try_get::<String, _>("determination_json")?,
            );
            return Ok(Ok(Submitted::Replayed { id, body }));
        }
    }
    let stored = match job.history_snapshot {
        Some(snapshot) => snapshot,
        None => stored_history(&mut **tx, &job.member_id).await?,
    };
    let history = super::combined_history(stored, job.case.reported_history());
    let rendered = shared.render(&job.case, &history);
    let id = new_id("d");
    let created_at = jiff::Timestamp::now().to_string();
    let history_json = serde_json::to_string(&history).unwrap_or_else(|_| "[]".to_owned());
    let record = chain.append(
        "determination",
        &id,
        &rendered.case_hash,
        &rendered.pack,
        rendered.decision.as_str(),
        &created_at,
    );
    insert_audit(tx, &record, &chain.head).await?;
    sqlx::query(
        "INSERT INTO determinations (id, org, member_id, request_id, service_date, decision, case_hash, history_hash, pack,
         request_json, history_json, determination_json, audit_seq, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
    )
    .bind(&id)
    .bind(&job.org)
    .bind(&job.member_id)
    .bind(job.case.id.clone())
    .bind(job.case.service_date.to_string())
    .bind(rendered.decision.as_str())
    .bind(&rendered.case_hash)
    .bind(super::audit::hex(&sha2::Sha256::digest(history_json.as_bytes())))
    .bind(&rendered.pack)
    .bind(serde_json::to_string(&job.case).unwrap_or_default())
    .bind(&history_json)
    .bind(&rendered.json)
    .bind(record.seq)
    .bind(&created_at)
    .execute(&mut **tx)
    .await?;
    for line in &rendered.authorized_lines {
        if let Some(entry) = super::authorized_entry(&job.case, *line) {
            insert_history(tx, &job.member_id, "authorized", Some(&id), &entry, &created_at).await?;
        }
    }
    if let Some(key) = &job.idempotency_key {
        sqlx::query("INSERT INTO idempotency (org, idem_key, body_hash, determination_id) VALUES ($1, $2, $3, $4)")
            .bind(&job.org)
            .bind(key)
            .bind(&job.body_hash)
            .bind(&id)
            .execute(&mut **tx)
            .await?;
    }
    let body = submission_body(&id, &created_at, &rendered.json);
    Ok(Ok(Submitted::Created { id, body }))
}

use sha2::Digest as _;

/// The response to a submission: the determination with its id.
#[must_use]
pub fn submission_body(id: &str, created_at: &str, determination: &str) -> String {
    format!(r#"{{"id":"{id}","created_at":"{created_at}","determination":{determination}}}"#)
}

impl Chain {
    fn append(
        &mut self,
        kind: &str,
        ref_id: &str,
        request_hash: &str,
        pack: &str,
        result: &str,
        created_at: &str,
    ) -> Record {
        let record = Record {
            seq: self.seq + 1,
            kind: kind.to_owned(),
            ref_id: ref_id.to_owned(),
            request_hash: request_hash.to_owned(),
            pack: pack.to_owned(),
            result: result.to_owned(),
            created_at: created_at.to_owned(),
            prev_hash: self.head.clone(),
        };
        self.seq = record.seq;
        self.head = record.hash();
        record
    }
}

async fn insert_audit(tx: &mut Transaction<'static, Any>, r: &Record, hash: &str) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO audit (seq, kind, ref_id, request_hash, pack, result, created_at, prev_hash, hash)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(r.seq)
    .bind(&r.kind)
    .bind(&r.ref_id)
    .bind(&r.request_hash)
    .bind(&r.pack)
    .bind(&r.result)
    .bind(&r.created_at)
    .bind(&r.prev_hash)
    .bind(hash)
    .execute(&mut **tx)
    .await
    .map(|_| ())
}

async fn insert_history(
    tx: &mut Transaction<'static, Any>,
    member_id: &str,
    source: &str,
    determination_id: Option<&str>,
    entry: &PriorProcedure,
    created_at: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO history (id, member_id, source, determination_id, entry_json, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(new_id("h"))
    .bind(member_id)
    .bind(source)
    .bind(determination_id.map(str::to_owned))
    .bind(serde_json::to_string(entry).unwrap_or_default())
    .bind(created_at)
    .execute(&mut **tx)
    .await
    .map(|_| ())
}

async fn review(
    _shared: &Shared,
    tx: &mut Transaction<'static, Any>,
    chain: &mut Chain,
    job: Review,
) -> Result<Result<Json, JobError>, sqlx::Error> {
    let row = sqlx::query("SELECT org, decision, case_hash, pack, request_json FROM determinations WHERE id = $1")
        .bind(&job.determination_id)
        .fetch_optional(&mut **tx)
        .await?;
    let Some(row) = row else { return Ok(Err(JobError::NotFound)) };
    let org: String = row.try_get("org")?;
    if job.org_filter.as_ref().is_some_and(|o| *o != org) {
        return Ok(Err(JobError::NotFound));
    }
    let automated: String = row.try_get("decision")?;
    let id = new_id("r");
    let created_at = jiff::Timestamp::now().to_string();
    let record = chain.append(
        "review",
        &id,
        &row.try_get::<String, _>("case_hash")?,
        &row.try_get::<String, _>("pack")?,
        &job.decision,
        &created_at,
    );
    insert_audit(tx, &record, &chain.head).await?;
    sqlx::query(
        "INSERT INTO reviews (id, determination_id, reviewer_name, reviewer_npi, reviewer_role, decision, reason, audit_seq, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(&id)
    .bind(&job.determination_id)
    .bind(&job.reviewer_name)
    .bind(&job.reviewer_npi)
    .bind(&job.reviewer_role)
    .bind(&job.decision)
    .bind(&job.reason)
    .bind(record.seq)
    .bind(&created_at)
    .execute(&mut **tx)
    .await?;
    // The member's history follows the final word: an approval authorizes what the engine did
    // not; a denial withdraws what it did.
    let authorized = automated == Decision::MeetsCriteria.as_str();
    if job.decision == "deny" && authorized {
        sqlx::query("DELETE FROM history WHERE determination_id = $1")
            .bind(&job.determination_id)
            .execute(&mut **tx)
            .await?;
    } else if job.decision == "approve" && !authorized {
        let case: Option<Case> = serde_json::from_str(&row.try_get::<String, _>("request_json")?).ok();
        if let Some(case) = case {
            let member = case.member.id.clone().unwrap_or_default();
            for line in 0..case.services.len() {
                if let Some(entry) = super::authorized_entry(&case, line) {
                    insert_history(tx, &member, "review", Some(&job.determination_id), &entry, &created_at).await?;
                }
            }
        }
    }
    Ok(Ok(serde_json::json!({
        "id": id,
        "determination_id": job.determination_id,
        "reviewer": { "name": job.reviewer_name, "npi": job.reviewer_npi, "role": job.reviewer_role },
        "decision": job.decision,
        "reason": job.reason,
        "created_at": created_at,
    })))
}

async fn import(tx: &mut Transaction<'static, Any>, job: Import) -> Result<usize, sqlx::Error> {
    let created_at = jiff::Timestamp::now().to_string();
    for entry in &job.entries {
        insert_history(tx, &job.member_id, "imported", None, entry, &created_at).await?;
    }
    Ok(job.entries.len())
}
