//! Reading unified profiles: what the admin API and the console show.

use cairn_core::graph::{self, Traits};
use serde::Deserialize;
use serde_json::{Value, json};
use worker::{D1Database, Result};

use super::identity::{parse_ids, put_trait, traits_from_json};
use super::{int, text};

/// How many `merged_into` hops are followed from an old profile id.
const MAX_HOPS: usize = 32;

#[derive(Deserialize)]
struct Redirect {
    merged_into: Option<String>,
}

/// The live profile an id stands for: itself, or the profile it was merged
/// into (following chains). `None` when no such profile was ever created.
pub async fn live_id(db: &D1Database, id: &str) -> Result<Option<String>> {
    let mut current = id.to_owned();
    for _ in 0..MAX_HOPS {
        let row = db
            .prepare("SELECT merged_into FROM profiles WHERE id = ?1")
            .bind(&[text(&current)])?
            .first::<Redirect>(None)
            .await?;
        match row {
            None => return Ok(None),
            Some(Redirect { merged_into: None }) => return Ok(Some(current)),
            Some(Redirect { merged_into: Some(next) }) => current = next,
        }
    }
    Ok(Some(current))
}

#[derive(Deserialize)]
struct Owner {
    profile_id: String,
}

/// The profile that owns an identifier (already normalized).
pub async fn owner_of(db: &D1Database, kind: &str, value: &str) -> Result<Option<String>> {
    let row = db
        .prepare("SELECT profile_id FROM identifiers WHERE type = ?1 AND value = ?2")
        .bind(&[text(kind), text(value)])?
        .first::<Owner>(None)
        .await?;
    Ok(row.map(|o| o.profile_id))
}

#[derive(Deserialize)]
struct ProfileRow {
    created_at: i64,
    updated_at: i64,
}
#[derive(Deserialize)]
struct IdentifierRow {
    r#type: String,
    value: String,
    first_seen: i64,
}
#[derive(Deserialize)]
struct TraitRow {
    key: String,
    kind: String,
    value: String,
    at: i64,
}
#[derive(Deserialize)]
struct MergeRow {
    id: String,
    into_profile: String,
    from_profile: String,
    via: String,
    identifiers: String,
    traits: String,
    source_id: String,
    message_id: String,
    at: i64,
    undone_at: Option<i64>,
}
#[derive(Deserialize)]
struct Stats {
    n: i64,
    first: Option<i64>,
    last: Option<i64>,
}
#[derive(Deserialize)]
struct GroupRow {
    group_id: String,
    traits: String,
    at: i64,
}
#[derive(Deserialize)]
struct ConsentRow {
    categories: String,
    at: i64,
    source_id: String,
    message_id: String,
}

fn time(ms: i64) -> String {
    cairn_core::time::format(ms)
}

fn ids_value(text: &str) -> Value {
    parse_ids(text).iter().map(|i| json!({"type": i.kind.as_str(), "value": i.value})).collect()
}

/// The profile `id` (a live one) as the admin API shows it.
pub async fn get(db: &D1Database, id: &str) -> Result<Option<Value>> {
    let p = [text(id)];
    let mut results = db
        .batch(vec![
            db.prepare("SELECT created_at, updated_at FROM profiles WHERE id = ?1").bind(&p)?,
            db.prepare("SELECT type, value, first_seen FROM identifiers WHERE profile_id = ?1 ORDER BY type, value")
                .bind(&p)?,
            db.prepare("SELECT key, kind, value, at FROM profile_traits WHERE profile_id = ?1").bind(&p)?,
            db.prepare(
                "SELECT id, into_profile, from_profile, via, identifiers, traits, source_id, message_id, at, undone_at \
                 FROM merges WHERE into_profile = ?1 OR from_profile = ?1 ORDER BY at, id",
            )
            .bind(&p)?,
            db.prepare("SELECT count(*) AS n, min(timestamp) AS first, max(timestamp) AS last FROM events WHERE profile_id = ?1")
                .bind(&p)?,
            db.prepare(
                "SELECT categories, at, source_id, message_id FROM consent_changes WHERE profile_id = ?1 ORDER BY at DESC LIMIT 100",
            )
            .bind(&p)?,
            db.prepare("SELECT group_id, traits, at FROM profile_groups WHERE profile_id = ?1 ORDER BY group_id").bind(&p)?,
        ])
        .await?
        .into_iter();
    let mut next = || results.next().ok_or_else(|| worker::Error::RustError("missing batch result".into()));
    let Some(profile) = next()?.results::<ProfileRow>()?.into_iter().next() else { return Ok(None) };
    let identifiers: Vec<Value> = next()?
        .results::<IdentifierRow>()?
        .into_iter()
        .map(|r| json!({"type": r.r#type, "value": r.value, "firstSeen": time(r.first_seen)}))
        .collect();
    let traits = traits_of(next()?.results::<TraitRow>()?);
    let merges: Vec<Value> = next()?
        .results::<MergeRow>()?
        .into_iter()
        .map(|m| {
            json!({
                "id": m.id,
                "into": m.into_profile,
                "from": m.from_profile,
                "via": ids_value(&m.via),
                "identifiers": ids_value(&m.identifiers),
                "traits": Value::Object(graph::trait_values(&traits_from_json(&m.traits))),
                "sourceId": m.source_id,
                "messageId": m.message_id,
                "at": time(m.at),
                "undoneAt": m.undone_at.map(time),
            })
        })
        .collect();
    let stats = next()?.results::<Stats>()?.into_iter().next().unwrap_or(Stats { n: 0, first: None, last: None });
    let consent_history: Vec<Value> = next()?
        .results::<ConsentRow>()?
        .into_iter()
        .map(|c| {
            let prefs: Value = serde_json::from_str(&c.categories).unwrap_or(Value::Null);
            json!({"categoryPreferences": prefs, "at": time(c.at), "sourceId": c.source_id, "messageId": c.message_id})
        })
        .collect();
    let consent = consent_history.first().cloned();
    let groups: Vec<Value> = next()?
        .results::<GroupRow>()?
        .into_iter()
        .map(|g| {
            let traits: Value = serde_json::from_str(&g.traits).unwrap_or(Value::Null);
            json!({"groupId": g.group_id, "traits": traits, "at": time(g.at)})
        })
        .collect();
    Ok(Some(json!({
        "id": id,
        "identifiers": identifiers,
        "traits": Value::Object(graph::trait_values(&traits)),
        "groups": groups,
        "consent": consent,
        "consentHistory": consent_history,
        "merges": merges,
        "eventCount": stats.n,
        "firstSeen": stats.first.map(time),
        "lastSeen": stats.last.map(time),
        "createdAt": time(profile.created_at),
        "updatedAt": time(profile.updated_at),
    })))
}

#[derive(Deserialize)]
struct Payload {
    payload: String,
}

/// A profile's events, newest first.
pub async fn events(db: &D1Database, id: &str, limit: u32) -> Result<Vec<Value>> {
    let rows = db
        .prepare("SELECT payload FROM events WHERE profile_id = ?1 ORDER BY timestamp DESC, seq DESC LIMIT ?2")
        .bind(&[text(id), int(i64::from(limit))])?
        .all()
        .await?
        .results::<Payload>()?;
    Ok(rows.into_iter().filter_map(|r| serde_json::from_str(&r.payload).ok()).collect())
}

/// What a KV snapshot holds: identifiers (for the index), traits, audiences.
pub async fn snapshot(db: &D1Database, id: &str) -> Result<Option<Value>> {
    let p = [text(id)];
    let mut results = db
        .batch(vec![
            db.prepare("SELECT created_at, updated_at FROM profiles WHERE id = ?1").bind(&p)?,
            db.prepare("SELECT type, value, first_seen FROM identifiers WHERE profile_id = ?1").bind(&p)?,
            db.prepare("SELECT key, kind, value, at FROM profile_traits WHERE profile_id = ?1").bind(&p)?,
        ])
        .await?
        .into_iter();
    let mut next = || results.next().ok_or_else(|| worker::Error::RustError("missing batch result".into()));
    let Some(profile) = next()?.results::<ProfileRow>()?.into_iter().next() else { return Ok(None) };
    let identifiers: Vec<Value> =
        next()?.results::<IdentifierRow>()?.into_iter().map(|r| json!({"type": r.r#type, "value": r.value})).collect();
    let traits = traits_of(next()?.results::<TraitRow>()?);
    Ok(Some(json!({
        "id": id,
        "identifiers": identifiers,
        "traits": Value::Object(graph::trait_values(&traits)),
        "audiences": [],
        "updatedAt": time(profile.updated_at),
    })))
}

fn traits_of(rows: Vec<TraitRow>) -> Traits {
    let mut traits = Traits::new();
    for r in rows {
        put_trait(&mut traits, r.key, &r.kind, &r.value, r.at);
    }
    traits
}
