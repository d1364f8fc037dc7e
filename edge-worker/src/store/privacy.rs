//! What the privacy stage found, counted per source: PII findings by field
//! and class, tracking plan violations by event, code and path.

use std::collections::BTreeMap;

use cairn_core::time::Millis;
use serde::Deserialize;
use serde_json::{Value, json};
use worker::{D1Database, D1PreparedStatement, Result};

use super::{int, text};

/// Counts gathered over one request.
#[derive(Default)]
pub struct Counts {
    /// (path, class, action) -> count
    pub findings: BTreeMap<(String, String, String), i64>,
    /// (event, code, path) -> count
    pub violations: BTreeMap<(String, String, String), i64>,
}

const ADD_FINDINGS: &str = "INSERT INTO pii_findings (source_id, path, class, action, count, last_seen) \
     SELECT ?1, json_extract(value, '$[0]'), json_extract(value, '$[1]'), json_extract(value, '$[2]'), \
            json_extract(value, '$[3]'), ?3 FROM json_each(?2) WHERE true \
     ON CONFLICT (source_id, path, class, action) DO UPDATE SET count = count + excluded.count, last_seen = excluded.last_seen";
const ADD_VIOLATIONS: &str = "INSERT INTO plan_violations (source_id, event, code, path, count, last_seen) \
     SELECT ?1, json_extract(value, '$[0]'), json_extract(value, '$[1]'), json_extract(value, '$[2]'), \
            json_extract(value, '$[3]'), ?3 FROM json_each(?2) WHERE true \
     ON CONFLICT (source_id, event, code, path) DO UPDATE SET count = count + excluded.count, last_seen = excluded.last_seen";

/// Statements adding `counts` to the source's totals (run in the request's batch).
pub fn statements(db: &D1Database, source_id: &str, counts: &Counts, now: Millis) -> Result<Vec<D1PreparedStatement>> {
    let mut out = Vec::new();
    let rows = |m: &BTreeMap<(String, String, String), i64>| {
        Value::from(m.iter().map(|((a, b, c), n)| json!([a, b, c, n])).collect::<Vec<_>>()).to_string()
    };
    if !counts.findings.is_empty() {
        out.push(db.prepare(ADD_FINDINGS).bind(&[text(source_id), text(&rows(&counts.findings)), int(now)])?);
    }
    if !counts.violations.is_empty() {
        out.push(db.prepare(ADD_VIOLATIONS).bind(&[text(source_id), text(&rows(&counts.violations)), int(now)])?);
    }
    Ok(out)
}

#[derive(Deserialize)]
struct FindingRow {
    path: String,
    class: String,
    action: String,
    count: i64,
    last_seen: i64,
}

#[derive(Deserialize)]
struct ViolationRow {
    event: String,
    code: String,
    path: String,
    count: i64,
    last_seen: i64,
}

/// The source's PII findings: which fields carry which class.
pub async fn findings(db: &D1Database, source_id: &str) -> Result<Vec<Value>> {
    let rows = db
        .prepare(
            "SELECT path, class, action, count, last_seen FROM pii_findings WHERE source_id = ?1 ORDER BY path, class",
        )
        .bind(&[text(source_id)])?
        .all()
        .await?
        .results::<FindingRow>()?;
    Ok(rows
        .into_iter()
        .map(|r| {
            json!({"path": r.path, "class": r.class, "action": r.action, "count": r.count,
                   "lastSeen": cairn_core::time::format(r.last_seen)})
        })
        .collect())
}

/// The source's tracking plan violations, by event name.
pub async fn violations(db: &D1Database, source_id: &str) -> Result<Value> {
    let rows = db
        .prepare("SELECT event, code, path, count, last_seen FROM plan_violations WHERE source_id = ?1 ORDER BY event, code, path")
        .bind(&[text(source_id)])?
        .all()
        .await?
        .results::<ViolationRow>()?;
    let mut by_event: serde_json::Map<String, Value> = serde_json::Map::new();
    for r in rows {
        let entry = by_event.entry(r.event).or_insert_with(|| json!({"total": 0, "violations": []}));
        entry["total"] = json!(entry["total"].as_i64().unwrap_or(0) + r.count);
        if let Some(list) = entry["violations"].as_array_mut() {
            list.push(json!({"code": r.code, "path": r.path, "count": r.count,
                             "lastSeen": cairn_core::time::format(r.last_seen)}));
        }
    }
    Ok(Value::Object(by_event))
}
