//! API keys: random, shown once, stored only as their SHA-256; each has a role and an
//! organisation.

use super::audit::hex;
use super::store::Store;
use sha2::{Digest, Sha256};
use sqlx::Row;

/// What a key may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Role {
    /// Submits requests and reads its own organisation's determinations.
    Submitter,
    /// Reads every determination and records reviews.
    Reviewer,
    /// Everything, including importing member history.
    Administrator,
}

impl Role {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Submitter => "submitter",
            Self::Reviewer => "reviewer",
            Self::Administrator => "administrator",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        [Self::Submitter, Self::Reviewer, Self::Administrator].into_iter().find(|r| r.as_str() == s)
    }
}

/// Who is calling.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub role: Role,
    pub org: String,
}

fn digest(key: &str) -> String {
    hex(&Sha256::digest(key.as_bytes()))
}

/// Creates a key and returns it; only its hash is kept.
pub async fn create(store: &Store, role: Role, org: &str) -> Result<String, String> {
    let mut bytes = [0u8; 24];
    getrandom::fill(&mut bytes).map_err(|e| format!("no randomness for a key: {e}"))?;
    let key = format!("nk_{}", hex(&bytes));
    sqlx::query("INSERT INTO api_keys (key_hash, role, org, created_at) VALUES ($1, $2, $3, $4)")
        .bind(digest(&key))
        .bind(role.as_str())
        .bind(org)
        .bind(super::now_text())
        .execute(&store.pool)
        .await
        .map_err(|e| format!("cannot store the key: {e}"))?;
    Ok(key)
}

/// The caller a key belongs to, if any.
pub async fn lookup(store: &Store, key: &str) -> Result<Option<Caller>, sqlx::Error> {
    let row = sqlx::query("SELECT role, org FROM api_keys WHERE key_hash = $1")
        .bind(digest(key))
        .fetch_optional(&store.pool)
        .await?;
    Ok(row.and_then(|r| {
        let role = r.try_get::<String, _>("role").ok().and_then(|s| Role::parse(&s))?;
        let org = r.try_get::<String, _>("org").ok()?;
        Some(Caller { role, org })
    }))
}
