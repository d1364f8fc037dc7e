//! The event model: Segment Spec messages, parsed from JSON and normalized.
//!
//! [`normalize`] turns one untrusted JSON object into a [`Message`] or reports
//! every [`Violation`] it found, so a client learns all of its mistakes from a
//! single answer. The same types build messages in the SDK ([`Message::to_json`]).

use alloc::borrow::ToOwned;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use serde_json::{Map, Value};

use crate::time::{self, Millis};

/// The six calls of the Segment Spec.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    Identify,
    Track,
    Page,
    Screen,
    Group,
    Alias,
}

impl Kind {
    pub const ALL: [Kind; 6] = [Kind::Identify, Kind::Track, Kind::Page, Kind::Screen, Kind::Group, Kind::Alias];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Identify => "identify",
            Kind::Track => "track",
            Kind::Page => "page",
            Kind::Screen => "screen",
            Kind::Group => "group",
            Kind::Alias => "alias",
        }
    }

    /// The `type` field's value.
    pub fn parse(s: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// The last path segment of an ingest route: the full name or the
    /// one-letter form that Segment's browser library uses (`/v1/t`).
    pub fn from_route(segment: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == segment || k.as_str().get(..1) == Some(segment))
    }
}

/// One problem with an incoming message: where (a JSON path such as
/// `batch[3].properties`), a stable machine-readable code, and a sentence.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    pub path: String,
    pub code: &'static str,
    pub message: String,
}

/// The path of element `index` of the array `name`: `batch[3]`.
pub fn indexed_path(name: &str, index: usize) -> String {
    let mut p = String::from(name);
    let _ = core::fmt::Write::write_fmt(&mut p, format_args!("[{index}]"));
    p
}

impl Violation {
    pub fn new(path: impl Into<String>, code: &'static str, message: impl Into<String>) -> Self {
        Violation { path: path.into(), code, message: message.into() }
    }
}

/// What the receiving side knows about a request that the sender does not.
#[derive(Clone, Debug)]
pub struct Received {
    /// Server time when the request arrived.
    pub at: Millis,
    /// Random bytes from the shell; messages without a `messageId` get ids
    /// derived from them (distinct per position in the request).
    pub id_seed: [u8; 16],
}

impl Received {
    /// The id for the message at `position` when it carries none.
    pub fn fallback_id(&self, position: usize) -> String {
        let mut bytes = self.id_seed;
        for (b, p) in bytes[12..].iter_mut().zip((position as u32).to_be_bytes()) {
            *b ^= p;
        }
        crate::id::uuid_v4(bytes)
    }
}

/// A normalized message. Identifiers are strings (numbers are accepted on
/// the wire, as Segment does); times are milliseconds since the epoch.
#[derive(Clone, Debug, PartialEq)]
pub struct Message {
    pub kind: Kind,
    pub message_id: String,
    pub user_id: Option<String>,
    pub anonymous_id: Option<String>,
    /// `track`: the event name.
    pub event: Option<String>,
    /// `page` / `screen`: the page name; `page` may also carry a category.
    pub name: Option<String>,
    pub category: Option<String>,
    /// `group`
    pub group_id: Option<String>,
    /// `alias`
    pub previous_id: Option<String>,
    pub properties: Map<String, Value>,
    pub traits: Map<String, Value>,
    pub context: Map<String, Value>,
    pub integrations: Map<String, Value>,
    /// When the event happened, corrected for client clock skew.
    pub timestamp: Millis,
    pub original_timestamp: Option<Millis>,
    pub sent_at: Option<Millis>,
    pub received_at: Millis,
}

/// The parts of a message that privacy rules read and edit (see
/// `privacy::check`), borrowed from a [`Message`] in the worker or from a
/// message's JSON object in the browser, where the SDK's guard screens
/// batches as they are about to leave the page (`privacy::browser`).
pub struct Parts<'m> {
    pub kind: Kind,
    /// `track`: the event name.
    pub event: Option<&'m str>,
    pub properties: &'m mut Map<String, Value>,
    pub traits: &'m mut Map<String, Value>,
    pub context: &'m mut Map<String, Value>,
}

impl Message {
    pub fn parts(&mut self) -> Parts<'_> {
        Parts {
            kind: self.kind,
            event: self.event.as_deref(),
            properties: &mut self.properties,
            traits: &mut self.traits,
            context: &mut self.context,
        }
    }
}

/// Longest identifier (userId, anonymousId, messageId, groupId, previousId)
/// accepted. Longer ones are almost always a bug (a serialized object).
pub const MAX_ID_LEN: usize = 512;

/// Parses and normalizes one message, taking ownership to move its maps.
///
/// `kind` is the call implied by the route (`/v1/track`); `None` means the
/// message must name its own `type` (as inside a batch). `position` is the
/// index in a batch (violation paths then read `batch[3].event`), `None` for
/// a single message.
pub fn normalize(
    kind: Option<Kind>,
    value: Value,
    received: &Received,
    position: Option<usize>,
) -> Result<Message, Vec<Violation>> {
    let prefix = position.map(|i| indexed_path("batch", i));
    let at = |field: &str| match &prefix {
        Some(p) => [p.as_str(), ".", field].concat(),
        None => field.to_owned(),
    };
    let Value::Object(mut obj) = value else {
        let path = prefix.clone().unwrap_or_else(|| "$".to_owned());
        return Err(alloc::vec![Violation::new(path, "not_an_object", "a message must be a JSON object")]);
    };
    let mut v = Vec::new();

    let declared = match obj.remove("type") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => {
            let k = Kind::parse(&s);
            if k.is_none() {
                v.push(Violation::new(
                    at("type"),
                    "unknown_type",
                    "type must be one of identify, track, page, screen, group, alias",
                ));
            }
            k
        }
        Some(_) => {
            v.push(Violation::new(at("type"), "wrong_type", "type must be a string"));
            None
        }
    };
    let kind = match (kind, declared) {
        (Some(route), Some(body)) if route != body => {
            v.push(Violation::new(
                at("type"),
                "type_mismatch",
                ["this endpoint takes ", route.as_str(), " calls"].concat(),
            ));
            route
        }
        (Some(k), _) | (None, Some(k)) => k,
        (None, None) => {
            if v.is_empty() {
                v.push(Violation::new(at("type"), "required", "type is required in a batch"));
            }
            return Err(v);
        }
    };

    let user_present = obj.get("userId").is_some_and(|x| !x.is_null());
    let anonymous_present = obj.get("anonymousId").is_some_and(|x| !x.is_null());
    let mut id = |field: &str, required: bool| -> Option<String> {
        match obj.remove(field) {
            None | Some(Value::Null) => {
                if required {
                    v.push(Violation::new(at(field), "required", [field, " is required for ", kind.as_str()].concat()));
                }
                None
            }
            Some(Value::String(s)) if s.is_empty() => {
                v.push(Violation::new(at(field), "empty", [field, " must not be empty"].concat()));
                None
            }
            Some(Value::String(s)) if s.len() > MAX_ID_LEN => {
                v.push(Violation::new(at(field), "too_long", [field, " is longer than 512 bytes"].concat()));
                None
            }
            Some(Value::String(s)) => Some(s),
            Some(Value::Number(n)) => Some(n.to_string()),
            Some(_) => {
                v.push(Violation::new(at(field), "wrong_type", [field, " must be a string or a number"].concat()));
                None
            }
        }
    };
    let message_id = id("messageId", false);
    let user_id = id("userId", kind == Kind::Alias);
    let anonymous_id = id("anonymousId", false);
    let group_id = if kind == Kind::Group { id("groupId", true) } else { None };
    let previous_id = if kind == Kind::Alias { id("previousId", true) } else { None };
    if kind != Kind::Alias && !user_present && !anonymous_present {
        v.push(Violation::new(at("userId"), "required", "userId or anonymousId is required"));
    }

    let mut text = |field: &str, required: bool| -> Option<String> {
        match obj.remove(field) {
            None | Some(Value::Null) => {
                if required {
                    v.push(Violation::new(at(field), "required", [field, " is required for ", kind.as_str()].concat()));
                }
                None
            }
            Some(Value::String(s)) if required && s.trim().is_empty() => {
                v.push(Violation::new(at(field), "empty", [field, " must not be empty"].concat()));
                None
            }
            Some(Value::String(s)) => Some(s),
            Some(_) => {
                v.push(Violation::new(at(field), "wrong_type", [field, " must be a string"].concat()));
                None
            }
        }
    };
    let event = if kind == Kind::Track { text("event", true) } else { None };
    let (name, category) = if matches!(kind, Kind::Page | Kind::Screen) {
        (text("name", false), text("category", false))
    } else {
        (None, None)
    };

    let mut map = |field: &str| -> Map<String, Value> {
        match obj.remove(field) {
            None | Some(Value::Null) => Map::new(),
            Some(Value::Object(m)) => m,
            Some(_) => {
                v.push(Violation::new(at(field), "wrong_type", [field, " must be an object"].concat()));
                Map::new()
            }
        }
    };
    let properties = map("properties");
    let traits = map("traits");
    let context = map("context");
    let integrations = map("integrations");

    let mut when = |field: &str| -> Option<Millis> {
        match obj.remove(field) {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => match time::parse(&s) {
                Some(t) if (time::MIN..=time::MAX).contains(&t) => Some(t),
                _ => {
                    v.push(Violation::new(
                        at(field),
                        "invalid_timestamp",
                        [field, " must be an ISO 8601 date-time with a time zone"].concat(),
                    ));
                    None
                }
            },
            Some(_) => {
                v.push(Violation::new(at(field), "wrong_type", [field, " must be an ISO 8601 string"].concat()));
                None
            }
        }
    };
    let timestamp = when("timestamp");
    let original_timestamp = when("originalTimestamp");
    let sent_at = when("sentAt");

    if !v.is_empty() {
        return Err(v);
    }
    Ok(Message {
        kind,
        message_id: message_id.unwrap_or_else(|| received.fallback_id(position.unwrap_or(0))),
        user_id,
        anonymous_id,
        event,
        name,
        category,
        group_id,
        previous_id,
        properties,
        traits,
        context,
        integrations,
        timestamp: timestamp.unwrap_or_else(|| corrected_timestamp(received.at, sent_at, original_timestamp)),
        original_timestamp,
        sent_at,
        received_at: received.at,
    })
}

/// Segment's clock-skew correction: the client's clock may be wrong, but the
/// time between creating the event and sending it is right, so
/// `timestamp = receivedAt - (sentAt - originalTimestamp)`.
pub fn corrected_timestamp(received_at: Millis, sent_at: Option<Millis>, original: Option<Millis>) -> Millis {
    match (sent_at, original) {
        (Some(sent), Some(orig)) => {
            let skew = sent.saturating_sub(orig).max(0);
            received_at.saturating_sub(skew).clamp(time::MIN, time::MAX)
        }
        (None, Some(orig)) => orig,
        _ => received_at,
    }
}

impl Message {
    /// A new message of `kind` created at `at` by a client (the SDK).
    pub fn new(kind: Kind, message_id: String, at: Millis) -> Self {
        Message {
            kind,
            message_id,
            user_id: None,
            anonymous_id: None,
            event: None,
            name: None,
            category: None,
            group_id: None,
            previous_id: None,
            properties: Map::new(),
            traits: Map::new(),
            context: Map::new(),
            integrations: Map::new(),
            timestamp: at,
            original_timestamp: Some(at),
            sent_at: None,
            received_at: at,
        }
    }

    /// The Spec's JSON form. Empty maps and absent fields are left out.
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}

/// Reads back a message as stored (`Message::to_json`): the same checks as
/// at ingest, with the stored `receivedAt` and `timestamp` kept.
pub fn from_stored(value: Value) -> Option<Message> {
    let at = value.get("receivedAt").and_then(Value::as_str).and_then(crate::time::parse)?;
    normalize(None, value, &Received { at, id_seed: [0; 16] }, None).ok()
}

/// Serializes straight from the message (no intermediate `Value`), with keys
/// in sorted order so the text is stable.
impl serde::Serialize for Message {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let keep_properties = matches!(self.kind, Kind::Track | Kind::Page | Kind::Screen);
        let mut m = s.serialize_map(None)?;
        let text = |m: &mut S::SerializeMap, k: &str, v: &Option<String>| match v {
            Some(v) => m.serialize_entry(k, v),
            None => Ok(()),
        };
        let map = |m: &mut S::SerializeMap, k: &str, v: &Map<String, Value>, keep: bool| {
            if keep || !v.is_empty() { m.serialize_entry(k, v) } else { Ok(()) }
        };
        let when = |m: &mut S::SerializeMap, k: &str, v: Option<Millis>| match v {
            Some(t) => m.serialize_entry(k, &time::format(t)),
            None => Ok(()),
        };
        text(&mut m, "anonymousId", &self.anonymous_id)?;
        text(&mut m, "category", &self.category)?;
        map(&mut m, "context", &self.context, false)?;
        text(&mut m, "event", &self.event)?;
        text(&mut m, "groupId", &self.group_id)?;
        map(&mut m, "integrations", &self.integrations, false)?;
        m.serialize_entry("messageId", &self.message_id)?;
        text(&mut m, "name", &self.name)?;
        when(&mut m, "originalTimestamp", self.original_timestamp)?;
        text(&mut m, "previousId", &self.previous_id)?;
        map(&mut m, "properties", &self.properties, keep_properties)?;
        when(&mut m, "receivedAt", Some(self.received_at))?;
        when(&mut m, "sentAt", self.sent_at)?;
        when(&mut m, "timestamp", Some(self.timestamp))?;
        map(&mut m, "traits", &self.traits, false)?;
        m.serialize_entry("type", self.kind.as_str())?;
        text(&mut m, "userId", &self.user_id)?;
        m.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::format;
    use expect_test::{Expect, expect};

    const RECEIVED_AT: Millis = 1_700_000_000_000; // 2023-11-14T22:13:20Z

    fn check(kind: Option<Kind>, input: &str, expect: Expect) {
        let value: Value = serde_json::from_str(input).expect("fixture is JSON");
        let received = Received { at: RECEIVED_AT, id_seed: [7; 16] };
        let actual = match normalize(kind, value, &received, None) {
            Ok(m) => serde_json::to_string_pretty(&m.to_json()).expect("serializable"),
            Err(vs) => {
                vs.iter().map(|v| format!("{} {}: {}", v.path, v.code, v.message)).collect::<Vec<_>>().join("\n")
            }
        };
        expect.assert_eq(&actual);
    }

    #[test]
    fn stored_messages_read_back_unchanged() {
        let received = Received { at: RECEIVED_AT, id_seed: [7; 16] };
        for input in [
            r#"{"type": "identify", "userId": "u1", "traits": {"email": "a@b.co"}, "sentAt": "2023-11-14T22:13:25Z", "originalTimestamp": "2023-11-14T22:13:00Z"}"#,
            r#"{"type": "alias", "userId": "u1", "previousId": "a1", "context": {"page": {"path": "/"}}}"#,
        ] {
            let value: Value = serde_json::from_str(input).expect("fixture is JSON");
            let m = normalize(None, value, &received, None).expect("valid");
            assert_eq!(from_stored(m.to_json()).map(|r| r.to_json()), Some(m.to_json()));
        }
        assert!(from_stored(serde_json::json!({"type": "track"})).is_none());
    }

    #[test]
    fn track_with_everything() {
        check(
            Some(Kind::Track),
            r#"{"userId": 42, "event": "Product Added", "messageId": "m1",
                "properties": {"price": 9.5, "sku": "A-1"}, "context": {"ip": "1.2.3.4"},
                "timestamp": "2023-11-14T21:00:00+01:00"}"#,
            expect![[r#"
                {
                  "context": {
                    "ip": "1.2.3.4"
                  },
                  "event": "Product Added",
                  "messageId": "m1",
                  "properties": {
                    "price": 9.5,
                    "sku": "A-1"
                  },
                  "receivedAt": "2023-11-14T22:13:20.000Z",
                  "timestamp": "2023-11-14T20:00:00.000Z",
                  "type": "track",
                  "userId": "42"
                }"#]],
        );
    }

    #[test]
    fn corrects_client_clock_skew() {
        // The client's clock is an hour behind; it sent the event 2 s after creating it.
        check(
            Some(Kind::Page),
            r#"{"anonymousId": "a", "originalTimestamp": "2023-11-14T21:13:16Z", "sentAt": "2023-11-14T21:13:18Z"}"#,
            expect![[r#"
                {
                  "anonymousId": "a",
                  "messageId": "07070707-0707-4707-8707-070707070707",
                  "originalTimestamp": "2023-11-14T21:13:16.000Z",
                  "properties": {},
                  "receivedAt": "2023-11-14T22:13:20.000Z",
                  "sentAt": "2023-11-14T21:13:18.000Z",
                  "timestamp": "2023-11-14T22:13:18.000Z",
                  "type": "page"
                }"#]],
        );
    }

    #[test]
    fn reports_every_violation_at_once() {
        check(
            Some(Kind::Track),
            r#"{"type": "identify", "userId": {}, "properties": [], "timestamp": "yesterday", "event": ""}"#,
            expect![[r#"
                type type_mismatch: this endpoint takes track calls
                userId wrong_type: userId must be a string or a number
                event empty: event must not be empty
                properties wrong_type: properties must be an object
                timestamp invalid_timestamp: timestamp must be an ISO 8601 date-time with a time zone"#]],
        );
    }

    #[test]
    fn requires_an_identity_and_the_fields_of_each_call() {
        check(
            Some(Kind::Track),
            r#"{"properties": {}}"#,
            expect![[r#"
            userId required: userId or anonymousId is required
            event required: event is required for track"#]],
        );
        check(Some(Kind::Group), r#"{"userId": "u"}"#, expect!["groupId required: groupId is required for group"]);
        check(
            Some(Kind::Alias),
            r#"{"anonymousId": "a"}"#,
            expect![[r#"
            userId required: userId is required for alias
            previousId required: previousId is required for alias"#]],
        );
        check(None, r#"{"userId": "u"}"#, expect!["type required: type is required in a batch"]);
        check(None, r#"[1]"#, expect!["$ not_an_object: a message must be a JSON object"]);
    }

    /// Every field of every call, each with the violation it can raise.
    #[test]
    fn every_field_and_violation() {
        let long = "x".repeat(MAX_ID_LEN + 1);
        let cases: Vec<(Option<Kind>, String)> = alloc::vec![
            (Some(Kind::Identify), r#"{"userId": "u", "traits": {"plan": "pro"}}"#.into()),
            (Some(Kind::Identify), r#"{"userId": "u", "traits": 1}"#.into()),
            (Some(Kind::Track), r#"{"anonymousId": "a", "event": 5}"#.into()),
            (Some(Kind::Track), r#"{"anonymousId": "a", "event": "  "}"#.into()),
            (Some(Kind::Page), r#"{"anonymousId": "a", "name": ["x"], "category": 1}"#.into()),
            (Some(Kind::Screen), r#"{"anonymousId": "a", "name": "Home", "properties": "p"}"#.into()),
            (Some(Kind::Group), r#"{"userId": "u", "groupId": true, "traits": {}}"#.into()),
            (Some(Kind::Group), r#"{"userId": "u", "groupId": 42}"#.into()),
            (Some(Kind::Alias), r#"{"userId": "u", "previousId": ""}"#.into()),
            (Some(Kind::Track), format!(r#"{{"userId": "{long}", "event": "E"}}"#)),
            (
                Some(Kind::Track),
                r#"{"userId": "u", "event": "E", "messageId": [], "context": [], "integrations": 1}"#.into()
            ),
            (
                Some(Kind::Track),
                r#"{"userId": "u", "event": "E", "sentAt": 1, "originalTimestamp": "2024-02-30T00:00:00Z"}"#.into()
            ),
            (None, r#"{"type": "purchase", "userId": "u"}"#.into()),
            (None, r#"{"type": 3, "userId": "u"}"#.into()),
            (None, r#"{"type": "screen", "userId": null, "anonymousId": null}"#.into()),
        ];
        let received = Received { at: RECEIVED_AT, id_seed: [0; 16] };
        let lines: Vec<String> = cases
            .into_iter()
            .map(|(kind, body)| {
                let value: Value = serde_json::from_str(&body).expect("fixture");
                let outcome = match normalize(kind, value, &received, Some(0)) {
                    Ok(m) => format!("ok {}", m.kind.as_str()),
                    Err(vs) => vs.iter().map(|v| format!("{} {}", v.path, v.code)).collect::<Vec<_>>().join(", "),
                };
                let shown: String = body.chars().take(60).collect();
                format!("{shown:<62} => {outcome}")
            })
            .collect();
        expect![[r#"
            {"userId": "u", "traits": {"plan": "pro"}}                     => ok identify
            {"userId": "u", "traits": 1}                                   => batch[0].traits wrong_type
            {"anonymousId": "a", "event": 5}                               => batch[0].event wrong_type
            {"anonymousId": "a", "event": "  "}                            => batch[0].event empty
            {"anonymousId": "a", "name": ["x"], "category": 1}             => batch[0].name wrong_type, batch[0].category wrong_type
            {"anonymousId": "a", "name": "Home", "properties": "p"}        => batch[0].properties wrong_type
            {"userId": "u", "groupId": true, "traits": {}}                 => batch[0].groupId wrong_type
            {"userId": "u", "groupId": 42}                                 => ok group
            {"userId": "u", "previousId": ""}                              => batch[0].previousId empty
            {"userId": "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx   => batch[0].userId too_long
            {"userId": "u", "event": "E", "messageId": [], "context": []   => batch[0].messageId wrong_type, batch[0].context wrong_type, batch[0].integrations wrong_type
            {"userId": "u", "event": "E", "sentAt": 1, "originalTimestam   => batch[0].originalTimestamp invalid_timestamp, batch[0].sentAt wrong_type
            {"type": "purchase", "userId": "u"}                            => batch[0].type unknown_type
            {"type": 3, "userId": "u"}                                     => batch[0].type wrong_type
            {"type": "screen", "userId": null, "anonymousId": null}        => batch[0].userId required"#]].assert_eq(&lines.join("\n"));
    }

    #[test]
    fn short_routes_name_the_same_calls() {
        let names: Vec<_> = ["i", "t", "p", "s", "g", "a", "track", "b", "x", ""]
            .iter()
            .map(|s| Kind::from_route(s).map(Kind::as_str))
            .collect();
        assert_eq!(
            names,
            [
                Some("identify"),
                Some("track"),
                Some("page"),
                Some("screen"),
                Some("group"),
                Some("alias"),
                Some("track"),
                None,
                None,
                None
            ]
        );
    }
}
