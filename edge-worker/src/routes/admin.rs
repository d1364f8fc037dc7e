//! The admin API (`/admin/...`): bearer-token protected, JSON in and out.

use cairn_core::{auth, source};
use serde::Deserialize;
use serde_json::json;
use worker::{Env, Request, Response};

use crate::error::{AppError, AppResult, json_response};
use crate::store::sources::Source;
use crate::{runtime, store};

/// Checks the bearer token against the `ADMIN_TOKEN` secret in constant time.
fn authorize(req: &Request, env: &Env) -> AppResult<()> {
    let expected = env
        .secret("ADMIN_TOKEN")
        .map(|s| s.to_string())
        .or_else(|_| env.var("ADMIN_TOKEN").map(|v| v.to_string()))
        .unwrap_or_default();
    let header = req.headers().get("authorization")?;
    let given = header.as_deref().and_then(auth::bearer_token).unwrap_or("");
    if expected.is_empty() || !auth::constant_time_eq(given.as_bytes(), expected.as_bytes()) {
        return Err(AppError::unauthorized(
            "unauthorized",
            "a valid admin token is required (Authorization: Bearer <token>)",
        ));
    }
    Ok(())
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct EventsQuery {
    user_id: Option<String>,
    anonymous_id: Option<String>,
    message_id: Option<String>,
    limit: Option<String>,
}

/// `GET /admin/events?userId=&anonymousId=&messageId=&limit=`: newest first.
pub async fn events(req: Request, env: &Env) -> AppResult<Response> {
    authorize(&req, env)?;
    let q: EventsQuery =
        req.query().map_err(|_| AppError::bad_request("invalid_query", "the query string could not be read"))?;
    let limit = match q.limit.as_deref() {
        None => 100,
        Some(s) => s
            .parse::<u32>()
            .ok()
            .filter(|n| (1..=1000).contains(n))
            .ok_or_else(|| AppError::bad_request("invalid_limit", "limit must be an integer from 1 to 1000"))?,
    };
    let filter =
        store::events::Filter { user_id: q.user_id, anonymous_id: q.anonymous_id, message_id: q.message_id, limit };
    let events = store::events::list(&env.d1("DB")?, &filter).await?;
    Ok(json_response(200, &json!({"events": events})))
}

/// `GET /admin/sources`
pub async fn list_sources(req: Request, env: &Env) -> AppResult<Response> {
    authorize(&req, env)?;
    let sources = store::sources::list(&env.d1("DB")?).await?;
    Ok(json_response(200, &json!({"sources": sources.iter().map(Source::to_json).collect::<Vec<_>>()})))
}

/// `POST /admin/sources` `{"name", "allowedOrigins"?, "settings"?}`: creates a
/// source with a fresh write key.
pub async fn create_source(mut req: Request, env: &Env) -> AppResult<Response> {
    authorize(&req, env)?;
    let bytes = req.bytes().await?;
    let value = cairn_core::json::parse(&bytes)
        .map_err(|e| AppError::bad_request("invalid_json", ["the body is not valid JSON: ", &e.message].concat()))?;
    let spec = source::parse_spec(&value)
        .map_err(|v| AppError::invalid("invalid_source", "the source is not valid; see violations", v))?;
    let db = env.d1("DB")?;
    let created = store::sources::create(
        &db,
        &runtime::random_token("src_"),
        &runtime::random_token("wk_"),
        &spec,
        runtime::now(),
    )
    .await?;
    Ok(json_response(201, &json!({"source": created.to_json()})))
}
