//! What a source does with the personal data its events carry: a [`Policy`]
//! of actions per class and per field, and [`apply`], which runs one over an
//! event's JSON and reports what it found.

use alloc::borrow::{Cow, ToOwned};
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use serde_json::{Map, Value};

use super::{Class, REDACTED, classify_field, find, hash};
use crate::event::{Parts, Violation};
use crate::text;

/// What happens to a value, from the mildest to the strictest.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Action {
    /// Keep it (it is still reported).
    Allow,
    /// Replace it with its salted hash (see [`hash`]): profiles can still be
    /// joined on it, nobody can read it.
    Hash,
    /// Replace it with [`REDACTED`].
    Redact,
    /// Drop the whole event: the caller must not store or forward it.
    Block,
}

impl Action {
    pub const ALL: [Action; 4] = [Action::Allow, Action::Hash, Action::Redact, Action::Block];

    pub fn as_str(self) -> &'static str {
        match self {
            Action::Allow => "allow",
            Action::Hash => "hash",
            Action::Redact => "redact",
            Action::Block => "block",
        }
    }

    pub fn parse(s: &str) -> Option<Action> {
        Action::ALL.into_iter().find(|a| a.as_str() == s)
    }
}

/// A source's privacy rules.
///
/// A field matched by a path rule gets that rule's action whatever its value
/// (`traits.phone: hash` hashes even a phone number the detector misses;
/// `properties.support_phone: allow` keeps the shop's own number). Other
/// fields get the action of the class detected in them, from `per_class` or
/// else `default`; fields without personal data are left alone.
///
/// A path pattern is keys separated by `.`, where `*` stands for any one key
/// (`properties.*.email`). Array indices are not written: `properties.items`
/// covers every element of an array there. A pattern also covers everything
/// below the field it names (`context.traits` covers `context.traits.email`).
/// When several patterns match, the most specific wins: more keys, then more
/// of them literal; then the first listed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Policy {
    pub per_class: Vec<(Class, Action)>,
    pub per_path: Vec<(String, Action)>,
    pub default: Action,
}

/// Reports what it finds and changes nothing.
impl Default for Policy {
    fn default() -> Self {
        Policy { per_class: Vec::new(), per_path: Vec::new(), default: Action::Allow }
    }
}

impl Policy {
    /// The action for a value of `class` that no path rule covers.
    pub fn for_class(&self, class: Class) -> Action {
        self.per_class.iter().find(|(c, _)| *c == class).map_or(self.default, |(_, a)| *a)
    }

    /// The action of the most specific path rule covering the field at
    /// `keys` (`["traits", "address", "street"]`), if one does.
    pub fn for_path(&self, keys: &[&str]) -> Option<Action> {
        let mut best: Option<((usize, usize), Action)> = None;
        for (pattern, action) in &self.per_path {
            let (mut n, mut literal) = (0, 0);
            let matches = text::split(pattern, b'.').all(|seg| {
                let key = keys.get(n);
                n += 1;
                literal += usize::from(seg != "*");
                key.is_some_and(|k| seg == "*" || seg == *k)
            });
            if matches && best.is_none_or(|(rank, _)| (n, literal) > rank) {
                best = Some(((n, literal), *action));
            }
        }
        best.map(|(_, a)| a)
    }

    /// Reads a policy as sources store it, reporting every problem:
    /// `{"default": "allow", "classes": {"payment_card": "block"},
    /// "paths": {"traits.email": "hash"}}` (each part optional).
    pub fn from_json(v: &Value) -> Result<Policy, Vec<Violation>> {
        let Some(obj) = v.as_object() else {
            return Err(alloc::vec![Violation::new("$", "not_an_object", "a policy is a JSON object")]);
        };
        let mut violations = Vec::new();
        let mut policy = Policy::default();
        if let Some(d) = obj.get("default") {
            policy.default = read_action("default".to_owned(), d, &mut violations).unwrap_or(Action::Allow);
        }
        for key in ["classes", "paths"] {
            if obj.get(key).is_some_and(|v| !v.is_object()) {
                violations.push(Violation::new(key, "not_an_object", "an object of actions"));
            }
        }
        let entries = |key: &str| obj.get(key).and_then(Value::as_object).into_iter().flatten();
        for (name, v) in entries("classes") {
            let path = ["classes.", name].concat();
            let action = read_action(path.clone(), v, &mut violations);
            match Class::parse(name) {
                Some(c) => policy.per_class.extend(action.map(|a| (c, a))),
                None => violations.push(Violation::new(path, "unknown_class", "no such class")),
            }
        }
        for (pattern, v) in entries("paths") {
            let path = ["paths.", pattern].concat();
            let action = read_action(path.clone(), v, &mut violations);
            if pattern.is_empty() || text::split(pattern, b'.').any(str::is_empty) {
                violations.push(Violation::new(path, "invalid_path", "a path is keys separated by '.'"));
            } else {
                policy.per_path.extend(action.map(|a| (pattern.clone(), a)));
            }
        }
        if violations.is_empty() { Ok(policy) } else { Err(violations) }
    }

    pub fn to_json(&self) -> Value {
        let mut classes = Map::new();
        for (c, a) in &self.per_class {
            classes.insert(c.as_str().to_owned(), a.as_str().into());
        }
        let mut paths = Map::new();
        for (p, a) in &self.per_path {
            paths.insert(p.clone(), a.as_str().into());
        }
        serde_json::json!({ "default": self.default.as_str(), "classes": classes, "paths": paths })
    }
}

fn read_action(path: String, v: &Value, violations: &mut Vec<Violation>) -> Option<Action> {
    let action = v.as_str().and_then(Action::parse);
    if action.is_none() {
        violations.push(Violation::new(path, "invalid", "an action is allow, hash, redact or block"));
    }
    action
}

/// Personal data at one field, and what was done about it. `class` is `None`
/// when a path rule acted on a field where nothing was detected.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    /// Like `properties.items[0].email`.
    pub path: String,
    pub class: Option<Class>,
    pub action: Action,
}

/// What [`apply`] found, in document order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Report {
    pub findings: Vec<Finding>,
}

impl Report {
    /// Some field's action is [`Action::Block`]: the caller drops the event.
    pub fn blocked(&self) -> bool {
        self.findings.iter().any(|f| f.action == Action::Block)
    }
}

/// Runs `policy` over `value` (a message's `properties`, say, with `root`
/// `"properties"`): classifies every string and integer leaf by its path and
/// value, and hashes or redacts what the policy says, in place. A whole
/// value of a class is acted on as a whole; in free text, each found span is
/// (`"call me at +49 30 1234 5678"` becomes `"call me at [redacted]"`). Path
/// rules also act on numbers and booleans. Object keys are not examined.
/// `salt` is the workspace's secret for [`hash`].
pub fn apply(value: &mut Value, root: &str, policy: &Policy, salt: &[u8]) -> Report {
    let mut walk = Walk { policy, salt, path: String::from(root), report: Report::default() };
    let mut keys: Vec<&str> = text::split(root, b'.').filter(|k| !k.is_empty()).collect();
    walk.value(value, &mut keys);
    walk.report
}

/// [`apply`] over the parts of a message that carry what people typed or
/// were asked for: `properties`, `traits` and `context.traits`.
pub fn apply_message(msg: &mut Parts<'_>, policy: &Policy, salt: &[u8]) -> Report {
    let mut walk = Walk { policy, salt, path: String::new(), report: Report::default() };
    walk.object(msg.properties, "properties");
    walk.object(msg.traits, "traits");
    if let Some(Value::Object(traits)) = msg.context.get_mut("traits") {
        walk.object(traits, "context.traits");
    }
    walk.report
}

struct Walk<'p> {
    policy: &'p Policy,
    salt: &'p [u8],
    /// The path of the value being walked, as findings show it.
    path: String,
    report: Report,
}

impl Walk<'_> {
    fn object(&mut self, map: &mut Map<String, Value>, root: &str) {
        self.path = String::from(root);
        let mut keys: Vec<&str> = text::split(root, b'.').collect();
        self.map(map, &mut keys);
    }

    fn map<'a>(&mut self, map: &'a mut Map<String, Value>, keys: &mut Vec<&'a str>) {
        for (k, child) in map.iter_mut() {
            let len = self.path.len();
            if len > 0 {
                self.path.push('.');
            }
            self.path.push_str(k);
            keys.push(k);
            self.value(child, keys);
            keys.pop();
            self.path.truncate(len);
        }
    }

    fn value<'a>(&mut self, v: &'a mut Value, keys: &mut Vec<&'a str>) {
        match v {
            Value::Object(map) => self.map(map, keys),
            Value::Array(items) => {
                for (i, child) in items.iter_mut().enumerate() {
                    let len = self.path.len();
                    self.path.push('[');
                    crate::json_out::push_u64(&mut self.path, i as u64);
                    self.path.push(']');
                    self.value(child, keys);
                    self.path.truncate(len);
                }
            }
            leaf => self.leaf(leaf, keys),
        }
    }

    fn leaf(&mut self, v: &mut Value, keys: &[&str]) {
        let rule = self.policy.for_path(keys);
        let mut found = Vec::new();
        let replacement = {
            // Integers are classified too: a phone or card number sent as a number.
            let (text, free_text): (Cow<'_, str>, bool) = match &*v {
                Value::String(s) => (Cow::Borrowed(s), true),
                Value::Number(n) => match n.as_u64() {
                    Some(u) => {
                        let mut s = String::new();
                        crate::json_out::push_u64(&mut s, u);
                        (Cow::Owned(s), false)
                    }
                    None if rule.is_some() => (Cow::Owned(n.to_string()), false),
                    None => return,
                },
                Value::Bool(b) if rule.is_some() => (Cow::Borrowed(if *b { "true" } else { "false" }), false),
                _ => return,
            };
            let whole = classify_field(&self.path, &text);
            let spans = if whole.is_none() && free_text { find(&text) } else { Vec::new() };
            let classes = whole.into_iter().chain(spans.iter().map(|(_, c)| *c));
            match (rule, whole) {
                (Some(action), _) => {
                    found.extend(classes.map(|c| (Some(c), action)));
                    if found.is_empty() && action != Action::Allow {
                        found.push((None, action));
                    }
                    self.replace(action, whole, &text)
                }
                (None, Some(class)) => {
                    let action = self.policy.for_class(class);
                    found.push((Some(class), action));
                    self.replace(action, whole, &text)
                }
                (None, None) => {
                    found.extend(classes.map(|c| (Some(c), self.policy.for_class(c))));
                    self.replace_spans(&text, &spans)
                }
            }
        };
        for (i, &(class, action)) in found.iter().enumerate() {
            if !found.get(..i).unwrap_or_default().iter().any(|(c, _)| *c == class) {
                self.report.findings.push(Finding { path: self.path.clone(), class, action });
            }
        }
        if let Some(r) = replacement {
            *v = Value::String(r);
        }
    }

    /// What a whole value becomes under `action`, if it changes.
    fn replace(&self, action: Action, class: Option<Class>, value: &str) -> Option<String> {
        match action {
            Action::Allow | Action::Block => None,
            Action::Hash => Some(hash(self.salt, class, value)),
            Action::Redact => Some(REDACTED.to_owned()),
        }
    }

    /// Free text with each span replaced as its class's action says.
    fn replace_spans(&self, text: &str, spans: &[(core::ops::Range<usize>, Class)]) -> Option<String> {
        let mut out = String::with_capacity(text.len());
        let (mut done, mut changed) = (0, false);
        for (range, class) in spans {
            let span = text.get(range.clone()).unwrap_or_default();
            let Some(r) = self.replace(self.policy.for_class(*class), Some(*class), span) else { continue };
            out.push_str(text.get(done..range.start).unwrap_or_default());
            out.push_str(&r);
            done = range.end;
            changed = true;
        }
        out.push_str(text.get(done..).unwrap_or_default());
        changed.then_some(out)
    }
}
