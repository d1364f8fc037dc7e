//! Request dispatch: one named handler per endpoint.

mod admin;
mod ingest;

use cairn_core::Kind;
use serde_json::json;
use worker::{Env, Method, Request, Response};

use crate::error::{AppError, AppResult, json_response};

pub async fn handle(req: Request, env: &Env) -> AppResult<Response> {
    let path = req.path();
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let method = req.method();
    match segments.as_slice() {
        ["healthz"] => Ok(json_response(200, &json!({"ok": true}))),
        ["v1", call] => match (method, Kind::from_route(call)) {
            (Method::Post, Some(kind)) => ingest::single(req, env, kind).await,
            (_, Some(_)) => Err(AppError::MethodNotAllowed { allowed: "POST" }),
            _ => Err(AppError::NotFound),
        },
        ["admin", "events"] => match method {
            Method::Get => admin::events(req, env).await,
            _ => Err(AppError::MethodNotAllowed { allowed: "GET" }),
        },
        _ => Err(AppError::NotFound),
    }
}
