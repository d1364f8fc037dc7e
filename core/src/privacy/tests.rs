use super::*;
use alloc::format;
use alloc::string::ToString;
use expect_test::expect;

fn msg(json: Value) -> Message {
    let received = crate::event::Received { at: 1_700_000_000_000, id_seed: [1; 16] };
    crate::event::normalize(None, json, &received, None).expect("valid message")
}

fn rules(settings: Value) -> Rules {
    Rules::from_settings(settings.as_object().expect("object")).expect("valid settings")
}

/// One line per case: what happened and what is left of the properties.
fn run(rules: &Rules, cases: &[Value]) -> String {
    let mut out = String::new();
    for c in cases {
        let mut m = msg(c.clone());
        let v = check(&mut m.parts(), rules, b"salt");
        let found: Vec<String> =
            v.findings.iter().map(|f| format!("{}={}", f.path, f.class.map_or("-", pii::Class::as_str))).collect();
        let codes: Vec<&str> = v.violations.iter().map(|v| v.code).collect();
        out.push_str(&format!(
            "{} {:?} found={found:?} plan={codes:?} properties={}\n",
            v.dropped.map_or("kept", Dropped::as_str),
            v.category.map(Category::as_str),
            Value::Object(m.properties)
        ));
    }
    out
}

fn consent(analytics: Option<bool>) -> Value {
    match analytics {
        Some(a) => json!({"consent": {"categoryPreferences": {"necessary": true, "analytics": a}}}),
        None => json!({}),
    }
}

#[test]
fn consent_decides_by_the_events_category() {
    let enforce = rules(json!({"eventCategories": {"Order Completed": "necessary"}}));
    let require = rules(json!({"consent": "require"}));
    let cases = [
        json!({"type": "track", "userId": "u", "event": "Viewed", "context": consent(Some(true))}),
        json!({"type": "track", "userId": "u", "event": "Viewed", "context": consent(Some(false))}),
        json!({"type": "track", "userId": "u", "event": "Viewed", "context": consent(None)}),
        json!({"type": "track", "userId": "u", "event": "Order Completed", "context": consent(Some(false))}),
        json!({"type": "identify", "userId": "u", "context": consent(Some(false))}),
    ];
    expect![[r#"
        kept Some("analytics") found=[] plan=[] properties={}
        consent Some("analytics") found=[] plan=[] properties={}
        kept Some("analytics") found=[] plan=[] properties={}
        kept Some("necessary") found=[] plan=[] properties={}
        consent Some("analytics") found=[] plan=[] properties={}
    "#]]
    .assert_eq(&run(&enforce, &cases));
    expect![[r#"
        kept Some("analytics") found=[] plan=[] properties={}
        consent Some("analytics") found=[] plan=[] properties={}
        consent Some("analytics") found=[] plan=[] properties={}
        consent Some("analytics") found=[] plan=[] properties={}
        consent Some("analytics") found=[] plan=[] properties={}
    "#]]
    .assert_eq(&run(&require, &cases));
}

#[test]
fn pii_policy_then_tracking_plan() {
    let r = rules(json!({
        "piiPolicy": {"classes": {"email": "hash", "payment_card": "block"}, "paths": {"properties.note": "redact"}},
        "trackingPlan": {"mode": "omit_properties", "events": [
            {"name": "Signed Up", "properties": {"email": {"type": "string"}, "note": {}, "plan": {"type": "string", "required": true}}}
        ]}
    }));
    let cases = [
        json!({"type": "track", "userId": "u", "event": "Signed Up",
               "properties": {"email": "Ada@Example.com", "note": "call me", "plan": "pro", "coupon": "X"}}),
        json!({"type": "track", "userId": "u", "event": "Paid", "properties": {"card": "4111 1111 1111 1111"}}),
        json!({"type": "track", "userId": "u", "event": "Signed Up", "properties": {}}),
    ];
    let out = run(&r, &cases);
    let hashed = pii::hash(b"salt", Some(pii::Class::Email), "Ada@Example.com");
    assert!(out.contains(&hashed), "{out}");
    expect![[r#"
        kept Some("analytics") found=["properties.email=email", "properties.note=-"] plan=["unplanned_property"] properties={"email":"HASH","note":"[redacted]","plan":"pro"}
        pii_blocked Some("analytics") found=["properties.card=payment_card"] plan=["unplanned_event"] properties={"card":"4111 1111 1111 1111"}
        kept Some("analytics") found=[] plan=["missing_required"] properties={}
    "#]]
    .assert_eq(&out.replace(&hashed, "HASH"));
}

#[test]
fn settings_round_trip_and_report_every_problem() {
    let r = rules(json!({"consent": "require", "eventCategories": {"Ad Clicked": "marketing"},
                         "piiPolicy": {"default": "redact"}, "trackingPlan": {"mode": "allow"}}));
    let mut written = Map::new();
    r.write_settings(&mut written);
    assert_eq!(Rules::from_settings(&written), Ok(r));
    let bad = Rules::from_settings(
        json!({"consent": "maybe", "eventCategories": {"X": "ads"}, "piiPolicy": {"default": "shred"}, "trackingPlan": {"mode": 1}})
            .as_object()
            .expect("object"),
    );
    let paths: Vec<String> = bad.err().unwrap_or_default().iter().map(|v| v.path.to_string()).collect();
    expect![[r#"["settings.consent", "settings.eventCategories.X", "settings.piiPolicy.default", "settings.trackingPlan.mode"]"#]]
        .assert_eq(&format!("{paths:?}"));
}

/// What `browser::for_browser` keeps of each source's rules, as settings JSON.
#[test]
fn the_browser_gets_the_rules_it_can_act_on() {
    let cases = [
        json!({}),
        json!({"piiPolicy": {"classes": {"email": "hash"}, "default": "allow"}, "trackingPlan": {"mode": "allow"}}),
        json!({"eventCategories": {"Viewed": "analytics"}}),
        json!({"eventCategories": {"Ad Clicked": "marketing"}}),
        json!({"piiPolicy": {"classes": {"email": "hash", "us_ssn": "block"}, "paths": {"traits.phone": "hash"}}}),
        json!({"trackingPlan": {"mode": "omit_properties", "events": []}}),
    ];
    let out: Vec<String> = cases
        .iter()
        .map(|c| match browser::for_browser(&rules(c.clone())) {
            None => "none".to_string(),
            Some(r) => {
                let mut s = Map::new();
                r.write_settings(&mut s);
                Value::Object(s).to_string()
            }
        })
        .collect();
    expect![[r#"
        none
        none
        none
        {"consent":"enforce","eventCategories":{"Ad Clicked":"marketing"},"piiPolicy":null,"trackingPlan":null}
        {"consent":"enforce","eventCategories":{},"piiPolicy":{"classes":{"email":"allow","us_ssn":"block"},"default":"allow","paths":{"traits.phone":"allow"}},"trackingPlan":null}
        {"consent":"enforce","eventCategories":{},"piiPolicy":null,"trackingPlan":{"events":[],"mode":"omit_properties"}}"#]]
    .assert_eq(&out.join("\n"));
}

/// A batch as the SDK sends it, screened in the browser: blocked and
/// unconsented events go, redacted values and unplanned properties never
/// leave, hashed fields are left for the worker.
#[test]
fn the_browser_screens_a_batch_like_the_worker() {
    let r = rules(json!({
        "eventCategories": {"Ad Clicked": "marketing"},
        "piiPolicy": {"classes": {"email": "hash", "us_ssn": "block", "phone": "redact"}},
        "trackingPlan": {"mode": "omit_properties", "events": [{"name": "Signed Up", "properties": {"plan": {"type": "string"}, "note": {}}}]}
    }));
    let browser = browser::for_browser(&r).expect("rules for the browser");
    let consent = json!({"categoryPreferences": {"necessary": true, "analytics": true, "marketing": false}});
    let m = |v: Value| {
        let mut v = v;
        v["anonymousId"] = "a1".into();
        v["context"] = json!({"consent": consent, "page": {"url": "https://shop.example/"}});
        v
    };
    let body = json!({"batch": [
        m(json!({"type": "track", "event": "Signed Up", "properties": {"plan": "pro", "note": "call +1 415 555 0100", "coupon": "X"}})),
        m(json!({"type": "track", "event": "Form Sent", "properties": {"ssn": "123-45-6789", "topic": "tax"}})),
        m(json!({"type": "identify", "traits": {"email": "ada@example.com"}})),
        m(json!({"type": "track", "event": "Ad Clicked", "properties": {}})),
        "not a message",
    ], "writeKey": "k", "sentAt": "2026-12-05T00:00:00.000Z"})
    .to_string();
    let out = browser::screen(&body, &browser).expect("a batch");
    assert_eq!((out.kept, out.dropped), (3, 2));
    let batch: Vec<String> = serde_json::from_str::<Value>(&out.body).expect("JSON")["batch"]
        .as_array()
        .expect("batch")
        .iter()
        .map(|m| [&m["properties"], &m["traits"]].map(Value::to_string).join(" "))
        .collect();
    expect![[r#"
        {"note":"call [redacted]","plan":"pro"} null
        null {"email":"ada@example.com"}
        null null"#]]
    .assert_eq(&batch.join("\n"));
    // Whatever the rules drop in the browser, the worker drops too.
    for (i, original) in
        serde_json::from_str::<Value>(&body).expect("JSON")["batch"].as_array().expect("batch")[..4].iter().enumerate()
    {
        let mut msg = msg(original.clone());
        let dropped = check(&mut msg.parts(), &r, b"salt").dropped.is_some();
        assert_eq!(dropped, [false, true, false, true][i], "message {i}");
    }
    assert!(browser::screen("[1]", &browser).is_err());
}
