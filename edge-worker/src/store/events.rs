//! The `events` table: accepted messages, deduplicated per source on messageId.

use cairn_core::Message;
use serde::Deserialize;
use serde_json::Value;
use worker::{D1Database, D1PreparedStatement, Result};

use super::{int, text};

/// Rows per statement are bound as one JSON array and unpacked by SQLite
/// (`json_each`): one bound value per statement instead of nine per row keeps
/// both D1's 100-parameter limit and the cost of crossing into the runtime
/// out of the way. Chunks stay well under D1's 2 MB per value.
const MAX_CHUNK_BYTES: usize = 1_000_000;

const INSERT: &str = "INSERT INTO events (source_id, message_id, type, event, user_id, anonymous_id, timestamp, received_at, payload, profile_id, category) \
     SELECT ?1, json_extract(value, '$[0]'), json_extract(value, '$[1]'), json_extract(value, '$[2]'), \
            json_extract(value, '$[3]'), json_extract(value, '$[4]'), json_extract(value, '$[5]'), \
            json_extract(value, '$[6]'), json_extract(value, '$[7]'), json_extract(value, '$[8]'), json_extract(value, '$[9]') \
     FROM json_each(?2) WHERE true \
     ON CONFLICT (source_id, message_id) DO NOTHING";

/// The statements that store `messages` (each with its resolved profile),
/// for the caller to run in one D1 batch with the identity writes: one
/// transaction, so either every new message is stored or none is. Already
/// stored message ids are skipped, which makes retries idempotent.
pub fn insert_statements(
    db: &D1Database,
    source_id: &str,
    messages: &[Message],
    profiles: &[Option<String>],
    categories: &[Option<String>],
) -> Result<Vec<D1PreparedStatement>> {
    let mut statements = Vec::new();
    let mut chunk = String::from("[");
    let none = std::iter::repeat(&None);
    for ((m, profile), category) in
        messages.iter().zip(profiles.iter().chain(none.clone())).zip(categories.iter().chain(none))
    {
        let row = (
            &m.message_id,
            m.kind.as_str(),
            &m.event,
            &m.user_id,
            &m.anonymous_id,
            m.timestamp,
            m.received_at,
            m,
            profile,
            category,
        );
        if chunk.len() > 1 {
            chunk.push(',');
        }
        chunk.push_str(&serde_json::to_string(&row).map_err(|e| worker::Error::RustError(e.to_string()))?);
        if chunk.len() >= MAX_CHUNK_BYTES {
            chunk.push(']');
            statements.push(db.prepare(INSERT).bind(&[text(source_id), text(&chunk)])?);
            chunk = String::from("[");
        }
    }
    if chunk.len() > 1 {
        chunk.push(']');
        statements.push(db.prepare(INSERT).bind(&[text(source_id), text(&chunk)])?);
    }
    Ok(statements)
}

pub struct Filter {
    pub user_id: Option<String>,
    pub anonymous_id: Option<String>,
    pub message_id: Option<String>,
    pub limit: u32,
}

#[derive(Deserialize)]
struct Row {
    payload: String,
}

/// Stored messages matching every given filter, newest first.
pub async fn list(db: &D1Database, f: &Filter) -> Result<Vec<Value>> {
    // Only the filters given become conditions, so SQLite can use an index.
    let mut conditions = Vec::new();
    let mut params = Vec::new();
    for (column, value) in [("user_id", &f.user_id), ("anonymous_id", &f.anonymous_id), ("message_id", &f.message_id)] {
        if let Some(v) = value {
            params.push(text(v));
            conditions.push([column, " = ?", &params.len().to_string()].concat());
        }
    }
    params.push(int(i64::from(f.limit)));
    let mut sql = String::from("SELECT payload FROM events");
    if !conditions.is_empty() {
        sql.push_str(" WHERE ");
        sql.push_str(&conditions.join(" AND "));
    }
    sql.push_str(&[" ORDER BY seq DESC LIMIT ?", &params.len().to_string()].concat());
    let rows = db.prepare(sql).bind(&params)?.all().await?.results::<Row>()?;
    Ok(rows.into_iter().filter_map(|r| serde_json::from_str(&r.payload).ok()).collect())
}
