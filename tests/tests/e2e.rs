//! End-to-end tests against the real worker (wrangler dev, local D1) and a
//! real headless Chromium. One worker serves all tests of a run; each test
//! uses its own identities so tests can run in parallel.
//!
//! Gated by `CAIRN_E2E=1` (set by `cargo xtask test`), because they need the
//! built worker, the npm tools on PATH and Chromium.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use cairn_tests::browser::Browser;
use cairn_tests::http::{admin_get, get, post};
use cairn_tests::worker::Worker;
use cairn_tests::{DEMO_WRITE_KEY, Result, wait_for};
use libtest_mimic::{Arguments, Failed, Trial};
use serde_json::{Value, json};

type Test = fn(&Worker) -> Result<()>;

const TESTS: &[(&str, Test)] = &[
    ("demo_shop_click_is_stored_as_a_track_event", demo_shop_click_is_stored_as_a_track_event),
    ("track_with_basic_auth_is_stored_once_per_message_id", track_with_basic_auth_is_stored_once_per_message_id),
    ("ingest_rejects_bad_requests_with_json_errors", ingest_rejects_bad_requests_with_json_errors),
    ("admin_api_requires_the_token", admin_api_requires_the_token),
];

fn main() -> ExitCode {
    let args = Arguments::from_args();
    if std::env::var_os("CAIRN_E2E").is_none() {
        eprintln!(
            "end-to-end tests need the built worker and Chromium: run them with `cargo xtask test` (sets CAIRN_E2E=1)"
        );
        let trials = TESTS.iter().map(|(name, _)| Trial::test(*name, || Ok(())).with_ignored_flag(true)).collect();
        return libtest_mimic::run(&args, trials).exit_code();
    }
    let worker = match Worker::start() {
        Ok(w) => Arc::new(w),
        Err(e) => {
            eprintln!("cannot start the worker: {e}");
            return ExitCode::FAILURE;
        }
    };
    let trials = TESTS
        .iter()
        .map(|&(name, test)| {
            let w = Arc::clone(&worker);
            Trial::test(name, move || test(&w).map_err(Failed::from))
        })
        .collect();
    let conclusion = libtest_mimic::run(&args, trials);
    if conclusion.has_failed() {
        eprintln!("--- wrangler dev log (tail) ---\n{}", worker.log_tail());
    }
    drop(worker); // stops wrangler dev and removes its state
    conclusion.exit_code()
}

fn check(cond: bool, what: impl FnOnce() -> String) -> Result<()> {
    if cond { Ok(()) } else { Err(what()) }
}

fn events(w: &Worker, query: &str) -> Result<Vec<Value>> {
    let r = admin_get(&w.url(&format!("/admin/events?{query}")))?;
    check(r.status == 200, || format!("GET /admin/events?{query}: {} {}", r.status, r.body))?;
    Ok(r.body["events"].as_array().cloned().unwrap_or_default())
}

fn unique_id(prefix: &str) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    format!("{prefix}-{nanos}-{}", N.fetch_add(1, Ordering::Relaxed))
}

/// The walking skeleton: the shop loads the SDK through its snippet, a real
/// click on a product sends a track call, and the admin API shows exactly
/// that event with the product's properties.
fn demo_shop_click_is_stored_as_a_track_event(w: &Worker) -> Result<()> {
    let mut browser = Browser::start()?;
    browser.goto(&w.url("/"))?;
    browser.eval("new Promise((resolve) => cairn.ready(() => resolve(true)))")?;
    let anonymous_id = browser.eval("cairn.user().anonymousId")?;
    let anonymous_id = anonymous_id.as_str().ok_or("the SDK has no anonymousId")?.to_owned();
    let query = format!("anonymousId={anonymous_id}");

    // The snippet's page call arrives first.
    wait_for("the page view", Duration::from_secs(15), || {
        events(w, &query).ok().filter(|e| e.iter().any(|e| e["type"] == "page"))
    })?;

    browser.click("[data-product-id='trail-runner'] button")?;
    let stored = wait_for("the click's track event", Duration::from_secs(15), || {
        events(w, &query).ok().filter(|e| e.iter().any(|e| e["type"] == "track"))
    })?;
    let tracks: Vec<&Value> = stored.iter().filter(|e| e["type"] == "track").collect();
    check(tracks.len() == 1, || format!("expected exactly one track event, got {tracks:#?}"))?;
    let e = tracks[0];
    check(e["event"] == "Product Clicked", || format!("event name: {}", e["event"]))?;
    let want = json!({"product_id": "trail-runner", "sku": "TR-001", "name": "Trail Runner", "price": 89, "category": "Shoes", "currency": "EUR"});
    check(e["properties"] == want, || format!("properties: {} != {want}", e["properties"]))?;
    check(e["anonymousId"] == anonymous_id.as_str(), || format!("anonymousId: {}", e["anonymousId"]))?;
    check(e["context"]["library"]["name"] == "cairn-sdk", || format!("context: {}", e["context"]))?;
    check(e["receivedAt"].is_string() && e["timestamp"].is_string() && e["messageId"].is_string(), || {
        format!("missing common fields: {e}")
    })?;

    // The browser really sent it to the ingest API, once.
    let sent = browser.requests_to("/v1/track")?;
    check(sent.len() == 1, || format!("expected one request to /v1/track, saw {}", sent.len()))
}

fn track_with_basic_auth_is_stored_once_per_message_id(w: &Worker) -> Result<()> {
    let user = unique_id("user");
    let body = json!({"userId": user, "event": "Order Completed", "messageId": unique_id("msg"), "properties": {"total": 30.5}}).to_string();
    // base64("cairn_demo_key:")
    let auth = [("authorization", "Basic Y2Fpcm5fZGVtb19rZXk6"), ("content-type", "application/json")];
    for attempt in 0..3 {
        let r = post(&w.url("/v1/track"), &auth, &body)?;
        check(r.status == 200 && r.body == json!({"success": true}), || {
            format!("attempt {attempt}: {} {}", r.status, r.body)
        })?;
    }
    let stored = events(w, &format!("userId={user}"))?;
    check(stored.len() == 1, || format!("a retried message must be stored once, got {}", stored.len()))?;
    check(stored[0]["properties"]["total"] == 30.5, || format!("stored: {}", stored[0]))
}

fn ingest_rejects_bad_requests_with_json_errors(w: &Worker) -> Result<()> {
    let track = w.url("/v1/track");
    let body_key = |extra: &str| format!(r#"{{"writeKey": "{DEMO_WRITE_KEY}", {extra}}}"#);
    let cases: Vec<(&str, u16, &str, Result<cairn_tests::http::Reply>)> = vec![
        ("no write key", 401, "missing_write_key", post(&track, &[], r#"{"userId": "u", "event": "E"}"#)),
        (
            "unknown write key",
            401,
            "unknown_write_key",
            post(&track, &[], r#"{"writeKey": "nope", "userId": "u", "event": "E"}"#),
        ),
        ("bad JSON", 400, "invalid_json", post(&track, &[], "{not json")),
        ("Spec violation", 400, "invalid_message", post(&track, &[], &body_key(r#""userId": "u""#))),
        ("GET on an ingest route", 405, "method_not_allowed", get(&track, &[])),
        ("unknown route", 404, "not_found", post(&w.url("/v1/nonsense"), &[], "{}")),
    ];
    for (what, status, code, reply) in cases {
        let r = reply?;
        check(r.status == status && r.body["error"] == code && r.body["message"].is_string(), || {
            format!("{what}: expected {status} {code}, got {} {}", r.status, r.body)
        })?;
    }
    let r = post(&track, &[], &body_key(r#""userId": "u""#))?;
    check(r.body["violations"][0]["path"] == "event", || format!("violations must name the field: {}", r.body))
}

fn admin_api_requires_the_token(w: &Worker) -> Result<()> {
    for headers in
        [vec![], vec![("authorization", "Bearer wrong")], vec![("authorization", "Basic Y2Fpcm5fZGVtb19rZXk6")]]
    {
        let r = get(&w.url("/admin/events"), &headers)?;
        check(r.status == 401 && r.body["events"].is_null(), || format!("{headers:?}: {} {}", r.status, r.body))?;
    }
    Ok(())
}
