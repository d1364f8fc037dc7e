//! The admin API (`/admin/...`): bearer-token protected, JSON in and out.

use cairn_core::identity::{self, IdType};
use cairn_core::{auth, source};
use serde::Deserialize;
use serde_json::json;
use worker::{Context, D1Database, Env, Request, Response};

use crate::error::{AppError, AppResult, json_response};
use crate::store::sources::Source;
use crate::{runtime, store};

/// The demo values of local development; production refuses them.
pub const DEMO_ADMIN_TOKEN: &str = "cairn_dev_admin";
pub const DEMO_WRITE_KEY: &str = "cairn_demo_key";

/// Whether the worker runs in production (`CAIRN_ENV` other than `development`).
pub fn production(env: &Env) -> bool {
    env.var("CAIRN_ENV").map(|v| v.to_string()).map_or(true, |v| v != "development")
}

/// Checks the bearer token against the `ADMIN_TOKEN` secret in constant time.
/// In production the demo token is refused even when it is the secret.
fn authorize(req: &Request, env: &Env) -> AppResult<()> {
    let expected = env
        .secret("ADMIN_TOKEN")
        .map(|s| s.to_string())
        .or_else(|_| env.var("ADMIN_TOKEN").map(|v| v.to_string()))
        .unwrap_or_default();
    if production(env) && expected == DEMO_ADMIN_TOKEN {
        worker::console_error!(
            "ADMIN_TOKEN is the demo token; set a real secret with `wrangler secret put ADMIN_TOKEN`"
        );
        return Err(AppError::client(
            503,
            "admin_not_configured",
            "the admin API is disabled until ADMIN_TOKEN is set to a real secret",
        ));
    }
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

/// Records an admin request in the audit log (after it was answered).
pub async fn audit(env: &Env, method: &str, path: &str, status: u16, authorized: bool, ip: Option<String>) {
    let Ok(db) = env.d1("DB") else { return };
    let row = store::audit::record(&db, runtime::now(), method, path, status, authorized, ip.as_deref()).await;
    if let Err(e) = row {
        worker::console_error!("audit: cannot record {method} {path}: {e}");
    }
}

/// `GET /admin/audit?limit=`: the audit log, newest first.
pub async fn audit_log(req: Request, env: &Env) -> AppResult<Response> {
    authorize(&req, env)?;
    let q: TimelineQuery =
        req.query().map_err(|_| AppError::bad_request("invalid_query", "the query string could not be read"))?;
    let entries = store::audit::list(&env.d1("DB")?, limit(q.limit.as_deref())?).await?;
    Ok(json_response(200, &json!({"entries": entries})))
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
    let limit = limit(q.limit.as_deref())?;
    let filter =
        store::events::Filter { user_id: q.user_id, anonymous_id: q.anonymous_id, message_id: q.message_id, limit };
    let events = store::events::list(&env.d1("DB")?, &filter).await?;
    Ok(json_response(200, &json!({"events": events})))
}

/// `?limit=`: 1 to 1000, 100 by default.
fn limit(given: Option<&str>) -> AppResult<u32> {
    match given {
        None => Ok(100),
        Some(s) => s
            .parse::<u32>()
            .ok()
            .filter(|n| (1..=1000).contains(n))
            .ok_or_else(|| AppError::bad_request("invalid_limit", "limit must be an integer from 1 to 1000")),
    }
}

#[derive(Deserialize)]
struct LookupQuery {
    r#type: Option<String>,
    value: Option<String>,
}

/// `GET /admin/profiles/lookup?type=email&value=a@b.com`: the profile that
/// owns an identifier (normalized as ingest normalizes it).
pub async fn lookup_profile(req: Request, env: &Env) -> AppResult<Response> {
    authorize(&req, env)?;
    let q: LookupQuery =
        req.query().map_err(|_| AppError::bad_request("invalid_query", "the query string could not be read"))?;
    let (Some(kind), Some(value)) = (q.r#type.filter(|t| !t.is_empty()), q.value) else {
        return Err(AppError::bad_request(
            "missing_identifier",
            "give type (user_id, email, phone, anonymous_id, ...) and value",
        ));
    };
    let (config, _) = runtime::identity_settings(env)?;
    let normalized = match IdType::parse(&kind) {
        IdType::Email => identity::normalize_email(&value),
        IdType::Phone => identity::normalize_phone(&value, config.default_region),
        _ => Some(value.clone()),
    }
    .ok_or_else(|| AppError::bad_request("invalid_identifier", format!("`{value}` is not a valid {kind}")))?;
    let db = env.d1("DB")?;
    let Some(owner) = store::profiles::owner_of(&db, &kind, &normalized).await? else {
        return Err(AppError::client(404, "profile_not_found", "no profile has this identifier"));
    };
    profile_response(&db, &owner).await
}

/// `GET /admin/profiles/{id}`: an id merged into another profile answers
/// with that profile.
pub async fn get_profile(req: Request, env: &Env, id: &str) -> AppResult<Response> {
    authorize(&req, env)?;
    profile_response(&env.d1("DB")?, id).await
}

async fn profile_response(db: &D1Database, id: &str) -> AppResult<Response> {
    let not_found = || AppError::client(404, "profile_not_found", "no such profile");
    let live = store::profiles::live_id(db, id).await?.ok_or_else(not_found)?;
    let profile = store::profiles::get(db, &live).await?.ok_or_else(not_found)?;
    Ok(json_response(200, &json!({"profile": profile})))
}

#[derive(Deserialize)]
struct TimelineQuery {
    limit: Option<String>,
}

/// `GET /admin/profiles/{id}/events?limit=`: the person's timeline, newest first.
pub async fn profile_events(req: Request, env: &Env, id: &str) -> AppResult<Response> {
    authorize(&req, env)?;
    let q: TimelineQuery =
        req.query().map_err(|_| AppError::bad_request("invalid_query", "the query string could not be read"))?;
    let limit = limit(q.limit.as_deref())?;
    let db = env.d1("DB")?;
    let live = store::profiles::live_id(&db, id)
        .await?
        .ok_or_else(|| AppError::client(404, "profile_not_found", "no such profile"))?;
    let events = store::profiles::events(&db, &live, limit).await?;
    Ok(json_response(200, &json!({"profileId": live, "events": events})))
}

/// `POST /admin/merges/{id}/undo`: splits a merge again (see `store::merges`).
pub async fn undo_merge(req: Request, env: &Env, ctx: &Context, id: &str) -> AppResult<Response> {
    authorize(&req, env)?;
    let db = env.d1("DB")?;
    let (config, _) = runtime::identity_settings(env)?;
    let mut outcome = Err(store::merges::Refused::Conflict);
    for _ in 0..5 {
        outcome = store::merges::undo(&db, id, &config, runtime::now()).await?;
        if outcome != Err(store::merges::Refused::Conflict) {
            break;
        }
    }
    use store::merges::Refused;
    match outcome {
        Ok(profiles) => {
            ctx.wait_until(crate::snapshot::changed(env.clone(), profiles.to_vec()));
            Ok(json_response(200, &json!({"success": true, "mergeId": id, "profiles": profiles})))
        }
        Err(Refused::NotFound) => Err(AppError::client(404, "merge_not_found", "no such merge")),
        Err(Refused::AlreadyUndone) => {
            Err(AppError::client(409, "merge_already_undone", "this merge was undone already"))
        }
        Err(Refused::Moved) => Err(AppError::client(
            409,
            "merge_not_reversible",
            "the identifiers this merge brought have moved since (a later undo); nothing to split",
        )),
        Err(Refused::Conflict) => Err(AppError::client(503, "contention", "the profile is changing right now; retry")),
    }
}

/// Which part of a source's privacy settings an endpoint reads and writes.
#[derive(Clone, Copy)]
pub enum PrivacyPart {
    TrackingPlan,
    PiiPolicy,
}

impl PrivacyPart {
    fn key(self) -> &'static str {
        match self {
            PrivacyPart::TrackingPlan => "trackingPlan",
            PrivacyPart::PiiPolicy => "piiPolicy",
        }
    }
}

async fn source_or_404(db: &D1Database, id: &str) -> AppResult<Source> {
    store::sources::by_id(db, id).await?.ok_or_else(|| AppError::client(404, "source_not_found", "no such source"))
}

/// `GET /admin/sources/{id}/tracking-plan` (the plan and its violations by
/// event) and `GET /admin/sources/{id}/pii-policy` (the policy and which
/// fields carry which personal data).
pub async fn get_privacy(req: Request, env: &Env, id: &str, part: PrivacyPart) -> AppResult<Response> {
    authorize(&req, env)?;
    let db = env.d1("DB")?;
    let source = source_or_404(&db, id).await?;
    let rules = &source.settings.privacy;
    let body = match part {
        PrivacyPart::TrackingPlan => json!({
            "trackingPlan": rules.plan.as_ref().map(cairn_core::plan::Plan::to_json),
            "violations": store::privacy::violations(&db, id).await?,
        }),
        PrivacyPart::PiiPolicy => json!({
            "piiPolicy": rules.pii.as_ref().map(cairn_core::pii::Policy::to_json),
            "findings": store::privacy::findings(&db, id).await?,
        }),
    };
    Ok(json_response(200, &body))
}

/// `PUT /admin/sources/{id}/tracking-plan` and `.../pii-policy`: the body
/// is the plan or policy (`null` removes it); every problem is reported.
pub async fn put_privacy(mut req: Request, env: &Env, id: &str, part: PrivacyPart) -> AppResult<Response> {
    authorize(&req, env)?;
    let bytes = req.bytes().await?;
    let value = cairn_core::json::parse(&bytes)
        .map_err(|e| AppError::bad_request("invalid_json", ["the body is not valid JSON: ", &e.message].concat()))?;
    let db = env.d1("DB")?;
    let mut source = source_or_404(&db, id).await?;
    let mut settings = serde_json::Map::new();
    source.settings.privacy.write_settings(&mut settings);
    settings.insert(part.key().into(), value);
    source.settings.privacy = cairn_core::privacy::Rules::from_settings(&settings)
        .map_err(|v| AppError::invalid("invalid_settings", "the settings are not valid; see violations", v))?;
    store::sources::update_settings(&db, id, &source.settings).await?;
    get_privacy(req, env, id, part).await
}

/// `POST /admin/regulations` `{"type", "subjectType", "subjectIds"}`: runs a
/// deletion, suppression or access request for the people the ids belong to
/// (all their profiles, identifiers and events), records it with a receipt
/// that holds no personal data, and answers it (an access request with the
/// whole export, streamed: see `store::regulations::export`). `GET /admin/regulations/{id}` shows the record.
pub async fn create_regulation(mut req: Request, env: &Env) -> AppResult<Response> {
    authorize(&req, env)?;
    let bytes = req.bytes().await?;
    let value = cairn_core::json::parse(&bytes)
        .map_err(|e| AppError::bad_request("invalid_json", ["the body is not valid JSON: ", &e.message].concat()))?;
    let (config, _) = runtime::identity_settings(env)?;
    let request = cairn_core::regulation::parse(&value, &config)
        .map_err(|v| AppError::invalid("invalid_regulation", "the regulation is not valid; see violations", v))?;
    let db = env.d1("DB")?;
    let id = runtime::random_token("reg_");
    let now = runtime::now();
    let people = store::regulations::people(&db, &request.subjects).await?;
    let kind = request.kind;
    let mut receipt = json!({"people": people.len()});
    if kind.suppresses() || kind == cairn_core::regulation::Kind::Unsuppress {
        let salt = runtime::pii_salt(env)?;
        let all = people.iter().flat_map(|p| &p.identifiers).chain(&request.subjects);
        let hashes = store::regulations::hashes(&salt, all);
        if kind.suppresses() {
            store::regulations::suppress(&db, &id, &hashes, now).await?;
            receipt["suppressedIdentifiers"] = json!(hashes.len());
        } else {
            receipt["unsuppressedIdentifiers"] = json!(store::regulations::unsuppress(&db, &hashes).await?);
        }
    }
    if kind.deletes() {
        let kv = env.kv(crate::snapshot::KV)?;
        let (mut events, mut identifiers) = (0, 0);
        for p in &people {
            let (e, i) = store::regulations::delete(&db, &kv, p, &request.subjects).await?;
            events += e;
            identifiers += i;
        }
        receipt["deletedEvents"] = json!(events);
        receipt["deletedIdentifiers"] = json!(identifiers);
        receipt["deletedProfiles"] = json!(people.iter().map(|p| p.profiles.len()).sum::<usize>());
    }
    store::regulations::record(&db, &id, &request, &receipt, now).await?;
    let regulation = json!({"regulation": store::regulations::get(&db, &id).await?});
    if kind != cairn_core::regulation::Kind::Access {
        return Ok(json_response(201, &regulation));
    }
    // `{"regulation": {...}, "data": [...]}`, the data streamed as it is read.
    let regulation = regulation.to_string();
    let head = [regulation.strip_suffix('}').unwrap_or_default(), ",\"data\":["].concat();
    let body = store::regulations::export(db, head, people, request.subjects);
    let mut resp = Response::from_stream(body)?.with_status(201);
    resp.headers_mut().set("content-type", "application/json")?;
    Ok(resp)
}

/// `GET /admin/regulations/{id}`
pub async fn get_regulation(req: Request, env: &Env, id: &str) -> AppResult<Response> {
    authorize(&req, env)?;
    let r = store::regulations::get(&env.d1("DB")?, id)
        .await?
        .ok_or_else(|| AppError::client(404, "regulation_not_found", "no such regulation"))?;
    Ok(json_response(200, &json!({"regulation": r})))
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
