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

/// Rows of a person's events read per query by [`export`]: a whole history
/// may be far above D1's 50 MB result limit and the isolate's 128 MB.
pub const EXPORT_PAGE: usize = 500;

#[derive(Deserialize)]
struct PageRow {
    payload: String,
    timestamp: i64,
    seq: i64,
}

/// The body of an access request's answer, written as it is read: `head`
/// (which opens the `data` array), then per person `{"profile",
/// "mergedProfiles", "events"}` with the events oldest first, a page at a
/// time, then the closing brackets. Stored payloads go out as they are.
pub fn export(
    db: D1Database,
    head: String,
    people: Vec<Person>,
    subjects: Vec<Identifier>,
) -> impl futures_util::Stream<Item = Result<Vec<u8>>> {
    // The id lists a person's pages are queried with, written once.
    let people = people.into_iter().map(|p| (id_lists(&p, &subjects), p)).collect();
    let state = Export { db, people, step: Step::Head(head) };
    futures_util::stream::unfold(state, |mut s| async move {
        let chunk = s.next().await?;
        Some((chunk, s))
    })
}

struct Export {
    db: D1Database,
    people: Vec<([String; 3], Person)>,
    step: Step,
}

enum Step {
    Head(String),
    /// Opens the person at this index (or closes the document past the last).
    Person(usize),
    /// The next page of the person's events after `(timestamp, seq)`, and
    /// whether one was written already.
    Events(usize, Option<(i64, i64)>, bool),
    Done,
}

impl Export {
    async fn next(&mut self) -> Option<Result<Vec<u8>>> {
        let result = self.step().await;
        if result.is_err() {
            // The answer ends here, as invalid JSON: a client cannot take it for a whole export.
            self.step = Step::Done;
        }
        result.transpose()
    }

    async fn step(&mut self) -> Result<Option<Vec<u8>>> {
        let chunk = match std::mem::replace(&mut self.step, Step::Done) {
            Step::Done => return Ok(None),
            Step::Head(head) => {
                self.step = Step::Person(0);
                head
            }
            Step::Person(i) => match self.people.get(i) {
                None => "]}".to_owned(),
                Some((_, person)) => {
                    let profile = profiles::get(&self.db, &person.live).await?;
                    let open = json!({"profile": profile, "mergedProfiles": person.profiles}).to_string();
                    self.step = Step::Events(i, None, false);
                    // `{...}` without its `}`, then the events array.
                    let comma = if i > 0 { "," } else { "" };
                    [comma, open.strip_suffix('}').unwrap_or_default(), ",\"events\":["].concat()
                }
            },
            Step::Events(i, after, mut wrote) => {
                let Some(([p, u, a], _)) = self.people.get(i) else { return Ok(None) };
                // Below any stored timestamp and seq, and exact as a JS number (see `int`).
                const FIRST: i64 = -(1 << 53);
                let (t, seq) = after.unwrap_or((FIRST, FIRST));
                let rows = self
                    .db
                    .prepare(
                        [
                            "SELECT payload, timestamp, seq FROM events WHERE (",
                            EVENTS_OF,
                            ") AND (timestamp, seq) > (?4, ?5) ORDER BY timestamp, seq LIMIT ?6",
                        ]
                        .concat(),
                    )
                    .bind(&[text(p), text(u), text(a), int(t), int(seq), int(EXPORT_PAGE as i64)])?
                    .all()
                    .await?
                    .results::<PageRow>()?;
                let mut out = String::new();
                // A stored payload is JSON written by ingest; one that is not is left
                // out rather than breaking the whole document.
                for row in rows.iter().filter(|r| serde_json::from_str::<serde::de::IgnoredAny>(&r.payload).is_ok()) {
                    if std::mem::replace(&mut wrote, true) {
                        out.push(',');
                    }
                    out.push_str(&row.payload);
                }
                match rows.last().filter(|_| rows.len() == EXPORT_PAGE) {
                    Some(last) => self.step = Step::Events(i, Some((last.timestamp, last.seq)), wrote),
                    None => {
                        out.push_str("]}");
                        self.step = Step::Person(i + 1);
                    }
                }
                out
            }
        };
        Ok(Some(chunk.into_bytes()))
    }
}

/// Events deleted per statement before the final batch: one statement over a
/// long history could run into D1's 30 s query limit.
const DELETE_PAGE: usize = 1_000;

/// Deletes the person from D1 and KV; returns counts for the receipt. The
/// events go a page at a time first; then one batch removes the rest (events
/// that came meanwhile included) with the identifiers, traits, groups,
/// consent history, merges and profiles. Run again after a failure, it
/// finishes the job.
pub async fn delete(db: &D1Database, kv: &KvStore, person: &Person, subjects: &[Identifier]) -> Result<(usize, usize)> {
    let [p, u, a] = id_lists(person, subjects);
    let changes = |r: &worker::D1Result| r.meta().ok().flatten().and_then(|m| m.changes).unwrap_or(0);
    let mut events = 0;
    loop {
        let page = db
            .prepare(
                ["DELETE FROM events WHERE seq IN (SELECT seq FROM events WHERE ", EVENTS_OF, " LIMIT ?4)"].concat(),
            )
            .bind(&[text(&p), text(&u), text(&a), int(DELETE_PAGE as i64)])?
            .run()
            .await?;
        events += changes(&page);
        if changes(&page) < DELETE_PAGE {
            break;
        }
    }
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
    events += results.first().map_or(0, changes);
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
