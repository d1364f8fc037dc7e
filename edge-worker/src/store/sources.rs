//! The `sources` table.

use serde::Deserialize;
use worker::{D1Database, Result};

#[derive(Debug, Deserialize)]
pub struct Source {
    pub id: String,
}

pub async fn by_write_key(db: &D1Database, write_key: &str) -> Result<Option<Source>> {
    db.prepare("SELECT id FROM sources WHERE write_key = ?1")
        .bind(&[super::text(write_key)])?
        .first::<Source>(None)
        .await
}
