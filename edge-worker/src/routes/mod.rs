//! Request dispatch: one named handler per endpoint.

mod admin;
mod ingest;

use cairn_core::ingest::Call;
use serde_json::json;
use worker::{Context, Env, Method, Request, Response};

use crate::error::{AppError, AppResult, json_response};

pub async fn handle(req: Request, env: &Env, ctx: &Context) -> AppResult<Response> {
    let path = req.path();
    if path.starts_with("/admin/") && path != "/admin/audit" {
        // Every admin request is audited, answered or refused.
        let method = req.method().to_string();
        let ip = req.headers().get("cf-connecting-ip").ok().flatten();
        let authorized = req.headers().get("authorization").ok().flatten().is_some();
        let resp = route(req, env, ctx).await.unwrap_or_else(AppError::into_response);
        let status = resp.status_code();
        admin::audit(env, &method, &path, status, authorized && status != 401, ip).await;
        return Ok(resp);
    }
    route(req, env, ctx).await
}

async fn route(req: Request, env: &Env, ctx: &Context) -> AppResult<Response> {
    let path = req.path();
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let method = req.method();
    match segments.as_slice() {
        ["healthz"] => Ok(json_response(200, &json!({"ok": true}))),
        ["v1", "profile"] => match method {
            Method::Get => ingest::profile(req, env).await,
            Method::Options => ingest::preflight(req, env).await,
            _ => Err(AppError::method_not_allowed("GET, OPTIONS")),
        },
        ["v1", "projects", write_key, "settings"] => match method {
            Method::Get => ingest::settings(req, env, write_key).await,
            Method::Options => ingest::preflight(req, env).await,
            _ => Err(AppError::method_not_allowed("GET, OPTIONS")),
        },
        ["v1", call] => match (method, Call::from_route(call)) {
            (Method::Post, Some(call)) => ingest::post(req, env, ctx, call).await,
            (Method::Options, Some(_)) => ingest::preflight(req, env).await,
            (_, Some(_)) => Err(AppError::method_not_allowed("POST, OPTIONS")),
            _ => Err(AppError::not_found()),
        },
        // The benchmark's floor: the same parsing as ingest, nothing else.
        ["bench", "parse"] if method == Method::Post && bench_enabled(env) => ingest::parse_only(req).await,
        ["admin", "events"] => match method {
            Method::Get => admin::events(req, env).await,
            _ => Err(AppError::method_not_allowed("GET")),
        },
        ["admin", "profiles", "lookup"] => match method {
            Method::Get => admin::lookup_profile(req, env).await,
            _ => Err(AppError::method_not_allowed("GET")),
        },
        ["admin", "profiles", id] => match method {
            Method::Get => admin::get_profile(req, env, id).await,
            _ => Err(AppError::method_not_allowed("GET")),
        },
        ["admin", "profiles", id, "events"] => match method {
            Method::Get => admin::profile_events(req, env, id).await,
            _ => Err(AppError::method_not_allowed("GET")),
        },
        ["admin", "merges", id, "undo"] => match method {
            Method::Post => admin::undo_merge(req, env, ctx, id).await,
            _ => Err(AppError::method_not_allowed("POST")),
        },
        ["admin", "sources", id, "tracking-plan"] => privacy(req, env, id, admin::PrivacyPart::TrackingPlan).await,
        ["admin", "sources", id, "pii-policy"] => privacy(req, env, id, admin::PrivacyPart::PiiPolicy).await,
        ["admin", "audit"] => match method {
            Method::Get => admin::audit_log(req, env).await,
            _ => Err(AppError::method_not_allowed("GET")),
        },
        ["admin", "regulations"] => match method {
            Method::Post => admin::create_regulation(req, env).await,
            _ => Err(AppError::method_not_allowed("POST")),
        },
        ["admin", "regulations", id] => match method {
            Method::Get => admin::get_regulation(req, env, id).await,
            _ => Err(AppError::method_not_allowed("GET")),
        },
        ["admin", "sources"] => match method {
            Method::Get => admin::list_sources(req, env).await,
            Method::Post => admin::create_source(req, env).await,
            _ => Err(AppError::method_not_allowed("GET, POST")),
        },
        _ => Err(AppError::not_found()),
    }
}

async fn privacy(req: Request, env: &Env, id: &str, part: admin::PrivacyPart) -> AppResult<Response> {
    match req.method() {
        Method::Get => admin::get_privacy(req, env, id, part).await,
        Method::Put => admin::put_privacy(req, env, id, part).await,
        _ => Err(AppError::method_not_allowed("GET, PUT")),
    }
}

/// The `/bench/*` routes exist only when the worker runs with `CAIRN_BENCH=1`.
fn bench_enabled(env: &Env) -> bool {
    env.var("CAIRN_BENCH").is_ok_and(|v| v.to_string() == "1")
}
