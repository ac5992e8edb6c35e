//! The audit trail's tamper evidence: a SHA-256 hash chain.
//!
//! Each row's hash covers its own canonical content and the previous row's hash.
//! The store keeps a head (last sequence number and hash) so that removing the
//! last rows is detected too. Verification is pure: the store streams rows in.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Hash of the (virtual) row before the first one.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// What one audit row says. `changes` is a JSON object text (field → [before, after]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditRecord {
    pub seq: i64,
    /// RFC 3339 UTC timestamp text, as stored.
    pub at: String,
    pub user_id: Option<i64>,
    pub actor: String,
    pub establishment_id: Option<i64>,
    pub site_id: Option<i64>,
    pub entity: String,
    pub entity_id: Option<String>,
    pub action: String,
    pub outcome: String,
    pub changes: String,
    pub request_id: Option<String>,
}

impl AuditRecord {
    /// Unambiguous byte encoding: each field is length-prefixed.
    pub fn canonical_bytes(&self) -> Vec<u8> {
        fn put(out: &mut Vec<u8>, s: &str) {
            out.extend_from_slice(&(s.len() as u64).to_be_bytes());
            out.extend_from_slice(s.as_bytes());
        }
        fn put_opt_i(out: &mut Vec<u8>, v: Option<i64>) {
            match v {
                None => out.push(0),
                Some(v) => {
                    out.push(1);
                    out.extend_from_slice(&v.to_be_bytes());
                }
            }
        }
        fn put_opt_s(out: &mut Vec<u8>, v: &Option<String>) {
            match v {
                None => out.push(0),
                Some(s) => {
                    out.push(1);
                    put(out, s);
                }
            }
        }
        let mut out = Vec::with_capacity(256);
        out.extend_from_slice(&self.seq.to_be_bytes());
        put(&mut out, &self.at);
        put_opt_i(&mut out, self.user_id);
        put(&mut out, &self.actor);
        put_opt_i(&mut out, self.establishment_id);
        put_opt_i(&mut out, self.site_id);
        put(&mut out, &self.entity);
        put_opt_s(&mut out, &self.entity_id);
        put(&mut out, &self.action);
        put(&mut out, &self.outcome);
        put(&mut out, &self.changes);
        put_opt_s(&mut out, &self.request_id);
        out
    }

    /// The row's hash given the previous row's hash.
    pub fn chain_hash(&self, prev_hash: &str) -> String {
        let mut h = Sha256::new();
        h.update(prev_hash.as_bytes());
        h.update(self.canonical_bytes());
        hex(&h.finalize())
    }
}

pub fn hex(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(HEX[(b >> 4) as usize] as char);
        s.push(HEX[(b & 15) as usize] as char);
    }
    s
}

/// Where the chain breaks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChainBreak {
    /// The row's content does not match its stored hash.
    Altered { seq: i64 },
    /// Sequence numbers jump: rows between were removed.
    Removed { after_seq: i64, next_seq: i64 },
    /// The row's `prev_hash` is not the previous row's hash: a row was inserted
    /// (or the previous one replaced).
    Inserted { seq: i64 },
    /// The head says the trail goes further than the rows: the last rows were removed.
    Truncated { last_seq: i64, head_seq: i64 },
    /// Rows exist past the head: rows were appended outside the application.
    PastHead { seq: i64, head_seq: i64 },
}

impl std::fmt::Display for ChainBreak {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ChainBreak::Altered { seq } => write!(f, "ligne {seq} modifiée (empreinte incorrecte)"),
            ChainBreak::Removed { after_seq, next_seq } => {
                write!(f, "ligne(s) supprimée(s) entre {after_seq} et {next_seq}")
            }
            ChainBreak::Inserted { seq } => {
                write!(f, "ligne {seq} insérée ou remplacée (chaînage rompu)")
            }
            ChainBreak::Truncated { last_seq, head_seq } => write!(
                f,
                "dernières lignes supprimées : la piste s'arrête à {last_seq}, la tête indique {head_seq}"
            ),
            ChainBreak::PastHead { seq, head_seq } => {
                write!(f, "ligne {seq} ajoutée après la tête ({head_seq})")
            }
        }
    }
}

/// Incremental verifier: feed rows in sequence order, then `finish` with the head.
#[derive(Debug)]
pub struct ChainVerifier {
    prev_seq: i64,
    prev_hash: String,
    pub checked: u64,
}

impl Default for ChainVerifier {
    fn default() -> Self {
        ChainVerifier { prev_seq: 0, prev_hash: GENESIS.to_string(), checked: 0 }
    }
}

impl ChainVerifier {
    pub fn push(
        &mut self,
        rec: &AuditRecord,
        stored_prev_hash: &str,
        stored_hash: &str,
    ) -> Result<(), ChainBreak> {
        if rec.chain_hash(stored_prev_hash) != stored_hash {
            return Err(ChainBreak::Altered { seq: rec.seq });
        }
        // i128: no overflow whatever the stored sequence numbers.
        let expected = i128::from(self.prev_seq) + 1;
        if i128::from(rec.seq) != expected {
            if i128::from(rec.seq) > expected && stored_prev_hash != self.prev_hash {
                return Err(ChainBreak::Removed { after_seq: self.prev_seq, next_seq: rec.seq });
            }
            return Err(ChainBreak::Inserted { seq: rec.seq });
        }
        if stored_prev_hash != self.prev_hash {
            return Err(ChainBreak::Inserted { seq: rec.seq });
        }
        self.prev_seq = rec.seq;
        self.prev_hash = stored_hash.to_string();
        self.checked += 1;
        Ok(())
    }

    pub fn finish(&self, head_seq: i64, head_hash: &str) -> Result<(), ChainBreak> {
        if head_seq > self.prev_seq {
            return Err(ChainBreak::Truncated { last_seq: self.prev_seq, head_seq });
        }
        if head_seq < self.prev_seq {
            // head_seq < prev_seq, so head_seq + 1 cannot overflow.
            return Err(ChainBreak::PastHead { seq: head_seq.saturating_add(1), head_seq });
        }
        if head_hash != self.prev_hash {
            return Err(ChainBreak::Altered { seq: self.prev_seq });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(seq: i64, action: &str) -> AuditRecord {
        AuditRecord {
            seq,
            at: "2026-11-22T10:00:00.000000Z".into(),
            user_id: Some(1),
            actor: "amartin".into(),
            establishment_id: Some(1),
            site_id: None,
            entity: "patient".into(),
            entity_id: Some("42".into()),
            action: action.into(),
            outcome: "ok".into(),
            changes: "{}".into(),
            request_id: None,
        }
    }

    fn chain(n: i64) -> Vec<(AuditRecord, String, String)> {
        let mut prev = GENESIS.to_string();
        (1..=n)
            .map(|i| {
                let r = rec(i, "view");
                let h = r.chain_hash(&prev);
                let out = (r, prev.clone(), h.clone());
                prev = h;
                out
            })
            .collect()
    }

    fn verify(rows: &[(AuditRecord, String, String)], head: (i64, &str)) -> Result<(), ChainBreak> {
        let mut v = ChainVerifier::default();
        for (r, p, h) in rows {
            v.push(r, p, h)?;
        }
        v.finish(head.0, head.1)
    }

    #[test]
    fn intact_chain_verifies() {
        let rows = chain(5);
        let head = rows.last().unwrap().2.clone();
        assert_eq!(verify(&rows, (5, &head)), Ok(()));
    }

    #[test]
    fn altered_row_is_found() {
        let mut rows = chain(5);
        let head = rows.last().unwrap().2.clone();
        rows[2].0.action = "update".into();
        assert_eq!(verify(&rows, (5, &head)), Err(ChainBreak::Altered { seq: 3 }));
    }

    #[test]
    fn removed_row_is_found() {
        let mut rows = chain(5);
        let head = rows.last().unwrap().2.clone();
        rows.remove(2);
        assert_eq!(verify(&rows, (5, &head)), Err(ChainBreak::Removed { after_seq: 2, next_seq: 4 }));
    }

    #[test]
    fn truncated_tail_is_found() {
        let mut rows = chain(5);
        let head = rows.last().unwrap().2.clone();
        rows.truncate(3);
        assert_eq!(verify(&rows, (5, &head)), Err(ChainBreak::Truncated { last_seq: 3, head_seq: 5 }));
    }

    #[test]
    fn inserted_row_is_found() {
        let mut rows = chain(5);
        let head = rows.last().unwrap().2.clone();
        // A forged row recomputed with a valid own hash but put in between.
        let mut forged = rec(3, "delete");
        let prev = rows[1].2.clone();
        let h = forged.chain_hash(&prev);
        forged.seq = 3;
        rows.insert(2, (forged, prev, h));
        for (i, r) in rows.iter_mut().enumerate().skip(3) {
            r.0.seq = i as i64 + 1; // renumbering breaks each later row's own hash
        }
        assert!(matches!(verify(&rows, (6, &head)), Err(ChainBreak::Altered { seq: 4 })));
    }

    #[test]
    fn hash_depends_on_every_field() {
        let base = rec(1, "view");
        let h = base.chain_hash(GENESIS);
        let mut variants = vec![];
        let mut r = base.clone(); r.user_id = None; variants.push(r);
        let mut r = base.clone(); r.site_id = Some(3); variants.push(r);
        let mut r = base.clone(); r.entity_id = None; variants.push(r);
        let mut r = base.clone(); r.changes = "{\"a\":1}".into(); variants.push(r);
        let mut r = base.clone(); r.request_id = Some("x".into()); variants.push(r);
        let mut r = base.clone(); r.outcome = "refused".into(); variants.push(r);
        for v in variants {
            assert_ne!(v.chain_hash(GENESIS), h, "{v:?}");
        }
        assert_ne!(base.chain_hash("1"), h);
    }
}
