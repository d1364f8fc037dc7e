//! The SDK's `Cairn` class in a real browser (headless Chromium through
//! wasm-bindgen-test-runner; `cargo xtask test` runs it): consent gating,
//! batching, retries, beacons, the saved queue, page context and identity.
//! Each test makes its own `Cairn`; bodies are parsed with serde_json.

#![cfg(target_arch = "wasm32")]

use cairn_sdk::{Cairn, scrub};
use serde_json::{Value, json};
use wasm_bindgen::prelude::*;
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

const KEY: &str = "wk_browser_test";
/// What the loader passes (keepalive requests and beacons stay under 64 KiB).
const BATCH_BYTES: usize = 60 * 1024;

#[wasm_bindgen(inline_js = "
export function call_set_consent(c, v) { try { c.setConsent(v); return 'ok'; } catch (e) { return String(e); } }
export function call_pending(c) { try { return String(c.pending()); } catch (e) { return String(e); } }
export function call_platforms(c) {
  const out = [];
  for (const v of [undefined, null, 0, 'x', {}, [], {1: true}, {analytics_storage: true}]) {
    try { c.setConsentTcf(v, true); c.setConsentGoogle(v, false); out.push('ok'); } catch (e) { out.push(String(e)); }
  }
  return out.join(',');
}
")]
extern "C" {
    /// `c.setConsentTcf(v, true)` and `c.setConsentGoogle(v, false)` for odd
    /// values through the JS class: `ok` or the error, for each.
    fn call_platforms(c: &JsValue) -> String;
    /// `c.setConsent(v)` through the JS class, as the loader calls it: `ok` or the error.
    fn call_set_consent(c: &JsValue, v: &JsValue) -> String;
    /// `c.pending()` through the JS class: the count or the error.
    fn call_pending(c: &JsValue) -> String;
}

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = history, js_name = replaceState)]
    fn replace_state(state: &JsValue, unused: &str, url: &str);
}

// ---------------------------------------------------------------- helpers

fn ok<T>(r: Result<T, JsError>) -> T {
    r.unwrap_or_else(|e| panic!("unexpected error: {}", message(e)))
}

fn message(e: JsError) -> String {
    js_sys::Reflect::get(&JsValue::from(e), &"message".into()).ok().and_then(|m| m.as_string()).unwrap_or_default()
}

fn cairn(mode: &str) -> Cairn {
    ok(Cairn::new(KEY.into(), mode))
}

/// A consent choice as the page passes it (a plain object).
fn choice(json: &str) -> JsValue {
    js_sys::JSON::parse(json).expect("consent JSON")
}

fn parse(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

fn batch(body: &Value) -> &Vec<Value> {
    body["batch"].as_array().expect("a batch array")
}

fn field(body: &Value, key: &str) -> Vec<String> {
    batch(body).iter().map(|m| m[key].as_str().unwrap_or_default().to_owned()).collect()
}

fn events(body: &Value) -> Vec<String> {
    field(body, "event")
}

fn ids(body: &Value) -> Vec<String> {
    field(body, "messageId")
}

/// Sends everything like the loader does against an API that answers 200:
/// the bodies, in order.
fn deliver_all(c: &mut Cairn, max_bytes: usize) -> Vec<Value> {
    let mut bodies = Vec::new();
    while let Some(body) = c.take_batch(max_bytes) {
        assert!(c.take_batch(max_bytes).is_none(), "one request in flight at a time");
        bodies.push(parse(&body));
        let next = c.ack(Some(200), None, 0.5);
        assert_eq!(next, if c.pending() == 0 { -1.0 } else { 0.0 });
    }
    bodies
}

fn all_messages(bodies: &[Value]) -> Vec<Value> {
    bodies.iter().flat_map(|b| batch(b).iter().cloned()).collect()
}

fn track_n(c: &mut Cairn, prefix: &str, n: usize) {
    for i in 0..n {
        ok(c.track(&format!("{prefix}{i}"), &format!(r#"{{"i":{i}}}"#)));
    }
}

/// `globalThis[object][key]` as a string (`document.referrer`).
fn global(object: &str, key: &str) -> Option<String> {
    let object = js_sys::Reflect::get(&js_sys::global(), &object.into()).ok()?;
    js_sys::Reflect::get(&object, &key.into()).ok()?.as_string()
}

fn href() -> String {
    global("location", "href").expect("location.href")
}

fn now() -> f64 {
    js_sys::Date::now()
}

fn iso(ms: f64) -> String {
    String::from(js_sys::Date::new(&JsValue::from_f64(ms)).to_iso_string())
}

/// Lets the clock move on by `ms` (synchronously: the tests are sync).
fn wait(ms: f64) {
    let until = now() + ms;
    while now() < until {}
}

fn is_uuid_v4(s: &str) -> bool {
    let b = s.as_bytes();
    s.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit() && !c.is_ascii_uppercase(),
        })
        && b[14] == b'4'
        && matches!(b[19], b'8' | b'9' | b'a' | b'b')
}

fn prefs(analytics: bool, marketing: bool, personalization: bool) -> Value {
    json!({"necessary": true, "analytics": analytics, "marketing": marketing, "personalization": personalization})
}

// ---------------------------------------------------------------- consent

#[wasm_bindgen_test]
fn consent_mode_sets_the_state_before_any_choice() {
    // Only the exact text `opt-out` sends before a choice; everything else is opt-in.
    let cases =
        [("opt-in", false), ("opt-out", true), ("", false), ("OPT-OUT", false), ("optout", false), ("opt-out ", false)];
    for (mode, allowed) in cases {
        let c = cairn(mode);
        assert_eq!(
            parse(&c.get_consent()),
            json!({"chosen": false, "categoryPreferences": prefs(allowed, allowed, allowed)}),
            "mode {mode:?}"
        );
        assert_eq!(c.storage_allowed(), allowed, "mode {mode:?}");
    }
}

#[wasm_bindgen_test]
fn opt_in_holds_everything_before_consent() {
    let mut c = cairn("opt-in");
    for i in 0..105 {
        let due = ok(c.track(&format!("e{i}"), ""));
        assert!(!due, "held messages are never due (call {i})");
    }
    assert!(!ok(c.page(Some("Home".into()), "")));
    assert!(!ok(c.identify(Some("u1".into()), r#"{"plan":"pro"}"#)));
    assert!(!ok(c.group("g1", "")));
    assert!(!ok(c.alias(Some("u2".into()), None)));
    assert_eq!(c.pending(), 100, "at most 100 held");
    assert_eq!(c.take_batch(BATCH_BYTES), None);
    assert_eq!(c.drain_for_beacon(BATCH_BYTES), None);
    assert!(!c.storage_allowed());
    assert_eq!(parse(&c.get_consent())["chosen"], false);

    // Granting releases the newest 100: the oldest 9 tracks went.
    assert!(c.set_consent(&choice(r#"{"analytics":true}"#)));
    let sent = all_messages(&deliver_all(&mut c, BATCH_BYTES));
    let kinds: Vec<&str> = sent.iter().map(|m| m["type"].as_str().unwrap_or_default()).collect();
    assert_eq!(sent.len(), 100);
    assert_eq!(sent[0]["event"], "e9");
    assert_eq!(sent[95]["event"], "e104");
    assert_eq!(kinds[96..], ["page", "identify", "group", "alias"]);
}

#[wasm_bindgen_test]
fn granting_releases_held_messages_in_order_with_original_timestamps() {
    let mut c = cairn("opt-in");
    let recorded_from = iso(now());
    track_n(&mut c, "held", 3);
    let recorded_to = iso(now());
    wait(25.0);
    let granted_at = iso(now());

    assert!(c.set_consent(&choice(r#"{"analytics":true}"#)), "due once consent allows sending");
    assert!(c.storage_allowed());
    assert_eq!(parse(&c.get_consent()), json!({"chosen": true, "categoryPreferences": prefs(true, false, false)}));

    let body = parse(&c.take_batch(BATCH_BYTES).expect("released"));
    assert_eq!(events(&body), ["held0", "held1", "held2"]);
    assert_eq!(body["writeKey"], KEY);
    let sent_at = body["sentAt"].as_str().expect("sentAt");
    assert!(sent_at >= granted_at.as_str(), "sentAt {sent_at} is when it is sent");
    for m in batch(&body) {
        let at = m["originalTimestamp"].as_str().expect("originalTimestamp");
        assert!(at >= recorded_from.as_str() && at <= recorded_to.as_str(), "{at} is when it was recorded");
        assert!(m.get("timestamp").is_none(), "the server sets timestamp");
        assert_eq!(m["context"]["consent"]["categoryPreferences"], prefs(true, false, false));
    }

    // The consent is the one in force when a message is sent: a retry after
    // a new choice carries the new one, with the same messages.
    let first_ids = ids(&body);
    assert!(c.ack(None, None, 0.0) > 0.0);
    assert!(c.set_consent(&choice(r#"{"marketing":true,"personalization":true}"#)));
    let retry = parse(&c.take_batch(BATCH_BYTES).expect("retry"));
    assert_eq!(ids(&retry), first_ids);
    for m in batch(&retry) {
        assert_eq!(m["context"]["consent"]["categoryPreferences"], prefs(true, true, true));
    }
}

#[wasm_bindgen_test]
fn consent_choices_merge_and_decide_what_is_kept() {
    // (choice, categoryPreferences after it, whether the 3 held messages survive)
    let cases = [
        (r#"{"analytics":true}"#, prefs(true, false, false), true),
        (r#"{"analytics":true,"marketing":true,"personalization":true}"#, prefs(true, true, true), true),
        (r#"{"necessary":false,"analytics":true}"#, prefs(true, false, false), true),
        (r#"{"marketing":true}"#, prefs(false, true, false), false),
        (r#"{"analytics":"yes"}"#, prefs(false, false, false), false),
        (r#"{"analytics":1,"unknown":true}"#, prefs(false, false, false), false),
        ("{}", prefs(false, false, false), false),
    ];
    for (json, want, kept) in cases {
        let mut c = cairn("opt-in");
        track_n(&mut c, "e", 3);
        assert_eq!(c.set_consent(&choice(json)), kept, "{json}");
        assert_eq!(parse(&c.get_consent()), json!({"chosen": true, "categoryPreferences": want}), "{json}");
        assert_eq!(c.pending(), if kept { 3 } else { 0 }, "{json}");
        assert_eq!(c.storage_allowed(), kept, "{json}");
    }
}

#[wasm_bindgen_test]
fn withdrawing_consent_clears_the_queue() {
    let mut c = cairn("opt-out");
    track_n(&mut c, "before", 3);
    assert!(!c.set_consent(&choice(r#"{"analytics":false}"#)));
    assert_eq!(c.pending(), 0);
    assert_eq!(c.take_batch(BATCH_BYTES), None);
    assert_eq!(c.drain_for_beacon(BATCH_BYTES), None);
    assert!(!c.storage_allowed());

    // Recorded while withdrawn: held, never due, released by a new grant.
    for i in 0..12 {
        assert!(!ok(c.track(&format!("held{i}"), "")));
    }
    assert!(c.set_consent(&choice(r#"{"analytics":true}"#)));
    let sent = all_messages(&deliver_all(&mut c, BATCH_BYTES));
    assert_eq!(sent.len(), 12);
    assert_eq!(sent[0]["event"], "held0");
}

#[wasm_bindgen_test]
fn withdrawing_while_a_request_is_in_flight() {
    let mut c = cairn("opt-out");
    track_n(&mut c, "a", 2);
    assert!(c.take_batch(BATCH_BYTES).is_some());
    c.set_consent(&choice(r#"{"analytics":false}"#));
    assert_eq!(c.pending(), 0);
    // The answer to the request sent before withdrawal changes nothing.
    assert_eq!(c.ack(Some(200), None, 0.0), -1.0);
    c.set_consent(&choice(r#"{"analytics":true}"#));
    ok(c.track("after", ""));
    let sent = all_messages(&deliver_all(&mut c, BATCH_BYTES));
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0]["event"], "after");
}

// ---------------------------------------------------------------- consent platforms

/// A TCF `purpose.consents` object: `true` for the purposes given, `false` for the other of 1..=11.
fn purposes(granted: &[u8]) -> JsValue {
    let consents: serde_json::Map<String, Value> =
        (1..=11u8).map(|id| (id.to_string(), Value::Bool(granted.contains(&id)))).collect();
    choice(&Value::Object(consents).to_string())
}

#[wasm_bindgen_test]
fn tcf_purposes_decide_the_categories() {
    // (purposes with consent, categoryPreferences, whether 3 held messages go out)
    let cases: [(&[u8], Value, bool); 7] = [
        (&[], prefs(false, false, false), false),
        (&[2, 3, 4, 5, 6, 7, 8, 9, 10], prefs(false, false, false), false),
        (&[1], prefs(false, false, false), false),
        (&[1, 7, 8, 9], prefs(false, false, false), false),
        (&[1, 7, 8, 9, 10], prefs(true, false, false), true),
        (&[1, 2, 3, 4, 5, 6], prefs(false, true, true), false),
        (&[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11], prefs(true, true, true), true),
    ];
    for (granted, want, sent) in cases {
        let mut c = cairn("opt-in");
        track_n(&mut c, "held", 3);
        assert_eq!(c.set_consent_tcf(&purposes(granted), true), sent, "{granted:?}");
        assert_eq!(parse(&c.get_consent()), json!({"chosen": true, "categoryPreferences": want}), "{granted:?}");
        assert_eq!(c.pending(), if sent { 3 } else { 0 }, "{granted:?}");
        assert_eq!(c.storage_allowed(), sent, "{granted:?}");
        let bodies = deliver_all(&mut c, BATCH_BYTES);
        for m in all_messages(&bodies) {
            assert_eq!(m["context"]["consent"]["categoryPreferences"], want, "{granted:?}");
        }
        assert_eq!(all_messages(&bodies).len(), if sent { 3 } else { 0 }, "{granted:?}");
    }
}

#[wasm_bindgen_test]
fn tcf_only_true_is_consent_and_without_gdpr_all_is_allowed() {
    // What a CMP might pass that is not `true`: no consent.
    for odd in [
        r#"{"1":1,"7":1,"8":1,"9":1,"10":1}"#,
        r#"{"1":"true","7":"true","8":"true","9":"true","10":"true"}"#,
        "{}",
        "null",
        "true",
        r#""1,7,8,9,10""#,
    ] {
        let mut c = cairn("opt-out");
        track_n(&mut c, "e", 2);
        assert!(!c.set_consent_tcf(&choice(odd), true), "{odd}");
        assert_eq!(parse(&c.get_consent())["categoryPreferences"], prefs(false, false, false), "{odd}");
        assert_eq!(c.pending(), 0, "{odd}");
    }
    let mut c = cairn("opt-in");
    assert!(!c.set_consent_tcf(&JsValue::UNDEFINED, true), "nothing queued");
    assert_eq!(parse(&c.get_consent())["categoryPreferences"], prefs(false, false, false));
    // An array indexed by purpose id is read like the object: key "1" is index 1.
    let mut c = cairn("opt-in");
    assert!(!c.set_consent_tcf(&choice("[false,true,false,false,false,false,false,true,true,true,true]"), true));
    assert_eq!(parse(&c.get_consent())["categoryPreferences"], prefs(true, false, false));

    // gdprApplies false: the TCF grants nothing and asks for nothing; everything is allowed.
    for consents in [JsValue::UNDEFINED, purposes(&[]), purposes(&[1, 7])] {
        let mut c = cairn("opt-in");
        track_n(&mut c, "e", 2);
        assert!(c.set_consent_tcf(&consents, false));
        assert_eq!(parse(&c.get_consent()), json!({"chosen": true, "categoryPreferences": prefs(true, true, true)}));
        assert_eq!(all_messages(&deliver_all(&mut c, BATCH_BYTES)).len(), 2);
    }
}

#[wasm_bindgen_test]
fn a_platform_decision_replaces_the_one_before() {
    let mut c = cairn("opt-in");
    // A choice of the site's own, then the platform's: nothing of the first is kept.
    c.set_consent(&choice(r#"{"analytics":true,"marketing":true,"personalization":true}"#));
    assert!(!c.set_consent_tcf(&purposes(&[1, 7, 8, 9, 10]), true), "nothing queued");
    assert_eq!(parse(&c.get_consent())["categoryPreferences"], prefs(true, false, false));

    // Withdrawal through the platform drops the queue, even with a request in flight.
    track_n(&mut c, "a", 3);
    assert!(c.take_batch(BATCH_BYTES).is_some());
    assert!(!c.set_consent_tcf(&purposes(&[2, 3, 4, 7, 8, 9, 10]), true));
    assert_eq!(c.pending(), 0);
    assert!(!c.storage_allowed());
    assert_eq!(c.ack(Some(200), None, 0.0), -1.0);
    track_n(&mut c, "held", 2);
    assert_eq!(c.take_batch(BATCH_BYTES), None);
    assert_eq!(c.drain_for_beacon(BATCH_BYTES), None);

    // Granting again releases what was held since; Google Consent Mode replaces TCF alike.
    assert!(c.set_consent_google(&choice(r#"{"analytics_storage":true,"ad_storage":true}"#), true));
    assert_eq!(parse(&c.get_consent())["categoryPreferences"], prefs(true, false, false));
    assert_eq!(events(&parse(&c.take_batch(BATCH_BYTES).expect("released"))), ["held0", "held1"]);
}

#[wasm_bindgen_test]
fn google_consent_mode_signals_decide_the_categories() {
    // (granted signals, categoryPreferences)
    let cases: [(&[&str], Value); 6] = [
        (&[], prefs(false, false, false)),
        (&["analytics_storage"], prefs(true, false, false)),
        (&["ad_storage", "ad_user_data"], prefs(false, false, false)),
        (&["ad_storage", "ad_user_data", "ad_personalization"], prefs(false, true, false)),
        (&["personalization_storage", "functionality_storage", "security_storage"], prefs(false, false, true)),
        (
            &["analytics_storage", "ad_storage", "ad_user_data", "ad_personalization", "personalization_storage"],
            prefs(true, true, true),
        ),
    ];
    for (granted, want) in cases {
        let state: serde_json::Map<String, Value> = [
            "analytics_storage",
            "ad_storage",
            "ad_user_data",
            "ad_personalization",
            "personalization_storage",
            "functionality_storage",
            "security_storage",
        ]
        .into_iter()
        .map(|k| (k.to_owned(), Value::Bool(granted.contains(&k))))
        .collect();
        for chosen in [false, true] {
            let mut c = cairn("opt-in");
            track_n(&mut c, "held", 2);
            let sent = want["analytics"] == true;
            assert_eq!(c.set_consent_google(&choice(&Value::Object(state.clone()).to_string()), chosen), sent);
            assert_eq!(parse(&c.get_consent()), json!({"chosen": chosen, "categoryPreferences": want}), "{granted:?}");
            assert_eq!(c.pending(), if sent { 2 } else { 0 }, "{granted:?}");
        }
    }
    // Only `true` grants (the loader turns "granted" into true); a missing signal denies.
    for odd in [
        r#"{"analytics_storage":"granted"}"#,
        r#"{"analytics_storage":1}"#,
        r#"{"ad_storage":true,"ad_user_data":true,"ad_personalization":"true"}"#,
        "{}",
        "null",
        "[true]",
        r#""granted""#,
    ] {
        let mut c = cairn("opt-out");
        track_n(&mut c, "e", 2);
        assert!(!c.set_consent_google(&choice(odd), true), "{odd}");
        assert_eq!(parse(&c.get_consent())["categoryPreferences"], prefs(false, false, false), "{odd}");
        assert_eq!(c.pending(), 0, "{odd}");
    }
}

#[wasm_bindgen_test]
fn platform_setters_through_the_js_class() {
    // As the loader calls them, with whatever a platform hands over; none throws.
    let c = JsValue::from(cairn("opt-in"));
    assert_eq!(call_platforms(&c), ["ok"; 8].join(","));
}

// ---------------------------------------------------------------- batching

#[wasm_bindgen_test]
fn batches_split_under_max_bytes_and_keep_order() {
    for max_bytes in [1, 700, 1_500, 4_000, 20_000, BATCH_BYTES] {
        let mut c = cairn("opt-out");
        for i in 0..25 {
            let pad = "x".repeat(i * 37);
            ok(c.track(&format!("e{i}"), &format!(r#"{{"i":{i},"pad":"{pad}"}}"#)));
        }
        let mut sent = Vec::new();
        while let Some(body) = c.take_batch(max_bytes) {
            let parsed = parse(&body);
            let n = batch(&parsed).len();
            assert!(body.len() <= max_bytes || n == 1, "max {max_bytes}: {} bytes in {n} messages", body.len());
            sent.extend(events(&parsed));
            c.ack(Some(200), None, 0.0);
        }
        let want: Vec<String> = (0..25).map(|i| format!("e{i}")).collect();
        assert_eq!(sent, want, "max {max_bytes}");
    }
}

#[wasm_bindgen_test]
fn a_batch_is_due_at_ten_messages_or_60_kb() {
    let mut c = cairn("opt-out");
    let dues: Vec<bool> = (0..11)
        .map(|i| match i % 5 {
            0 => ok(c.track("t", "")),
            1 => ok(c.page(None, "")),
            2 => ok(c.identify(Some("u".into()), "")),
            3 => ok(c.group("g", "")),
            _ => ok(c.alias(Some("u".into()), None)),
        })
        .collect();
    assert_eq!(dues, [false, false, false, false, false, false, false, false, false, true, true]);

    let mut big = cairn("opt-out");
    let pad = "y".repeat(61 * 1024);
    assert!(ok(big.track("Big", &format!(r#"{{"pad":"{pad}"}}"#))), "60 KB queued is due");
    let body = big.take_batch(BATCH_BYTES).expect("a message over the limit goes alone");
    assert_eq!(batch(&parse(&body)).len(), 1);
}

// ---------------------------------------------------------------- answers

#[derive(Debug, Clone, Copy, PartialEq)]
enum Want {
    /// The batch is gone (delivered or refused for good).
    Gone,
    /// Kept; retried after a delay in this range (ms).
    Retry(f64, f64),
}

#[wasm_bindgen_test]
fn answers_decide_what_happens_to_the_batch() {
    let cases: [(Option<u16>, Option<&str>, f64, Want); 14] = [
        (Some(200), None, 0.0, Want::Gone),
        (Some(204), None, 0.0, Want::Gone),
        (Some(400), None, 0.0, Want::Gone),
        (Some(401), None, 0.0, Want::Gone),
        (Some(413), None, 0.0, Want::Gone),
        (Some(500), None, 0.0, Want::Retry(250.0, 250.0)),
        (Some(503), None, 0.999, Want::Retry(499.0, 499.0)),
        (Some(502), None, 0.5, Want::Retry(250.0, 499.0)),
        (None, None, 0.3, Want::Retry(250.0, 499.0)),
        (Some(408), None, 0.0, Want::Retry(250.0, 250.0)),
        (Some(429), Some("7"), 0.9, Want::Retry(7_000.0, 7_000.0)),
        (Some(503), Some(" 2 "), 0.0, Want::Retry(2_000.0, 2_000.0)),
        (Some(429), Some("soon"), 0.0, Want::Retry(250.0, 250.0)),
        (Some(429), Some("-1"), 1.0, Want::Retry(250.0, 500.0)),
    ];
    for (status, retry_after, jitter, want) in cases {
        let case = format!("{status:?} Retry-After {retry_after:?}");
        let mut c = cairn("opt-out");
        track_n(&mut c, "e", 4);
        // Two requests' worth: the answer is about the first only.
        let first = parse(&c.take_batch(1).expect("first"));
        assert_eq!(events(&first), ["e0"], "{case}");
        let next = c.ack(status, retry_after.map(String::from), jitter);
        match want {
            Want::Gone => {
                assert_eq!(next, 0.0, "{case}: more to send at once");
                assert_eq!(c.pending(), 3, "{case}");
                let rest = all_messages(&deliver_all(&mut c, BATCH_BYTES));
                assert_eq!(rest.iter().map(|m| m["event"].clone()).collect::<Vec<_>>(), ["e1", "e2", "e3"], "{case}");
            }
            Want::Retry(lo, hi) => {
                assert!((lo..=hi).contains(&next), "{case}: delay {next} not in {lo}..={hi}");
                assert_eq!(c.pending(), 4, "{case}");
                let again = parse(&c.take_batch(1).expect("retry"));
                assert_eq!(ids(&again), ids(&first), "{case}: the same message again");
            }
        }
    }
}

#[wasm_bindgen_test]
fn the_last_answer_reports_all_sent() {
    let mut c = cairn("opt-out");
    ok(c.track("only", ""));
    assert!(c.take_batch(BATCH_BYTES).is_some());
    assert_eq!(c.ack(Some(200), None, 0.0), -1.0);
    assert_eq!(c.pending(), 0);
    assert_eq!(c.take_batch(BATCH_BYTES), None);
}

#[wasm_bindgen_test]
fn retries_back_off_then_give_up() {
    for jitter in [0.0, 0.5, 1.0] {
        let mut c = cairn("opt-out");
        track_n(&mut c, "e", 2);
        let mut delays = Vec::new();
        let first = parse(&c.take_batch(1).expect("first"));
        loop {
            let delay = c.ack(None, None, jitter);
            if delay <= 0.0 {
                break;
            }
            delays.push(delay);
            let again = parse(&c.take_batch(1).expect("retry"));
            assert_eq!(ids(&again), ids(&first));
        }
        assert_eq!(delays.len(), 9, "jitter {jitter}: 10 tries in all, then dropped: {delays:?}");
        assert!(delays.iter().all(|d| (250.0..=60_000.0).contains(d)), "jitter {jitter}: {delays:?}");
        assert!(delays.windows(2).all(|w| w[0] <= w[1]), "jitter {jitter}: grows: {delays:?}");
        assert_eq!(c.pending(), 1, "only the failing message went");
        // The next batch starts a fresh schedule.
        assert!(c.take_batch(1).is_some());
        let delay = c.ack(Some(503), None, 0.0);
        assert_eq!(delay, 250.0, "jitter {jitter}");
    }
}

#[wasm_bindgen_test]
fn retry_after_is_honoured_beyond_the_backoff_cap() {
    let mut c = cairn("opt-out");
    ok(c.track("e", ""));
    assert!(c.take_batch(BATCH_BYTES).is_some());
    assert_eq!(c.ack(Some(429), Some("3600".into()), 0.0), 3_600_000.0);
    assert_eq!(c.pending(), 1);
}

// ---------------------------------------------------------------- beacon

#[wasm_bindgen_test]
fn drain_for_beacon_takes_what_is_not_in_flight() {
    let mut c = cairn("opt-out");
    for i in 0..30 {
        ok(c.track(&format!("e{i}"), &format!(r#"{{"pad":"{}"}}"#, "z".repeat(300))));
    }
    let in_flight = events(&parse(&c.take_batch(3_000).expect("in flight")));
    assert!(!in_flight.is_empty() && in_flight.len() < 30);

    let mut beaconed = Vec::new();
    let mut beacons = 0;
    while let Some(body) = c.drain_for_beacon(5_000) {
        let parsed = parse(&body);
        assert!(body.len() <= 5_000 || batch(&parsed).len() == 1);
        assert_eq!(parsed["writeKey"], KEY);
        beaconed.extend(events(&parsed));
        beacons += 1;
    }
    assert!(beacons > 1, "split into several beacons");
    let want: Vec<String> = (in_flight.len()..30).map(|i| format!("e{i}")).collect();
    assert_eq!(beaconed, want, "everything not in flight, in order, once");
    assert_eq!(c.pending(), in_flight.len(), "the request in flight keeps its messages");
    assert_eq!(c.ack(Some(200), None, 0.0), -1.0);
    assert_eq!(c.pending(), 0);
}

#[wasm_bindgen_test]
fn nothing_is_beaconed_without_consent() {
    let mut c = cairn("opt-in");
    track_n(&mut c, "e", 3);
    assert_eq!(c.drain_for_beacon(BATCH_BYTES), None);
    assert_eq!(c.pending(), 3);
}

// ---------------------------------------------------------------- saved queue

#[wasm_bindgen_test]
fn saved_queue_round_trips_into_a_new_page() {
    let mut old = cairn("opt-out");
    assert_eq!(old.saved(), "", "nothing to keep");
    track_n(&mut old, "old", 3);
    ok(old.identify(Some("u1".into()), r#"{"plan":"pro"}"#));
    // What was delivered is not saved.
    assert!(old.take_batch(1).is_some());
    old.ack(Some(200), None, 0.0);
    let saved = old.saved();
    let lines: Vec<&str> = saved.split('\n').collect();
    assert_eq!(lines.len(), 3, "{saved}");
    for line in &lines {
        let (at, head) = line.split_once(' ').expect("`<ms> <message>`");
        assert!(at.parse::<u64>().is_ok(), "{line}");
        assert!(head.starts_with(r#"{"type":"#), "{line}");
    }
    let old_body = parse(&old.take_batch(BATCH_BYTES).expect("old queue"));

    // The next page: its own message first, then the saved text with junk around.
    let mut new = cairn("opt-out");
    ok(new.track("new0", ""));
    let text = format!(
        "garbage\n\n{}\n12 not a message\nabc {{\"type\":\"track\"}}\n{}\n   \n{}\n",
        lines[0], lines[1], lines[2]
    );
    assert!(!new.load_saved(&text), "4 messages, just recorded: not due");
    assert_eq!(new.pending(), 4);
    let sent = all_messages(&deliver_all(&mut new, BATCH_BYTES));
    let got: Vec<&str> = sent.iter().map(|m| m["messageId"].as_str().unwrap_or_default()).collect();
    let mut want: Vec<String> = ids(&old_body);
    want.push(sent[3]["messageId"].as_str().unwrap_or_default().to_owned());
    assert_eq!(got, want, "restored first, messageIds unchanged");
    assert_eq!(sent[3]["event"], "new0");
    let mut unique = got.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(unique.len(), 4, "no duplicates");
    for (m, o) in sent.iter().zip(batch(&old_body)) {
        assert_eq!(m["originalTimestamp"], o["originalTimestamp"]);
        assert_eq!(m["anonymousId"], o["anonymousId"]);
        assert_eq!(m["userId"], o["userId"]);
    }
    assert_eq!(sent[2]["traits"], json!({"plan": "pro"}));
}

#[wasm_bindgen_test]
fn old_saved_messages_are_due_at_once() {
    let mut old = cairn("opt-out");
    ok(old.track("old", ""));
    let saved = old.saved();
    let (_, head) = saved.split_once(' ').expect("a line");
    let mut new = cairn("opt-out");
    assert!(new.load_saved(&format!("{} {head}", now() as u64 - 60_000)), "a minute old: due");
    assert!(!cairn("opt-out").load_saved("not a message"), "nothing restored: not due");
}

#[wasm_bindgen_test]
fn saved_keeps_the_newest_messages_within_512_kb() {
    let mut c = cairn("opt-out");
    for i in 0..1_005 {
        ok(c.track(&format!("e{i}"), &format!(r#"{{"pad":"{}"}}"#, "s".repeat(900))));
    }
    assert_eq!(c.pending(), 1_000, "at most 1000 kept while the API cannot be reached");
    let saved = c.saved();
    let lines: Vec<&str> = saved.split('\n').collect();
    assert!(lines.len() < 1_000);
    // One message's worth of slack: the limit counts messages, not line prefixes.
    assert!(saved.len() <= 512 * 1024 + 16 * lines.len(), "{} bytes", saved.len());
    assert!(lines.last().is_some_and(|l| l.contains(r#""event":"e1004""#)), "the newest is kept");
    let mut restored = cairn("opt-out");
    restored.load_saved(&saved);
    assert_eq!(restored.pending(), lines.len());
}

// ---------------------------------------------------------------- page and messages

#[wasm_bindgen_test]
fn page_context_comes_from_the_location() {
    let original = href();
    let document = js_sys::Reflect::get(&js_sys::global(), &"document".into()).expect("document");
    let set_title = |t: &str| js_sys::Reflect::set(&document, &"title".into(), &t.into()).expect("title");
    let referrer = global("document", "referrer").unwrap_or_default();
    let language = global("navigator", "language");

    // (path and query set on the page, title, page fields, campaign)
    let cases = [
        (
            "/products/trail-runner?utm_source=news%20letter&utm_medium=email&utm_campaign=winter+sale&x=1#reviews",
            "Trail \"Runner\" ✓",
            "/products/trail-runner",
            "?utm_source=news%20letter&utm_medium=email&utm_campaign=winter+sale&x=1",
            Some(json!({"source": "news letter", "medium": "email", "name": "winter sale"})),
        ),
        ("/", "", "/", "", None),
        ("/a/b/?page=2", "B", "/a/b/", "?page=2", None),
        (
            "/c?utm_term=shoes&utm_content=%E2%9C%93",
            "C",
            "/c",
            "?utm_term=shoes&utm_content=%E2%9C%93",
            Some(json!({"term": "shoes", "content": "✓"})),
        ),
    ];
    for (url, title, path, search, campaign) in cases {
        replace_state(&JsValue::NULL, "", url);
        set_title(title);
        let mut c = cairn("opt-out");
        ok(c.page(Some("Product".into()), r#"{"section":"shoes"}"#));
        ok(c.page(None, ""));
        let body = parse(&c.take_batch(BATCH_BYTES).expect("pages"));
        let (named, unnamed) = (&batch(&body)[0], &batch(&body)[1]);
        assert_eq!(named["type"], "page");
        assert_eq!(named["name"], "Product");
        assert_eq!(named["properties"], json!({"section": "shoes"}));
        assert!(unnamed.get("name").is_none());
        assert_eq!(unnamed["properties"], json!({}));
        let href = href();
        let page_url = href.split('#').next().unwrap_or_default();
        let ctx = &named["context"];
        assert_eq!(
            ctx["page"],
            json!({"path": path, "referrer": referrer, "search": search, "title": title, "url": page_url}),
            "{url}"
        );
        assert_eq!(ctx.get("campaign").cloned(), campaign, "{url}");
        assert_eq!(ctx["library"], json!({"name": "cairn-sdk", "version": env!("CARGO_PKG_VERSION")}));
        assert_eq!(ctx.get("locale").and_then(Value::as_str), language.as_deref());
        assert_eq!(unnamed["context"]["page"], ctx["page"]);
    }
    replace_state(&JsValue::NULL, "", &original);
    set_title("");
}

#[wasm_bindgen_test]
fn messages_follow_the_spec_shape() {
    let mut c = cairn("opt-out");
    ok(c.track("Order Completed", r#"{"total":12.5,"items":[{"sku":"a"}],"nested":{"ok":true}}"#));
    ok(c.identify(Some("u1".into()), r#"{"email":"a@example.com"}"#));
    ok(c.group("acme", r#"{"plan":"team"}"#));
    let body = parse(&c.take_batch(BATCH_BYTES).expect("batch"));
    let [track, identify, group] = batch(&body).as_slice() else { panic!("3 messages: {body}") };
    assert_eq!(track["type"], "track");
    assert_eq!(track["event"], "Order Completed");
    assert_eq!(track["properties"], json!({"total": 12.5, "items": [{"sku": "a"}], "nested": {"ok": true}}));
    assert!(track.get("userId").is_none(), "no userId before identify");
    assert_eq!(identify["type"], "identify");
    assert_eq!(identify["userId"], "u1");
    assert_eq!(identify["traits"], json!({"email": "a@example.com"}));
    assert_eq!(group["type"], "group");
    assert_eq!(group["groupId"], "acme");
    assert_eq!(group["userId"], "u1");
    assert_eq!(group["traits"], json!({"plan": "team"}));
    for m in batch(&body) {
        assert!(is_uuid_v4(m["messageId"].as_str().unwrap_or_default()), "{m}");
        assert_eq!(m["anonymousId"], c.anonymous_id());
    }
    let mut all = ids(&body);
    all.sort_unstable();
    all.dedup();
    assert_eq!(all.len(), 3);
}

#[wasm_bindgen_test]
fn text_fields_are_escaped_into_valid_json() {
    let names = [
        "plain",
        "quote \" and backslash \\",
        "new\nline\ttab\r",
        "control \u{1} \u{1f} \u{8} \u{c}",
        "unicode ✓ 日本 🎉 \u{2028}",
        "</script><script>",
    ];
    for name in names {
        let mut c = cairn("opt-out");
        ok(c.track(name, ""));
        ok(c.identify(Some(name.into()), ""));
        ok(c.group(name, ""));
        let body = parse(&c.take_batch(BATCH_BYTES).expect("batch"));
        assert_eq!(body["batch"][0]["event"], name);
        assert_eq!(body["batch"][2]["groupId"], name);
        assert_eq!(body["batch"][1]["userId"], name);
    }
    // Empty names are refused: the API would reject those messages.
    let mut c = cairn("opt-out");
    assert!(c.track("", "").is_err() && c.group("", "").is_err() && c.alias(None, None).is_err());
    assert_eq!(c.pending(), 0);
    let mut odd_key = ok(Cairn::new("key \"with\" quotes\\".into(), "opt-out"));
    ok(odd_key.track("e", ""));
    let body = parse(&odd_key.take_batch(BATCH_BYTES).expect("batch"));
    assert_eq!(body["writeKey"], "key \"with\" quotes\\");
}

#[wasm_bindgen_test]
fn properties_and_traits_must_be_objects() {
    // (JSON text from the loader, Ok(what the message carries) or an error)
    let cases: [(&str, Option<Value>); 10] = [
        ("", Some(json!({}))),
        ("{}", Some(json!({}))),
        (r#"{"a":1,"b":[true,null]}"#, Some(json!({"a": 1, "b": [true, null]}))),
        ("[1,2]", None),
        (r#""text""#, None),
        ("1", None),
        ("null", None),
        ("true", None),
        ("[]", None),
        ("{", None),
    ];
    for (text, want) in cases {
        let mut c = cairn("opt-out");
        ok(c.identify(Some("before".into()), ""));
        let results = [
            ("track", c.track("E", text).map(drop)),
            ("page", c.page(Some("P".into()), text).map(drop)),
            ("identify", c.identify(Some("after".into()), text).map(drop)),
            ("group", c.group("g", text).map(drop)),
        ];
        let mut recorded = 0;
        for (call, result) in results {
            match (&want, result) {
                (Some(_), Ok(())) => recorded += 1,
                (None, Err(e)) => assert_eq!(message(e), "cairn: properties and traits must be an object"),
                (_, Ok(())) => panic!("{call}({text:?}) was accepted"),
                (_, Err(e)) => panic!("{call}({text:?}) failed: {}", message(e)),
            }
        }
        assert_eq!(c.pending(), 1 + recorded, "{text:?}: refused calls record nothing");
        let body = parse(&c.take_batch(BATCH_BYTES).expect("batch"));
        match want {
            Some(v) => {
                let kinds = ["properties", "properties", "traits", "traits"];
                for (m, key) in batch(&body)[1..].iter().zip(kinds) {
                    assert_eq!(m[key], v, "{text:?}");
                }
                assert_eq!(c.user_id().as_deref(), Some("after"));
            }
            None => assert_eq!(c.user_id().as_deref(), Some("before"), "{text:?}: a refused identify changes nothing"),
        }
    }
}

// ---------------------------------------------------------------- identity

#[wasm_bindgen_test]
fn identify_reset_and_restore() {
    let mut c = cairn("opt-out");
    let anon = c.anonymous_id();
    assert!(is_uuid_v4(&anon), "{anon}");
    assert_ne!(cairn("opt-out").anonymous_id(), anon, "each visitor its own");
    assert_eq!(c.user_id(), None);

    // (userId passed, userId after)
    for (given, want) in
        [(Some("u1"), Some("u1")), (None, Some("u1")), (Some(""), Some("u1")), (Some("u2"), Some("u2"))]
    {
        ok(c.identify(given.map(String::from), ""));
        assert_eq!(c.user_id().as_deref(), want, "identify({given:?})");
    }

    c.reset().expect("reset");
    assert_eq!(c.user_id(), None);
    let fresh = c.anonymous_id();
    assert!(is_uuid_v4(&fresh) && fresh != anon, "{fresh}");
    ok(c.track("after reset", ""));
    let body = parse(&c.take_batch(BATCH_BYTES).expect("batch"));
    let last = batch(&body).last().expect("a message");
    assert_eq!(last["anonymousId"], fresh.as_str());
    assert!(last.get("userId").is_none());
    c.ack(Some(200), None, 0.0);

    // (anonymousId, userId) kept on the device -> what the SDK uses
    let cases = [
        ("kept-anon", Some("kept-user"), "kept-anon", Some("kept-user")),
        ("", Some("u"), "kept-anon", Some("u")),
        ("other", None, "other", None),
        ("x", Some(""), "x", None),
    ];
    for (aid, uid, want_aid, want_uid) in cases {
        c.restore(aid.into(), uid.map(String::from));
        assert_eq!(
            (c.anonymous_id().as_str(), c.user_id().as_deref()),
            (want_aid, want_uid),
            "restore({aid:?}, {uid:?})"
        );
    }
    ok(c.track("restored", ""));
    let body = parse(&c.take_batch(BATCH_BYTES).expect("batch"));
    assert_eq!(body["batch"][0]["anonymousId"], "x");
}

#[wasm_bindgen_test]
fn alias_links_the_previous_identity() {
    // (userId before, previousId passed, previousId sent)
    let cases =
        [(None, None, "<anon>"), (Some("u1"), None, "u1"), (Some("u1"), Some("p9"), "p9"), (None, Some("p9"), "p9")];
    for (before, previous, want) in cases {
        let mut c = cairn("opt-out");
        if let Some(u) = before {
            ok(c.identify(Some(u.into()), ""));
        }
        let anon = c.anonymous_id();
        ok(c.alias(Some("new-user".into()), previous.map(String::from)));
        assert_eq!(c.user_id().as_deref(), Some("new-user"));
        let body = parse(&c.take_batch(BATCH_BYTES).expect("batch"));
        let alias = batch(&body).last().expect("alias");
        assert_eq!(alias["type"], "alias");
        assert_eq!(alias["userId"], "new-user");
        let want = if want == "<anon>" { anon.as_str() } else { want };
        assert_eq!(alias["previousId"], want, "before {before:?}, previous {previous:?}");
    }
}

// ---------------------------------------------------------------- scrub

#[wasm_bindgen_test]
fn scrub_hides_emails_and_long_numbers() {
    let cases = [
        ("Add to cart", "Add to cart"),
        ("Contact jane.doe@example.com now", "Contact [redacted] now"),
        ("(jane@example.co.uk)", "[redacted]"),
        ("Call +1 (555) 123-4567 today", "Call [redacted] today"),
        ("Card 4111 1111 1111 1111", "Card [redacted]"),
        ("Order 123456", "Order 123456"),
        ("Order 1234567", "Order [redacted]"),
        ("Size 42, qty 3", "Size 42, qty 3"),
        ("not@mail", "not@mail"),
        ("✓ Größe 38 → jane@example.com", "✓ Größe 38 → [redacted]"),
        ("", ""),
    ];
    for (text, want) in cases {
        assert_eq!(scrub(text), want, "{text:?}");
    }
}

// ---------------------------------------------------------------- regressions

#[wasm_bindgen_test]
fn bug_a_non_object_consent_choice_does_not_break_the_instance() {
    for bad in [JsValue::from_str("all"), JsValue::TRUE, JsValue::from_f64(1.0), JsValue::NULL] {
        let c = JsValue::from(cairn("opt-out"));
        let _ = call_set_consent(&c, &bad);
        assert_eq!(call_pending(&c), "0", "after setConsent({bad:?})");
    }
}

#[wasm_bindgen_test]
fn bug_the_queue_limit_never_loses_an_unsent_message() {
    let mut c = cairn("opt-out");
    track_n(&mut c, "e", 1_000);
    let in_flight = events(&parse(&c.take_batch(3_000).expect("in flight")));
    ok(c.track("newest", ""));
    c.ack(Some(200), None, 0.0);
    let next = parse(&c.take_batch(3_000).expect("next"));
    // e0 was dropped for the limit while in flight; the rest must all still come.
    assert_eq!(events(&next)[0], format!("e{}", in_flight.len()));
}

#[wasm_bindgen_test]
fn bug_a_new_batch_after_withdrawal_starts_a_fresh_backoff() {
    let mut c = cairn("opt-out");
    ok(c.track("a", ""));
    for _ in 0..5 {
        assert!(c.take_batch(BATCH_BYTES).is_some());
        c.ack(Some(500), None, 0.0);
    }
    c.set_consent(&choice(r#"{"analytics":false}"#));
    c.set_consent(&choice(r#"{"analytics":true}"#));
    ok(c.track("b", ""));
    assert!(c.take_batch(BATCH_BYTES).is_some());
    assert_eq!(c.ack(Some(500), None, 0.0), 250.0);
}

#[wasm_bindgen_test]
fn bug_alias_with_an_empty_user_id_keeps_the_identity() {
    let mut c = cairn("opt-out");
    ok(c.identify(Some("u1".into()), ""));
    let _ = c.alias(Some(String::new()), None);
    assert_eq!(c.user_id().as_deref(), Some("u1"));
}
