//! The privacy stage of ingest, per message: consent (is the event's
//! category allowed?), personal data (the source's PII policy) and the
//! tracking plan, in that order. Pure: the worker stores what is kept, counts
//! what was found and answers with what was dropped.

use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec::Vec;
use serde_json::{Map, Value, json};

use crate::consent::Category;
use crate::event::{Kind, Message, Parts, Violation};
use crate::{pii, plan};

pub mod browser;

/// How a source treats an event's `context.consent.categoryPreferences`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ConsentRule {
    /// Drop events whose preferences deny their category; keep events that
    /// carry no preference for it (a server, or a consent tool with its own
    /// category names).
    #[default]
    Enforce,
    /// Also drop events that carry no preference for their category.
    Require,
}

impl ConsentRule {
    pub fn as_str(self) -> &'static str {
        match self {
            ConsentRule::Enforce => "enforce",
            ConsentRule::Require => "require",
        }
    }

    pub fn parse(s: &str) -> Option<ConsentRule> {
        [ConsentRule::Enforce, ConsentRule::Require].into_iter().find(|r| r.as_str() == s)
    }
}

/// A source's privacy settings.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Rules {
    pub consent: ConsentRule,
    /// The category of `track` events by name; anything else is `analytics`.
    pub event_categories: BTreeMap<String, Category>,
    pub pii: Option<pii::Policy>,
    pub plan: Option<plan::Plan>,
}

impl Rules {
    /// Reads the privacy keys of a source's settings (`consent`,
    /// `eventCategories`, `piiPolicy`, `trackingPlan`), reporting every
    /// problem under `settings.`.
    pub fn from_settings(settings: &Map<String, Value>) -> Result<Rules, Vec<Violation>> {
        let mut rules = Rules::default();
        let mut violations = Vec::new();
        fn prefixed(vs: Vec<Violation>, key: &'static str) -> impl Iterator<Item = Violation> {
            vs.into_iter().map(move |v| Violation { path: ["settings.", key, ".", &v.path].concat(), ..v })
        }
        if let Some(c) = settings.get("consent") {
            match c.as_str().and_then(ConsentRule::parse) {
                Some(r) => rules.consent = r,
                None => {
                    violations.push(Violation::new("settings.consent", "invalid", "consent must be enforce or require"))
                }
            }
        }
        if let Some(cats) = settings.get("eventCategories") {
            match cats.as_object() {
                Some(m) => {
                    for (event, c) in m {
                        match c.as_str().and_then(Category::parse) {
                            Some(c) => {
                                rules.event_categories.insert(event.clone(), c);
                            }
                            None => violations.push(Violation::new(
                                ["settings.eventCategories.", event.as_str()].concat(),
                                "invalid",
                                "a category is necessary, analytics, marketing or personalization",
                            )),
                        }
                    }
                }
                None => violations.push(Violation::new("settings.eventCategories", "wrong_type", "an object")),
            }
        }
        if let Some(p) = settings.get("piiPolicy").filter(|p| !p.is_null()) {
            match pii::Policy::from_json(p) {
                Ok(p) => rules.pii = Some(p),
                Err(vs) => violations.extend(prefixed(vs, "piiPolicy")),
            }
        }
        if let Some(p) = settings.get("trackingPlan").filter(|p| !p.is_null()) {
            match plan::parse(p) {
                Ok(p) => rules.plan = Some(p),
                Err(vs) => violations.extend(prefixed(vs, "trackingPlan")),
            }
        }
        if violations.is_empty() { Ok(rules) } else { Err(violations) }
    }

    /// The same keys as JSON, for the source's settings.
    pub fn write_settings(&self, settings: &mut Map<String, Value>) {
        settings.insert("consent".into(), self.consent.as_str().into());
        let cats: Map<String, Value> =
            self.event_categories.iter().map(|(k, c)| (k.clone(), Value::from(c.as_str()))).collect();
        settings.insert("eventCategories".into(), Value::Object(cats));
        settings.insert("piiPolicy".into(), self.pii.as_ref().map_or(Value::Null, pii::Policy::to_json));
        settings.insert("trackingPlan".into(), self.plan.as_ref().map_or(Value::Null, plan::Plan::to_json));
    }

    /// The consent category an event needs.
    pub fn category(&self, kind: Kind, event: Option<&str>) -> Category {
        let named = event.filter(|_| kind == Kind::Track);
        named.and_then(|e| self.event_categories.get(e)).copied().unwrap_or(Category::Analytics)
    }
}

/// Why a message was not stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dropped {
    Consent,
    Pii,
    Plan(plan::Reason),
}

impl Dropped {
    pub fn as_str(self) -> &'static str {
        match self {
            Dropped::Consent => "consent",
            Dropped::Pii => "pii_blocked",
            Dropped::Plan(r) => r.as_str(),
        }
    }
}

/// What the privacy stage decided about one message (which it may have
/// edited: hashed or redacted fields, unplanned properties removed).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Verdict {
    pub dropped: Option<Dropped>,
    pub category: Option<Category>,
    pub findings: Vec<pii::Finding>,
    pub violations: Vec<Violation>,
}

/// A message's own answer for `category`: `Some(allowed)` when its
/// `context.consent.categoryPreferences` names it.
pub fn preference(context: &Map<String, Value>, category: Category) -> Option<bool> {
    if category == Category::Necessary {
        return Some(true);
    }
    let prefs = context.get("consent")?.get("categoryPreferences")?;
    prefs.get(category.as_str())?.as_bool()
}

/// Runs the stages over `msg`; `salt` keys the PII hashes.
pub fn check(msg: &mut Parts<'_>, rules: &Rules, salt: &[u8]) -> Verdict {
    let category = rules.category(msg.kind, msg.event);
    let mut verdict = Verdict { category: Some(category), ..Verdict::default() };
    let allowed = match (preference(msg.context, category), rules.consent) {
        (Some(allowed), _) => allowed,
        (None, ConsentRule::Enforce) => true,
        (None, ConsentRule::Require) => false,
    };
    if !allowed {
        verdict.dropped = Some(Dropped::Consent);
        return verdict;
    }
    if let Some(policy) = &rules.pii {
        let report = pii::apply_message(msg, policy, salt);
        if report.blocked() {
            verdict.dropped = Some(Dropped::Pii);
        }
        verdict.findings = report.findings;
    }
    if let Some(p) = &rules.plan {
        let outcome = plan::apply(p, msg);
        if let (None, plan::Decision::Drop(reason)) = (verdict.dropped, outcome.decision) {
            verdict.dropped = Some(Dropped::Plan(reason));
        }
        verdict.violations = outcome.violations;
    }
    verdict
}

/// The answer's entry for a message that was not stored.
pub fn dropped_json(index: usize, msg: &Message, why: Dropped) -> Value {
    json!({"index": index, "messageId": msg.message_id, "reason": why.as_str()})
}

#[cfg(test)]
mod tests;
