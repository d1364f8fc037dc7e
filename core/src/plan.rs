//! Tracking plans: the events and properties a source may send, with their
//! types, and what happens to whatever does not fit.
//!
//! The model follows Segment Protocols and RudderStack tracking plans. A
//! [`Plan`] lists `track` events by name, each with a [`Schema`] of its
//! properties, and may also have schemas for `identify` traits, `page`
//! properties and `group` traits. A [`Property`] has one type or several (or
//! none: any value), may be required, and may carry cheap constraints: the
//! strings allowed (`enum`), a number range, a schema for the keys of a nested
//! object (`properties`) and one for array elements (`items`). Segment's
//! e-commerce `products` array, a list of objects, is the case nesting exists
//! for. As in JSON Schema, each constraint applies to values of its type:
//! `minimum` says nothing about a string.
//!
//! [`apply`] checks one normalized message and reports every [`Violation`];
//! the [`Mode`] decides whether it also removes unplanned properties or drops
//! the message. Violations are data: the worker counts them per event name.
//! Their messages never quote values, which may be personal data.

use alloc::borrow::ToOwned;
use alloc::boxed::Box;
use alloc::collections::BTreeMap;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use serde_json::{Map, Number, Value, json};

use crate::event::{Kind, Parts, Violation, indexed_path};

/// What a plan does besides reporting violations. Each mode does what the
/// one before it does, and more.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Mode {
    /// Report violations, change nothing (the default: a new plan never loses data).
    #[default]
    Allow,
    /// Also remove properties (and traits) that the plan does not list, at
    /// any depth it describes; unplanned events pass untouched.
    OmitProperties,
    /// Also drop unplanned events, and events with a required property
    /// missing or a value of the wrong type. Values outside an `enum` or a
    /// range are reported, not dropped.
    BlockEvents,
}

impl Mode {
    const ALL: [Mode; 3] = [Mode::Allow, Mode::OmitProperties, Mode::BlockEvents];

    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Allow => "allow",
            Mode::OmitProperties => "omit_properties",
            Mode::BlockEvents => "block_events",
        }
    }

    pub fn parse(s: &str) -> Option<Mode> {
        Mode::ALL.into_iter().find(|m| m.as_str() == s)
    }
}

/// A source's tracking plan.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Plan {
    pub mode: Mode,
    /// `track` events by exact (case-sensitive) name.
    pub events: BTreeMap<String, Event>,
    /// Schemas for the other calls; `None` leaves that call unchecked.
    pub identify: Option<Schema>,
    pub page: Option<Schema>,
    pub group: Option<Schema>,
}

/// A planned `track` event.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Event {
    pub description: Option<String>,
    pub properties: Schema,
}

/// The keys an object may have, each with its rules. Keys not listed are unplanned.
pub type Schema = BTreeMap<String, Property>;

/// The rules for one value.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Property {
    pub description: Option<String>,
    /// The value must have one of these types; empty: any type.
    pub types: Vec<Type>,
    /// The key must be present (a `null` value counts as present).
    pub required: bool,
    /// `enum`: the values a string may take; empty: any string.
    pub allowed: Vec<String>,
    /// Inclusive bounds for a number.
    pub minimum: Option<Number>,
    pub maximum: Option<Number>,
    /// The keys of an object value; `None`: any keys.
    pub properties: Option<Schema>,
    /// The rules for each element of an array value; `None`: any elements.
    pub items: Option<Box<Property>>,
}

/// JSON Schema's types. `integer` is a number without a fractional part
/// (`2.0` is one); `number` includes integers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Type {
    String,
    Number,
    Integer,
    Boolean,
    Object,
    Array,
    Null,
}

impl Type {
    const ALL: [Type; 7] =
        [Type::String, Type::Number, Type::Integer, Type::Boolean, Type::Object, Type::Array, Type::Null];

    pub fn as_str(self) -> &'static str {
        match self {
            Type::String => "string",
            Type::Number => "number",
            Type::Integer => "integer",
            Type::Boolean => "boolean",
            Type::Object => "object",
            Type::Array => "array",
            Type::Null => "null",
        }
    }

    pub fn parse(s: &str) -> Option<Type> {
        Type::ALL.into_iter().find(|t| t.as_str() == s)
    }

    pub fn admits(self, v: &Value) -> bool {
        match (self, v) {
            (Type::Integer, Value::Number(n)) => n.is_i64() || n.is_u64() || n.as_f64().is_some_and(|f| f % 1.0 == 0.0),
            (Type::String, Value::String(_))
            | (Type::Number, Value::Number(_))
            | (Type::Boolean, Value::Bool(_))
            | (Type::Object, Value::Object(_))
            | (Type::Array, Value::Array(_))
            | (Type::Null, Value::Null) => true,
            _ => false,
        }
    }
}

impl Property {
    fn admits(&self, v: &Value) -> bool {
        self.types.is_empty() || self.types.iter().any(|t| t.admits(v))
    }

    /// Whether a value of type `t` can reach this property (to reject
    /// constraints that could never apply).
    fn may_be(&self, t: Type) -> bool {
        self.types.is_empty() || self.types.contains(&t)
    }
}

/// What applying a plan to a message decided.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    Keep,
    Drop(Reason),
}

/// Why [`Mode::BlockEvents`] dropped a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reason {
    /// The plan does not list the `track` event.
    UnplannedEvent,
    /// A required property is missing or a value has the wrong type.
    Invalid,
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::UnplannedEvent => "unplanned_event",
            Reason::Invalid => "invalid",
        }
    }
}

/// The result of [`apply`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    pub decision: Decision,
    /// Paths of the properties removed (`properties.coupon`,
    /// `properties.products[0].image_url`), in the order found.
    pub removed: Vec<String>,
    /// Everything that does not fit the plan, whatever the mode. Codes:
    /// `unplanned_event` (path `event`), `unplanned_property`,
    /// `missing_required`, `wrong_type`, `not_in_enum`, `out_of_range`.
    pub violations: Vec<Violation>,
}

/// Checks `msg` against `plan` and, as the mode says, removes unplanned
/// properties from it or decides to drop it. A message to be dropped may
/// have been partly edited; only a kept one is meant to be used.
///
/// `track` is checked against its event's schema (properties), `identify`
/// and `group` against their trait schemas, `page` against its property
/// schema; `screen` and `alias` are not checked, nor is a call whose schema
/// the plan leaves out. Entries of an `identify`'s `$set_once` object are
/// traits too (see `graph::traits_of`): checked against the same schema, and
/// they satisfy `required`.
pub fn apply(plan: &Plan, msg: &mut Parts<'_>) -> Outcome {
    let mut c = Check { omit: plan.mode != Mode::Allow, removed: Vec::new(), violations: Vec::new() };
    let mut unplanned = false;
    match msg.kind {
        Kind::Track => match msg.event.and_then(|name| plan.events.get(name)) {
            Some(event) => c.object(&event.properties, msg.properties, "properties"),
            None => {
                unplanned = true;
                c.violations.push(Violation::new(
                    "event",
                    "unplanned_event",
                    "the tracking plan does not list this event",
                ));
            }
        },
        Kind::Identify => {
            if let Some(schema) = &plan.identify {
                c.identify(schema, msg.traits);
            }
        }
        Kind::Page => {
            if let Some(schema) = &plan.page {
                c.object(schema, msg.properties, "properties");
            }
        }
        Kind::Group => {
            if let Some(schema) = &plan.group {
                c.object(schema, msg.traits, "traits");
            }
        }
        Kind::Screen | Kind::Alias => {}
    }
    let invalid = c.violations.iter().any(|v| matches!(v.code, "missing_required" | "wrong_type"));
    let decision = match plan.mode {
        Mode::BlockEvents if unplanned => Decision::Drop(Reason::UnplannedEvent),
        Mode::BlockEvents if invalid => Decision::Drop(Reason::Invalid),
        _ => Decision::Keep,
    };
    Outcome { decision, removed: c.removed, violations: c.violations }
}

/// The walk of [`apply`]. It follows the plan's schemas, so its depth is
/// bounded by the plan's (see [`MAX_DEPTH`]), whatever the message holds.
struct Check {
    omit: bool,
    removed: Vec<String>,
    violations: Vec<Violation>,
}

impl Check {
    fn object(&mut self, schema: &Schema, map: &mut Map<String, Value>, path: &str) {
        self.entries(schema, map, path);
        self.missing(schema, path, |k| map.contains_key(k));
    }

    fn identify(&mut self, schema: &Schema, traits: &mut Map<String, Value>) {
        const SET_ONCE: &str = "$set_once";
        let once = match traits.remove(SET_ONCE) {
            Some(Value::Object(o)) => Some(o),
            Some(other) => {
                // Not an object: not traits (the graph ignores it), so an unplanned key.
                traits.insert(SET_ONCE.to_owned(), other);
                None
            }
            None => None,
        };
        self.entries(schema, traits, "traits");
        match once {
            Some(mut once) => {
                self.entries(schema, &mut once, "traits.$set_once");
                self.missing(schema, "traits", |k| traits.contains_key(k) || once.contains_key(k));
                traits.insert(SET_ONCE.to_owned(), Value::Object(once));
            }
            None => self.missing(schema, "traits", |k| traits.contains_key(k)),
        }
    }

    /// Checks the keys `map` has; removes the unplanned ones when omitting.
    fn entries(&mut self, schema: &Schema, map: &mut Map<String, Value>, path: &str) {
        let mut unplanned = Vec::new();
        for (key, value) in map.iter_mut() {
            let at = join(path, key);
            match schema.get(key) {
                Some(p) => self.value(p, value, &at),
                None => {
                    let v = Violation::new(at, "unplanned_property", "the tracking plan does not list this property");
                    if self.omit {
                        self.removed.push(v.path.clone());
                        unplanned.push(key.clone());
                    }
                    self.violations.push(v);
                }
            }
        }
        for key in unplanned {
            map.remove(&key);
        }
    }

    fn missing(&mut self, schema: &Schema, path: &str, present: impl Fn(&str) -> bool) {
        for (key, p) in schema {
            if p.required && !present(key) {
                let v = Violation::new(join(path, key), "missing_required", "the tracking plan requires this property");
                self.violations.push(v);
            }
        }
    }

    fn value(&mut self, p: &Property, v: &mut Value, path: &str) {
        if !p.admits(v) {
            let names: Vec<&str> = p.types.iter().map(|t| t.as_str()).collect();
            let message = ["must be ", &names.join(" or ")].concat();
            self.violations.push(Violation::new(path, "wrong_type", message));
            return;
        }
        match v {
            Value::String(s) if !p.allowed.is_empty() && !p.allowed.contains(s) => {
                self.violations.push(Violation::new(path, "not_in_enum", "must be one of the values the plan allows"));
            }
            Value::Number(n) => {
                let x = n.as_f64();
                let below = |bound: &Number| x.zip(bound.as_f64()).is_some_and(|(x, b)| x < b);
                let above = |bound: &Number| x.zip(bound.as_f64()).is_some_and(|(x, b)| x > b);
                if let Some(min) = p.minimum.as_ref().filter(|m| below(m)) {
                    let message = ["must be at least ", &min.to_string()].concat();
                    self.violations.push(Violation::new(path, "out_of_range", message));
                }
                if let Some(max) = p.maximum.as_ref().filter(|m| above(m)) {
                    let message = ["must be at most ", &max.to_string()].concat();
                    self.violations.push(Violation::new(path, "out_of_range", message));
                }
            }
            Value::Object(map) => {
                if let Some(schema) = &p.properties {
                    self.object(schema, map, path);
                }
            }
            Value::Array(elements) => {
                if let Some(item) = &p.items {
                    for (i, e) in elements.iter_mut().enumerate() {
                        self.value(item, e, &indexed_path(path, i));
                    }
                }
            }
            _ => {}
        }
    }
}

/// `path.key`, or `key` at the top.
fn join(path: &str, key: &str) -> String {
    if path.is_empty() { key.to_owned() } else { [path, ".", key].concat() }
}

/// The deepest nesting of `properties` and `items` a plan may use
/// (`products[0].price` is 2).
pub const MAX_DEPTH: usize = 8;

/// Validates a plan as an admin posts it, reporting every problem with its
/// path (`events[2].properties.price.minimum`). Unknown keys are errors, so
/// a typo or an unsupported JSON Schema keyword (`pattern`) is not silently
/// ignored.
pub fn parse(v: &Value) -> Result<Plan, Vec<Violation>> {
    let mut p = Parser { violations: Vec::new() };
    let plan = p.plan(v);
    if p.violations.is_empty() { Ok(plan) } else { Err(p.violations) }
}

struct Parser {
    violations: Vec<Violation>,
}

/// A key that may be absent; `null` counts as absent.
fn given<'v>(obj: &'v Map<String, Value>, key: &str) -> Option<&'v Value> {
    obj.get(key).filter(|v| !v.is_null())
}

impl Parser {
    fn fail(&mut self, path: &str, code: &'static str, message: &str) {
        self.violations.push(Violation::new(path, code, message));
    }

    fn plan(&mut self, v: &Value) -> Plan {
        let mut plan = Plan::default();
        let Some(obj) = v.as_object() else {
            self.fail("$", "not_an_object", "a tracking plan must be a JSON object");
            return plan;
        };
        for (key, value) in obj.iter().filter(|(_, v)| !v.is_null()) {
            match key.as_str() {
                "mode" => match value.as_str().and_then(Mode::parse) {
                    Some(m) => plan.mode = m,
                    None => self.fail("mode", "invalid", "mode must be allow, omit_properties or block_events"),
                },
                "events" => self.events(value, &mut plan.events),
                "identify" => plan.identify = self.call(value, "identify", "traits"),
                "page" => plan.page = self.call(value, "page", "properties"),
                "group" => plan.group = self.call(value, "group", "traits"),
                _ => self.fail(key, "unknown_key", "not part of a plan: mode, events, identify, page, group"),
            }
        }
        plan
    }

    fn events(&mut self, v: &Value, out: &mut BTreeMap<String, Event>) {
        let Some(events) = v.as_array() else {
            return self.fail("events", "wrong_type", "events must be an array");
        };
        for (i, e) in events.iter().enumerate() {
            let path = indexed_path("events", i);
            let Some(obj) = e.as_object() else {
                self.fail(&path, "wrong_type", "an event must be an object");
                continue;
            };
            let mut event = Event::default();
            for (key, value) in obj.iter().filter(|(k, v)| !v.is_null() && k.as_str() != "name") {
                let at = join(&path, key);
                match key.as_str() {
                    "description" => event.description = self.text(value, &at),
                    "properties" => event.properties = self.schema(value, &at, 1),
                    _ => self.fail(&at, "unknown_key", "not part of an event: name, description, properties"),
                }
            }
            let at = join(&path, "name");
            match given(obj, "name") {
                Some(Value::String(name)) if !name.trim().is_empty() => {
                    if out.contains_key(name) {
                        self.fail(&at, "duplicate_event", "another event has this name");
                    } else {
                        out.insert(name.clone(), event);
                    }
                }
                Some(Value::String(_)) => self.fail(&at, "empty", "name must not be empty"),
                Some(_) => self.fail(&at, "wrong_type", "name must be a string"),
                None => self.fail(&at, "required", "an event needs a name"),
            }
        }
    }

    /// `{"traits": {...}}` for identify and group, `{"properties": {...}}` for page.
    fn call(&mut self, v: &Value, call: &str, field: &str) -> Option<Schema> {
        let Some(obj) = v.as_object() else {
            self.fail(call, "wrong_type", &[call, " must be an object"].concat());
            return None;
        };
        for key in obj.keys().filter(|k| k.as_str() != field) {
            self.fail(&join(call, key), "unknown_key", &["only ", field, " is part of ", call].concat());
        }
        Some(given(obj, field).map(|s| self.schema(s, &join(call, field), 1)).unwrap_or_default())
    }

    fn schema(&mut self, v: &Value, path: &str, depth: usize) -> Schema {
        let Some(obj) = v.as_object() else {
            self.fail(path, "wrong_type", "must be an object of properties");
            return Schema::new();
        };
        obj.iter().map(|(key, p)| (key.clone(), self.property(p, &join(path, key), depth, true))).collect()
    }

    /// One property; `may_require` is false for `items` (an element has no key to require).
    fn property(&mut self, v: &Value, path: &str, depth: usize, may_require: bool) -> Property {
        let mut p = Property::default();
        let Some(obj) = v.as_object() else {
            self.fail(path, "wrong_type", "a property must be an object such as {\"type\": \"string\"}");
            return p;
        };
        for (key, value) in obj.iter().filter(|(_, v)| !v.is_null()) {
            let at = join(path, key);
            match key.as_str() {
                "type" => p.types = self.types(value, &at),
                "required" if may_require => match value.as_bool() {
                    Some(b) => p.required = b,
                    None => self.fail(&at, "wrong_type", "required must be true or false"),
                },
                "description" => p.description = self.text(value, &at),
                "enum" => match value.as_array() {
                    Some(values) if !values.is_empty() && values.iter().all(Value::is_string) => {
                        p.allowed = values.iter().filter_map(|s| s.as_str().map(str::to_owned)).collect();
                    }
                    _ => self.fail(&at, "invalid", "enum must be a non-empty array of strings"),
                },
                "minimum" => p.minimum = self.number(value, &at),
                "maximum" => p.maximum = self.number(value, &at),
                "properties" | "items" if depth >= MAX_DEPTH => {
                    self.fail(&at, "too_deep", "properties and items nest at most 8 levels")
                }
                "properties" => p.properties = Some(self.schema(value, &at, depth + 1)),
                "items" => p.items = Some(Box::new(self.property(value, &at, depth + 1, false))),
                _ => self.fail(
                    &at,
                    "unknown_key",
                    if may_require {
                        "not a property setting: type, required, enum, minimum, maximum, properties, items, description"
                    } else {
                        "not an items setting: type, enum, minimum, maximum, properties, items, description"
                    },
                ),
            }
        }
        // A constraint that no value of the property's types could meet is a mistake.
        let number = p.may_be(Type::Number) || p.may_be(Type::Integer);
        let needs = [
            ("enum", !p.allowed.is_empty() && !p.may_be(Type::String), "enum needs type string"),
            ("minimum", p.minimum.is_some() && !number, "minimum needs type number or integer"),
            ("maximum", p.maximum.is_some() && !number, "maximum needs type number or integer"),
            ("properties", p.properties.is_some() && !p.may_be(Type::Object), "properties needs type object"),
            ("items", p.items.is_some() && !p.may_be(Type::Array), "items needs type array"),
        ];
        for (key, wrong, message) in needs {
            if wrong {
                self.fail(&join(path, key), "invalid", message);
            }
        }
        if let (Some(min), Some(max)) =
            (p.minimum.as_ref().and_then(Number::as_f64), p.maximum.as_ref().and_then(Number::as_f64))
            && min > max
        {
            self.fail(&join(path, "maximum"), "invalid", "maximum is below minimum");
        }
        p
    }

    /// `"string"` or a non-empty list such as `["string", "null"]`.
    fn types(&mut self, v: &Value, path: &str) -> Vec<Type> {
        let mut one = |s: &Value, at: &str| {
            let t = s.as_str().and_then(Type::parse);
            if t.is_none() {
                self.fail(at, "unknown_type", "a type is string, number, integer, boolean, object, array or null");
            }
            t
        };
        match v {
            Value::String(_) => one(v, path).into_iter().collect(),
            Value::Array(list) if !list.is_empty() => {
                list.iter().enumerate().filter_map(|(i, s)| one(s, &indexed_path(path, i))).collect()
            }
            _ => {
                self.fail(path, "wrong_type", "type must be a type name or a non-empty list of them");
                Vec::new()
            }
        }
    }

    fn number(&mut self, v: &Value, path: &str) -> Option<Number> {
        let n = v.as_number().cloned();
        if n.is_none() {
            self.fail(path, "wrong_type", "must be a number");
        }
        n
    }

    fn text(&mut self, v: &Value, path: &str) -> Option<String> {
        let s = v.as_str().map(str::to_owned);
        if s.is_none() {
            self.fail(path, "wrong_type", "must be a string");
        }
        s
    }
}

impl Plan {
    /// The form [`parse`] reads: `parse(&plan.to_json()) == Ok(plan)`.
    /// Events come out sorted by name.
    pub fn to_json(&self) -> Value {
        let events: Vec<Value> = self
            .events
            .iter()
            .map(|(name, e)| {
                let mut out = Map::new();
                out.insert("name".into(), name.as_str().into());
                if let Some(d) = &e.description {
                    out.insert("description".into(), d.as_str().into());
                }
                out.insert("properties".into(), schema_json(&e.properties));
                Value::Object(out)
            })
            .collect();
        let mut out = Map::new();
        out.insert("mode".into(), self.mode.as_str().into());
        out.insert("events".into(), events.into());
        let calls = [
            ("identify", "traits", &self.identify),
            ("page", "properties", &self.page),
            ("group", "traits", &self.group),
        ];
        for (call, field, schema) in calls {
            if let Some(s) = schema {
                out.insert(call.into(), json!({ field: schema_json(s) }));
            }
        }
        Value::Object(out)
    }
}

fn schema_json(schema: &Schema) -> Value {
    Value::Object(schema.iter().map(|(k, p)| (k.clone(), p.to_json())).collect())
}

impl Property {
    pub fn to_json(&self) -> Value {
        let mut out = Map::new();
        let types = match self.types.as_slice() {
            [] => None,
            [one] => Some(one.as_str().into()),
            many => Some(many.iter().map(|t| t.as_str()).collect()),
        };
        if let Some(t) = types {
            out.insert("type".into(), t);
        }
        if self.required {
            out.insert("required".into(), true.into());
        }
        if let Some(d) = &self.description {
            out.insert("description".into(), d.as_str().into());
        }
        if !self.allowed.is_empty() {
            out.insert("enum".into(), self.allowed.iter().map(String::as_str).collect());
        }
        if let Some(n) = &self.minimum {
            out.insert("minimum".into(), Value::Number(n.clone()));
        }
        if let Some(n) = &self.maximum {
            out.insert("maximum".into(), Value::Number(n.clone()));
        }
        if let Some(s) = &self.properties {
            out.insert("properties".into(), schema_json(s));
        }
        if let Some(i) = &self.items {
            out.insert("items".into(), i.to_json());
        }
        Value::Object(out)
    }
}

#[cfg(test)]
mod tests;
