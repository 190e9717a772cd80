//! The database: SQLite embedded by default, PostgreSQL for several servers. One schema, one
//! set of queries (`$1` placeholders serve both), through sqlx's `Any` driver.

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, Executor};
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

/// Which database a URL names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A connection pool and what it is connected to.
#[derive(Debug, Clone)]
pub struct Store {
    pub pool: AnyPool,
    pub backend: Backend,
}

/// The default database: a SQLite file in the data folder, created if needed.
#[must_use]
pub fn default_url(data_dir: &Path) -> String {
    format!("sqlite://{}?mode=rwc", data_dir.join("necessity.db").display())
}

impl Store {
    /// Connects and creates the schema if it is not there.
    pub async fn open(url: &str) -> Result<Self, sqlx::Error> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Backend::Postgres
        } else if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else {
            return Err(sqlx::Error::Configuration(
                format!("unsupported database URL (use sqlite://… or postgres://…): {}", redact(url)).into(),
            ));
        };
        let options = AnyConnectOptions::from_str(url)?;
        let pool = AnyPoolOptions::new()
            .max_connections(if backend == Backend::Sqlite { 8 } else { 16 })
            .acquire_timeout(Duration::from_secs(10))
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    // Durability: a commit is on disk when it returns.
                    let settings: &[&str] = match backend {
                        Backend::Sqlite => &[
                            "PRAGMA journal_mode = WAL",
                            "PRAGMA synchronous = FULL",
                            "PRAGMA busy_timeout = 10000",
                            "PRAGMA foreign_keys = ON",
                            // Fewer, larger checkpoints and a larger page cache: a
                            // determination is about ten pages, and the service benchmark
                            // gains about a fifth with p99 still near 30 ms.
                            "PRAGMA cache_size = -32768",
                            "PRAGMA wal_autocheckpoint = 4000",
                        ],
                        Backend::Postgres => &["SET synchronous_commit = on"],
                    };
                    for statement in settings {
                        conn.execute(*statement).await?;
                    }
                    Ok(())
                })
            })
            .connect_with(options)
            .await?;
        let store = Self { pool, backend };
        store.migrate().await?;
        if backend == Backend::Postgres {
            store.compress_documents_with_lz4().await;
        }
        Ok(store)
    }

    async fn migrate(&self) -> Result<(), sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        if self.backend == Backend::Postgres {
            // Two servers starting at once must not both create the tables.
            tx.execute("SELECT pg_advisory_xact_lock(7301)").await?;
        }
        for statement in SCHEMA {
            tx.execute(*statement).await?;
        }
        tx.commit().await
    }
}

impl Store {
    /// PostgreSQL compresses large text with pglz by default, which costs about half a
    /// millisecond per determination document (measured in the service benchmark); lz4 does
    /// the same work several times faster. A server built without lz4 keeps pglz: slower,
    /// not wrong, so that is a warning.
    async fn compress_documents_with_lz4(&self) {
        for column in ["request_json", "history_json", "determination_json"] {
            let current: Result<Option<String>, _> = sqlx::query_scalar(
                "SELECT attcompression::text FROM pg_attribute
                 WHERE attrelid = 'determinations'::regclass AND attname = $1",
            )
            .bind(column)
            .fetch_optional(&self.pool)
            .await;
            if matches!(current.as_ref().map(Option::as_deref), Ok(Some("l"))) {
                continue;
            }
            let alter = format!("ALTER TABLE determinations ALTER COLUMN {column} SET COMPRESSION lz4");
            if let Err(e) = self.pool.execute(sqlx::AssertSqlSafe(alter)).await {
                tracing::warn!(column, error = %e, "documents stay compressed with pglz");
            }
        }
    }
}

/// The database URL with any password left out, for messages.
#[must_use]
pub fn redact(url: &str) -> String {
    let parts = url.find("://").zip(url.rfind('@')).filter(|(scheme, at)| at > scheme);
    match parts.and_then(|(scheme, at)| Some((url.get(..scheme)?, url.get(at + 1..)?))) {
        Some((scheme, host)) => format!("{scheme}://…@{host}"),
        None => url.to_owned(),
    }
}

/// Tables. Documents (requests, determinations, history entries) are JSON text; the columns
/// beside them are what queries select on.
const SCHEMA: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS api_keys (
        key_hash TEXT PRIMARY KEY,
        role TEXT NOT NULL,
        org TEXT NOT NULL,
        created_at TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS determinations (
        id TEXT PRIMARY KEY,
        org TEXT NOT NULL,
        member_id TEXT NOT NULL,
        request_id TEXT,
        service_date TEXT NOT NULL,
        decision TEXT NOT NULL,
        case_hash TEXT NOT NULL,
        history_hash TEXT NOT NULL,
        pack TEXT NOT NULL,
        request_json TEXT NOT NULL,
        history_json TEXT NOT NULL,
        determination_json TEXT NOT NULL,
        audit_seq BIGINT NOT NULL,
        created_at TEXT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS determinations_member ON determinations (member_id, created_at)",
    "CREATE TABLE IF NOT EXISTS history (
        id TEXT PRIMARY KEY,
        member_id TEXT NOT NULL,
        source TEXT NOT NULL,
        determination_id TEXT,
        entry_json TEXT NOT NULL,
        created_at TEXT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS history_member ON history (member_id)",
    "CREATE TABLE IF NOT EXISTS reviews (
        id TEXT PRIMARY KEY,
        determination_id TEXT NOT NULL,
        reviewer_name TEXT NOT NULL,
        reviewer_npi TEXT NOT NULL,
        reviewer_role TEXT NOT NULL,
        decision TEXT NOT NULL,
        reason TEXT NOT NULL,
        audit_seq BIGINT NOT NULL,
        created_at TEXT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS reviews_determination ON reviews (determination_id)",
    "CREATE TABLE IF NOT EXISTS audit (
        seq BIGINT PRIMARY KEY,
        kind TEXT NOT NULL,
        ref_id TEXT NOT NULL,
        request_hash TEXT NOT NULL,
        pack TEXT NOT NULL,
        result TEXT NOT NULL,
        created_at TEXT NOT NULL,
        prev_hash TEXT NOT NULL,
        hash TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS idempotency (
        org TEXT NOT NULL,
        idem_key TEXT NOT NULL,
        body_hash TEXT NOT NULL,
        determination_id TEXT NOT NULL,
        PRIMARY KEY (org, idem_key))",
];
