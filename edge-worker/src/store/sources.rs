//! The `sources` table.

use cairn_core::source::{Settings, SourceSpec};
use serde::Deserialize;
use serde_json::{Value, json};
use worker::{D1Database, Result};

use super::{int, text};

#[derive(Clone, Debug)]
pub struct Source {
    pub id: String,
    pub name: String,
    pub write_key: String,
    pub allowed_origins: Vec<String>,
    pub settings: Settings,
    pub created_at: i64,
}

#[derive(Deserialize)]
struct Row {
    id: String,
    name: String,
    write_key: String,
    allowed_origins: String,
    settings: String,
    created_at: f64,
}

impl From<Row> for Source {
    fn from(r: Row) -> Source {
        Source {
            id: r.id,
            name: r.name,
            write_key: r.write_key,
            allowed_origins: serde_json::from_str(&r.allowed_origins).unwrap_or_default(),
            settings: Settings::from_json(&serde_json::from_str(&r.settings).unwrap_or(Value::Null)),
            created_at: r.created_at as i64,
        }
    }
}

impl Source {
    pub fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "name": self.name,
            "writeKey": self.write_key,
            "allowedOrigins": self.allowed_origins,
            "settings": self.settings.to_json(),
            "createdAt": cairn_core::time::format(self.created_at),
        })
    }
}

const COLUMNS: &str = "id, name, write_key, allowed_origins, settings, created_at";

/// How long an isolate trusts its copy of a source. Ingest looks a source up
/// on every request; a D1 round trip for it cost about 3 ms locally. Changes
/// to an existing source reach every isolate within this time.
const CACHE_MILLIS: i64 = 30_000;
const CACHE_ENTRIES: usize = 1_000;

thread_local! {
    static CACHE: std::cell::RefCell<std::collections::HashMap<String, (Source, i64)>> = Default::default();
}

/// [`by_write_key`] through a per-isolate cache of known sources. Unknown keys
/// are not cached, so a source is usable as soon as it is created.
pub async fn by_write_key_cached(db: &D1Database, write_key: &str, now: i64) -> Result<Option<Source>> {
    let hit =
        CACHE.with(|c| c.borrow().get(write_key).filter(|(_, at)| now - at < CACHE_MILLIS).map(|(s, _)| s.clone()));
    if hit.is_some() {
        return Ok(hit);
    }
    let found = by_write_key(db, write_key).await?;
    if let Some(source) = &found {
        CACHE.with(|c| {
            let mut c = c.borrow_mut();
            if c.len() >= CACHE_ENTRIES {
                c.clear();
            }
            c.insert(write_key.to_owned(), (source.clone(), now));
        });
    }
    Ok(found)
}

pub async fn by_write_key(db: &D1Database, write_key: &str) -> Result<Option<Source>> {
    let sql = ["SELECT ", COLUMNS, " FROM sources WHERE write_key = ?1"].concat();
    Ok(db.prepare(sql).bind(&[text(write_key)])?.first::<Row>(None).await?.map(Source::from))
}

pub async fn list(db: &D1Database) -> Result<Vec<Source>> {
    let sql = ["SELECT ", COLUMNS, " FROM sources ORDER BY created_at, id"].concat();
    Ok(db.prepare(sql).all().await?.results::<Row>()?.into_iter().map(Source::from).collect())
}

pub async fn create(db: &D1Database, id: &str, write_key: &str, spec: &SourceSpec, now: i64) -> Result<Source> {
    let origins = serde_json::to_string(&spec.allowed_origins).unwrap_or_else(|_| "[]".into());
    db.prepare("INSERT INTO sources (id, name, write_key, allowed_origins, settings, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)")
        .bind(&[text(id), text(&spec.name), text(write_key), text(&origins), text(&spec.settings.to_json().to_string()), int(now)])?
        .run()
        .await?;
    Ok(Source {
        id: id.into(),
        name: spec.name.clone(),
        write_key: write_key.into(),
        allowed_origins: spec.allowed_origins.clone(),
        settings: spec.settings.clone(),
        created_at: now,
    })
}

/// Whether any source accepts browsers from `origin` (for CORS preflights).
pub async fn any_allows_origin(db: &D1Database, origin: &str) -> Result<bool> {
    let sql = "SELECT 1 AS ok FROM sources, json_each(sources.allowed_origins) AS o \
               WHERE o.value = '*' OR lower(o.value) = lower(?1) LIMIT 1";
    Ok(db.prepare(sql).bind(&[text(origin)])?.first::<Value>(None).await?.is_some())
}

pub async fn by_id(db: &D1Database, id: &str) -> Result<Option<Source>> {
    let sql = ["SELECT ", COLUMNS, " FROM sources WHERE id = ?1"].concat();
    Ok(db.prepare(sql).bind(&[text(id)])?.first::<Row>(None).await?.map(Source::from))
}

/// Stores a source's settings; this isolate forgets its cached copies at once
/// (others within `CACHE_MILLIS`).
pub async fn update_settings(db: &D1Database, id: &str, settings: &Settings) -> Result<()> {
    db.prepare("UPDATE sources SET settings = ?2 WHERE id = ?1")
        .bind(&[text(id), text(&settings.to_json().to_string())])?
        .run()
        .await?;
    CACHE.with(|c| c.borrow_mut().clear());
    Ok(())
}
