//! Undoing a merge: the profile that joined gets back the identifiers it
//! brought, the events only those identifiers explain, and traits recomputed
//! from those events; the surviving profile keeps the rest, with its traits
//! recomputed too.

use std::collections::BTreeSet;

use cairn_core::event::from_stored;
use cairn_core::graph::{self, Traits};
use cairn_core::identity::{Config, IdType, Identifier};
use cairn_core::{Kind, Message, time::Millis};
use serde::Deserialize;
use serde_json::{Value, json};
use worker::{D1Database, Result};

use super::identity::{GUARD, UPSERT_GROUPS, UPSERT_TRAITS, ids_json, parse_ids, trait_rows};
use super::{int, profiles, text};

/// An event as stored: source id, message id, the message.
type Stored = (String, String, Message);

#[derive(Debug, PartialEq, Eq)]
pub enum Refused {
    NotFound,
    AlreadyUndone,
    /// The merge's identifiers are no longer where it put them.
    Moved,
    /// Another change to the profile won the race.
    Conflict,
}

#[derive(Deserialize)]
struct MergeRow {
    into_profile: String,
    from_profile: String,
    identifiers: String,
    undone_at: Option<i64>,
}
#[derive(Deserialize)]
struct IdRow {
    r#type: String,
    value: String,
}
#[derive(Deserialize)]
struct VersionRow {
    version: i64,
}
#[derive(Deserialize)]
struct EventRow {
    source_id: String,
    message_id: String,
    payload: String,
}

/// The identifiers an event links (an alias's previousId under both readings).
fn linked(m: &Message, config: &Config) -> BTreeSet<Identifier> {
    graph::lookups(m, config).into_iter().collect()
}

/// Splits merge `id` again. Returns the two live profile ids.
pub async fn undo(
    db: &D1Database,
    id: &str,
    config: &Config,
    now: Millis,
) -> Result<std::result::Result<[String; 2], Refused>> {
    let merge = db
        .prepare("SELECT into_profile, from_profile, identifiers, undone_at FROM merges WHERE id = ?1")
        .bind(&[text(id)])?
        .first::<MergeRow>(None)
        .await?;
    let Some(merge) = merge else { return Ok(Err(Refused::NotFound)) };
    if merge.undone_at.is_some() {
        return Ok(Err(Refused::AlreadyUndone));
    }
    let Some(live) = profiles::live_id(db, &merge.into_profile).await? else { return Ok(Err(Refused::NotFound)) };
    let p = [text(&live)];
    let mut reads = db
        .batch(vec![
            db.prepare("SELECT version FROM profiles WHERE id = ?1").bind(&p)?,
            db.prepare("SELECT type, value FROM identifiers WHERE profile_id = ?1").bind(&p)?,
            db.prepare("SELECT source_id, message_id, payload FROM events WHERE profile_id = ?1").bind(&p)?,
        ])
        .await?
        .into_iter();
    let mut next = || reads.next().ok_or_else(|| worker::Error::RustError("missing batch result".into()));
    let version = next()?.results::<VersionRow>()?.first().map(|v| v.version).unwrap_or_default();
    let current: BTreeSet<Identifier> = next()?
        .results::<IdRow>()?
        .into_iter()
        .map(|r| Identifier { kind: IdType::parse(&r.r#type), value: r.value })
        .collect();
    let moved: BTreeSet<Identifier> =
        parse_ids(&merge.identifiers).into_iter().filter(|i| current.contains(i)).collect();
    if moved.is_empty() {
        return Ok(Err(Refused::Moved));
    }
    let remaining: BTreeSet<&Identifier> = current.iter().filter(|i| !moved.contains(*i)).collect();
    let (mut back, mut stay): (Vec<Stored>, Vec<Stored>) = (Vec::new(), Vec::new());
    for row in next()?.results::<EventRow>()? {
        let Some(m) = serde_json::from_str(&row.payload).ok().and_then(from_stored) else { continue };
        let ids = linked(&m, config);
        let only_moved = ids.iter().any(|i| moved.contains(i)) && !ids.iter().any(|i| remaining.contains(i));
        if only_moved { &mut back } else { &mut stay }.push((row.source_id, row.message_id, m));
    }
    let traits_of =
        |events: &[(String, String, Message)]| -> Traits { graph::traits_from(events.iter().map(|(_, _, m)| m)) };
    let mut rows = trait_rows(&live, &traits_of(&stay));
    rows.extend(trait_rows(&merge.from_profile, &traits_of(&back)));
    // Memberships recomputed from each side's group calls.
    let mut groups: Vec<Value> = Vec::new();
    for (profile, events) in [(&live, &stay), (&merge.from_profile, &back)] {
        for (_, _, m) in events.iter().filter(|(_, _, m)| m.kind == Kind::Group) {
            if let Some(g) = &m.group_id {
                groups.push(json!([profile, g, Value::Object(m.traits.clone()).to_string(), m.timestamp]));
            }
        }
    }
    let moved_ids: Vec<Identifier> = moved.into_iter().collect();
    let moved_events: Vec<Value> = back.iter().map(|(s, m, _)| json!([s, m])).collect();
    let moved_events_json = Value::from(moved_events).to_string();
    let from = text(&merge.from_profile);
    let statements = vec![
        db.prepare(GUARD).bind(&[text(&json!([[live, version]]).to_string())])?,
        db.prepare("UPDATE profiles SET version = version + 1, updated_at = ?2 WHERE id = ?1")
            .bind(&[text(&live), int(now)])?,
        db.prepare("UPDATE profiles SET merged_into = NULL, version = version + 1, updated_at = ?2 WHERE id = ?1")
            .bind(&[from.clone(), int(now)])?,
        db.prepare(
            "UPDATE identifiers SET profile_id = ?1 WHERE profile_id = ?2 AND (type, value) IN \
             (SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]') FROM json_each(?3))",
        )
        .bind(&[from.clone(), text(&live), text(&ids_json(&moved_ids))])?,
        db.prepare(
            "UPDATE events SET profile_id = ?1 WHERE profile_id = ?2 AND (source_id, message_id) IN \
             (SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]') FROM json_each(?3))",
        )
        .bind(&[from.clone(), text(&live), text(&moved_events_json)])?,
        db.prepare(
            "UPDATE OR IGNORE consent_changes SET profile_id = ?1 WHERE profile_id = ?2 AND message_id IN \
             (SELECT json_extract(value, '$[1]') FROM json_each(?3))",
        )
        .bind(&[from.clone(), text(&live), text(&moved_events_json)])?,
        db.prepare("DELETE FROM profile_traits WHERE profile_id IN (?1, ?2)").bind(&[text(&live), from])?,
        db.prepare(UPSERT_TRAITS).bind(&[text(&Value::from(rows).to_string())])?,
        db.prepare("DELETE FROM profile_groups WHERE profile_id IN (?1, ?2)")
            .bind(&[text(&live), text(&merge.from_profile)])?,
        db.prepare(UPSERT_GROUPS).bind(&[text(&Value::from(groups).to_string())])?,
        db.prepare("UPDATE merges SET undone_at = ?2 WHERE id = ?1").bind(&[text(id), int(now)])?,
        db.prepare(super::identity::CLEAR_GUARD),
    ];
    match db.batch(statements).await {
        Ok(_) => Ok(Ok([live, merge.from_profile])),
        Err(e) if super::identity::is_conflict(&e) => Ok(Err(Refused::Conflict)),
        Err(e) => Err(e),
    }
}
