//! The merge decision of identity resolution, as a pure function.
//!
//! Given the identifiers an event carries and what the identity graph knows
//! about them, [`decide`] says which profile the event belongs to and what
//! changes: a new profile, new identifiers on one, or profiles merged into
//! one. Rules keep two people apart: at most one `user_id` per profile (and a
//! limit for every other type), never a merge of two profiles that each
//! have a different `user_id`, and never a merge of two identified profiles
//! (each with a user id, email or phone) through an anonymous id alone: a
//! shared family computer links people who are not one person. Identifiers a rule
//! keeps out are reported with the reason, for the merge audit.

use alloc::collections::{BTreeMap, BTreeSet};
use alloc::string::String;
use alloc::vec::Vec;

use crate::event::Violation;
use crate::identity::{Config, IdType, Identifier};

pub type ProfileId = String;

/// What the graph knows about an event's identifiers: the profile that owns
/// each known one, and every identifier of those profiles.
#[derive(Clone, Debug, Default)]
pub struct Known {
    pub owner: BTreeMap<Identifier, ProfileId>,
    pub profiles: BTreeMap<ProfileId, Vec<Identifier>>,
}

/// Per-type limits on one profile's identifiers.
#[derive(Clone, Debug)]
pub struct Rules {
    pub user_id_limit: usize,
    pub other_limit: usize,
    pub custom_limits: BTreeMap<String, usize>,
}

impl Default for Rules {
    fn default() -> Self {
        Rules { user_id_limit: 1, other_limit: 5, custom_limits: BTreeMap::new() }
    }
}

impl Rules {
    /// `custom_limits` (by type name, built-in types included) override the defaults.
    pub fn limit(&self, kind: &IdType) -> usize {
        match (self.custom_limits.get(kind.as_str()), kind) {
            (Some(&n), _) => n,
            (None, IdType::UserId) => self.user_id_limit,
            (None, _) => self.other_limit,
        }
    }
}

/// A workspace's identity settings, as JSON (the worker's `CAIRN_IDENTITY`):
/// `{"defaultRegion": "DE", "blocked": ["test@example.com"], "customIdentifiers":
/// ["device_id"], "limits": {"email": 3, "device_id": 2}}`. Every key is optional;
/// every problem is reported.
pub fn settings(v: &serde_json::Value) -> Result<(Config, Rules), Vec<Violation>> {
    use serde_json::Value;
    let mut config = Config::default();
    let mut rules = Rules::default();
    let mut violations = Vec::new();
    let Some(obj) = v.as_object() else {
        return Err(alloc::vec![Violation::new("$", "not_an_object", "identity settings must be a JSON object")]);
    };
    let strings = |key: &str, value: &Value, violations: &mut Vec<Violation>| -> Vec<String> {
        match value.as_array() {
            Some(items) if items.iter().all(|i| i.as_str().is_some_and(|s| !s.is_empty())) => {
                items.iter().filter_map(|i| i.as_str().map(String::from)).collect()
            }
            _ => {
                violations.push(Violation::new(key, "invalid", "must be an array of non-empty strings"));
                Vec::new()
            }
        }
    };
    for (key, value) in obj {
        match key.as_str() {
            "defaultRegion" => match value.as_str().and_then(crate::identity::Region::parse) {
                Some(r) => config.default_region = r,
                None => violations.push(Violation::new(
                    key.as_str(),
                    "invalid",
                    "an ISO 3166 code Cairn knows (US, DE, GB, ...)",
                )),
            },
            "blocked" => config.blocked = strings(key, value, &mut violations),
            "customIdentifiers" => {
                config.custom = strings(key, value, &mut violations);
                let builtin = ["user_id", "email", "phone", "anonymous_id"];
                if config.custom.iter().any(|c| builtin.contains(&c.as_str())) {
                    violations.push(Violation::new(
                        key.as_str(),
                        "invalid",
                        "custom identifiers need names of their own",
                    ));
                }
            }
            "limits" => match value.as_object() {
                Some(limits) => {
                    for (kind, n) in limits {
                        match n.as_u64().filter(|n| (1..=100).contains(n)) {
                            Some(n) => {
                                rules.custom_limits.insert(kind.clone(), n as usize);
                            }
                            None => violations.push(Violation::new(
                                ["limits.", kind.as_str()].concat(),
                                "invalid",
                                "a limit is an integer from 1 to 100",
                            )),
                        }
                    }
                }
                None => violations.push(Violation::new("limits", "wrong_type", "limits must be an object")),
            },
            other => violations.push(Violation::new(other, "unknown_setting", "unknown identity setting")),
        }
    }
    if violations.is_empty() { Ok((config, rules)) } else { Err(violations) }
}

/// What happens to the graph.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Plan {
    /// None of the identifiers is known: a new profile with these.
    Create { identifiers: Vec<Identifier> },
    /// The event belongs to `profile`, which gains `add` (possibly nothing).
    Update { profile: ProfileId, add: Vec<Identifier> },
    /// The profiles in `from` join `into`, which also gains `add`. `via` are
    /// the event's identifiers that connected them (the merge's reason).
    Merge { into: ProfileId, from: Vec<ProfileId>, add: Vec<Identifier>, via: Vec<Identifier> },
}

/// Why an identifier of the event was kept out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// Joining would put two different user ids in one profile.
    DifferentUserIds,
    /// The profile already has as many identifiers of this type as allowed.
    Limit,
    /// Only an anonymous id links two profiles that each have a strong
    /// identifier (user id, email, phone): a device shared by two people.
    BothIdentified,
}

/// Identifiers that name a person rather than a device or browser.
fn is_strong(id: &Identifier) -> bool {
    matches!(id.kind, IdType::UserId | IdType::Email | IdType::Phone)
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decision {
    pub plan: Plan,
    pub refused: Vec<(Identifier, Refusal)>,
}

/// The profile being assembled: its identifiers, the existing profiles it
/// is made of (first = the one that stays), and the event ids that linked them.
struct Draft<'a> {
    ids: BTreeSet<&'a Identifier>,
    profiles: Vec<&'a ProfileId>,
    add: Vec<Identifier>,
    via: Vec<Identifier>,
}

impl<'a> Draft<'a> {
    fn count(&self, kind: &IdType) -> usize {
        self.ids.iter().filter(|i| &i.kind == kind).count()
    }

    fn user_ids(&self) -> impl Iterator<Item = &&'a Identifier> {
        self.ids.iter().filter(|i| i.kind == IdType::UserId)
    }

    /// Whether `others` (another profile's identifiers) can join.
    fn check(&self, others: &[&Identifier], rules: &Rules) -> Result<(), Refusal> {
        let theirs: Vec<&&Identifier> = others.iter().filter(|i| i.kind == IdType::UserId).collect();
        if theirs.iter().any(|t| self.user_ids().any(|u| u.value != t.value)) {
            return Err(Refusal::DifferentUserIds);
        }
        let mut kinds: BTreeSet<&IdType> = others.iter().map(|i| &i.kind).collect();
        kinds.retain(|k| {
            let new = others.iter().filter(|i| &&i.kind == k && !self.ids.contains(**i)).count();
            self.count(k) + new > rules.limit(k)
        });
        if kinds.is_empty() { Ok(()) } else { Err(Refusal::Limit) }
    }
}

/// Decides where an event with `event_ids` belongs. Identifiers are taken in
/// priority order (user_id, email, phone, anonymous_id, custom), so the
/// strongest identity anchors the profile and weaker ones follow it.
pub fn decide(event_ids: &[Identifier], known: &Known, rules: &Rules) -> Decision {
    let mut ordered: Vec<&Identifier> = event_ids.iter().collect();
    ordered.sort();
    ordered.dedup();
    let mut draft = Draft { ids: BTreeSet::new(), profiles: Vec::new(), add: Vec::new(), via: Vec::new() };
    let mut refused = Vec::new();
    for id in ordered {
        if draft.ids.contains(id) {
            continue;
        }
        match known.owner.get(id) {
            Some(owner) if draft.profiles.contains(&owner) => {}
            Some(owner) => {
                let theirs: Vec<&Identifier> =
                    known.profiles.get(owner).map(|v| v.iter().collect()).unwrap_or_default();
                let weak_link =
                    !is_strong(id) && draft.ids.iter().any(|i| is_strong(i)) && theirs.iter().any(|i| is_strong(i));
                let check = if weak_link { Err(Refusal::BothIdentified) } else { draft.check(&theirs, rules) };
                match check {
                    Ok(()) => {
                        if !draft.profiles.is_empty() {
                            draft.via.push(id.clone());
                        }
                        draft.ids.extend(theirs.iter().copied());
                        draft.ids.insert(id);
                        draft.profiles.push(owner);
                    }
                    Err(why) => refused.push((id.clone(), why)),
                }
            }
            None => match draft.check(&[id], rules) {
                Ok(()) => {
                    draft.ids.insert(id);
                    draft.add.push(id.clone());
                }
                Err(why) => refused.push((id.clone(), why)),
            },
        }
    }
    let plan = match draft.profiles.split_first() {
        None => Plan::Create { identifiers: draft.add },
        Some((into, [])) => Plan::Update { profile: (*into).clone(), add: draft.add },
        Some((into, rest)) => {
            // A merge keeps the profile of the strongest identifier; the
            // connection is the identifiers that brought each other one in.
            let mut via = draft.via;
            via.sort();
            Plan::Merge {
                into: (*into).clone(),
                from: rest.iter().map(|p| (*p).clone()).collect(),
                add: draft.add,
                via,
            }
        }
    };
    Decision { plan, refused }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::format;
    use alloc::string::ToString;
    use expect_test::{Expect, expect};

    fn ident(s: &str) -> Identifier {
        let (kind, value) = s.split_once('=').expect("type=value");
        let kind = match kind {
            "user_id" => IdType::UserId,
            "email" => IdType::Email,
            "phone" => IdType::Phone,
            "anonymous_id" => IdType::AnonymousId,
            other => IdType::Custom(other.to_string()),
        };
        Identifier { kind, value: value.to_string() }
    }

    /// `graph` lines are `profile: type=value ...`; `event` is `type=value ...`.
    fn check(graph: &str, event: &str, expect: Expect) {
        let mut known = Known::default();
        for line in graph.lines().map(str::trim).filter(|l| !l.is_empty()) {
            let (profile, ids) = line.split_once(':').expect("profile: ids");
            let ids: Vec<Identifier> = ids.split_whitespace().map(ident).collect();
            for i in &ids {
                known.owner.insert(i.clone(), profile.to_string());
            }
            known.profiles.insert(profile.to_string(), ids);
        }
        let event: Vec<Identifier> = event.split_whitespace().map(ident).collect();
        let d = decide(&event, &known, &Rules::default());
        let show = |ids: &[Identifier]| {
            ids.iter().map(|i| format!("{}={}", i.kind.as_str(), i.value)).collect::<Vec<_>>().join(" ")
        };
        let mut out = match &d.plan {
            Plan::Create { identifiers } => format!("create [{}]", show(identifiers)),
            Plan::Update { profile, add } => format!("update {profile} add [{}]", show(add)),
            Plan::Merge { into, from, add, via } => {
                format!("merge {} into {into} via [{}] add [{}]", from.join(","), show(via), show(add))
            }
        };
        for (id, why) in &d.refused {
            out.push_str(&format!("\nrefused {}={} {why:?}", id.kind.as_str(), id.value));
        }
        expect.assert_eq(&out);
    }

    #[test]
    fn first_sight_creates_a_profile() {
        check("", "anonymous_id=a1", expect!["create [anonymous_id=a1]"]);
        check("", "user_id=u1 anonymous_id=a1 email=x@y.z", expect!["create [user_id=u1 email=x@y.z anonymous_id=a1]"]);
    }

    #[test]
    fn login_on_the_same_device_attaches_the_user() {
        check("p1: anonymous_id=a1", "user_id=u1 anonymous_id=a1", expect!["update p1 add [user_id=u1]"]);
        check("p1: user_id=u1 anonymous_id=a1", "user_id=u1 anonymous_id=a1", expect!["update p1 add []"]);
    }

    #[test]
    fn two_devices_then_the_same_email_merge() {
        check(
            "p1: user_id=u1 anonymous_id=a1 email=x@y.z
             p2: anonymous_id=a2",
            "anonymous_id=a2 email=x@y.z",
            expect!["merge p2 into p1 via [anonymous_id=a2] add []"],
        );
        check(
            "p1: anonymous_id=a1
             p2: anonymous_id=a2",
            "user_id=u1 anonymous_id=a1 anonymous_id=a2",
            expect!["merge p2 into p1 via [anonymous_id=a2] add [user_id=u1]"],
        );
    }

    #[test]
    fn a_shared_computer_never_fuses_two_customers() {
        // u2 logs in on the device u1 used: u2 gets a profile of its own, the device stays with u1.
        check(
            "p1: user_id=u1 anonymous_id=a1",
            "user_id=u2 anonymous_id=a1",
            expect![[r#"
                create [user_id=u2]
                refused anonymous_id=a1 BothIdentified"#]],
        );
        check(
            "p1: user_id=u1 email=shared@home.example
             p2: user_id=u2",
            "user_id=u2 email=shared@home.example",
            expect![[r#"
                update p2 add []
                refused email=shared@home.example DifferentUserIds"#]],
        );
    }

    #[test]
    fn limits_keep_identifiers_out() {
        check(
            "p1: anonymous_id=a1 anonymous_id=a2 anonymous_id=a3 anonymous_id=a4 anonymous_id=a5",
            "anonymous_id=a1 anonymous_id=a6",
            expect![[r#"
                update p1 add []
                refused anonymous_id=a6 Limit"#]],
        );
        check(
            "",
            "user_id=u1 user_id=u2",
            expect![[r#"
            create [user_id=u1]
            refused user_id=u2 DifferentUserIds"#]],
        );
    }

    #[test]
    fn settings_configure_limits_regions_and_blocked_values() {
        let (config, rules) = settings(&serde_json::json!({
            "defaultRegion": "DE", "blocked": ["test@example.com"], "customIdentifiers": ["device_id"],
            "limits": {"email": 2, "device_id": 1}
        }))
        .expect("valid");
        assert_eq!(config.default_region.code, "DE");
        assert_eq!((rules.limit(&IdType::Email), rules.limit(&IdType::Phone)), (2, 5));
        assert_eq!(rules.limit(&IdType::Custom("device_id".into())), 1);
        assert_eq!(rules.limit(&IdType::UserId), 1);
        let bad = settings(
            &serde_json::json!({"defaultRegion": "XX", "limits": {"email": 0}, "customIdentifiers": ["email"], "x": 1}),
        );
        let codes: Vec<String> =
            bad.err().unwrap_or_default().iter().map(|v| format!("{} {}", v.path, v.code)).collect();
        expect_test::expect![[
            r#"["customIdentifiers invalid", "defaultRegion invalid", "limits.email invalid", "x unknown_setting"]"#
        ]]
        .assert_eq(&format!("{codes:?}"));
    }

    #[test]
    fn an_alias_chain_ends_in_one_profile() {
        check(
            "p1: anonymous_id=a1
             p2: user_id=old
             p3: email=x@y.z",
            "user_id=old anonymous_id=a1 email=x@y.z",
            expect!["merge p3,p1 into p2 via [email=x@y.z anonymous_id=a1] add []"],
        );
    }

    proptest::proptest! {
        /// Whatever the graph and the event, a decision never puts two
        /// different user ids into one profile.
        #[test]
        fn never_two_user_ids_in_one_profile(
            profiles in proptest::collection::vec(proptest::collection::vec((0u8..4, 0u8..4), 1..4), 0..4),
            event in proptest::collection::vec((0u8..4, 0u8..4), 1..5),
        ) {
            let kinds = ["user_id", "email", "phone", "anonymous_id"];
            let mk = |(k, v): (u8, u8)| ident(&format!("{}={v}", kinds[usize::from(k)]));
            let mut known = Known::default();
            for (n, ids) in profiles.into_iter().enumerate() {
                let p = format!("p{n}");
                // A valid graph: each identifier in one profile, at most one user id per profile.
                let mut mine: Vec<Identifier> = Vec::new();
                for id in ids.into_iter().map(mk) {
                    let has_user = mine.iter().any(|i| i.kind == IdType::UserId);
                    if known.owner.contains_key(&id) || (id.kind == IdType::UserId && has_user) {
                        continue;
                    }
                    known.owner.insert(id.clone(), p.clone());
                    mine.push(id);
                }
                known.profiles.insert(p, mine);
            }
            let event: Vec<Identifier> = event.into_iter().map(mk).collect();
            let d = decide(&event, &known, &Rules::default());
            let mut result: Vec<Identifier> = match &d.plan {
                Plan::Create { identifiers } => identifiers.clone(),
                Plan::Update { profile, add } => known.profiles[profile].iter().cloned().chain(add.iter().cloned()).collect(),
                Plan::Merge { into, from, add, .. } => core::iter::once(into)
                    .chain(from)
                    .flat_map(|p| known.profiles[p].iter().cloned())
                    .chain(add.iter().cloned())
                    .collect(),
            };
            result.sort();
            result.dedup();
            let users = result.iter().filter(|i| i.kind == IdType::UserId).count();
            proptest::prop_assert!(users <= 1, "{:?} -> {:?}", event, d);
            // Every identifier of the event is either in the result or refused.
            for id in &event {
                proptest::prop_assert!(result.contains(id) || d.refused.iter().any(|(r, _)| r == id));
            }
        }
    }
}
