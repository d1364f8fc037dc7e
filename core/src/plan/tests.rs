use super::*;
use crate::event::Message;
use alloc::format;
use alloc::vec;
use expect_test::{Expect, expect};
use proptest::prelude::*;

/// A shop's plan; `MODE` is replaced by each test's mode.
const SHOP: &str = r#"{
  "mode": "MODE",
  "events": [
    {"name": "Product Added", "description": "A product went into the cart.", "properties": {
      "product_id": {"type": "string", "required": true},
      "price": {"type": "number", "minimum": 0},
      "quantity": {"type": "integer", "minimum": 1, "maximum": 100},
      "currency": {"type": ["string", "null"], "enum": ["USD", "EUR"]}
    }},
    {"name": "Order Completed", "properties": {
      "order_id": {"type": "string", "required": true},
      "total": {"type": "number", "minimum": 0},
      "products": {"type": "array", "items": {"type": "object", "properties": {
        "product_id": {"type": "string", "required": true},
        "price": {"type": "number", "minimum": 0},
        "quantity": {"type": "integer"}
      }}}
    }}
  ],
  "identify": {"traits": {
    "email": {"type": "string"},
    "plan": {"type": "string", "enum": ["free", "pro"]},
    "created_at": {"type": "string", "required": true}
  }},
  "page": {"properties": {"path": {"type": "string"}, "title": {}}},
  "group": {"traits": {"name": {"type": "string", "required": true}, "employees": {"type": "integer", "minimum": 0}}}
}"#;

fn shop(mode: Mode) -> Plan {
    let text = SHOP.replace("MODE", mode.as_str());
    parse(&serde_json::from_str(&text).expect("fixture is JSON")).expect("fixture is a valid plan")
}

/// A fixture line: `track Product Added {"price": 1}`: the call, the event or
/// page name, then the properties (track, page, screen) or traits (identify, group).
fn message(line: &str) -> Message {
    let (head, body) = line.split_at(line.find('{').unwrap_or(line.len()));
    let (kind, name) = head.trim().split_once(' ').unwrap_or((head.trim(), ""));
    let kind = Kind::parse(kind).expect("a call name");
    let data: Map<String, Value> = serde_json::from_str(body).expect("a JSON object");
    let mut m = Message::new(kind, "m".into(), 0);
    let name = (!name.trim().is_empty()).then(|| name.trim().to_owned());
    match kind {
        Kind::Identify | Kind::Group => m.traits = data,
        _ => m.properties = data,
    }
    match kind {
        Kind::Track => m.event = name,
        _ => m.name = name,
    }
    m
}

/// Applies the shop plan in `mode` to each line: the decision, what the
/// message holds afterwards, the violations and the removed paths.
fn check(mode: Mode, lines: &str, expect: Expect) {
    let plan = shop(mode);
    let mut out = Vec::new();
    for line in lines.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let mut m = message(line);
        let outcome = apply(&plan, &mut m.parts());
        let data = match m.kind {
            Kind::Identify | Kind::Group => &m.traits,
            _ => &m.properties,
        };
        out.push(line.to_owned());
        out.push(match outcome.decision {
            Decision::Keep => format!("  keep {}", Value::Object(data.clone())),
            Decision::Drop(reason) => format!("  drop {}", reason.as_str()),
        });
        out.extend(outcome.violations.iter().map(|v| format!("  {} {}: {}", v.code, v.path, v.message)));
        out.extend(outcome.removed.iter().map(|r| format!("  removed {r}")));
    }
    expect.assert_eq(&out.join("\n"));
}

#[test]
fn allow_reports_every_violation_and_changes_nothing() {
    check(
        Mode::Allow,
        r#"
        track Product Added {"product_id": "p1", "price": 9.5, "quantity": 2, "currency": "EUR"}
        track Product Added {"product_id": "p1", "currency": null, "quantity": 2.0}
        track Product Added {"price": "9.50", "quantity": 2.5, "coupon": "SAVE"}
        track Product Added {"product_id": 7, "price": -1, "quantity": 101, "currency": "GBP"}
        track Product Viewed {"product_id": "p1"}
        "#,
        expect![[r#"
            track Product Added {"product_id": "p1", "price": 9.5, "quantity": 2, "currency": "EUR"}
              keep {"currency":"EUR","price":9.5,"product_id":"p1","quantity":2}
            track Product Added {"product_id": "p1", "currency": null, "quantity": 2.0}
              keep {"currency":null,"product_id":"p1","quantity":2.0}
            track Product Added {"price": "9.50", "quantity": 2.5, "coupon": "SAVE"}
              keep {"coupon":"SAVE","price":"9.50","quantity":2.5}
              unplanned_property properties.coupon: the tracking plan does not list this property
              wrong_type properties.price: must be number
              wrong_type properties.quantity: must be integer
              missing_required properties.product_id: the tracking plan requires this property
            track Product Added {"product_id": 7, "price": -1, "quantity": 101, "currency": "GBP"}
              keep {"currency":"GBP","price":-1,"product_id":7,"quantity":101}
              not_in_enum properties.currency: must be one of the values the plan allows
              out_of_range properties.price: must be at least 0
              wrong_type properties.product_id: must be string
              out_of_range properties.quantity: must be at most 100
            track Product Viewed {"product_id": "p1"}
              keep {"product_id":"p1"}
              unplanned_event event: the tracking plan does not list this event"#]],
    );
}

#[test]
fn omit_properties_removes_unplanned_properties_at_every_planned_depth() {
    check(
        Mode::OmitProperties,
        r#"
        track Product Added {"product_id": "p1", "coupon": "SAVE", "image_url": "/a.png"}
        track Product Added {"product_id": 7}
        track Order Completed {"coupon": "SAVE", "order_id": "o1", "products": [{"product_id": "p1", "price": 5, "image": "/a.png"}, {"price": "5"}, 3]}
        track Product Viewed {"product_id": "p1", "anything": true}
        "#,
        expect![[r#"
            track Product Added {"product_id": "p1", "coupon": "SAVE", "image_url": "/a.png"}
              keep {"product_id":"p1"}
              unplanned_property properties.coupon: the tracking plan does not list this property
              unplanned_property properties.image_url: the tracking plan does not list this property
              removed properties.coupon
              removed properties.image_url
            track Product Added {"product_id": 7}
              keep {"product_id":7}
              wrong_type properties.product_id: must be string
            track Order Completed {"coupon": "SAVE", "order_id": "o1", "products": [{"product_id": "p1", "price": 5, "image": "/a.png"}, {"price": "5"}, 3]}
              keep {"order_id":"o1","products":[{"price":5,"product_id":"p1"},{"price":"5"},3]}
              unplanned_property properties.coupon: the tracking plan does not list this property
              unplanned_property properties.products[0].image: the tracking plan does not list this property
              wrong_type properties.products[1].price: must be number
              missing_required properties.products[1].product_id: the tracking plan requires this property
              wrong_type properties.products[2]: must be object
              removed properties.coupon
              removed properties.products[0].image
            track Product Viewed {"product_id": "p1", "anything": true}
              keep {"anything":true,"product_id":"p1"}
              unplanned_event event: the tracking plan does not list this event"#]],
    );
}

#[test]
fn block_events_drops_unplanned_and_invalid_events() {
    check(
        Mode::BlockEvents,
        r#"
        track Product Viewed {"product_id": "p1"}
        track Product Added {"price": 1}
        track Product Added {"product_id": "p1", "quantity": "2"}
        track Order Completed {"order_id": "o1", "products": [{"price": 5}]}
        track Product Added {"product_id": "p1", "currency": "GBP", "price": -1, "coupon": "SAVE"}
        "#,
        expect![[r#"
            track Product Viewed {"product_id": "p1"}
              drop unplanned_event
              unplanned_event event: the tracking plan does not list this event
            track Product Added {"price": 1}
              drop invalid
              missing_required properties.product_id: the tracking plan requires this property
            track Product Added {"product_id": "p1", "quantity": "2"}
              drop invalid
              wrong_type properties.quantity: must be integer
            track Order Completed {"order_id": "o1", "products": [{"price": 5}]}
              drop invalid
              missing_required properties.products[0].product_id: the tracking plan requires this property
            track Product Added {"product_id": "p1", "currency": "GBP", "price": -1, "coupon": "SAVE"}
              keep {"currency":"GBP","price":-1,"product_id":"p1"}
              unplanned_property properties.coupon: the tracking plan does not list this property
              not_in_enum properties.currency: must be one of the values the plan allows
              out_of_range properties.price: must be at least 0
              removed properties.coupon"#]],
    );
}

#[test]
fn identify_page_and_group_have_their_own_schemas() {
    check(
        Mode::BlockEvents,
        r#"
        identify {"email": "a@b.co", "created_at": "2024-01-01", "age": 40}
        identify {"plan": "enterprise", "$set_once": {"created_at": "2024-01-01", "first_touch": "ad"}}
        identify {"email": "a@b.co", "$set_once": "oops"}
        page Home {"path": "/", "title": ["any", "type"], "url": "https://shop.example/"}
        group {"name": "Acme", "employees": -3}
        group {"employees": 3.5}
        screen Home {"anything": 1}
        alias {"anything": 1}
        "#,
        expect![[r#"
            identify {"email": "a@b.co", "created_at": "2024-01-01", "age": 40}
              keep {"created_at":"2024-01-01","email":"a@b.co"}
              unplanned_property traits.age: the tracking plan does not list this property
              removed traits.age
            identify {"plan": "enterprise", "$set_once": {"created_at": "2024-01-01", "first_touch": "ad"}}
              keep {"$set_once":{"created_at":"2024-01-01"},"plan":"enterprise"}
              not_in_enum traits.plan: must be one of the values the plan allows
              unplanned_property traits.$set_once.first_touch: the tracking plan does not list this property
              removed traits.$set_once.first_touch
            identify {"email": "a@b.co", "$set_once": "oops"}
              drop invalid
              unplanned_property traits.$set_once: the tracking plan does not list this property
              missing_required traits.created_at: the tracking plan requires this property
              removed traits.$set_once
            page Home {"path": "/", "title": ["any", "type"], "url": "https://shop.example/"}
              keep {"path":"/","title":["any","type"]}
              unplanned_property properties.url: the tracking plan does not list this property
              removed properties.url
            group {"name": "Acme", "employees": -3}
              keep {"employees":-3,"name":"Acme"}
              out_of_range traits.employees: must be at least 0
            group {"employees": 3.5}
              drop invalid
              wrong_type traits.employees: must be integer
              missing_required traits.name: the tracking plan requires this property
            screen Home {"anything": 1}
              keep {"anything":1}
            alias {"anything": 1}
              keep {"anything":1}"#]],
    );
}

#[test]
fn calls_without_a_schema_are_not_checked() {
    let plan = parse(&serde_json::json!({"mode": "block_events"})).expect("valid");
    for line in [r#"identify {"x": 1}"#, r#"page {"x": 1}"#, r#"group {"x": 1}"#] {
        let mut m = message(line);
        let before = m.clone();
        assert_eq!(
            apply(&plan, &mut m.parts()),
            Outcome { decision: Decision::Keep, removed: vec![], violations: vec![] }
        );
        assert_eq!(m, before);
    }
    // With no events listed, block_events admits no track call.
    let outcome = apply(&plan, &mut message(r#"track Product Added {}"#).parts());
    assert_eq!(outcome.decision, Decision::Drop(Reason::UnplannedEvent));
}

#[test]
fn writes_plans_in_the_form_it_reads() {
    let plan = shop(Mode::OmitProperties);
    assert_eq!(parse(&plan.to_json()), Ok(plan));
    // Nulls and `required: false` are left out, one type is a string, events are sorted by name.
    let posted = r#"{"mode": "block_events", "page": null, "events": [
        {"name": "Signed Up", "description": null, "properties": {"method": {"type": ["string"], "required": false}}},
        {"name": "Cart Viewed", "properties": {"products": {"type": ["array", "null"], "description": "Lines",
            "items": {"properties": {"qty": {"type": "integer", "minimum": 1, "maximum": 99, "required": true}}}}}}
    ], "group": {"traits": {"tier": {"enum": ["a", "b"]}}}}"#;
    let plan = parse(&serde_json::from_str(posted).expect("fixture is JSON")).expect("valid");
    expect![[r#"{"events":[{"name":"Cart Viewed","properties":{"products":{"description":"Lines","items":{"properties":{"qty":{"maximum":99,"minimum":1,"required":true,"type":"integer"}}},"type":["array","null"]}}},{"name":"Signed Up","properties":{"method":{"type":"string"}}}],"group":{"traits":{"tier":{"enum":["a","b"]}}},"mode":"block_events"}"#]]
        .assert_eq(&plan.to_json().to_string());
    expect![[r#"{"events":[],"mode":"allow"}"#]]
        .assert_eq(&parse(&serde_json::json!({})).expect("an empty plan is valid").to_json().to_string());
}

fn problems(plan: &str) -> String {
    match parse(&serde_json::from_str(plan).expect("fixture is JSON")) {
        Ok(p) => format!("ok {}", p.to_json()),
        Err(vs) => vs.iter().map(|v| format!("{} {}: {}", v.path, v.code, v.message)).collect::<Vec<_>>().join("\n"),
    }
}

#[test]
fn reports_every_problem_in_a_plan() {
    expect!["$ not_an_object: a tracking plan must be a JSON object"].assert_eq(&problems("[]"));
    expect![[r#"
        events wrong_type: events must be an array
        identify.properties unknown_key: only traits is part of identify
        mode invalid: mode must be allow, omit_properties or block_events
        name unknown_key: not part of a plan: mode, events, identify, page, group
        page wrong_type: page must be an object"#]]
    .assert_eq(&problems(
        r#"{"mode": "strict", "name": "Shop", "events": {}, "identify": {"properties": {}}, "page": []}"#,
    ));
    expect![[r#"
        events[0] wrong_type: an event must be an object
        events[1].name required: an event needs a name
        events[2].name empty: name must not be empty
        events[3].name wrong_type: name must be a string
        events[4].properties wrong_type: must be an object of properties
        events[4].tags unknown_key: not part of an event: name, description, properties
        events[6].name duplicate_event: another event has this name"#]]
    .assert_eq(&problems(
        r#"{"events": ["Signed Up", {}, {"name": " "}, {"name": 1}, {"name": "A", "properties": [], "tags": []},
            {"name": "B"}, {"name": "B", "description": "again"}]}"#,
    ));
    expect![[r#"
        events[0].properties.a wrong_type: a property must be an object such as {"type": "string"}
        events[0].properties.b.type unknown_type: a type is string, number, integer, boolean, object, array or null
        events[0].properties.c.type[1] unknown_type: a type is string, number, integer, boolean, object, array or null
        events[0].properties.d.type wrong_type: type must be a type name or a non-empty list of them
        events[0].properties.e.required wrong_type: required must be true or false
        events[0].properties.f.pattern unknown_key: not a property setting: type, required, enum, minimum, maximum, properties, items, description
        events[0].properties.g.enum invalid: enum must be a non-empty array of strings
        events[0].properties.h.enum invalid: enum needs type string
        events[0].properties.i.minimum wrong_type: must be a number
        events[0].properties.j.maximum invalid: maximum is below minimum
        events[0].properties.k.minimum invalid: minimum needs type number or integer
        events[0].properties.l.items invalid: items needs type array
        events[0].properties.m.properties invalid: properties needs type object
        events[0].properties.n.items.required unknown_key: not an items setting: type, enum, minimum, maximum, properties, items, description
        events[0].properties.o.description wrong_type: must be a string"#]]
    .assert_eq(&problems(
        r#"{"events": [{"name": "E", "properties": {
            "a": "string",
            "b": {"type": "text"},
            "c": {"type": ["string", "date"]},
            "d": {"type": []},
            "e": {"required": "yes"},
            "f": {"type": "string", "pattern": "^[a-z]+$"},
            "g": {"enum": [1, 2]},
            "h": {"type": "number", "enum": ["a"]},
            "i": {"minimum": "0"},
            "j": {"type": "integer", "minimum": 5, "maximum": 1},
            "k": {"type": "string", "minimum": 0},
            "l": {"type": "object", "items": {}},
            "m": {"type": ["array", "null"], "properties": {}},
            "n": {"type": "array", "items": {"required": true}},
            "o": {"description": 1},
            "p": {}
        }}]}"#,
    ));
    let mut deep = serde_json::json!({"type": "string"});
    for _ in 0..MAX_DEPTH {
        deep = serde_json::json!({"type": "array", "items": deep});
    }
    let deep = serde_json::json!({"events": [{"name": "E", "properties": {"x": deep}}]});
    expect!["events[0].properties.x.items.items.items.items.items.items.items.items too_deep: properties and items nest at most 8 levels"]
        .assert_eq(&problems(&deep.to_string()));
}

// Messages built from the plan's own vocabulary, so that the generated
// data often reaches nested schemas and constraints.

fn key() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        "product_id",
        "price",
        "quantity",
        "currency",
        "products",
        "order_id",
        "total",
        "email",
        "plan",
        "created_at",
        "$set_once",
        "name",
        "employees",
        "path",
        "coupon",
    ])
    .prop_map(String::from)
}

fn object(values: impl Strategy<Value = Value>) -> impl Strategy<Value = Map<String, Value>> {
    prop::collection::btree_map(key(), values, 0..6).prop_map(|m| m.into_iter().collect())
}

fn json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_filter_map("finite", |f| Number::from_f64(f).map(Value::Number)),
        prop::sample::select(vec!["USD", "EUR", "pro", "p1", ""]).prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 48, 5, |inner| {
        // Arrays of objects are what `items` schemas describe (`products`).
        let element = prop_oneof![inner.clone(), object(inner.clone()).prop_map(Value::Object)];
        let array = prop::collection::vec(element, 0..4).prop_map(Value::Array);
        prop_oneof![array, object(inner).prop_map(Value::Object)]
    })
}

fn any_message() -> impl Strategy<Value = Message> {
    let kind = prop_oneof![2 => Just(Kind::Track), 1 => prop::sample::select(Kind::ALL.to_vec())];
    let events =
        prop::option::weighted(0.9, prop::sample::select(vec!["Product Added", "Order Completed", "Signed Up"]));
    (kind, events, object(json()), object(json())).prop_map(|(kind, event, properties, traits)| {
        let mut m = Message::new(kind, "m".into(), 0);
        m.event = event.map(String::from);
        m.properties = properties;
        m.traits = traits;
        m
    })
}

/// Whether every key in `map`, at every depth the schema describes, is planned.
fn only_planned(schema: &Schema, map: &Map<String, Value>) -> bool {
    map.iter().all(|(k, v)| schema.get(k).is_some_and(|p| planned_inside(p, v)))
}

fn planned_inside(p: &Property, v: &Value) -> bool {
    match v {
        Value::Object(m) => p.properties.as_ref().is_none_or(|s| only_planned(s, m)),
        Value::Array(a) => p.items.as_ref().is_none_or(|item| a.iter().all(|e| planned_inside(item, e))),
        _ => true,
    }
}

proptest! {
    /// Never panics; modes differ in what they do, never in what they report;
    /// only `block_events` drops; `allow` changes nothing; what is removed is
    /// exactly what was reported unplanned.
    #[test]
    fn modes_act_differently_on_the_same_report(msg in any_message()) {
        let outcomes: Vec<(Mode, Message, Outcome)> = Mode::ALL
            .into_iter()
            .map(|mode| {
                let mut m = msg.clone();
                let outcome = apply(&shop(mode), &mut m.parts());
                (mode, m, outcome)
            })
            .collect();
        for (mode, m, outcome) in &outcomes {
            prop_assert_eq!(&outcome.violations, &outcomes[0].2.violations);
            if *mode != Mode::BlockEvents {
                prop_assert_eq!(&outcome.decision, &Decision::Keep);
            }
            let unplanned: Vec<&str> = outcome
                .violations
                .iter()
                .filter(|v| v.code == "unplanned_property")
                .map(|v| v.path.as_str())
                .collect();
            if *mode == Mode::Allow {
                prop_assert_eq!(m, &msg);
                prop_assert!(outcome.removed.is_empty());
            } else if outcome.decision == Decision::Keep {
                prop_assert_eq!(outcome.removed.iter().map(String::as_str).collect::<Vec<_>>(), unplanned);
            }
        }
    }

    #[test]
    fn omit_properties_leaves_only_planned_properties(msg in any_message()) {
        let plan = shop(Mode::OmitProperties);
        let mut m = msg;
        apply(&plan, &mut m.parts());
        match m.kind {
            Kind::Track => {
                if let Some(event) = m.event.as_deref().and_then(|e| plan.events.get(e)) {
                    prop_assert!(only_planned(&event.properties, &m.properties), "{:?}", m.properties);
                }
            }
            Kind::Page => prop_assert!(only_planned(plan.page.as_ref().expect("shop plans pages"), &m.properties)),
            Kind::Group => prop_assert!(only_planned(plan.group.as_ref().expect("shop plans groups"), &m.traits)),
            Kind::Identify => {
                let schema = plan.identify.as_ref().expect("shop plans identify");
                let mut traits = m.traits.clone();
                if let Some(Value::Object(once)) = traits.remove("$set_once") {
                    prop_assert!(only_planned(schema, &once), "{:?}", once);
                }
                prop_assert!(only_planned(schema, &traits), "{:?}", traits);
            }
            Kind::Screen | Kind::Alias => {}
        }
    }

    /// Any JSON, from the vocabulary of plans: parsing never panics, and
    /// whatever it accepts reads back the same from `to_json`.
    #[test]
    fn parse_never_panics_and_round_trips(v in plan_like()) {
        if let Ok(plan) = parse(&v) {
            prop_assert_eq!(parse(&plan.to_json()), Ok(plan));
        }
    }
}

fn plan_like() -> impl Strategy<Value = Value> {
    let words: Vec<&str> = "mode events name properties type required enum minimum maximum items identify traits \
        string number integer object array null block_events E"
        .split_whitespace()
        .collect();
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        (-3i64..3).prop_map(Value::from),
        prop::sample::select(words.clone()).prop_map(Value::from),
    ];
    leaf.prop_recursive(6, 64, 4, move |inner| {
        let keys = prop::sample::select(words.clone()).prop_map(String::from);
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..3).prop_map(Value::Array),
            prop::collection::btree_map(keys, inner, 0..4).prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}
