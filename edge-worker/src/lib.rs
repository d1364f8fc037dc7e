//! Cairn's edge worker: entry points only. Requests are dispatched in
//! `routes`; storage lives behind `store`; `snapshot` keeps the KV copies.

mod error;
mod routes;
mod runtime;
mod snapshot;
mod store;

use worker::{Context, Env, Request, Response, Result, event};

#[event(fetch)]
async fn fetch(req: Request, env: Env, ctx: Context) -> Result<Response> {
    Ok(routes::handle(req, &env, &ctx).await.unwrap_or_else(|e| e.into_response()))
}
