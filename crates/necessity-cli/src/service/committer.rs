//! Every write goes through one committer per server: it takes the jobs waiting, applies them
//! in order in one transaction, commits once, and only then answers them all. One commit (one
//! fsync) serves the whole batch: group commit, with every answer still sent after its data is
//! durable. Rows of consecutive submissions go in as one multi-row insert per table.
//!
//! A submission arrives already evaluated by its handler (in parallel with the others) against
//! the member's history as the handler read it. Inside the transaction the committer reads
//! the member's history again and, when it is not the one the handler saw (an earlier job in
//! this batch or another server authorized something since), evaluates the request again:
//! the decision always rests on the history as committed, so the limits hold under
//! concurrency.
//!
//! With PostgreSQL and several servers, each batch first takes one advisory lock, so batches
//! of all servers apply one after another and the audit chain stays a single chain.

use super::audit::{GENESIS, Record, hex};
use super::store::{Backend, Store};
use super::{Rendered, Shared, new_id, now_text};
use necessity_case::{Case, PriorProcedure};
use necessity_engine::Decision;
use serde_json::Value as Json;
use sha2::{Digest, Sha256};
use sqlx::any::AnyArguments;
use sqlx::query::Query;
use sqlx::{Any, Row, Transaction};
use std::collections::HashMap;
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};

/// How many jobs one transaction takes at most.
const MAX_BATCH: usize = 256;

/// Bound parameters per statement, under both databases' limits (SQLite 32,766, PostgreSQL
/// 65,535).
const MAX_PARAMETERS: usize = 30_000;

/// Where a submission's answer goes.
pub type SubmitReply = oneshot::Sender<Result<Submitted, JobError>>;

/// A write waiting for the committer.
#[derive(Debug)]
pub enum Job {
    Submit(Box<Submit>, SubmitReply),
    Review(Review, oneshot::Sender<Result<Json, JobError>>),
    Import(Import, oneshot::Sender<Result<usize, JobError>>),
}

#[derive(Debug)]
pub struct Submit {
    pub org: String,
    pub member_id: String,
    pub case: Case,
    /// The body as received: what is stored as the request.
    pub request_json: String,
    /// SHA-256 of the body as received, for idempotency.
    pub body_hash: String,
    pub idempotency_key: Option<String>,
    /// The handler's evaluation.
    pub prepared: Prepared,
}

/// A history entry as stored.
#[derive(Debug, Clone)]
pub struct StoredEntry {
    pub id: String,
    pub entry_json: String,
}

/// A request evaluated against the member's stored history as read at one moment.
#[derive(Debug)]
pub struct Prepared {
    /// The stored entries it saw, in order: the committer compares them with the history
    /// it reads in the transaction.
    seen: Vec<String>,
    rendered: Rendered,
    history_json: String,
    history_hash: String,
}

impl Prepared {
    #[must_use]
    pub fn new(shared: &Shared, case: &Case, stored: &[StoredEntry]) -> Self {
        let (history, rendered) = shared.render_with_stored(case, stored);
        let history_json = serde_json::to_string(&history).unwrap_or_else(|_| "[]".to_owned());
        let history_hash = hex(&Sha256::digest(history_json.as_bytes()));
        Self { seen: stored.iter().map(|e| e.id.clone()).collect(), rendered, history_json, history_hash }
    }

    fn saw(&self, stored: &[StoredEntry]) -> bool {
        self.seen.len() == stored.len() && self.seen.iter().zip(stored).all(|(seen, now)| *seen == now.id)
    }
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
    Submit(SubmitReply, Result<Submitted, JobError>),
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

impl Job {
    /// The reply of a job the batch did not get to; `run_batch` turns it into a failure.
    fn unapplied(self) -> Reply {
        match self {
            Self::Submit(_, to) => Reply::Submit(to, Err(JobError::NotFound)),
            Self::Review(_, to) => Reply::Review(to, Err(JobError::NotFound)),
            Self::Import(_, to) => Reply::Import(to, Err(JobError::NotFound)),
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
    match apply_all(shared, store, batch, &mut replies).await {
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

/// Applies the batch in one transaction and commits it. Every job leaves a reply in `replies`,
/// also when the batch fails.
async fn apply_all(
    shared: &Shared,
    store: &Store,
    batch: Vec<Job>,
    replies: &mut Vec<Reply>,
) -> Result<(), sqlx::Error> {
    let mut jobs = batch.into_iter().peekable();
    let (mut tx, mut chain) = match begin(store).await {
        Ok(begun) => begun,
        Err(e) => {
            replies.extend(jobs.map(Job::unapplied));
            return Err(e);
        }
    };
    let mut applied = Ok(());
    while let Some(job) = jobs.next() {
        applied = match job {
            Job::Submit(first, to) => {
                let mut run = vec![(first, to)];
                while let Some(Job::Submit(..)) = jobs.peek() {
                    if let Some(Job::Submit(next, to)) = jobs.next() {
                        run.push((next, to));
                    }
                }
                submit_run(shared, &mut tx, &mut chain, run, replies).await
            }
            Job::Review(r, to) => {
                let result = review(&mut tx, &mut chain, r).await;
                let (reply, applied) = match result {
                    Ok(result) => (result, Ok(())),
                    Err(e) => (Err(JobError::NotFound), Err(e)),
                };
                replies.push(Reply::Review(to, reply));
                applied
            }
            Job::Import(i, to) => {
                let result = import(&mut tx, i).await;
                let (reply, applied) = match result {
                    Ok(n) => (Ok(n), Ok(())),
                    Err(e) => (Err(JobError::NotFound), Err(e)),
                };
                replies.push(Reply::Import(to, reply));
                applied
            }
        };
        if applied.is_err() {
            break;
        }
    }
    replies.extend(jobs.map(Job::unapplied));
    match applied {
        Ok(()) => tx.commit().await,
        Err(e) => {
            drop(tx.rollback().await);
            Err(e)
        }
    }
}

/// A transaction holding the write lock, and the end of the audit chain in it.
async fn begin(store: &Store) -> Result<(Transaction<'static, Any>, Chain), sqlx::Error> {
    // SQLite: take the write lock at the start, so the transaction waits for it (busy
    // timeout) instead of failing when it first writes after reading.
    let mut tx = match store.backend {
        Backend::Sqlite => store.pool.begin_with("BEGIN IMMEDIATE").await?,
        Backend::Postgres => store.pool.begin().await?,
    };
    if store.backend == Backend::Postgres {
        sqlx::query("SELECT pg_advisory_xact_lock(7302)").execute(&mut *tx).await?;
    }
    let mut chain = Chain { seq: 0, head: GENESIS.to_owned() };
    if let Some(row) =
        sqlx::query("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1").fetch_optional(&mut *tx).await?
    {
        chain.seq = row.try_get("seq")?;
        chain.head = row.try_get("hash")?;
    }
    Ok((tx, chain))
}

/// A member's stored history, oldest first.
pub async fn stored_history<'e, E>(executor: E, member_id: &str) -> Result<Vec<StoredEntry>, sqlx::Error>
where
    E: sqlx::Executor<'e, Database = Any>,
{
    let rows = sqlx::query("SELECT id, entry_json FROM history WHERE member_id = $1 ORDER BY created_at, id")
        .bind(member_id)
        .fetch_all(executor)
        .await?;
    rows.iter().map(|r| Ok(StoredEntry { id: r.try_get("id")?, entry_json: r.try_get("entry_json")? })).collect()
}

/// The stored histories of several members, in one query.
async fn stored_histories(
    tx: &mut Transaction<'static, Any>,
    members: &[&str],
) -> Result<HashMap<String, Vec<StoredEntry>>, sqlx::Error> {
    let mut histories: HashMap<String, Vec<StoredEntry>> = HashMap::new();
    for chunk in members.chunks(MAX_PARAMETERS) {
        let list = (1..=chunk.len()).map(|n| format!("${n}")).collect::<Vec<_>>().join(", ");
        let sql = format!(
            "SELECT id, member_id, entry_json FROM history WHERE member_id IN ({list}) ORDER BY created_at, id"
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for member in chunk {
            query = query.bind(*member);
        }
        for row in query.fetch_all(&mut **tx).await? {
            histories
                .entry(row.try_get("member_id")?)
                .or_default()
                .push(StoredEntry { id: row.try_get("id")?, entry_json: row.try_get("entry_json")? });
        }
    }
    Ok(histories)
}

/// Rows a batch writes, inserted together.
#[derive(Default)]
struct Rows {
    audit: Vec<(Record, String)>,
    determinations: Vec<DeterminationRow>,
    history: Vec<HistoryRow>,
    idempotency: Vec<[String; 4]>,
}

struct DeterminationRow {
    id: String,
    org: String,
    member_id: String,
    request_id: Option<String>,
    service_date: String,
    decision: &'static str,
    case_hash: String,
    history_hash: String,
    pack: String,
    request_json: String,
    history_json: String,
    determination_json: String,
    audit_seq: i64,
    created_at: String,
}

struct HistoryRow {
    id: String,
    member_id: String,
    source: &'static str,
    determination_id: Option<String>,
    entry_json: String,
    created_at: String,
}

impl HistoryRow {
    fn new(
        member_id: &str,
        source: &'static str,
        determination_id: Option<&str>,
        entry: &PriorProcedure,
        created_at: &str,
    ) -> Self {
        Self {
            id: new_id("h"),
            member_id: member_id.to_owned(),
            source,
            determination_id: determination_id.map(str::to_owned),
            entry_json: serde_json::to_string(entry).unwrap_or_default(),
            created_at: created_at.to_owned(),
        }
    }
}

type AnyQuery = Query<'static, Any, AnyArguments>;

/// Inserts `rows` into `table`, as few statements as the parameter limit allows.
async fn insert_rows<T>(
    tx: &mut Transaction<'static, Any>,
    table: &str,
    columns: &[&str],
    mut rows: Vec<T>,
    bind: impl Fn(AnyQuery, T) -> AnyQuery,
) -> Result<(), sqlx::Error> {
    let per_statement = (MAX_PARAMETERS / columns.len()).max(1);
    while !rows.is_empty() {
        let rest = rows.split_off(rows.len().min(per_statement));
        let chunk = std::mem::replace(&mut rows, rest);
        let mut sql = format!("INSERT INTO {table} ({}) VALUES ", columns.join(", "));
        let mut n = 0;
        for r in 0..chunk.len() {
            sql.push_str(if r == 0 { "(" } else { ", (" });
            for c in 0..columns.len() {
                n += 1;
                sql.push_str(&format!("{}${n}", if c == 0 { "" } else { ", " }));
            }
            sql.push(')');
        }
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for row in chunk {
            query = bind(query, row);
        }
        query.execute(&mut **tx).await?;
    }
    Ok(())
}

impl Rows {
    async fn insert(self, tx: &mut Transaction<'static, Any>) -> Result<(), sqlx::Error> {
        insert_rows(
            tx,
            "audit",
            &["seq", "kind", "ref_id", "request_hash", "pack", "result", "created_at", "prev_hash", "hash"],
            self.audit,
            |q, (r, hash)| {
                q.bind(r.seq)
                    .bind(r.kind)
                    .bind(r.ref_id)
                    .bind(r.request_hash)
                    .bind(r.pack)
                    .bind(r.result)
                    .bind(r.created_at)
                    .bind(r.prev_hash)
                    .bind(hash)
            },
        )
        .await?;
        insert_rows(
            tx,
            "determinations",
            &[
                "id",
                "org",
                "member_id",
                "request_id",
                "service_date",
                "decision",
                "case_hash",
                "history_hash",
                "pack",
                "request_json",
                "history_json",
                "determination_json",
                "audit_seq",
                "created_at",
            ],
            self.determinations,
            |q, d| {
                q.bind(d.id)
                    .bind(d.org)
                    .bind(d.member_id)
                    .bind(d.request_id)
                    .bind(d.service_date)
                    .bind(d.decision)
                    .bind(d.case_hash)
                    .bind(d.history_hash)
                    .bind(d.pack)
                    .bind(d.request_json)
                    .bind(d.history_json)
                    .bind(d.determination_json)
                    .bind(d.audit_seq)
                    .bind(d.created_at)
            },
        )
        .await?;
        insert_rows(
            tx,
            "history",
            &["id", "member_id", "source", "determination_id", "entry_json", "created_at"],
            self.history,
            |q, h| {
                q.bind(h.id)
                    .bind(h.member_id)
                    .bind(h.source)
                    .bind(h.determination_id)
                    .bind(h.entry_json)
                    .bind(h.created_at)
            },
        )
        .await?;
        insert_rows(
            tx,
            "idempotency",
            &["org", "idem_key", "body_hash", "determination_id"],
            self.idempotency,
            |q, [org, key, hash, id]| q.bind(org).bind(key).bind(hash).bind(id),
        )
        .await
    }
}

/// Applies consecutive submissions: one read of their members' histories, one insert per
/// table.
async fn submit_run(
    shared: &Shared,
    tx: &mut Transaction<'static, Any>,
    chain: &mut Chain,
    run: Vec<(Box<Submit>, SubmitReply)>,
    replies: &mut Vec<Reply>,
) -> Result<(), sqlx::Error> {
    let mut histories = if shared.serialize_members {
        let mut members: Vec<&str> = run.iter().map(|(job, _)| job.member_id.as_str()).collect();
        members.sort_unstable();
        members.dedup();
        match stored_histories(tx, &members).await {
            Ok(h) => h,
            Err(e) => {
                replies.extend(run.into_iter().map(|(_, to)| Reply::Submit(to, Err(JobError::NotFound))));
                return Err(e);
            }
        }
    } else {
        HashMap::new()
    };
    let mut rows = Rows::default();
    let mut run = run.into_iter();
    while let Some((job, to)) = run.next() {
        match submit(shared, tx, chain, &mut histories, &mut rows, *job).await {
            Ok(result) => replies.push(Reply::Submit(to, result)),
            Err(e) => {
                replies.push(Reply::Submit(to, Err(JobError::NotFound)));
                replies.extend(run.map(|(_, to)| Reply::Submit(to, Err(JobError::NotFound))));
                return Err(e);
            }
        }
    }
    rows.insert(tx).await
}

/// One submission of a run: its rows join `rows`, its authorized procedures join the
/// member's history in `histories` for the jobs after it.
async fn submit(
    shared: &Shared,
    tx: &mut Transaction<'static, Any>,
    chain: &mut Chain,
    histories: &mut HashMap<String, Vec<StoredEntry>>,
    rows: &mut Rows,
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
    // Without member serialization (a test's switch) the handler's evaluation stands.
    let member_history = shared.serialize_members.then(|| histories.entry(job.member_id.clone()).or_default());
    let prepared = match &member_history {
        Some(stored) if !job.prepared.saw(stored) => Prepared::new(shared, &job.case, stored),
        _ => job.prepared,
    };
    let id = new_id("d");
    let created_at = now_text();
    let rendered = prepared.rendered;
    let record = chain.append(
        "determination",
        &id,
        &rendered.case_hash,
        &rendered.pack,
        rendered.decision.as_str(),
        &created_at,
    );
    let mut added = Vec::new();
    for line in &rendered.authorized_lines {
        if let Some(entry) = super::authorized_entry(&job.case, *line) {
            added.push(HistoryRow::new(&job.member_id, "authorized", Some(&id), &entry, &created_at));
        }
    }
    if let Some(stored) = member_history {
        stored.extend(added.iter().map(|h| StoredEntry { id: h.id.clone(), entry_json: h.entry_json.clone() }));
    }
    rows.history.extend(added);
    rows.audit.push((record, chain.head.clone()));
    if let Some(key) = job.idempotency_key {
        rows.idempotency.push([job.org.clone(), key, job.body_hash, id.clone()]);
    }
    let body = submission_body(&id, &created_at, &rendered.json);
    rows.determinations.push(DeterminationRow {
        id: id.clone(),
        org: job.org,
        member_id: job.member_id,
        request_id: job.case.id.clone(),
        service_date: job.case.service_date.to_string(),
        decision: rendered.decision.as_str(),
        case_hash: rendered.case_hash,
        history_hash: prepared.history_hash,
        pack: rendered.pack,
        request_json: job.request_json,
        history_json: prepared.history_json,
        determination_json: rendered.json,
        audit_seq: chain.seq,
        created_at,
    });
    Ok(Ok(Submitted::Created { id, body }))
}

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

async fn review(
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
    let created_at = now_text();
    let record = chain.append(
        "review",
        &id,
        &row.try_get::<String, _>("case_hash")?,
        &row.try_get::<String, _>("pack")?,
        &job.decision,
        &created_at,
    );
    let mut rows = Rows { audit: vec![(record, chain.head.clone())], ..Rows::default() };
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
    .bind(chain.seq)
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
        // The request was parsed and validated when it was submitted.
        if let Ok(case) = necessity_case::parse_case(&row.try_get::<String, _>("request_json")?) {
            let member = case.member.id.clone().unwrap_or_default();
            for line in 0..case.services.len() {
                if let Some(entry) = super::authorized_entry(&case, line) {
                    rows.history.push(HistoryRow::new(
                        &member,
                        "review",
                        Some(&job.determination_id),
                        &entry,
                        &created_at,
                    ));
                }
            }
        }
    }
    rows.insert(tx).await?;
    Ok(Ok(review_json(
        &id,
        &job.determination_id,
        [&job.reviewer_name, &job.reviewer_npi, &job.reviewer_role],
        &job.decision,
        &job.reason,
        &created_at,
    )))
}

/// A review as the API shows it; `reviewer` is name, NPI and role.
#[must_use]
pub fn review_json(
    id: &str,
    determination_id: &str,
    [name, npi, role]: [&str; 3],
    decision: &str,
    reason: &str,
    created_at: &str,
) -> Json {
    serde_json::json!({
        "id": id,
        "determination_id": determination_id,
        "reviewer": { "name": name, "npi": npi, "role": role },
        "decision": decision,
        "reason": reason,
        "created_at": created_at,
    })
}

async fn import(tx: &mut Transaction<'static, Any>, job: Import) -> Result<usize, sqlx::Error> {
    let created_at = now_text();
    let count = job.entries.len();
    let history =
        job.entries.iter().map(|e| HistoryRow::new(&job.member_id, "imported", None, e, &created_at)).collect();
    Rows { history, ..Rows::default() }.insert(tx).await?;
    Ok(count)
}
