use super::*;
use alloc::format;
use alloc::vec;
use expect_test::{Expect, expect};
use proptest::prelude::*;

/// One event of a scenario line: `identify u=U a=A email=E phone=P name=N t=T`,
/// `track a=A`, `alias u=NEW prev=OLD`; `once.K=V` is a `$set_once` trait.
fn event(line: &str) -> Message {
    let mut words = line.split_whitespace();
    let kind = match words.next() {
        Some("identify") => Kind::Identify,
        Some("alias") => Kind::Alias,
        _ => Kind::Track,
    };
    let mut m = Message::new(kind, "m".into(), 0);
    let mut once = Map::new();
    for w in words {
        let (k, v) = w.split_once('=').expect("key=value");
        match k {
            "u" => m.user_id = Some(v.into()),
            "a" => m.anonymous_id = Some(v.into()),
            "prev" => m.previous_id = Some(v.into()),
            "t" => m.timestamp = v.parse().expect("time"),
            k if k.starts_with("once.") => {
                once.insert(k.trim_start_matches("once.").into(), v.into());
            }
            k => {
                m.traits.insert(k.into(), v.replace('_', " ").into());
            }
        }
    }
    if !once.is_empty() {
        m.traits.insert("$set_once".into(), Value::Object(once));
    }
    m
}

fn counter() -> impl FnMut() -> ProfileId {
    let mut n = 0;
    move || {
        n += 1;
        format!("p{n}")
    }
}

/// The graph as text: one line per profile (identifiers, then trait values).
fn show(g: &Graph) -> String {
    let mut lines: Vec<String> = g
        .profiles()
        .map(|(_, p)| {
            let ids: Vec<String> = p.identifiers.iter().map(|i| format!("{}={}", i.kind.as_str(), i.value)).collect();
            let traits = Value::Object(trait_values(&p.traits));
            format!("{} {traits}", ids.join(" "))
        })
        .collect();
    lines.sort();
    lines.join("\n")
}

fn scenario(events: &str, expect: Expect) {
    let mut g = Graph::new(Rules::default());
    let config = Config::default();
    let mut ids = counter();
    let mut log = Vec::new();
    for line in events.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let applied = g.apply_message(&event(line), &config, &mut ids);
        for c in applied.into_iter().flat_map(|a| a.changes) {
            match c {
                Change::Merged { into, from, via, .. } => {
                    let via: Vec<String> = via.iter().map(|i| i.value.clone()).collect();
                    log.push(format!("merge {from} into {into} via {}", via.join(",")));
                }
                Change::Refused { identifier, reason } => {
                    log.push(format!("refused {}={} {reason:?}", identifier.kind.as_str(), identifier.value));
                }
                _ => {}
            }
        }
    }
    expect.assert_eq(&format!("{}\n--\n{}", show(&g), log.join("\n")));
}

#[test]
fn anonymous_browsing_then_login_on_the_same_device() {
    scenario(
        "track a=a1
         track a=a1
         identify u=u1 a=a1 email=Ada@Example.com name=Ada",
        expect![[r#"
            user_id=u1 email=ada@example.com anonymous_id=a1 {"email":"Ada@Example.com","name":"Ada"}
            --
        "#]],
    );
}

#[test]
fn two_devices_then_the_same_email() {
    scenario(
        "identify a=laptop email=ada@example.com t=1
         track a=phone
         identify a=phone email=ADA@example.com_ t=2",
        expect![[r#"
            email=ada@example.com anonymous_id=laptop anonymous_id=phone {"email":"ADA@example.com "}
            --
            merge p2 into p1 via phone"#]],
    );
}

#[test]
fn a_shared_computer_keeps_two_customers_apart() {
    scenario(
        "identify u=ada a=family-pc email=ada@example.com
         identify u=bob a=family-pc email=bob@example.com
         track a=family-pc",
        expect![[r#"
            user_id=ada email=ada@example.com anonymous_id=family-pc {"email":"ada@example.com"}
            user_id=bob email=bob@example.com {"email":"bob@example.com"}
            --
            refused anonymous_id=family-pc BothIdentified"#]],
    );
}

#[test]
fn a_shared_computer_keeps_two_people_apart_without_accounts_too() {
    scenario(
        "identify a=family-pc email=ada@example.com
         identify a=family-pc email=bob@example.com
         identify u=bob a=family-pc email=bob@example.com",
        expect![[r#"
            email=ada@example.com anonymous_id=family-pc {"email":"ada@example.com"}
            user_id=bob email=bob@example.com {"email":"bob@example.com"}
            --
            refused anonymous_id=family-pc BothIdentified
            refused anonymous_id=family-pc BothIdentified"#]],
    );
}

#[test]
fn blocked_values_are_never_identifiers() {
    scenario(
        "identify u=null a=a1 email=none
         identify u=anonymous a=a2
         identify u=0 a=a3 phone=-1",
        expect![[r#"
            anonymous_id=a1 {"email":"none"}
            anonymous_id=a2 {}
            anonymous_id=a3 {"phone":"-1"}
            --
        "#]],
    );
}

#[test]
fn an_alias_chain_ends_in_one_profile() {
    scenario(
        "track a=a1
         alias u=u1 prev=a1
         track a=a2
         alias u=u1 prev=a2
         track u=u1",
        expect![[r#"
            user_id=u1 anonymous_id=a1 anonymous_id=a2 {}
            --
            merge p2 into p1 via a2"#]],
    );
}

#[test]
fn a_phone_in_three_formats_is_one_number() {
    scenario(
        "identify a=a1 phone=+1_(415)_555-0100
         identify a=a2 phone=415.555.0100
         identify a=a3 phone=1-415-555-0100",
        expect![[r#"
            phone=+14155550100 anonymous_id=a1 anonymous_id=a2 anonymous_id=a3 {"phone":"415.555.0100"}
            --
        "#]],
    );
}

#[test]
fn later_events_win_whatever_the_arrival_order_and_set_once_keeps_the_first() {
    scenario(
        "identify u=u1 plan=pro t=20 once.first_plan=pro
         identify u=u1 plan=free t=10 once.first_plan=free",
        expect![[r#"
            user_id=u1 {"first_plan":"free","plan":"pro"}
            --
        "#]],
    );
}

/// A population where the rules never have to refuse anything: people with
/// a user id, an email and devices of their own, whose events link them.
fn population() -> impl Strategy<Value = Vec<String>> {
    proptest::collection::vec((1usize..4, proptest::bool::ANY, 0u32..100), 1..6).prop_map(|people| {
        let mut events = Vec::new();
        for (n, (devices, logs_in_by_email, t)) in people.into_iter().enumerate() {
            for d in 0..devices {
                events.push(format!("track a=p{n}d{d}"));
                if logs_in_by_email {
                    events.push(format!("identify a=p{n}d{d} email=p{n}@example.com t={} name=v{d}", t + d as u32));
                } else {
                    events.push(format!("identify u=user{n} a=p{n}d{d} t={} once.first=v{d}", t + d as u32));
                }
            }
        }
        events
    })
}

/// Events over a tiny pool of identifiers, so conflicts are everywhere.
fn conflicts() -> impl Strategy<Value = Vec<String>> {
    let ids = prop_oneof![
        (0u8..3).prop_map(|n| format!("u=u{n}")),
        (0u8..4).prop_map(|n| format!("a=a{n}")),
        (0u8..3).prop_map(|n| format!("email=e{n}@x.io")),
    ];
    proptest::collection::vec(proptest::collection::vec(ids, 1..4), 1..12)
        .prop_map(|events| events.into_iter().map(|ids| format!("identify {}", ids.join(" "))).collect())
}

fn run(events: &[String]) -> Graph {
    let mut g = Graph::new(Rules::default());
    let mut ids = counter();
    for e in events {
        g.apply_message(&event(e), &Config::default(), &mut ids);
    }
    g
}

proptest! {
    #[test]
    fn any_order_of_the_same_events_gives_the_same_profiles(
        (events, shuffled) in population().prop_flat_map(|e| (Just(e.clone()), Just(e).prop_shuffle()))
    ) {
        prop_assert_eq!(show(&run(&events)), show(&run(&shuffled)));
    }

    #[test]
    fn two_different_user_ids_never_end_in_one_profile(events in conflicts()) {
        let g = run(&events);
        for (id, p) in g.profiles() {
            let users = p.identifiers.iter().filter(|i| i.kind == IdType::UserId).count();
            prop_assert!(users <= 1, "{id}: {:?} from {events:?}", p.identifiers);
        }
        // Every identifier belongs to exactly one profile.
        let mut all: Vec<&Identifier> = g.profiles().flat_map(|(_, p)| &p.identifiers).collect();
        let n = all.len();
        all.sort();
        all.dedup();
        prop_assert_eq!(all.len(), n);
    }

    #[test]
    fn merges_are_reversible(events in conflicts(), last in conflicts()) {
        let before = run(&events);
        let mut g = before.clone();
        let mut ids = || "fresh".to_string();
        let Some(applied) = g.apply_message(&event(&last[0]), &Config::default(), &mut ids) else { return Ok(()) };
        let added: Vec<Identifier> = applied.changes.iter().filter_map(|c| match c {
            Change::Added { identifier, .. } => Some(identifier.clone()),
            _ => None,
        }).collect();
        for c in &applied.changes {
            if let Change::Merged { into, from, identifiers, traits, .. } = c {
                g.split(into, from.clone(), identifiers, traits.clone());
            }
        }
        g.set_traits(&applied.profile, before.profile(&applied.profile).map(|p| p.traits.clone()).unwrap_or_default());
        // Undoing every merge of the event leaves the earlier profiles as they
        // were, apart from the identifiers the event itself added.
        let mut undone = g.clone();
        for (_, p) in undone.profiles.iter_mut() {
            p.identifiers.retain(|i| !added.contains(i));
        }
        undone.profiles.retain(|_, p| !p.identifiers.is_empty() || before.profiles.is_empty());
        let mut expected = before.clone();
        expected.profiles.retain(|_, p| !p.identifiers.is_empty());
        prop_assert_eq!(show(&undone), show(&expected));
    }
}

#[test]
fn lookups_cover_both_readings_of_an_alias() {
    let ids = lookups(&event("alias u=new prev=old"), &Config::default());
    let shown: Vec<String> = ids.iter().map(|i| format!("{}={}", i.kind.as_str(), i.value)).collect();
    assert_eq!(shown, vec!["user_id=new", "user_id=old", "anonymous_id=old"]);
}
