//! The identity graph in D1, with optimistic concurrency.
//!
//! D1 has no interactive transactions, so a request (1) reads the part of the
//! graph its events touch, with each profile's `version`, in one batch;
//! (2) runs its events through `cairn_core::graph::Graph` in memory; (3) writes
//! the outcome and its events in one batch (one transaction) that starts with
//! a guard: if any profile it read has changed meanwhile, or another request
//! claimed one of its new identifiers first, the batch fails as a whole and
//! the request starts over from (1). So concurrent requests for one person
//! never create two profiles and never lose an identifier.

use std::collections::{BTreeMap, BTreeSet};

use cairn_core::graph::{self, Change, Graph, Profile, Stamped, Trait, Traits};
use cairn_core::identity::{Config, IdType, Identifier};
use cairn_core::resolve::{ProfileId, Rules};
use cairn_core::{Kind, Message, time::Millis};
use serde::Deserialize;
use serde_json::{Value, json};
use worker::{D1Database, D1PreparedStatement, Result};

use super::{int, text};

/// The profiles owning any of `?1` (a JSON array of `[type, value]`).
const OWNERS: &str = "WITH wanted AS (SELECT json_extract(value, '$[0]') AS type, json_extract(value, '$[1]') AS value FROM json_each(?1)), \
     owners AS (SELECT DISTINCT i.profile_id AS id FROM identifiers i JOIN wanted w ON i.type = w.type AND i.value = w.value) ";

/// What a request read: the subgraph and the version of each profile in it.
pub struct Loaded {
    pub graph: Graph,
    pub versions: BTreeMap<ProfileId, i64>,
    /// The latest recorded consent (`categoryPreferences` as JSON text) per profile.
    pub consent: BTreeMap<ProfileId, String>,
}

#[derive(Deserialize)]
struct ConsentRow {
    profile_id: String,
    categories: String,
}

#[derive(Deserialize)]
struct IdRow {
    profile_id: String,
    version: i64,
    r#type: String,
    value: String,
}

#[derive(Deserialize)]
struct TraitRow {
    profile_id: String,
    key: String,
    kind: String,
    value: String,
    at: i64,
}

/// Identifiers as stored in JSON columns: `[["email", "a@b.co"], ...]`.
pub fn ids_json(ids: &[Identifier]) -> String {
    Value::from(ids.iter().map(|i| json!([i.kind.as_str(), i.value])).collect::<Vec<_>>()).to_string()
}

/// Reads what `ids_json` wrote.
pub fn parse_ids(text: &str) -> Vec<Identifier> {
    let rows: Vec<Vec<String>> = serde_json::from_str(text).unwrap_or_default();
    rows.into_iter()
        .filter_map(|r| match r.as_slice() {
            [t, v] => Some(Identifier { kind: IdType::parse(t), value: v.clone() }),
            _ => None,
        })
        .collect()
}

/// Adds one `profile_traits` row (the inverse of `trait_rows`) to `traits`.
pub fn put_trait(traits: &mut Traits, key: String, kind: &str, value: &str, at: i64) {
    let stamped = Stamped { at, value: serde_json::from_str(value).unwrap_or(Value::Null) };
    let t = traits.entry(key).or_default();
    if kind == "once" {
        t.once = Some(stamped);
    } else {
        t.set = Some(stamped);
    }
}

/// Reads every profile that owns one of `ids`, with all its identifiers and
/// traits, in one batch (one consistent snapshot).
pub async fn load(db: &D1Database, ids: &[Identifier], rules: Rules) -> Result<Loaded> {
    let wanted = ids_json(ids);
    let results = db
        .batch(vec![
            db.prepare(
                [OWNERS, "SELECT i.profile_id, p.version, i.type, i.value FROM owners o \
                  JOIN profiles p ON p.id = o.id JOIN identifiers i ON i.profile_id = o.id"]
                .concat(),
            )
            .bind(&[text(&wanted)])?,
            db.prepare([OWNERS, "SELECT t.profile_id, t.key, t.kind, t.value, t.at FROM owners o JOIN profile_traits t ON t.profile_id = o.id"].concat())
                .bind(&[text(&wanted)])?,
            db.prepare(
                [OWNERS, "SELECT c.profile_id, c.categories FROM owners o JOIN consent_changes c ON c.profile_id = o.id \
                  WHERE c.at = (SELECT max(at) FROM consent_changes WHERE profile_id = o.id)"]
                .concat(),
            )
            .bind(&[text(&wanted)])?,
        ])
        .await?;
    let mut profiles: BTreeMap<ProfileId, Profile> = BTreeMap::new();
    let mut versions = BTreeMap::new();
    let mut results = results.into_iter();
    for row in results.next().map(|r| r.results::<IdRow>()).transpose()?.unwrap_or_default() {
        versions.insert(row.profile_id.clone(), row.version);
        let identifier = Identifier { kind: IdType::parse(&row.r#type), value: row.value };
        profiles.entry(row.profile_id).or_default().identifiers.push(identifier);
    }
    for row in results.next().map(|r| r.results::<TraitRow>()).transpose()?.unwrap_or_default() {
        let Some(p) = profiles.get_mut(&row.profile_id) else { continue };
        put_trait(&mut p.traits, row.key, &row.kind, &row.value, row.at);
    }
    let consent = results
        .next()
        .map(|r| r.results::<ConsentRow>())
        .transpose()?
        .unwrap_or_default()
        .into_iter()
        .map(|c| (c.profile_id, c.categories))
        .collect();
    let mut graph = Graph::new(rules);
    for (id, mut p) in profiles {
        p.identifiers.sort();
        graph.insert(id, p);
    }
    Ok(Loaded { graph, versions, consent })
}

/// The outcome of running a request's messages through the graph.
pub struct Resolved {
    /// The profile of each message (`None` when it carries no identifier).
    pub profile_of: Vec<Option<ProfileId>>,
    /// Profiles created, changed or merged away (their snapshots are stale).
    pub changed: Vec<ProfileId>,
    statements: Vec<(&'static str, Vec<Param>)>,
}

/// A bound value.
enum Param {
    Text(String),
    Int(i64),
}

fn json_param(rows: Vec<Value>) -> Param {
    Param::Text(Value::from(rows).to_string())
}

/// A merge as recorded.
struct MergeRow {
    id: String,
    into: ProfileId,
    from: ProfileId,
    via: Vec<Identifier>,
    identifiers: Vec<Identifier>,
    traits: Traits,
    message_id: String,
}

/// Runs `messages` through the loaded graph and prepares the writes.
/// `new_id` makes profile and merge ids.
pub fn resolve(
    mut loaded: Loaded,
    source_id: &str,
    messages: &[Message],
    config: &Config,
    now: Millis,
    new_id: &mut dyn FnMut(&str) -> String,
) -> Resolved {
    let stored: BTreeSet<Identifier> =
        loaded.graph.profiles().flat_map(|(_, p)| p.identifiers.iter().cloned()).collect();
    let graph = &mut loaded.graph;
    let mut profile_of = Vec::with_capacity(messages.len());
    let mut created: Vec<ProfileId> = Vec::new();
    let mut structural: BTreeSet<ProfileId> = BTreeSet::new();
    let mut traits_changed: BTreeSet<ProfileId> = BTreeSet::new();
    let mut assigned: BTreeSet<ProfileId> = BTreeSet::new();
    let mut redirect: BTreeMap<ProfileId, ProfileId> = BTreeMap::new();
    let mut merges: Vec<MergeRow> = Vec::new();
    let mut groups: Vec<(ProfileId, String, String, Millis)> = Vec::new();
    let mut consent_latest = std::mem::take(&mut loaded.consent);
    let mut consent_rows: Vec<(ProfileId, String, Millis, String)> = Vec::new();
    for m in messages {
        let mut make = || new_id("prf_");
        let Some(applied) = graph.apply_message(m, config, &mut make) else {
            profile_of.push(None);
            continue;
        };
        for change in applied.changes {
            match change {
                Change::Created { profile } => created.push(profile),
                Change::Added { profile, .. } => {
                    structural.insert(profile);
                }
                Change::Merged { into, from, via, identifiers, traits } => {
                    structural.insert(into.clone());
                    structural.insert(from.clone());
                    traits_changed.insert(into.clone());
                    redirect.insert(from.clone(), into.clone());
                    let id = new_id("mrg_");
                    merges.push(MergeRow {
                        id,
                        into,
                        from,
                        via,
                        identifiers,
                        traits,
                        message_id: m.message_id.clone(),
                    });
                }
                Change::Traits { profile } => {
                    traits_changed.insert(profile);
                }
                Change::Refused { .. } => {}
            }
        }
        assigned.insert(applied.profile.clone());
        // Proof of consent: each change of a person's preferences, with its event.
        if let Some(prefs) = m.context.get("consent").and_then(|c| c.get("categoryPreferences")) {
            let text = prefs.to_string();
            if consent_latest.get(&applied.profile) != Some(&text) {
                consent_latest.insert(applied.profile.clone(), text.clone());
                consent_rows.push((applied.profile.clone(), text, m.timestamp, m.message_id.clone()));
            }
        }
        if let (Kind::Group, Some(group)) = (m.kind, &m.group_id) {
            groups.push((
                applied.profile.clone(),
                group.clone(),
                Value::Object(m.traits.clone()).to_string(),
                m.timestamp,
            ));
        }
        profile_of.push(Some(applied.profile));
    }
    // A profile merged later in the same request: its events go to the survivor.
    let survivor = |p: &ProfileId| {
        let mut p = p.clone();
        for _ in 0..messages.len() + 1 {
            match redirect.get(&p) {
                Some(next) => p = next.clone(),
                None => break,
            }
        }
        p
    };
    let profile_of: Vec<Option<ProfileId>> = profile_of.iter().map(|p| p.as_ref().map(survivor)).collect();

    let versions = &loaded.versions;
    let is_loaded = |p: &ProfileId| versions.contains_key(p);
    let mut statements: Vec<(&'static str, Vec<Param>)> = Vec::new();

    // 1. Guard: every loaded profile this request reads from or writes to is unchanged.
    let guarded: Vec<Value> = assigned
        .iter()
        .chain(&structural)
        .chain(&traits_changed)
        .filter(|p| is_loaded(p))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .map(|p| json!([p, versions[p]]))
        .collect();
    if !guarded.is_empty() {
        statements.push((GUARD, vec![json_param(guarded)]));
    }
    let bumped: Vec<&ProfileId> = structural.iter().filter(|p| is_loaded(p)).collect();
    if !bumped.is_empty() {
        statements.push((BUMP, vec![Param::Text(json!(bumped).to_string()), Param::Int(now)]));
    }
    // 2. New profiles (those merged away within the request point at their survivor).
    if !created.is_empty() {
        let rows: Vec<Value> =
            created.iter().map(|p| json!([p, redirect.contains_key(p).then(|| survivor(p))])).collect();
        statements.push((CREATE, vec![json_param(rows), Param::Int(now)]));
    }
    // 3. Loaded profiles merged away: their identifiers, events and traits move.
    let moved: Vec<Value> = redirect.keys().filter(|p| is_loaded(p)).map(|p| json!([p, survivor(p)])).collect();
    if !moved.is_empty() {
        let moved = Value::from(moved).to_string();
        statements.push((MERGE_PROFILES, vec![Param::Text(moved.clone()), Param::Int(now)]));
        for sql in [MOVE_IDENTIFIERS, MOVE_EVENTS, DROP_TRAITS, MOVE_GROUPS, DROP_GROUPS, MOVE_CONSENT] {
            statements.push((sql, vec![Param::Text(moved.clone())]));
        }
    }
    // 4. Identifiers first seen now, with their final owner. One claimed by
    //    another request meanwhile fails the UNIQUE key: the batch retries.
    let mut new_ids: Vec<Value> = Vec::new();
    for (p, profile) in graph.profiles() {
        for i in profile.identifiers.iter().filter(|i| !stored.contains(*i)) {
            new_ids.push(json!([i.kind.as_str(), i.value, p]));
        }
    }
    if !new_ids.is_empty() {
        statements.push((INSERT_IDENTIFIERS, vec![json_param(new_ids), Param::Int(now)]));
    }
    // 5. Traits of every profile whose traits changed, under the same rule as core's.
    let mut rows: Vec<Value> = Vec::new();
    for p in traits_changed.iter().filter(|p| !redirect.contains_key(*p)) {
        rows.extend(trait_rows(p, graph.profile(p).map(|p| &p.traits).unwrap_or(&Traits::new())));
    }
    if !rows.is_empty() {
        statements.push((UPSERT_TRAITS, vec![json_param(rows)]));
    }
    // 6. Group memberships, the latest call by event time winning.
    if !groups.is_empty() {
        let rows: Vec<Value> = groups.iter().map(|(p, g, traits, at)| json!([survivor(p), g, traits, at])).collect();
        statements.push((UPSERT_GROUPS, vec![json_param(rows)]));
    }
    if !consent_rows.is_empty() {
        let rows: Vec<Value> = consent_rows.iter().map(|(p, c, at, id)| json!([survivor(p), c, at, id])).collect();
        statements.push((INSERT_CONSENT, vec![json_param(rows), Param::Text(source_id.into())]));
    }
    // 7. The merge audit.
    if !merges.is_empty() {
        let rows: Vec<Value> = merges
            .iter()
            .map(|m| {
                json!([
                    m.id,
                    m.into,
                    m.from,
                    ids_json(&m.via),
                    ids_json(&m.identifiers),
                    traits_json(&m.traits),
                    m.message_id
                ])
            })
            .collect();
        statements.push((INSERT_MERGES, vec![json_param(rows), Param::Int(now), Param::Text(source_id.into())]));
    }
    let changed: BTreeSet<ProfileId> = created.into_iter().chain(structural).chain(traits_changed).collect();
    Resolved { profile_of, changed: changed.into_iter().collect(), statements }
}

/// `[profile, key, kind, value JSON, at]` rows for `UPSERT_TRAITS`.
pub fn trait_rows(profile: &str, traits: &Traits) -> Vec<Value> {
    let mut rows = Vec::new();
    for (key, t) in traits {
        for (kind, s) in [("set", &t.set), ("once", &t.once)] {
            if let Some(s) = s {
                rows.push(json!([profile, key, kind, s.value.to_string(), s.at]));
            }
        }
    }
    rows
}

fn traits_json(traits: &Traits) -> String {
    let rows: serde_json::Map<String, Value> = traits
        .iter()
        .map(|(k, t)| {
            let stamp = |s: &Option<Stamped>| s.as_ref().map(|s| json!({"at": s.at, "value": s.value}));
            (k.clone(), json!({"set": stamp(&t.set), "once": stamp(&t.once)}))
        })
        .collect();
    Value::Object(rows).to_string()
}

/// Reads what `traits_json` wrote.
pub fn traits_from_json(text: &str) -> Traits {
    let v: Value = serde_json::from_str(text).unwrap_or(Value::Null);
    let stamp =
        |s: &Value| Some(Stamped { at: s.get("at")?.as_i64()?, value: s.get("value").cloned().unwrap_or(Value::Null) });
    v.as_object()
        .into_iter()
        .flatten()
        .map(|(k, t)| (k.clone(), Trait { set: stamp(&t["set"]), once: stamp(&t["once"]) }))
        .collect()
}

impl Resolved {
    /// The prepared statements, to run in one batch with the events.
    pub fn statements(&self, db: &D1Database) -> Result<Vec<D1PreparedStatement>> {
        self.statements
            .iter()
            .map(|(sql, params)| {
                let params: Vec<_> = params
                    .iter()
                    .map(|p| match p {
                        Param::Text(s) => text(s),
                        Param::Int(n) => int(*n),
                    })
                    .collect();
                db.prepare(*sql).bind(&params)
            })
            .collect()
    }
}

/// Whether a failed write batch lost a race (and the request should start over).
pub fn is_conflict(e: &worker::Error) -> bool {
    let m = e.to_string();
    m.contains("CHECK constraint failed") || m.contains("UNIQUE constraint failed: identifiers")
}

/// Statement that clears the guard rows; last in every write batch.
pub const CLEAR_GUARD: &str = "DELETE FROM write_guard";

pub const GUARD: &str = "INSERT INTO write_guard (ok) SELECT count(*) = json_array_length(?1) FROM json_each(?1) j \
     JOIN profiles p ON p.id = json_extract(j.value, '$[0]') AND p.version = json_extract(j.value, '$[1]') AND p.merged_into IS NULL";
const BUMP: &str =
    "UPDATE profiles SET version = version + 1, updated_at = ?2 WHERE id IN (SELECT value FROM json_each(?1))";
const CREATE: &str = "INSERT INTO profiles (id, version, merged_into, created_at, updated_at) \
     SELECT json_extract(value, '$[0]'), 0, json_extract(value, '$[1]'), ?2, ?2 FROM json_each(?1)";
const MERGE_PROFILES: &str = "UPDATE profiles SET merged_into = (SELECT json_extract(j.value, '$[1]') FROM json_each(?1) j \
     WHERE json_extract(j.value, '$[0]') = profiles.id), updated_at = ?2 \
     WHERE id IN (SELECT json_extract(value, '$[0]') FROM json_each(?1))";
const MOVE_IDENTIFIERS: &str = "UPDATE identifiers SET profile_id = (SELECT json_extract(j.value, '$[1]') FROM json_each(?1) j \
     WHERE json_extract(j.value, '$[0]') = identifiers.profile_id) \
     WHERE profile_id IN (SELECT json_extract(value, '$[0]') FROM json_each(?1))";
const MOVE_EVENTS: &str = "UPDATE events SET profile_id = (SELECT json_extract(j.value, '$[1]') FROM json_each(?1) j \
     WHERE json_extract(j.value, '$[0]') = events.profile_id) \
     WHERE profile_id IN (SELECT json_extract(value, '$[0]') FROM json_each(?1))";
const DROP_TRAITS: &str = "DELETE FROM profile_traits \
     WHERE profile_id IN (SELECT json_extract(value, '$[0]') FROM json_each(?1))";
/// Memberships move to the survivor; where it has the group already, the
/// later call's traits win and the other row goes.
const MOVE_GROUPS: &str = "INSERT INTO profile_groups (profile_id, group_id, traits, at) \
     SELECT json_extract(j.value, '$[1]'), g.group_id, g.traits, g.at FROM json_each(?1) j \
     JOIN profile_groups g ON g.profile_id = json_extract(j.value, '$[0]') WHERE true \
     ON CONFLICT (profile_id, group_id) DO UPDATE SET traits = excluded.traits, at = excluded.at \
     WHERE excluded.at > profile_groups.at";
const DROP_GROUPS: &str = "DELETE FROM profile_groups \
     WHERE profile_id IN (SELECT json_extract(value, '$[0]') FROM json_each(?1))";
pub const UPSERT_GROUPS: &str = "INSERT INTO profile_groups (profile_id, group_id, traits, at) \
     SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'), json_extract(value, '$[2]'), json_extract(value, '$[3]') \
     FROM json_each(?1) WHERE true \
     ON CONFLICT (profile_id, group_id) DO UPDATE SET traits = excluded.traits, at = excluded.at \
     WHERE excluded.at >= profile_groups.at";
const MOVE_CONSENT: &str = "UPDATE OR IGNORE consent_changes SET profile_id = (SELECT json_extract(j.value, '$[1]') \
     FROM json_each(?1) j WHERE json_extract(j.value, '$[0]') = consent_changes.profile_id) \
     WHERE profile_id IN (SELECT json_extract(value, '$[0]') FROM json_each(?1))";
const INSERT_CONSENT: &str = "INSERT OR IGNORE INTO consent_changes (profile_id, categories, at, source_id, message_id) \
     SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'), json_extract(value, '$[2]'), ?2, \
            json_extract(value, '$[3]') FROM json_each(?1)";
const INSERT_IDENTIFIERS: &str = "INSERT INTO identifiers (type, value, profile_id, first_seen) \
     SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'), json_extract(value, '$[2]'), ?2 FROM json_each(?1)";
pub const UPSERT_TRAITS: &str = "INSERT INTO profile_traits (profile_id, key, kind, value, at) \
     SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'), json_extract(value, '$[2]'), \
            json_extract(value, '$[3]'), json_extract(value, '$[4]') FROM json_each(?1) WHERE true \
     ON CONFLICT (profile_id, key, kind) DO UPDATE SET value = excluded.value, at = excluded.at \
     WHERE (excluded.kind = 'set' AND (excluded.at, excluded.value) > (profile_traits.at, profile_traits.value)) \
        OR (excluded.kind = 'once' AND (excluded.at, excluded.value) < (profile_traits.at, profile_traits.value))";
const INSERT_MERGES: &str = "INSERT INTO merges (id, into_profile, from_profile, via, identifiers, traits, source_id, message_id, at) \
     SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'), json_extract(value, '$[2]'), json_extract(value, '$[3]'), \
            json_extract(value, '$[4]'), json_extract(value, '$[5]'), ?3, json_extract(value, '$[6]'), ?2 FROM json_each(?1)";

/// The identifiers a storage lookup needs for all of `messages`.
pub fn lookups(messages: &[Message], config: &Config) -> Vec<Identifier> {
    let mut all: Vec<Identifier> = messages.iter().flat_map(|m| graph::lookups(m, config)).collect();
    all.sort();
    all.dedup();
    all
}
