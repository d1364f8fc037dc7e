//! Regulations: finding everything held about a person, deleting it,
//! exporting it, and the suppression list ingest consults.

use std::collections::BTreeSet;

use cairn_core::identity::{IdType, Identifier};
use cairn_core::regulation::{self, Request};
use cairn_core::time::Millis;
use serde::Deserialize;
use serde_json::{Value, json};
use worker::{D1Database, KvStore, Result};

use super::{int, profiles, text};
use crate::snapshot;

/// Everything that makes up one person: the live profile, the profiles
/// merged into it over time, and their identifiers.
pub struct Person {
    pub live: String,
    pub profiles: Vec<String>,
    pub identifiers: Vec<Identifier>,
}

#[derive(Deserialize)]
struct IdRow {
    id: String,
}
#[derive(Deserialize)]
struct IdentifierRow {
    r#type: String,
    value: String,
}
#[derive(Deserialize)]
struct HashRow {
    hash: String,
}
#[derive(Deserialize)]
struct PayloadRow {
    payload: String,
}

/// The profiles merged (directly or not) into `live`, and `live` itself.
const TREE: &str =
    "WITH RECURSIVE tree(id) AS (SELECT ?1 UNION SELECT p.id FROM profiles p JOIN tree t ON p.merged_into = t.id) ";

/// The people the subjects belong to (subjects nobody holds give none).
pub async fn people(db: &D1Database, subjects: &[Identifier]) -> Result<Vec<Person>> {
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for s in subjects {
        let Some(owner) = profiles::owner_of(db, s.kind.as_str(), &s.value).await? else { continue };
        let Some(live) = profiles::live_id(db, &owner).await? else { continue };
        if !seen.insert(live.clone()) {
            continue;
        }
        let mut reads = db
            .batch(vec![
                db.prepare([TREE, "SELECT id FROM tree"].concat()).bind(&[text(&live)])?,
                db.prepare(
                    [TREE, "SELECT i.type, i.value FROM identifiers i JOIN tree t ON i.profile_id = t.id"].concat(),
                )
                .bind(&[text(&live)])?,
            ])
            .await?
            .into_iter();
        let profiles = reads.next().map(|r| r.results::<IdRow>()).transpose()?.unwrap_or_default();
        let identifiers = reads.next().map(|r| r.results::<IdentifierRow>()).transpose()?.unwrap_or_default();
        out.push(Person {
            live,
            profiles: profiles.into_iter().map(|r| r.id).collect(),
            identifiers: identifiers
                .into_iter()
                .map(|r| Identifier { kind: IdType::parse(&r.r#type), value: r.value })
                .collect(),
        });
    }
    Ok(out)
}

/// Events that belong to the person: resolved to one of their profiles, or
/// carrying one of their user/anonymous ids without a profile.
const EVENTS_OF: &str = "profile_id IN (SELECT value FROM json_each(?1)) \
     OR user_id IN (SELECT value FROM json_each(?2)) OR anonymous_id IN (SELECT value FROM json_each(?3))";

fn id_lists(person: &Person, subjects: &[Identifier]) -> [String; 3] {
    let of = |kind: IdType| -> String {
        let values: Vec<&str> =
            person.identifiers.iter().chain(subjects).filter(|i| i.kind == kind).map(|i| i.value.as_str()).collect();
        json!(values).to_string()
    };
    [json!(person.profiles).to_string(), of(IdType::UserId), of(IdType::AnonymousId)]
}

/// Everything held about a person, as one JSON document.
pub async fn access(db: &D1Database, person: &Person, subjects: &[Identifier]) -> Result<Value> {
    let [p, u, a] = id_lists(person, subjects);
    let events = db
        .prepare(["SELECT payload FROM events WHERE ", EVENTS_OF, " ORDER BY timestamp, seq"].concat())
        .bind(&[text(&p), text(&u), text(&a)])?
        .all()
        .await?
        .results::<PayloadRow>()?;
    let events: Vec<Value> = events.into_iter().filter_map(|r| serde_json::from_str(&r.payload).ok()).collect();
    Ok(json!({"profile": profiles::get(db, &person.live).await?, "mergedProfiles": person.profiles, "events": events}))
}

/// Deletes the person from D1 and KV; returns counts for the receipt.
pub async fn delete(db: &D1Database, kv: &KvStore, person: &Person, subjects: &[Identifier]) -> Result<(usize, usize)> {
    let [p, u, a] = id_lists(person, subjects);
    let in_profiles = "profile_id IN (SELECT value FROM json_each(?1))";
    let statements = vec![
        db.prepare(["DELETE FROM events WHERE ", EVENTS_OF].concat()).bind(&[text(&p), text(&u), text(&a)])?,
        db.prepare(["DELETE FROM identifiers WHERE ", in_profiles].concat()).bind(&[text(&p)])?,
        db.prepare(["DELETE FROM profile_traits WHERE ", in_profiles].concat()).bind(&[text(&p)])?,
        db.prepare(["DELETE FROM profile_groups WHERE ", in_profiles].concat()).bind(&[text(&p)])?,
        db.prepare(["DELETE FROM consent_changes WHERE ", in_profiles].concat()).bind(&[text(&p)])?,
        db.prepare(
            "DELETE FROM merges WHERE into_profile IN (SELECT value FROM json_each(?1)) \
             OR from_profile IN (SELECT value FROM json_each(?1))",
        )
        .bind(&[text(&p)])?,
        db.prepare("DELETE FROM profiles WHERE id IN (SELECT value FROM json_each(?1))").bind(&[text(&p)])?,
    ];
    let results = db.batch(statements).await?;
    let events = results.first().and_then(|r| r.meta().ok().flatten()).and_then(|m| m.changes).unwrap_or(0);
    for id in &person.profiles {
        kv.delete(&snapshot::profile_key(id)).await.map_err(|e| worker::Error::RustError(e.to_string()))?;
    }
    for i in person.identifiers.iter().chain(subjects) {
        let key = snapshot::identifier_key(i.kind.as_str(), &i.value);
        kv.delete(&key).await.map_err(|e| worker::Error::RustError(e.to_string()))?;
    }
    Ok((events, person.identifiers.len()))
}

/// Remembers the identifiers as suppressed (hashed), for regulation `id`.
pub async fn suppress(db: &D1Database, id: &str, hashes: &[String], now: Millis) -> Result<()> {
    db.prepare(
        "INSERT OR IGNORE INTO suppressions (hash, regulation_id, created_at) \
         SELECT value, ?2, ?3 FROM json_each(?1)",
    )
    .bind(&[text(&json!(hashes).to_string()), text(id), int(now)])?
    .run()
    .await?;
    Ok(())
}

/// Lifts every suppression made together with any of `hashes`.
pub async fn unsuppress(db: &D1Database, hashes: &[String]) -> Result<usize> {
    let r = db
        .prepare(
            "DELETE FROM suppressions WHERE regulation_id IN \
             (SELECT regulation_id FROM suppressions WHERE hash IN (SELECT value FROM json_each(?1)))",
        )
        .bind(&[text(&json!(hashes).to_string())])?
        .run()
        .await?;
    Ok(r.meta().ok().flatten().and_then(|m| m.changes).unwrap_or(0))
}

/// Which of `hashes` are suppressed.
pub async fn suppressed(db: &D1Database, hashes: &[String]) -> Result<BTreeSet<String>> {
    if hashes.is_empty() {
        return Ok(BTreeSet::new());
    }
    let rows = db
        .prepare("SELECT hash FROM suppressions WHERE hash IN (SELECT value FROM json_each(?1))")
        .bind(&[text(&json!(hashes).to_string())])?
        .all()
        .await?
        .results::<HashRow>()?;
    Ok(rows.into_iter().map(|r| r.hash).collect())
}

/// Records a finished regulation (no personal data: the subject count and a receipt).
pub async fn record(db: &D1Database, id: &str, req: &Request, receipt: &Value, now: Millis) -> Result<()> {
    db.prepare(
        "INSERT INTO regulations (id, type, subject_type, subject_count, status, created_at, finished_at, receipt) \
         VALUES (?1, ?2, ?3, ?4, 'finished', ?5, ?5, ?6)",
    )
    .bind(&[
        text(id),
        text(req.kind.as_str()),
        text(req.subject_type),
        int(req.subjects.len() as i64),
        int(now),
        text(&receipt.to_string()),
    ])?
    .run()
    .await?;
    Ok(())
}

#[derive(Deserialize)]
struct RegulationRow {
    id: String,
    r#type: String,
    subject_type: String,
    subject_count: i64,
    status: String,
    created_at: i64,
    finished_at: Option<i64>,
    receipt: String,
}

pub async fn get(db: &D1Database, id: &str) -> Result<Option<Value>> {
    let row = db
        .prepare("SELECT id, type, subject_type, subject_count, status, created_at, finished_at, receipt FROM regulations WHERE id = ?1")
        .bind(&[text(id)])?
        .first::<RegulationRow>(None)
        .await?;
    Ok(row.map(|r| {
        json!({
            "id": r.id, "type": r.r#type, "subjectType": r.subject_type, "subjectCount": r.subject_count,
            "status": r.status, "createdAt": cairn_core::time::format(r.created_at),
            "finishedAt": r.finished_at.map(cairn_core::time::format),
            "receipt": serde_json::from_str::<Value>(&r.receipt).unwrap_or(Value::Null),
        })
    }))
}

/// The hashes of identifiers, for the suppression list.
pub fn hashes<'a>(salt: &[u8], ids: impl IntoIterator<Item = &'a Identifier>) -> Vec<String> {
    let mut out: Vec<String> = ids.into_iter().map(|i| regulation::suppression_hash(salt, i)).collect();
    out.sort();
    out.dedup();
    out
}
