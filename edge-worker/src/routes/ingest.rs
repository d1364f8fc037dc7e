//! The Segment-compatible tracking API: `POST /v1/{call}`.

use cairn_core::event::{Kind, Received, normalize};
use cairn_core::{auth, time};
use serde_json::{Value, json};
use worker::{Env, Request, Response};

use crate::error::{AppError, AppResult, json_response};
use crate::store;

pub async fn single(mut req: Request, env: &Env, kind: Kind) -> AppResult<Response> {
    let bytes = req.bytes().await?;
    let mut body: Value = serde_json::from_slice(&bytes).map_err(|e| {
        AppError::bad_request("invalid_json", ["the body is not valid JSON: ", &e.to_string()].concat())
    })?;
    let write_key = write_key(&req, &body)?;
    let db = env.d1("DB")?;
    let source = store::sources::by_write_key(&db, &write_key).await?.ok_or(AppError::Unauthorized {
        code: "unknown_write_key",
        message: "the write key does not belong to any source",
    })?;
    if let Some(o) = body.as_object_mut() {
        o.remove("writeKey");
    }
    let received = Received { at: now(), fallback_message_id: random_uuid() };
    let message = normalize(Some(kind), &body, &received, "").map_err(|violations| AppError::BadRequest {
        code: "invalid_message",
        message: "the message violates the Spec".into(),
        violations,
    })?;
    store::events::insert(&db, &source.id, &[message]).await?;
    Ok(json_response(200, &json!({"success": true})))
}

/// The write key from Basic auth (Segment's libraries) or the body's
/// `writeKey` (Segment's browser library with `text/plain`).
fn write_key(req: &Request, body: &Value) -> AppResult<String> {
    let header = req.headers().get("authorization")?;
    header
        .as_deref()
        .and_then(auth::basic_user)
        .or_else(|| body.get("writeKey").and_then(Value::as_str).map(str::to_owned))
        .ok_or(AppError::Unauthorized {
            code: "missing_write_key",
            message: "send the write key as Basic auth user or as writeKey in the body",
        })
}

fn now() -> time::Millis {
    worker::Date::now().as_millis() as time::Millis
}

#[wasm_bindgen::prelude::wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = crypto, js_name = randomUUID)]
    fn random_uuid() -> String;
}
