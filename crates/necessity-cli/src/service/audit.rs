//! The audit trail: append-only, one record per determination and per review, each holding the
//! request's hash, the pack's identity, the result, and the hash of the record before it, so
//! that an edited, deleted or reordered record breaks the chain. `necessity audit verify`
//! walks it.

use super::store::Store;
use sha2::{Digest, Sha256};
use sqlx::Row;

/// The `prev_hash` of the first record.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// One record, as stored.
#[derive(Debug, Clone)]
pub struct Record {
    pub seq: i64,
    pub kind: String,
    pub ref_id: String,
    pub request_hash: String,
    pub pack: String,
    pub result: String,
    pub created_at: String,
    pub prev_hash: String,
}

impl Record {
    /// The record's hash: SHA-256 over its fields, one per line, the previous hash last.
    #[must_use]
    pub fn hash(&self) -> String {
        let mut h = Sha256::new();
        for part in [
            &self.seq.to_string(),
            &self.kind,
            &self.ref_id,
            &self.request_hash,
            &self.pack,
            &self.result,
            &self.created_at,
            &self.prev_hash,
        ] {
            h.update(part.as_bytes());
            h.update(b"\n");
        }
        hex(&h.finalize())
    }
}

/// Lower-case hex of bytes.
#[must_use]
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// What `verify` found.
#[derive(Debug)]
pub struct Verified {
    pub records: i64,
    /// The hash of the last record: publish it, and a later verify proves nothing before it
    /// changed.
    pub head: String,
}

/// Walks the chain and checks every determination and review against it.
pub async fn verify(store: &Store) -> Result<Verified, String> {
    let rows = sqlx::query(
        "SELECT seq, kind, ref_id, request_hash, pack, result, created_at, prev_hash, hash FROM audit ORDER BY seq",
    )
    .fetch_all(&store.pool)
    .await
    .map_err(|e| format!("cannot read the audit trail: {e}"))?;
    let mut expected_prev = GENESIS.to_owned();
    let mut count = 0i64;
    let mut by_ref = std::collections::HashMap::new();
    for row in &rows {
        let get = |c: &str| row.try_get::<String, _>(c).map_err(|e| format!("audit record unreadable: {e}"));
        let record = Record {
            seq: row.try_get::<i64, _>("seq").map_err(|e| format!("audit record unreadable: {e}"))?,
            kind: get("kind")?,
            ref_id: get("ref_id")?,
            request_hash: get("request_hash")?,
            pack: get("pack")?,
            result: get("result")?,
            created_at: get("created_at")?,
            prev_hash: get("prev_hash")?,
        };
        let stored_hash = get("hash")?;
        count += 1;
        if record.seq != count {
            return Err(format!("record {count} is missing or out of order (found seq {})", record.seq));
        }
        if record.prev_hash != expected_prev {
            return Err(format!("record {} does not follow record {}: the chain is broken", record.seq, count - 1));
        }
        if record.hash() != stored_hash {
            return Err(format!("record {} was altered: its content does not match its hash", record.seq));
        }
        expected_prev = stored_hash;
        by_ref.insert((record.kind.clone(), record.ref_id.clone()), record);
    }
    // Every determination and review has its record, with the same content.
    let determinations = sqlx::query("SELECT id, case_hash, pack, decision, audit_seq FROM determinations")
        .fetch_all(&store.pool)
        .await
        .map_err(|e| format!("cannot read determinations: {e}"))?;
    for row in &determinations {
        let id: String = row.try_get("id").map_err(|e| e.to_string())?;
        let seq: i64 = row.try_get("audit_seq").map_err(|e| e.to_string())?;
        let Some(record) = by_ref.get(&("determination".to_owned(), id.clone())) else {
            return Err(format!("determination {id} has no audit record"));
        };
        let same = record.seq == seq
            && record.request_hash == row.try_get::<String, _>("case_hash").map_err(|e| e.to_string())?
            && record.pack == row.try_get::<String, _>("pack").map_err(|e| e.to_string())?
            && record.result == row.try_get::<String, _>("decision").map_err(|e| e.to_string())?;
        if !same {
            return Err(format!("determination {id} differs from its audit record {}", record.seq));
        }
    }
    let reviews = sqlx::query("SELECT id, decision, audit_seq FROM reviews")
        .fetch_all(&store.pool)
        .await
        .map_err(|e| format!("cannot read reviews: {e}"))?;
    for row in &reviews {
        let id: String = row.try_get("id").map_err(|e| e.to_string())?;
        let Some(record) = by_ref.get(&("review".to_owned(), id.clone())) else {
            return Err(format!("review {id} has no audit record"));
        };
        let decision: String = row.try_get("decision").map_err(|e| e.to_string())?;
        if record.result != decision {
            return Err(format!("review {id} differs from its audit record {}", record.seq));
        }
    }
    if i64::try_from(determinations.len() + reviews.len()).unwrap_or(i64::MAX) != count {
        return Err(format!(
            "{count} audit records for {} determinations and {} reviews: records without their subject",
            determinations.len(),
            reviews.len()
        ));
    }
    Ok(Verified { records: count, head: expected_prev })
}
