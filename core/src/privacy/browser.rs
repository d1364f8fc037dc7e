//! The part of a source's privacy rules that the browser enforces before a
//! batch leaves the page. The SDK's guard (a wasm module of its own, which
//! the loader fetches only for sources that [`for_browser`] finds something
//! to do for) runs [`screen`] over every request body.
//!
//! It is the worker's own stage, [`check`], run on the messages as the SDK
//! wrote them, so the browser drops or edits what the worker would: events
//! without consent for their category, events a `block` PII rule catches,
//! values a `redact` rule hides, and what the tracking plan omits or blocks.
//! The worker runs the stage again on what arrives.
//!
//! Hashing stays at the edge: it is keyed with the workspace's secret salt,
//! which never reaches a browser, and an unkeyed hash of an email is as good
//! as the email to anyone with a list of addresses. In the browser a `hash`
//! rule keeps the value (over TLS to the worker, which hashes it before
//! anything is stored). That is the one place where the two can differ: the
//! worker's plan checks a hashed value as the hash (a string), the browser's
//! as it was sent, so a hashed field should be typed `string` in a plan.
//! Data minimization (`minimize`) is the worker's too.

use alloc::string::String;
use serde_json::{Map, Value};

use super::{Rules, check};
use crate::consent::Category;
use crate::event::{Kind, Parts};
use crate::json::{self, JsonError};
use crate::pii::{Action, Policy};
use crate::plan;

/// The rules the browser runs for a source, or `None` when they would
/// change nothing there (every event is analytics, no PII rule redacts or
/// blocks, the plan, if any, only reports).
pub fn for_browser(rules: &Rules) -> Option<Rules> {
    let pii = rules.pii.as_ref().map(without_hashing).filter(acts);
    let plan = rules.plan.clone().filter(|p| p.mode != plan::Mode::Allow);
    let categorized = rules.event_categories.values().any(|c| *c != Category::Analytics);
    (pii.is_some() || plan.is_some() || categorized).then(|| Rules {
        consent: rules.consent,
        event_categories: rules.event_categories.clone(),
        pii,
        plan,
    })
}

/// `policy` with `hash` read as `allow` (see the module's note).
fn without_hashing(policy: &Policy) -> Policy {
    let keep = |a: Action| if a == Action::Hash { Action::Allow } else { a };
    Policy {
        per_class: policy.per_class.iter().map(|(c, a)| (*c, keep(*a))).collect(),
        per_path: policy.per_path.iter().map(|(p, a)| (p.clone(), keep(*a))).collect(),
        default: keep(policy.default),
    }
}

/// Whether a policy changes anything.
fn acts(policy: &Policy) -> bool {
    let classes = policy.per_class.iter().map(|(_, a)| *a);
    let paths = policy.per_path.iter().map(|(_, a)| *a);
    classes.chain(paths).chain([policy.default]).any(|a| a != Action::Allow)
}

/// What [`screen`] did to a body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Screened {
    /// The body to send: the batch without the dropped messages, the others
    /// as the rules left them.
    pub body: String,
    /// Messages left in it.
    pub kept: usize,
    pub dropped: usize,
}

/// Runs `rules` over each message of a batch body (`{"batch": [...], ...}`,
/// as the SDK writes them). Anything that is not a message object is left
/// for the worker to refuse.
pub fn screen(body: &str, rules: &Rules) -> Result<Screened, JsonError> {
    let mut doc = json::parse(body.as_bytes())?;
    let Some(batch) = doc.get_mut("batch").and_then(Value::as_array_mut) else {
        return Err(JsonError { message: "a request body is a batch object".into() });
    };
    let before = batch.len();
    batch.retain_mut(|m| m.as_object_mut().is_none_or(|m| keeps(m, rules)));
    let kept = batch.len();
    let body =
        serde_json::to_string(&doc).map_err(|e| JsonError { message: alloc::string::ToString::to_string(&e) })?;
    Ok(Screened { body, kept, dropped: before - kept })
}

/// Runs the stage over one message object; whether it may be sent.
fn keeps(msg: &mut Map<String, Value>, rules: &Rules) -> bool {
    let Some(kind) = msg.get("type").and_then(Value::as_str).and_then(Kind::parse) else { return true };
    let event: Option<String> = msg.get("event").and_then(Value::as_str).map(String::from);
    let [mut properties, mut traits, mut context] = ["properties", "traits", "context"].map(|k| take(msg, k));
    let verdict = check(
        &mut Parts {
            kind,
            event: event.as_deref(),
            properties: &mut properties.0,
            traits: &mut traits.0,
            context: &mut context.0,
        },
        rules,
        &[],
    );
    for (key, (map, present)) in [("properties", properties), ("traits", traits), ("context", context)] {
        if present {
            msg.insert(key.into(), Value::Object(map));
        }
    }
    verdict.dropped.is_none()
}

/// The object at `key`, taken out of `msg`, and whether it was there; a
/// value that is not an object stays (the worker refuses it).
fn take(msg: &mut Map<String, Value>, key: &str) -> (Map<String, Value>, bool) {
    match msg.remove(key) {
        Some(Value::Object(map)) => (map, true),
        Some(other) => {
            msg.insert(key.into(), other);
            (Map::new(), false)
        }
        None => (Map::new(), false),
    }
}
