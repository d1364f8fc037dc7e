//! The SDK's privacy in the browser, end to end: consent platforms (the SDK
//! loaded with `{consent: 'tcf'}` or `{consent: 'google'}` on the stand-in
//! platform pages, `www-demo/public/cmp/`) and the guard that runs a source's
//! PII policy and tracking plan before anything leaves the page, in a real
//! headless Chromium against the real worker. What counts is what the
//! browser really sends (DevTools network events) and stores (cookies,
//! localStorage), and what the worker stores.
//!
//! Gated by `CAIRN_E2E=1` (set by `cargo xtask test`), like `e2e.rs`: they need
//! the built SDK and worker, the npm tools on PATH and Chromium.

use std::process::ExitCode;
use std::time::Duration;

use cairn_tests::browser::Browser;
use cairn_tests::http::{admin_get, admin_put};
use cairn_tests::suite::{self, Test, check};
use cairn_tests::worker::Worker;
use cairn_tests::{Result, wait_for};
use serde_json::{Value, json};

const TESTS: &[(&str, Test)] = cairn_tests::tests![
    tcf_without_consent_to_measurement_nothing_is_sent_or_stored,
    tcf_consent_to_measurement_sends_with_analytics_only,
    tcf_decision_in_the_dialog_releases_what_was_held,
    tcf_withdrawal_clears_the_queue_and_the_ids,
    tcf_where_gdpr_does_not_apply_everything_is_allowed,
    the_platform_overrides_a_stored_banner_choice,
    google_consent_mode_default_denied_holds_until_the_update,
    google_consent_mode_granted_defaults_and_late_platforms,
    blocked_and_redacted_pii_never_leaves_the_browser,
];

fn main() -> ExitCode {
    suite::run("consent platform tests", TESTS, Worker::start)
}

// ---------------------------------------------------------------- helpers

/// What the worker stored for `anonymousId`, newest first.
fn events(w: &Worker, anonymous_id: &str) -> Result<Vec<Value>> {
    let r = admin_get(&w.url(&format!("/admin/events?anonymousId={anonymous_id}&limit=50")))?;
    check(r.status == 200, || format!("GET /admin/events: {} {}", r.status, r.body))?;
    Ok(r.body["events"].as_array().cloned().unwrap_or_default())
}

/// Waits until the worker has stored exactly `kinds` (`page`, or a track's
/// event name) for `anonymous_id`, and returns them oldest first.
fn wait_for_stored(w: &Worker, anonymous_id: &str, kinds: &[&str]) -> Result<Vec<Value>> {
    let mut last = Vec::new();
    let found = wait_for(&format!("{kinds:?} stored"), Duration::from_secs(15), || {
        let mut stored = events(w, anonymous_id).ok()?;
        stored.reverse();
        let names: Vec<String> = stored.iter().map(kind).collect();
        last = names.clone();
        (names == kinds).then_some(stored)
    });
    found.map_err(|e| format!("{e}; stored: {last:?}"))
}

/// `page`, or a track's event name.
fn kind(e: &Value) -> String {
    e["event"].as_str().or(e["type"].as_str()).unwrap_or_default().to_owned()
}

/// Opens a page and waits for the SDK to start (with a consent platform, that
/// is once the platform has answered); returns its anonymousId.
fn open(browser: &mut Browser, w: &Worker, path: &str) -> Result<String> {
    browser.goto(&w.url(path))?;
    browser.eval("new Promise((resolve) => cairn.ready(() => resolve(true)))")?;
    let id = browser.eval("cairn.user().anonymousId")?;
    id.as_str().map(str::to_owned).ok_or_else(|| "the SDK has no anonymousId".into())
}

/// `{necessary, analytics, marketing, personalization}` as the SDK holds it now.
fn consent(browser: &mut Browser) -> Result<Value> {
    browser.eval("cairn.consent.get()")
}

fn prefs(analytics: bool, marketing: bool, personalization: bool) -> Value {
    json!({"necessary": true, "analytics": analytics, "marketing": marketing, "personalization": personalization})
}

/// What the page has stored on the device: cookies and localStorage keys (sorted).
fn device_storage(browser: &mut Browser) -> Result<(Vec<Value>, Vec<String>)> {
    let cookies = browser.call("Network.getCookies", json!({}))?["cookies"].as_array().cloned().unwrap_or_default();
    let keys = browser.eval("Object.keys(localStorage).sort()")?;
    let keys = keys.as_array().into_iter().flatten().filter_map(|k| k.as_str().map(str::to_owned)).collect();
    Ok((cookies, keys))
}

/// Waits until the localStorage keys are `keys` (a queue that was just
/// delivered is removed a moment later) and returns the cookies' names.
fn wait_for_stored_keys(browser: &mut Browser, keys: &[&str]) -> Result<Vec<String>> {
    let mut last = Vec::new();
    let found = wait_for(&format!("localStorage keys {keys:?}"), Duration::from_secs(5), || {
        let (cookies, stored) = device_storage(browser).ok()?;
        last = stored.clone();
        (stored == keys).then(|| cookies.iter().filter_map(|c| c["name"].as_str().map(str::to_owned)).collect())
    });
    found.map_err(|e| format!("{e}; stored: {last:?}"))
}

/// The bodies of the requests the browser sent to the ingest API so far.
fn sent_bodies(browser: &mut Browser) -> Result<Vec<String>> {
    let sent = browser.requests_to("/v1/")?;
    let posts = sent.iter().filter(|r| r["method"] == "POST");
    Ok(posts.map(|r| r["postData"].as_str().unwrap_or_default().to_owned()).collect())
}

/// Waits out the SDK's 5 s flush timer, then leaves the page (its beacon
/// path): whatever it would ever send has been sent by then.
fn wait_out_and_leave(browser: &mut Browser) -> Result<()> {
    std::thread::sleep(Duration::from_millis(5_500));
    browser.goto("about:blank")?;
    std::thread::sleep(Duration::from_millis(500));
    Ok(())
}

// ---------------------------------------------------------------- TCF

fn tcf_without_consent_to_measurement_nothing_is_sent_or_stored(w: &Worker) -> Result<()> {
    let mut browser = Browser::start()?;
    let mut ids = Vec::new();
    // (query, what the platform holds, whether it has decided, Cairn's categories)
    let cases = [
        ("", "no decision yet: the dialog shows", false, prefs(false, false, false)),
        ("?purposes=2,3,4,5,6,7,8,9,10", "all but purpose 1 (storage and access)", true, prefs(false, false, false)),
        ("?purposes=1,2,3,4,5,6", "no measurement purposes", true, prefs(false, true, true)),
        ("?purposes=1,7,8,9", "measurement without purpose 10", true, prefs(false, false, false)),
        ("?purposes=1,2,3,4,5,6,7,8,9&late=700", "no purpose 10, from a late platform", true, prefs(false, true, true)),
    ];
    for (query, what, chosen, want) in cases {
        let id = open(&mut browser, w, &format!("/cmp/tcf{query}"))?;
        let state = consent(&mut browser)?;
        check(state == json!({"chosen": chosen, "categoryPreferences": want}), || format!("{what}: {state}"))?;
        browser.click("#add-to-cart")?;
        browser.eval("cairn.track('Newsletter Signup', {plan: 'weekly'}); cairn.flush()")?;
        let (cookies, keys) = device_storage(&mut browser)?;
        check(cookies.is_empty() && keys.is_empty(), || format!("{what}: stored {cookies:?} {keys:?}"))?;
        ids.push(id);
    }
    wait_out_and_leave(&mut browser)?;
    let sent = browser.requests_to("/v1/")?;
    check(sent.is_empty(), || format!("requests without consent to measurement: {sent:?}"))?;
    for id in ids {
        let stored = events(w, &id)?;
        check(stored.is_empty(), || format!("stored for {id}: {stored:?}"))?;
    }
    Ok(())
}

fn tcf_consent_to_measurement_sends_with_analytics_only(w: &Worker) -> Result<()> {
    let mut browser = Browser::start()?;
    let id = open(&mut browser, w, "/cmp/tcf?purposes=1,7,8,9,10")?;
    check(consent(&mut browser)? == json!({"chosen": true, "categoryPreferences": prefs(true, false, false)}), || {
        "consent from the platform".into()
    })?;
    browser.click("#add-to-cart")?;
    browser.eval("cairn.flush()")?;
    let stored = wait_for_stored(w, &id, &["page", "Product Added"])?;
    for e in &stored {
        let p = &e["context"]["consent"]["categoryPreferences"];
        check(*p == prefs(true, false, false), || format!("{}: consent {p}", kind(e)))?;
    }
    check(stored[1]["properties"]["product_id"] == "trail-runner", || format!("the click: {}", stored[1]))?;
    // The browser sent them, carrying that consent.
    let bodies = sent_bodies(&mut browser)?;
    check(bodies.iter().any(|b| b.contains("Product Added")), || format!("sent: {bodies:?}"))?;
    check(bodies.iter().all(|b| b.contains(r#""analytics":true,"marketing":false"#)), || format!("sent: {bodies:?}"))?;
    // The demo source has no rules for the browser: the guard is never fetched.
    let guard = browser.requests_to("guard")?;
    check(guard.is_empty(), || format!("guard fetched: {guard:?}"))?;
    // Identifiers are kept (the platform allowed storage); no consent choice of
    // Cairn's own: the platform keeps the decision.
    wait_for_stored_keys(&mut browser, &["cairn.anonymousId"])?;
    let (cookies, _) = device_storage(&mut browser)?;
    check(cookies.iter().any(|c| c["name"] == "cairn_aid" && c["value"] == id.as_str()), || {
        format!("cookies: {cookies:?}")
    })?;

    // The next page is the same visitor, also when the platform's API comes
    // late: the SDK waits for its stored decision before it starts.
    for path in ["/cmp/tcf?purposes=1,7,8,9,10", "/cmp/tcf?purposes=1,7,8,9,10&late=800"] {
        let again = open(&mut browser, w, path)?;
        check(again == id, || format!("{path}: anonymousId {again}, was {id}"))?;
    }
    browser.eval("cairn.flush()")?;
    wait_for_stored(w, &id, &["page", "Product Added", "page", "page"])?;
    Ok(())
}

fn tcf_decision_in_the_dialog_releases_what_was_held(w: &Worker) -> Result<()> {
    let mut browser = Browser::start()?;
    let id = open(&mut browser, w, "/cmp/tcf")?;
    check(browser.eval("document.getElementById('cmp-dialog').hidden")? == false, || "the dialog shows".into())?;
    browser.click("#add-to-cart")?;
    browser.eval("cairn.flush()")?;
    check(browser.requests_to("/v1/")?.is_empty(), || "sent before the decision".into())?;
    let before = browser.eval("new Date().toISOString()")?;

    // The visitor allows measurement in the platform's dialog (useractioncomplete).
    browser.click("#cmp-measure")?;
    let stored = wait_for_stored(w, &id, &["page", "Product Added"])?;
    for e in &stored {
        check(e["context"]["consent"]["categoryPreferences"] == prefs(true, false, false), || {
            format!("consent: {}", e["context"])
        })?;
        let original = e["originalTimestamp"].as_str().unwrap_or_default();
        check(original < before.as_str().unwrap_or_default(), || format!("original time kept: {original}"))?;
    }
    check(browser.eval("document.getElementById('cairn-consent').textContent")? == "necessary, analytics", || {
        "onChange told the page".into()
    })?;
    let cookies = wait_for_stored_keys(&mut browser, &["cairn.anonymousId"])?;
    check(cookies == ["cairn_aid"], || format!("cookies after the decision: {cookies:?}"))
}

fn tcf_withdrawal_clears_the_queue_and_the_ids(w: &Worker) -> Result<()> {
    let mut browser = Browser::start()?;
    let id = open(&mut browser, w, "/cmp/tcf?purposes=1,7,8,9,10")?;
    browser.eval("cairn.flush()")?;
    wait_for_stored(w, &id, &["page"])?;
    // Queued (due within 5 s), then the visitor withdraws in the platform.
    browser.click("#add-to-cart")?;
    browser.eval("cairn.identify('cmp-withdrawn-user')")?;
    let (_, keys) = device_storage(&mut browser)?;
    check(keys.iter().any(|k| k == "cairn.userId"), || format!("kept before withdrawal: {keys:?}"))?;
    browser.eval("document.querySelector('.foot button').click()")?;
    browser.click("#cmp-reject")?;

    check(
        consent(&mut browser)? == json!({"chosen": true, "categoryPreferences": prefs(false, false, false)}),
        || "consent after withdrawal".into(),
    )?;
    check(browser.eval("document.getElementById('cairn-consent').textContent")? == "necessary", || {
        "onChange told the page".into()
    })?;
    let (cookies, keys) = device_storage(&mut browser)?;
    check(cookies.is_empty() && keys.is_empty(), || format!("stored after withdrawal: {cookies:?} {keys:?}"))?;
    browser.click("#add-to-cart")?;
    wait_out_and_leave(&mut browser)?;
    let bodies = sent_bodies(&mut browser)?;
    check(bodies.len() == 1 && !bodies[0].contains("Product Added"), || format!("sent: {bodies:?}"))?;
    check(events(w, &id)?.len() == 1, || "only the page view before withdrawal is stored".into())
}

fn tcf_where_gdpr_does_not_apply_everything_is_allowed(w: &Worker) -> Result<()> {
    let mut browser = Browser::start()?;
    let id = open(&mut browser, w, "/cmp/tcf?gdpr=0")?;
    browser.eval("cairn.flush()")?;
    let stored = wait_for_stored(w, &id, &["page"])?;
    let p = &stored[0]["context"]["consent"]["categoryPreferences"];
    check(*p == prefs(true, true, true), || format!("consent: {p}"))?;
    // Ids are kept from the start, so the next page is the same visitor.
    let again = open(&mut browser, w, "/cmp/tcf?gdpr=0")?;
    check(again == id, || format!("anonymousId {again}, was {id}"))
}

fn the_platform_overrides_a_stored_banner_choice(w: &Worker) -> Result<()> {
    let mut browser = Browser::start()?;
    let mut ids = Vec::new();
    // Before the platform decides, and once it has (denying measurement), a
    // choice from the site's own banner (an earlier setup) on the device counts for nothing.
    for path in ["/cmp/tcf", "/cmp/tcf?purposes=2,3,4&late=500"] {
        browser.goto(&w.url(path))?;
        browser.eval(
            "localStorage.setItem('cairn.consent', JSON.stringify({necessary: true, analytics: true, marketing: true, \
             personalization: true})); true",
        )?;
        let id = open(&mut browser, w, path)?;
        check(consent(&mut browser)?["categoryPreferences"] == prefs(false, false, false), || {
            format!("{path}: the platform decides, not the stored choice")
        })?;
        // consent.set is ignored while a platform decides.
        browser.eval("cairn.consent.set({analytics: true}); true")?;
        check(consent(&mut browser)?["categoryPreferences"]["analytics"] == false, || {
            format!("{path}: set() is ignored")
        })?;
        browser.click("#add-to-cart")?;
        browser.eval("cairn.flush()")?;
        let (cookies, keys) = device_storage(&mut browser)?;
        check(cookies.is_empty() && keys == ["cairn.consent"], || format!("{path}: stored {cookies:?} {keys:?}"))?;
        ids.push(id);
    }
    wait_out_and_leave(&mut browser)?;
    let sent = browser.requests_to("/v1/")?;
    check(sent.is_empty(), || format!("sent: {sent:?}"))?;
    for id in ids {
        check(events(w, &id)?.is_empty(), || format!("stored for {id}"))?;
    }
    Ok(())
}

// ---------------------------------------------------------------- Google Consent Mode

fn google_consent_mode_default_denied_holds_until_the_update(w: &Worker) -> Result<()> {
    let mut browser = Browser::start()?;
    let id = open(&mut browser, w, "/cmp/google")?;
    check(
        consent(&mut browser)? == json!({"chosen": false, "categoryPreferences": prefs(false, false, false)}),
        || "default denied".into(),
    )?;
    browser.click("#add-to-cart")?;
    browser.eval("cairn.flush()")?;
    check(browser.requests_to("/v1/")?.is_empty(), || "sent while denied".into())?;
    let (cookies, keys) = device_storage(&mut browser)?;
    check(cookies.is_empty() && keys.is_empty(), || format!("stored while denied: {cookies:?} {keys:?}"))?;

    // gtag('consent', 'update', {analytics_storage: 'granted', ...denied}) from the platform.
    browser.click("#cmp-analytics")?;
    let stored = wait_for_stored(w, &id, &["page", "Product Added"])?;
    for e in &stored {
        check(e["context"]["consent"]["categoryPreferences"] == prefs(true, false, false), || {
            format!("consent: {}", e["context"])
        })?;
    }
    check(consent(&mut browser)?["chosen"] == true, || "an update is the visitor's choice".into())?;
    // dataLayer.push still does its job for the page's other tags.
    let commands = browser.eval("dataLayer.filter((e) => e[0] === 'consent').map((e) => e[1])")?;
    check(commands == json!(["default", "update"]), || format!("dataLayer: {commands}"))?;
    let cookies = wait_for_stored_keys(&mut browser, &["cairn.anonymousId"])?;
    check(cookies == ["cairn_aid"], || format!("cookies after the update: {cookies:?}"))?;

    // Granting everything makes later events carry marketing too; rejecting clears.
    browser.eval("cmpDecide('accept'); cairn.track('Newsletter Signup'); cairn.flush()")?;
    let stored = wait_for_stored(w, &id, &["page", "Product Added", "Newsletter Signup"])?;
    check(stored[2]["context"]["consent"]["categoryPreferences"] == prefs(true, true, true), || {
        format!("consent: {}", stored[2]["context"])
    })?;
    browser.eval("cmpDecide('reject'); cairn.track('After Reject'); true")?;
    let (cookies, keys) = device_storage(&mut browser)?;
    check(cookies.is_empty() && keys.is_empty(), || format!("stored after reject: {cookies:?} {keys:?}"))?;
    wait_out_and_leave(&mut browser)?;
    let bodies = sent_bodies(&mut browser)?;
    check(!bodies.iter().any(|b| b.contains("After Reject")), || format!("sent after reject: {bodies:?}"))?;
    Ok(())
}

fn google_consent_mode_granted_defaults_and_late_platforms(w: &Worker) -> Result<()> {
    let mut browser = Browser::start()?;
    // Defaults granted: sent at once, not the visitor's choice (no update).
    let id = open(&mut browser, w, "/cmp/google?analytics=granted&ads=granted")?;
    check(consent(&mut browser)? == json!({"chosen": false, "categoryPreferences": prefs(true, true, false)}), || {
        "granted defaults".into()
    })?;
    browser.eval("cairn.flush()")?;
    let stored = wait_for_stored(w, &id, &["page"])?;
    check(stored[0]["context"]["consent"]["categoryPreferences"] == prefs(true, true, false), || {
        format!("consent: {}", stored[0]["context"])
    })?;

    // A returning visitor whose platform restores the decision a moment after
    // the defaults (wait_for_update): the SDK waits for it and keeps the ids.
    let again = open(&mut browser, w, "/cmp/google?wait=2000&stored=analytics&after=300")?;
    check(again == id, || format!("anonymousId {again}, was {id}"))?;
    check(consent(&mut browser)? == json!({"chosen": true, "categoryPreferences": prefs(true, false, false)}), || {
        "the restored decision".into()
    })?;

    // A platform that starts after Cairn: the SDK made window.dataLayer and
    // sees the commands pushed into it later.
    let mut fresh = Browser::start()?;
    let late = open(&mut fresh, w, "/cmp/google?late=600&analytics=granted")?;
    wait_for("the late default", Duration::from_secs(5), || {
        consent(&mut fresh).ok().filter(|c| c["categoryPreferences"]["analytics"] == true)
    })?;
    fresh.eval("cairn.flush()")?;
    wait_for_stored(w, &late, &["page"])?;
    let commands = fresh.eval("dataLayer.filter((e) => e[0] === 'consent').length")?;
    check(commands == 1, || format!("consent commands in dataLayer: {commands}"))
}

// ---------------------------------------------------------------- the guard

/// A source whose PII policy blocks SSNs and a `secret` property, redacts
/// phones and hashes emails, with a plan that omits unplanned properties of
/// `Newsletter Joined`. The SDK fetches its rules and the guard once sending
/// is allowed; blocked events and redacted values never leave the page,
/// neither in `fetch` requests nor in the beacon when the page goes away.
/// Hashing needs the workspace's secret, so emails go to the worker, which
/// stores them hashed.
fn blocked_and_redacted_pii_never_leaves_the_browser(w: &Worker) -> Result<()> {
    let source = w.create_source(&json!({"name": "Guarded shop", "allowedOrigins": []}))?;
    let (id, key) = (source["id"].as_str().ok_or("id")?, source["writeKey"].as_str().ok_or("key")?);
    let policy = json!({"classes": {"us_ssn": "block", "phone": "redact", "email": "hash"}, "paths": {"properties.secret": "block"}});
    let plan = json!({"mode": "omit_properties", "events": [{"name": "Newsletter Joined", "properties": {"topic": {"type": "string"}}}]});
    for (part, body) in [("pii-policy", policy), ("tracking-plan", plan)] {
        let r = admin_put(&w.url(&format!("/admin/sources/{id}/{part}")), &body.to_string())?;
        check(r.status == 200, || format!("PUT {part}: {} {}", r.status, r.body))?;
    }

    let mut browser = Browser::start()?;
    browser.goto(&w.url("/healthz"))?;
    let load = format!(
        "import('/sdk/cairn.js').then((m) => new Promise((resolve) => {{ \
           m.default.load({key:?}, {{consent: 'opt-out', autocapture: false}}); m.default.ready(resolve); }}))\
         .then(() => cairn.user().anonymousId)"
    );
    let anonymous_id = browser.eval(&load)?.as_str().ok_or("no anonymousId")?.to_owned();
    browser.eval(
        "cairn.track('Form Sent', {ssn: '123-45-6789', topic: 'tax'});
         cairn.track('Contact Saved', {secret: 'sesame-4242'});
         cairn.track('Newsletter Joined', {topic: 'shoes', coupon: 'SAVE-77-COUPON'});
         cairn.identify('guarded-user', {email: 'guard@example.com', phone: '+1 415 555 0100'});
         cairn.track('Viewed', {note: 'call me on +1 415 555 0100'});
         cairn.flush()",
    )?;
    let stored = wait_for_stored(w, &anonymous_id, &["Newsletter Joined", "identify", "Viewed"])?;
    // More of the same when the page goes away: its beacon is screened too.
    // (The page stays, so DevTools still sees what it sends.)
    browser.eval(
        "cairn.track('Form Sent', {ssn: '321-54-9876'}); cairn.track('Left', {});
         dispatchEvent(new PageTransitionEvent('pagehide'))",
    )?;
    wait_for_stored(w, &anonymous_id, &["Newsletter Joined", "identify", "Viewed", "Left"])?;

    let sent = browser.requests_to("")?;
    let text = serde_json::to_string(&sent).map_err(|e| e.to_string())?;
    for secret in ["123-45-6789", "321-54-9876", "sesame-4242", "SAVE-77-COUPON", "415 555 0100", "Contact Saved"] {
        check(!text.contains(secret), || format!("{secret} left the browser: {text}"))?;
    }
    let fetched = |needle: &str| sent.iter().any(|r| r["url"].as_str().is_some_and(|u| u.contains(needle)));
    check(fetched(&format!("/v1/projects/{key}/settings")) && fetched("cairn_sdk_guard_bg.wasm"), || {
        format!("the rules and the guard were not fetched: {text}")
    })?;
    let posts = sent_bodies(&mut browser)?;
    check(posts.len() == 2 && posts[1].contains("\"Left\""), || format!("a request, then a beacon: {posts:?}"))?;

    // What the worker stored: the unplanned coupon and the phone never came;
    // the email came and was hashed before it was stored.
    check(stored[0]["properties"] == json!({"topic": "shoes"}), || format!("planned: {}", stored[0]))?;
    let traits = &stored[1]["traits"];
    check(traits["phone"] == "[redacted]", || format!("traits: {traits}"))?;
    check(traits["email"].as_str().is_some_and(|e| e.len() == 64 && !e.contains('@')), || format!("traits: {traits}"))?;
    check(stored[2]["properties"]["note"] == "call me on [redacted]", || format!("free text: {}", stored[2]))?;
    Ok(())
}
