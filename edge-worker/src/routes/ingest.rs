//! The Segment-compatible tracking API: `POST /v1/{call}` and its CORS preflight.

use cairn_core::event::Received;
use cairn_core::ingest::{self, Call, Enrichment, RequestError};
use cairn_core::resolve::Rules;
use cairn_core::source::origin_allowed;
use cairn_core::{Message, auth, identity, privacy};
use serde_json::{Map, Value, json};
use worker::{Context, D1Database, Env, Request, Response};

use crate::error::{AppError, AppResult, json_response, violations_json};
use crate::store::sources::Source;
use crate::{runtime, snapshot, store};

/// Accepts one call or a batch. Answers 200 only once every accepted message
/// is committed to D1 (one batch, one transaction).
pub async fn post(mut req: Request, env: &Env, ctx: &Context, call: Call) -> AppResult<Response> {
    let origin = foreign_origin(&req)?;
    let result = accept(&mut req, env, ctx, call, origin.as_deref()).await;
    Ok(readable(result, origin.as_deref()))
}

/// A browser-facing answer, an error rendered as JSON too, readable by the
/// page (CORS) unless its origin was what was refused: so the SDK can tell a
/// wrong write key from a network failure.
fn readable(result: AppResult<Response>, origin: Option<&str>) -> Response {
    let mut resp = result.unwrap_or_else(AppError::into_response);
    if let Some(origin) = origin.filter(|_| resp.status_code() != 403) {
        set_cors(&mut resp, origin);
    }
    resp
}

async fn accept(req: &mut Request, env: &Env, ctx: &Context, call: Call, origin: Option<&str>) -> AppResult<Response> {
    check_content_type(req)?;
    let declared_len = req.headers().get("content-length")?.and_then(|l| l.parse::<usize>().ok());
    if declared_len.is_some_and(|len| len > call.max_bytes()) {
        return Err(RequestError::too_large(call).into());
    }
    let bytes = req.bytes().await?;
    let header_key = req.headers().get("authorization")?.as_deref().and_then(auth::basic_user);
    let body = ingest::parse_body(call, &bytes)?;
    let write_key = header_key.or_else(|| body.write_key.clone()).ok_or(AppError::unauthorized(
        "missing_write_key",
        "send the write key as Basic auth user or as writeKey in the body",
    ))?;
    let db = env.d1("DB")?;
    let source = source_of(env, &db, &write_key, origin).await?;
    let received = Received { at: runtime::now(), id_seed: runtime::random_bytes() };
    let mut parsed = ingest::messages(body, &received)?;
    let enrichment = enrichment(req, &source)?;
    for m in &mut parsed.accepted {
        ingest::enrich(m, &enrichment);
        source.settings.minimize.apply(m);
    }
    let (config, rules) = runtime::identity_settings(env)?;
    let suppressed = suppressed(env, &db, &parsed.accepted, &config).await?;
    let mut screened = screen(env, &source, parsed.accepted, &parsed.rejected, &suppressed)?;
    screened.dropped.sort_by_key(|d| d["index"].as_u64());
    let changed = store_resolved(&db, &source.id, &screened, &config, &rules).await?;
    if !changed.is_empty() {
        ctx.wait_until(snapshot::changed(env.clone(), changed));
    }
    let mut body = json!({"success": true});
    if !screened.dropped.is_empty() {
        body["dropped"] = Value::from(screened.dropped);
    }
    if !parsed.rejected.is_empty() {
        body["rejected"] = parsed
            .rejected
            .iter()
            .map(|r| json!({"index": r.index, "messageId": r.message_id, "violations": violations_json(&r.violations)}))
            .collect();
    }
    Ok(json_response(200, &body))
}

/// The messages the privacy stage kept, with their consent categories, what
/// it counted and what it dropped (for the answer).
struct Screened {
    kept: Vec<Message>,
    categories: Vec<Option<String>>,
    counts: store::privacy::Counts,
    dropped: Vec<Value>,
}

/// Runs the source's privacy rules over each message (consent, PII policy,
/// tracking plan: see `cairn_core::privacy`).
fn screen(
    env: &Env,
    source: &Source,
    accepted: Vec<Message>,
    rejected: &[ingest::Rejected],
    suppressed: &[bool],
) -> AppResult<Screened> {
    let rules = &source.settings.privacy;
    let salt = if rules.pii.is_some() { runtime::pii_salt(env)? } else { Vec::new() };
    let mut out =
        Screened { kept: Vec::new(), categories: Vec::new(), counts: Default::default(), dropped: Vec::new() };
    // Positions in the request: the rejected ones are not among `accepted`.
    let mut index = 0;
    for (n, mut m) in accepted.into_iter().enumerate() {
        while rejected.iter().any(|r| r.index == index) {
            index += 1;
        }
        if suppressed.get(n).copied().unwrap_or(false) {
            out.dropped.push(json!({"index": index, "messageId": m.message_id, "reason": "suppressed"}));
            index += 1;
            continue;
        }
        let verdict = privacy::check(&mut m.parts(), rules, &salt);
        for f in &verdict.findings {
            let class = f.class.map_or("path_rule", |c| c.as_str()).to_owned();
            *out.counts.findings.entry((f.path.clone(), class, f.action.as_str().to_owned())).or_default() += 1;
        }
        let name = m.event.clone().unwrap_or_else(|| ["(", m.kind.as_str(), ")"].concat());
        for v in &verdict.violations {
            *out.counts.violations.entry((name.clone(), v.code.to_owned(), v.path.clone())).or_default() += 1;
        }
        match verdict.dropped {
            Some(why) => out.dropped.push(privacy::dropped_json(index, &m, why)),
            None => {
                out.categories.push(verdict.category.map(|c| c.as_str().to_owned()));
                out.kept.push(m);
            }
        }
        index += 1;
    }
    Ok(out)
}

/// Which messages carry an identifier on the suppression list (a
/// regulation asked to stop accepting that person's events). Identifiers are
/// compared as keyed hashes; nothing is looked up before one is suppressed.
async fn suppressed(
    env: &Env,
    db: &D1Database,
    messages: &[Message],
    config: &identity::Config,
) -> AppResult<Vec<bool>> {
    let Some(salt) = runtime::pii_salt_if_set(env) else { return Ok(vec![false; messages.len()]) };
    let per_message: Vec<Vec<String>> =
        messages.iter().map(|m| store::regulations::hashes(&salt, &cairn_core::graph::lookups(m, config))).collect();
    let all: Vec<String> = per_message.iter().flatten().cloned().collect();
    let hit = store::regulations::suppressed(db, &all).await?;
    Ok(per_message.iter().map(|hs| hs.iter().any(|h| hit.contains(h))).collect())
}

/// How often a request starts over after losing a race for the same profiles.
const MAX_ATTEMPTS: u32 = 12;

/// Resolves the messages' identities and stores them with their events, as
/// one transaction; starts over when another request changed the same
/// profiles first (see `store::identity`).
/// Returns the profiles that changed.
async fn store_resolved(
    db: &D1Database,
    source_id: &str,
    screened: &Screened,
    config: &identity::Config,
    rules: &Rules,
) -> AppResult<Vec<String>> {
    let messages = &screened.kept;
    let lookups = store::identity::lookups(messages, config);
    for attempt in 0..MAX_ATTEMPTS {
        let loaded = store::identity::load(db, &lookups, rules.clone()).await?;
        let resolved = store::identity::resolve(loaded, source_id, messages, config, runtime::now(), &mut |prefix| {
            runtime::random_token(prefix)
        });
        let mut statements = resolved.statements(db)?;
        statements.extend(store::events::insert_statements(
            db,
            source_id,
            messages,
            &resolved.profile_of,
            &screened.categories,
        )?);
        statements.extend(store::privacy::statements(db, source_id, &screened.counts, runtime::now())?);
        statements.push(db.prepare(store::identity::CLEAR_GUARD));
        match db.batch(statements).await {
            Ok(_) => return Ok(resolved.changed),
            Err(e) if store::identity::is_conflict(&e) => {
                worker::console_log!("identity: write conflict on attempt {}, starting over", attempt + 1);
                // Back off a little, with jitter, so that racing requests spread out.
                let ms = 5 * u64::from(attempt + 1) + u64::from(runtime::random_bytes()[0] % 16);
                worker::Delay::from(std::time::Duration::from_millis(ms)).await;
            }
            Err(e) => return Err(e.into()),
        }
    }
    Err(AppError::client(503, "contention", "too many concurrent changes to the same profiles; retry"))
}

/// The source a write key belongs to, when it may be used from `origin` (a
/// browser on another site) and in this environment (production refuses the
/// demo key).
async fn source_of(env: &Env, db: &D1Database, write_key: &str, origin: Option<&str>) -> AppResult<Source> {
    let source = store::sources::by_write_key_cached(db, write_key, runtime::now())
        .await?
        .ok_or(AppError::unauthorized("unknown_write_key", "the write key does not belong to any source"))?;
    if origin.is_some_and(|o| !origin_allowed(&source.allowed_origins, o)) {
        return Err(AppError::client(
            403,
            "origin_not_allowed",
            "this source does not accept requests from this origin",
        ));
    }
    if write_key == super::admin::DEMO_WRITE_KEY && super::admin::production(env) {
        return Err(AppError::unauthorized(
            "demo_write_key_refused",
            "the demo write key works in local development only; create a source for production",
        ));
    }
    Ok(source)
}

/// `GET /v1/profile?anonymousId=` (or the `cairn_aid` cookie), with the
/// write key as Basic auth or `writeKey=`: the visitor's profile for
/// personalization, from the KV snapshot, with only the traits the source
/// allows (`settings.profileTraits`) and its audiences; never identifiers.
pub async fn profile(req: Request, env: &Env) -> AppResult<Response> {
    let origin = foreign_origin(&req)?;
    let url = req.url()?;
    let param = |name: &str| url.query_pairs().find(|(k, _)| k == name).map(|(_, v)| v.into_owned());
    let header_key = req.headers().get("authorization")?.as_deref().and_then(auth::basic_user);
    let write_key = header_key.or_else(|| param("writeKey")).ok_or(AppError::unauthorized(
        "missing_write_key",
        "send the write key as Basic auth user or as the writeKey parameter",
    ))?;
    let db = env.d1("DB")?;
    let source = source_of(env, &db, &write_key, origin.as_deref()).await?;
    let cookie = req
        .headers()
        .get("cookie")?
        .and_then(|c| c.split(';').find_map(|kv| kv.trim().strip_prefix("cairn_aid=").map(str::to_owned)));
    let anonymous_id = param("anonymousId").or(cookie).filter(|a| !a.is_empty()).ok_or_else(|| {
        AppError::bad_request("missing_anonymous_id", "give anonymousId (or send the cairn_aid cookie)")
    })?;
    let snapshot = snapshot::read(env, "anonymous_id", &anonymous_id).await?;
    let body = match snapshot {
        Some(s) => {
            let traits: Map<String, Value> = source
                .settings
                .profile_traits
                .iter()
                .filter_map(|k| Some((k.clone(), s["traits"].get(k)?.clone())))
                .collect();
            json!({"profile": {"traits": traits, "audiences": s["audiences"]}})
        }
        None => json!({"profile": null}),
    };
    let mut resp = json_response(200, &body);
    resp.headers_mut().set("cache-control", "private, no-store")?;
    if let Some(origin) = origin {
        set_cors(&mut resp, &origin);
    }
    Ok(resp)
}

/// `GET /v1/projects/{writeKey}/settings`: what the browser SDK needs to
/// know of its source, as Segment's settings endpoint does for analytics.js.
/// `privacy` holds the rules the browser enforces before a batch leaves the
/// page (`core::privacy::browser`), or `null` when there are none; only the
/// SDK's guard reads it. Public like the write key it is keyed by; cached
/// for a few minutes.
pub async fn settings(req: Request, env: &Env, write_key: &str) -> AppResult<Response> {
    let origin = foreign_origin(&req)?;
    let result = source_of(env, &env.d1("DB")?, write_key, origin.as_deref()).await.and_then(|source| {
        let privacy = privacy::browser::for_browser(&source.settings.privacy).map_or(Value::Null, |rules| {
            let mut settings = Map::new();
            rules.write_settings(&mut settings);
            Value::Object(settings)
        });
        let mut resp = json_response(200, &json!({"privacy": privacy}));
        resp.headers_mut().set("cache-control", &format!("public, max-age={SETTINGS_MAX_AGE}"))?;
        Ok(resp)
    });
    Ok(readable(result, origin.as_deref()))
}

/// How long browsers may keep a source's settings: a changed rule reaches
/// pages within this many seconds (the worker enforces it at once).
const SETTINGS_MAX_AGE: u32 = 300;

/// Parses a batch exactly as `post` does, then answers without storing:
/// the floor that ingest throughput is measured against.
pub async fn parse_only(mut req: Request) -> AppResult<Response> {
    let bytes = req.bytes().await?;
    let body = ingest::parse_body(Call::Batch, &bytes)?;
    let parsed = ingest::messages(body, &Received { at: runtime::now(), id_seed: runtime::random_bytes() })?;
    Ok(json_response(200, &json!({"success": true, "parsed": parsed.accepted.len()})))
}

/// `OPTIONS /v1/*`: a browser asks whether it may POST from its origin. The
/// write key is not known yet, so any source allowing the origin suffices;
/// the POST itself is checked against its own source.
pub async fn preflight(req: Request, env: &Env) -> AppResult<Response> {
    let Some(origin) = foreign_origin(&req)? else {
        return Ok(Response::builder().with_status(204).empty());
    };
    if !store::sources::any_allows_origin(&env.d1("DB")?, &origin).await? {
        return Err(AppError::client(403, "origin_not_allowed", "no source accepts events from this origin"));
    }
    let mut resp = Response::builder().with_status(204).empty();
    set_cors(&mut resp, &origin);
    let h = resp.headers_mut();
    h.set("access-control-allow-methods", "POST, OPTIONS")?;
    h.set("access-control-allow-headers", "authorization, content-type")?;
    h.set("access-control-max-age", "86400")?;
    Ok(resp)
}

/// The request's `Origin` when it is another site's (first-party requests
/// from pages served by this worker are always allowed).
fn foreign_origin(req: &Request) -> AppResult<Option<String>> {
    let Some(origin) = req.headers().get("origin")? else { return Ok(None) };
    let own = req.url().map(|u| u.origin().ascii_serialization()).unwrap_or_default();
    Ok((origin != own).then_some(origin))
}

fn set_cors(resp: &mut Response, origin: &str) {
    let h = resp.headers_mut();
    let _ = h.set("access-control-allow-origin", origin);
    let _ = h.append("vary", "Origin");
}

/// JSON or text/plain (what browsers send to avoid a preflight); no header means JSON.
fn check_content_type(req: &Request) -> AppResult<()> {
    let Some(ct) = req.headers().get("content-type")? else { return Ok(()) };
    let mime = ct.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    if mime == "application/json" || mime == "text/plain" || mime.is_empty() {
        Ok(())
    } else {
        Err(AppError::client(415, "unsupported_media_type", "send the body as application/json or text/plain"))
    }
}

fn enrichment(req: &Request, source: &Source) -> AppResult<Enrichment> {
    let headers = req.headers();
    let mut location = Map::new();
    if let Some(cf) = req.cf() {
        let fields = [("country", cf.country()), ("region", cf.region()), ("city", cf.city())];
        for (k, v) in fields {
            if let Some(v) = v.filter(|v| !v.is_empty()) {
                location.insert(k.into(), Value::String(v));
            }
        }
        if let Some((lat, lon)) = cf.coordinates() {
            location.insert("latitude".into(), json!(lat));
            location.insert("longitude".into(), json!(lon));
        }
    }
    Ok(Enrichment {
        ip: headers.get("cf-connecting-ip")?,
        user_agent: headers.get("user-agent")?,
        location,
        ip_policy: source.settings.ip,
    })
}
