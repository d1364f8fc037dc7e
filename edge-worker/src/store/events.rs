//! The `events` table: accepted messages, deduplicated per source on messageId.

use cairn_core::Message;
use serde::Deserialize;
use serde_json::Value;
use worker::wasm_bindgen::JsValue;
use worker::{D1Database, Result};

use super::{int, opt_text, text};

const COLUMNS: usize = 9;
/// D1 binds at most 100 parameters per statement.
const ROWS_PER_STATEMENT: usize = 100 / COLUMNS;

/// Stores `messages` in one D1 batch, which is one transaction: either every
/// new message is stored or none is. Already stored message ids are skipped,
/// which makes retries idempotent.
pub async fn insert(db: &D1Database, source_id: &str, messages: &[Message]) -> Result<()> {
    let mut statements = Vec::new();
    for chunk in messages.chunks(ROWS_PER_STATEMENT) {
        let placeholders: Vec<String> = (0..chunk.len())
            .map(|row| {
                let cols: Vec<String> =
                    (1..=COLUMNS).map(|c| ["?", &(row * COLUMNS + c).to_string()].concat()).collect();
                ["(", &cols.join(","), ")"].concat()
            })
            .collect();
        let sql = [
            "INSERT INTO events (source_id, message_id, type, event, user_id, anonymous_id, timestamp, received_at, payload) VALUES ",
            &placeholders.join(","),
            " ON CONFLICT (source_id, message_id) DO NOTHING",
        ]
        .concat();
        let mut params: Vec<JsValue> = Vec::with_capacity(chunk.len() * COLUMNS);
        for m in chunk {
            params.extend([
                text(source_id),
                text(&m.message_id),
                text(m.kind.as_str()),
                opt_text(m.event.as_deref()),
                opt_text(m.user_id.as_deref()),
                opt_text(m.anonymous_id.as_deref()),
                int(m.timestamp),
                int(m.received_at),
                text(&m.to_json().to_string()),
            ]);
        }
        statements.push(db.prepare(sql).bind(&params)?);
    }
    if !statements.is_empty() {
        db.batch(statements).await?;
    }
    Ok(())
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
