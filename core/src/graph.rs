//! The identity graph in memory: profiles, who owns each identifier, and
//! traits resolved by event time.
//!
//! The worker loads the part of the graph an ingest request touches from D1,
//! runs the request's events through [`Graph::apply`] one after another and
//! writes the [`Change`]s back in one transaction, guarded by the versions it
//! read. Tests and the accuracy benchmark run whole populations through the
//! same code in memory.

use alloc::collections::BTreeMap;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use serde_json::{Map, Value};

use crate::event::{Kind, Message};
use crate::identity::{self, Config, IdType, Identifier};
use crate::resolve::{self, Known, Plan, ProfileId, Refusal, Rules};
use crate::time::Millis;

/// One value of a trait with the time of the event that set it. Ties in time
/// are broken by the value's JSON text, so the result never depends on the
/// order in which events arrive.
#[derive(Clone, Debug, PartialEq)]
pub struct Stamped {
    pub at: Millis,
    pub value: Value,
}

impl Stamped {
    fn key(&self) -> (Millis, String) {
        (self.at, self.value.to_string())
    }
}

/// A trait as resolved: the latest `set` wins; without one, the earliest
/// `set_once` (`$set_once`) holds.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Trait {
    pub set: Option<Stamped>,
    pub once: Option<Stamped>,
}

impl Trait {
    pub fn value(&self) -> Option<&Value> {
        self.set.as_ref().or(self.once.as_ref()).map(|s| &s.value)
    }

    /// Combines what two sources know (commutative and associative).
    pub fn absorb(&mut self, other: &Trait) {
        if let Some(s) = &other.set
            && self.set.as_ref().is_none_or(|mine| s.key() > mine.key())
        {
            self.set = Some(s.clone());
        }
        if let Some(o) = &other.once
            && self.once.as_ref().is_none_or(|mine| o.key() < mine.key())
        {
            self.once = Some(o.clone());
        }
    }
}

pub type Traits = BTreeMap<String, Trait>;

/// The traits a message sets: `identify` traits (and `group`'s are the
/// group's, not the person's); `$set_once` inside them sets first-seen values.
pub fn traits_of(msg: &Message) -> Traits {
    let mut out = Traits::new();
    if msg.kind != Kind::Identify {
        return out;
    }
    let stamp = |value: &Value| Stamped { at: msg.timestamp, value: value.clone() };
    for (key, value) in &msg.traits {
        if key == "$set_once" {
            for (k, v) in value.as_object().into_iter().flatten() {
                out.entry(k.clone()).or_default().once = Some(stamp(v));
            }
        } else {
            out.entry(key.clone()).or_default().set = Some(stamp(value));
        }
    }
    out
}

/// The effective values, as a JSON object.
pub fn trait_values(traits: &Traits) -> Map<String, Value> {
    traits.iter().filter_map(|(k, t)| Some((k.clone(), t.value()?.clone()))).collect()
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Profile {
    pub identifiers: Vec<Identifier>,
    pub traits: Traits,
}

/// What applying one event changed.
#[derive(Clone, Debug, PartialEq)]
pub enum Change {
    Created {
        profile: ProfileId,
    },
    Added {
        profile: ProfileId,
        identifier: Identifier,
    },
    /// `from` joined `into`; `via` are the event's identifiers that connected
    /// them; `identifiers` and `traits` are what `from` had (for the audit and undo).
    Merged {
        into: ProfileId,
        from: ProfileId,
        via: Vec<Identifier>,
        identifiers: Vec<Identifier>,
        traits: Traits,
    },
    Refused {
        identifier: Identifier,
        reason: Refusal,
    },
    /// Traits of `profile` changed (its new trait set is in the graph).
    Traits {
        profile: ProfileId,
    },
}

/// Where an event went, and what changed.
#[derive(Clone, Debug, PartialEq)]
pub struct Applied {
    pub profile: ProfileId,
    pub changes: Vec<Change>,
}

#[derive(Clone, Debug, Default)]
pub struct Graph {
    owner: BTreeMap<Identifier, ProfileId>,
    profiles: BTreeMap<ProfileId, Profile>,
    pub rules: Rules,
}

/// The identifiers a storage lookup needs for `msg`: what it carries, and for
/// `alias` its `previousId` as either a user id or an anonymous id.
pub fn lookups(msg: &Message, config: &Config) -> Vec<Identifier> {
    let mut ids = identity::extract(msg, config);
    if let Some(prev) = previous_id(msg, config) {
        ids.push(Identifier { kind: IdType::UserId, value: prev.clone() });
        ids.push(Identifier { kind: IdType::AnonymousId, value: prev });
    }
    ids.sort();
    ids.dedup();
    ids
}

fn previous_id(msg: &Message, config: &Config) -> Option<String> {
    let prev = msg.previous_id.as_ref().filter(|_| msg.kind == Kind::Alias)?;
    (!identity::is_blocked(prev, &config.blocked)).then(|| prev.clone())
}

impl Graph {
    pub fn new(rules: Rules) -> Graph {
        Graph { rules, ..Graph::default() }
    }

    /// Adds a profile read from storage.
    pub fn insert(&mut self, id: ProfileId, profile: Profile) {
        for i in &profile.identifiers {
            self.owner.insert(i.clone(), id.clone());
        }
        self.profiles.insert(id, profile);
    }

    pub fn profile(&self, id: &str) -> Option<&Profile> {
        self.profiles.get(id)
    }

    pub fn profiles(&self) -> impl Iterator<Item = (&ProfileId, &Profile)> {
        self.profiles.iter()
    }

    pub fn owner(&self, id: &Identifier) -> Option<&ProfileId> {
        self.owner.get(id)
    }

    /// The identifiers `msg` links, with an alias's `previousId` read as the
    /// user id it is when the graph knows one, else as an anonymous id.
    pub fn identifiers(&self, msg: &Message, config: &Config) -> Vec<Identifier> {
        let mut ids = identity::extract(msg, config);
        if let Some(prev) = previous_id(msg, config) {
            let as_user = Identifier { kind: IdType::UserId, value: prev.clone() };
            let id = if self.owner.contains_key(&as_user) {
                as_user
            } else {
                Identifier { kind: IdType::AnonymousId, value: prev }
            };
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
        ids.sort();
        ids
    }

    /// Runs one message through the graph.
    pub fn apply_message(
        &mut self,
        msg: &Message,
        config: &Config,
        new_id: &mut dyn FnMut() -> ProfileId,
    ) -> Option<Applied> {
        let ids = self.identifiers(msg, config);
        if ids.is_empty() {
            return None;
        }
        Some(self.apply(&ids, &traits_of(msg), new_id))
    }

    /// Resolves an event with identifiers `ids` (at least one) and `traits`.
    pub fn apply(&mut self, ids: &[Identifier], traits: &Traits, new_id: &mut dyn FnMut() -> ProfileId) -> Applied {
        let known = self.known(ids);
        let decision = resolve::decide(ids, &known, &self.rules);
        let mut changes: Vec<Change> =
            decision.refused.into_iter().map(|(identifier, reason)| Change::Refused { identifier, reason }).collect();
        let (profile, add) = match decision.plan {
            Plan::Create { identifiers } => {
                let id = new_id();
                self.profiles.insert(id.clone(), Profile::default());
                changes.push(Change::Created { profile: id.clone() });
                (id, identifiers)
            }
            Plan::Update { profile, add } => (profile, add),
            Plan::Merge { into, from, add, via } => {
                for f in from {
                    let gone = self.profiles.remove(&f).unwrap_or_default();
                    let target = self.profiles.entry(into.clone()).or_default();
                    for i in &gone.identifiers {
                        self.owner.insert(i.clone(), into.clone());
                        target.identifiers.push(i.clone());
                    }
                    for (k, t) in &gone.traits {
                        target.traits.entry(k.clone()).or_default().absorb(t);
                    }
                    changes.push(Change::Merged {
                        into: into.clone(),
                        from: f,
                        via: via.clone(),
                        identifiers: gone.identifiers,
                        traits: gone.traits,
                    });
                }
                (into, add)
            }
        };
        let target = self.profiles.entry(profile.clone()).or_default();
        for identifier in add {
            self.owner.insert(identifier.clone(), profile.clone());
            target.identifiers.push(identifier.clone());
            changes.push(Change::Added { profile: profile.clone(), identifier });
        }
        target.identifiers.sort();
        let before = target.traits.clone();
        for (k, t) in traits {
            target.traits.entry(k.clone()).or_default().absorb(t);
        }
        if target.traits != before {
            changes.push(Change::Traits { profile: profile.clone() });
        }
        Applied { profile, changes }
    }

    /// Splits `from` out of `into` again: `from` gets back `identifiers` (the
    /// ones it had when merged) and `traits` (recomputed by the caller from
    /// its events); `into` keeps the rest.
    pub fn split(&mut self, into: &str, from: ProfileId, identifiers: &[Identifier], traits: Traits) {
        if let Some(p) = self.profiles.get_mut(into) {
            p.identifiers.retain(|i| !identifiers.contains(i));
        }
        for i in identifiers {
            self.owner.insert(i.clone(), from.clone());
        }
        let mut ids = identifiers.to_vec();
        ids.sort();
        self.profiles.insert(from, Profile { identifiers: ids, traits });
    }

    /// Sets a profile's traits (recomputed from its events after an undo).
    pub fn set_traits(&mut self, id: &str, traits: Traits) {
        if let Some(p) = self.profiles.get_mut(id) {
            p.traits = traits;
        }
    }

    fn known(&self, ids: &[Identifier]) -> Known {
        let mut known = Known::default();
        for i in ids {
            if let Some(owner) = self.owner.get(i) {
                known.owner.insert(i.clone(), owner.clone());
                if let Some(p) = self.profiles.get(owner) {
                    known.profiles.insert(owner.clone(), p.identifiers.clone());
                }
            }
        }
        known
    }
}

/// A profile's traits recomputed from its events (after an undo).
pub fn traits_from<'a>(messages: impl IntoIterator<Item = &'a Message>) -> Traits {
    let mut out = Traits::new();
    for m in messages {
        for (k, t) in traits_of(m) {
            out.entry(k).or_default().absorb(&t);
        }
    }
    out
}

#[cfg(test)]
mod tests;
