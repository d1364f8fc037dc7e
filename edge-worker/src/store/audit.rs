//! The admin audit log.

use cairn_core::time::{self, Millis};
use serde::Deserialize;
use serde_json::{Value, json};
use worker::{D1Database, Result};

use super::{int, text};

pub async fn record(
    db: &D1Database,
    at: Millis,
    method: &str,
    path: &str,
    status: u16,
    authorized: bool,
    ip: Option<&str>,
) -> Result<()> {
    let ip = ip.map_or(worker::wasm_bindgen::JsValue::NULL, text);
    db.prepare("INSERT INTO admin_audit (at, method, path, status, authorized, ip) VALUES (?1, ?2, ?3, ?4, ?5, ?6)")
        .bind(&[int(at), text(method), text(path), int(i64::from(status)), int(i64::from(authorized)), ip])?
        .run()
        .await?;
    Ok(())
}

#[derive(Deserialize)]
struct Row {
    at: i64,
    method: String,
    path: String,
    status: i64,
    authorized: i64,
    ip: Option<String>,
}

pub async fn list(db: &D1Database, limit: u32) -> Result<Vec<Value>> {
    let rows = db
        .prepare("SELECT at, method, path, status, authorized, ip FROM admin_audit ORDER BY seq DESC LIMIT ?1")
        .bind(&[int(i64::from(limit))])?
        .all()
        .await?
        .results::<Row>()?;
    Ok(rows
        .into_iter()
        .map(|r| {
            json!({"at": time::format(r.at), "method": r.method, "path": r.path, "status": r.status,
                   "authorized": r.authorized == 1, "ip": r.ip})
        })
        .collect())
}
