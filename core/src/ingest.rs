//! The tracking API's request rules: limits, single calls and batches, and
//! server-side enrichment. The worker reads bytes and headers; everything it
//! decides about them is decided here.

use alloc::string::String;
use alloc::vec::Vec;
use core::net::IpAddr;
use serde_json::{Map, Value};

use crate::event::{Kind, Message, Received, Violation, indexed_path, normalize};
use crate::json;

/// Segment's limits: 32 KB per call, 500 KB per batch request, 2,500 calls per batch.
pub const MAX_EVENT_BYTES: usize = 32 * 1024;
pub const MAX_BATCH_BYTES: usize = 500 * 1024;
pub const MAX_BATCH_EVENTS: usize = 2_500;

/// What an ingest route receives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Call {
    Single(Kind),
    Batch,
}

impl Call {
    /// `/v1/track`, `/v1/t`, `/v1/batch`, `/v1/b`, ...
    pub fn from_route(segment: &str) -> Option<Call> {
        match segment {
            "batch" | "b" => Some(Call::Batch),
            s => Kind::from_route(s).map(Call::Single),
        }
    }

    /// The largest body this call accepts.
    pub fn max_bytes(self) -> usize {
        match self {
            Call::Single(_) => MAX_EVENT_BYTES,
            Call::Batch => MAX_BATCH_BYTES,
        }
    }
}

/// A request refused as a whole: nothing of it is stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestError {
    pub status: u16,
    pub code: &'static str,
    pub message: String,
    pub violations: Vec<Violation>,
}

impl RequestError {
    fn new(status: u16, code: &'static str, message: impl Into<String>) -> Self {
        RequestError { status, code, message: message.into(), violations: Vec::new() }
    }

    /// 413 for a body over `call`'s byte limit; checked before parsing.
    pub fn too_large(call: Call) -> Self {
        match call {
            Call::Single(_) => RequestError::new(413, "event_too_large", "a call may be at most 32 KB (32768 bytes)"),
            Call::Batch => {
                RequestError::new(413, "batch_too_large", "a batch request may be at most 500 KB (512000 bytes)")
            }
        }
    }
}

/// A batch message that was not accepted, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rejected {
    pub index: usize,
    pub message_id: Option<String>,
    pub violations: Vec<Violation>,
}

/// A request body that parsed: JSON, an object, within the size limit.
#[derive(Debug)]
pub struct Body {
    call: Call,
    obj: Map<String, Value>,
    /// `writeKey` from the body, when the client sent it there.
    pub write_key: Option<String>,
}

/// Messages of a request: those to store and, for a batch, those left out.
#[derive(Debug, Default)]
pub struct Parsed {
    pub accepted: Vec<Message>,
    pub rejected: Vec<Rejected>,
}

/// Checks the size and parses the JSON of a body for `call`. The shell then
/// authenticates (the write key may be in the body) before [`messages`].
pub fn parse_body(call: Call, body: &[u8]) -> Result<Body, RequestError> {
    if body.len() > call.max_bytes() {
        return Err(RequestError::too_large(call));
    }
    let value = json::parse(body)
        .map_err(|e| RequestError::new(400, "invalid_json", ["the body is not valid JSON: ", &e.message].concat()))?;
    let Value::Object(mut obj) = value else {
        return Err(RequestError::new(400, "invalid_json", "the body must be a JSON object"));
    };
    let write_key = match obj.remove("writeKey") {
        Some(Value::String(k)) if !k.is_empty() => Some(k),
        _ => None,
    };
    Ok(Body { call, obj, write_key })
}

/// The messages of a parsed body.
///
/// A single call that violates the Spec refuses the request (400). In a batch,
/// each message stands on its own, as with Segment: the valid ones are
/// accepted (and then stored together, all or none) and the invalid ones are
/// reported in `rejected`, so one bad message never costs the others.
pub fn messages(body: Body, received: &Received) -> Result<Parsed, RequestError> {
    let Body { call, mut obj, .. } = body;
    match call {
        Call::Single(kind) => match normalize(Some(kind), Value::Object(obj), received, None) {
            Ok(m) => Ok(Parsed { accepted: alloc::vec![m], rejected: Vec::new() }),
            Err(violations) => Err(RequestError {
                violations,
                ..RequestError::new(400, "invalid_message", "the message does not follow the Spec; see violations")
            }),
        },
        Call::Batch => {
            let items = match obj.remove("batch") {
                Some(Value::Array(items)) => items,
                Some(_) => return Err(RequestError::new(400, "invalid_batch", "batch must be an array of messages")),
                None => return Err(RequestError::new(400, "invalid_batch", "a batch request needs a batch array")),
            };
            if items.len() > MAX_BATCH_EVENTS {
                return Err(RequestError::new(
                    400,
                    "too_many_events",
                    "a batch may hold at most 2500 messages; split it into several requests",
                ));
            }
            let shared = Shared::from_envelope(&mut obj);
            let mut parsed = Parsed { accepted: Vec::with_capacity(items.len()), rejected: Vec::new() };
            for (index, mut item) in items.into_iter().enumerate() {
                if json::encoded_len(&item) > MAX_EVENT_BYTES {
                    parsed.rejected.push(Rejected {
                        index,
                        message_id: message_id_of(&item),
                        violations: alloc::vec![Violation::new(
                            indexed_path("batch", index),
                            "event_too_large",
                            "a call may be at most 32 KB (32768 bytes)",
                        )],
                    });
                    continue;
                }
                shared.apply(&mut item);
                let message_id = message_id_of(&item);
                match normalize(None, item, received, Some(index)) {
                    Ok(m) => parsed.accepted.push(m),
                    Err(violations) => parsed.rejected.push(Rejected { index, message_id, violations }),
                }
            }
            Ok(parsed)
        }
    }
}

fn message_id_of(item: &Value) -> Option<String> {
    item.get("messageId").and_then(Value::as_str).map(String::from)
}

/// Fields a batch envelope sets for all its messages (Segment merges them).
struct Shared {
    context: Option<Map<String, Value>>,
    integrations: Option<Map<String, Value>>,
    sent_at: Option<Value>,
}

impl Shared {
    fn from_envelope(obj: &mut Map<String, Value>) -> Self {
        let take_map = |v: Option<Value>| match v {
            Some(Value::Object(m)) if !m.is_empty() => Some(m),
            _ => None,
        };
        Shared {
            context: take_map(obj.remove("context")),
            integrations: take_map(obj.remove("integrations")),
            sent_at: obj.remove("sentAt").filter(|v| !v.is_null()),
        }
    }

    /// Fills what a message does not set itself; the message's own keys win.
    fn apply(&self, item: &mut Value) {
        let Value::Object(obj) = item else { return };
        for (field, shared) in [("context", &self.context), ("integrations", &self.integrations)] {
            if let Some(shared) = shared {
                match obj.get_mut(field) {
                    Some(Value::Object(own)) => {
                        for (k, v) in shared {
                            own.entry(k.clone()).or_insert_with(|| v.clone());
                        }
                    }
                    None | Some(Value::Null) => {
                        obj.insert(field.into(), Value::Object(shared.clone()));
                    }
                    Some(_) => {} // normalize reports the wrong type
                }
            }
        }
        if let Some(sent_at) = &self.sent_at {
            obj.entry("sentAt").or_insert_with(|| sent_at.clone());
        }
    }
}

/// What the connection tells about the sender, and the source's policy for it.
#[derive(Clone, Debug, Default)]
pub struct Enrichment {
    /// The connecting address (the edge's `CF-Connecting-IP`).
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    /// Geo data from the edge (country, region, city, ...), for `context.location`.
    pub location: Map<String, Value>,
    pub ip_policy: IpPolicy,
}

/// What a source keeps of `context.ip`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum IpPolicy {
    /// The full address.
    Keep,
    /// The network only: IPv4 /24, IPv6 /48 (the default: enough for geo, not a person).
    #[default]
    Truncate,
    /// No address at all.
    Drop,
}

impl IpPolicy {
    pub fn parse(s: &str) -> Option<IpPolicy> {
        match s {
            "keep" => Some(IpPolicy::Keep),
            "truncate" => Some(IpPolicy::Truncate),
            "drop" => Some(IpPolicy::Drop),
            _ => None,
        }
    }
}

/// Adds what the server knows to `context` without overriding what the
/// client sent, then applies the source's IP policy.
pub fn enrich(msg: &mut Message, e: &Enrichment) {
    let ctx = &mut msg.context;
    if let Some(ip) = &e.ip {
        ctx.entry("ip").or_insert_with(|| Value::String(ip.clone()));
    }
    if let Some(ua) = &e.user_agent {
        ctx.entry("userAgent").or_insert_with(|| Value::String(ua.clone()));
    }
    if !e.location.is_empty() {
        ctx.entry("location").or_insert_with(|| Value::Object(e.location.clone()));
    }
    match e.ip_policy {
        IpPolicy::Keep => {}
        IpPolicy::Drop => {
            ctx.remove("ip");
        }
        IpPolicy::Truncate => {
            if let Some(Value::String(ip)) = ctx.get_mut("ip") {
                match truncate_ip(ip) {
                    Some(t) => *ip = t,
                    None => {
                        ctx.remove("ip");
                    }
                }
            }
        }
    }
}

/// The network part of an address: IPv4 /24, IPv6 /48. `None` if it is not an address.
pub fn truncate_ip(ip: &str) -> Option<String> {
    use alloc::string::ToString;
    match ip.trim().parse::<IpAddr>().ok()? {
        IpAddr::V4(v4) => {
            let [a, b, c, _] = v4.octets();
            Some(core::net::Ipv4Addr::new(a, b, c, 0).to_string())
        }
        IpAddr::V6(v6) => {
            let s = v6.segments();
            Some(core::net::Ipv6Addr::new(s[0], s[1], s[2], 0, 0, 0, 0, 0).to_string())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;
    use alloc::{format, vec};
    use expect_test::{Expect, expect};

    fn received() -> Received {
        Received { at: 1_700_000_000_000, id_seed: [1; 16] }
    }

    /// Renders the outcome of a request: accepted messages (type, id, event,
    /// context) and rejections, or the request error.
    fn check(call: Call, body: &str, expect: Expect) {
        let parsed = parse_body(call, body.as_bytes()).and_then(|b| {
            let key = b.write_key.clone();
            messages(b, &received()).map(|p| (key, p))
        });
        let actual = match parsed {
            Ok((write_key, p)) => {
                let mut lines = Vec::new();
                lines.push(format!("writeKey: {write_key:?}"));
                for m in &p.accepted {
                    lines.push(format!(
                        "accepted {} {} {} sentAt={:?} context={}",
                        m.kind.as_str(),
                        m.message_id,
                        m.event.as_deref().or(m.name.as_deref()).unwrap_or("-"),
                        m.sent_at,
                        Value::Object(m.context.clone())
                    ));
                }
                for r in &p.rejected {
                    for v in &r.violations {
                        lines.push(format!("rejected #{} ({:?}) {} {}", r.index, r.message_id, v.path, v.code));
                    }
                }
                lines.join("\n")
            }
            Err(e) => {
                let mut s = format!("{} {}: {}", e.status, e.code, e.message);
                for v in &e.violations {
                    s.push_str(&format!("\n  {} {}", v.path, v.code));
                }
                s
            }
        };
        expect.assert_eq(&actual);
    }

    #[test]
    fn single_calls() {
        check(
            Call::Single(Kind::Track),
            r#"{"writeKey": "k", "userId": "u", "event": "E", "messageId": "m"}"#,
            expect![[r#"
                writeKey: Some("k")
                accepted track m E sentAt=None context={}"#]],
        );
        check(
            Call::Single(Kind::Identify),
            r#"{"traits": "x"}"#,
            expect![[r#"
                400 invalid_message: the message does not follow the Spec; see violations
                  userId required
                  traits wrong_type"#]],
        );
        check(Call::Single(Kind::Track), "[]", expect!["400 invalid_json: the body must be a JSON object"]);
        check(
            Call::Single(Kind::Track),
            r#"{"userId": "u", "userId": "v", "event": "E"}"#,
            expect!["400 invalid_json: the body is not valid JSON: duplicate key `userId` at line 1 column 24"],
        );
    }

    #[test]
    fn a_batch_shares_its_envelope_and_keeps_valid_messages() {
        check(
            Call::Batch,
            r#"{"writeKey": "k", "sentAt": "2023-11-14T22:13:19Z", "context": {"library": {"name": "x"}, "locale": "de"},
                "batch": [
                  {"type": "track", "userId": "u", "event": "A", "messageId": "m1", "context": {"locale": "fr"}},
                  {"type": "track", "userId": "u", "messageId": "m2"},
                  {"type": "nope", "userId": "u"},
                  {"type": "page", "anonymousId": "a", "name": "Home", "sentAt": "2023-11-14T22:13:18Z"},
                  7
                ]}"#,
            expect![[r#"
                writeKey: Some("k")
                accepted track m1 A sentAt=Some(1699999999000) context={"library":{"name":"x"},"locale":"fr"}
                accepted page 01010101-0101-4101-8101-010101010102 Home sentAt=Some(1699999998000) context={"library":{"name":"x"},"locale":"de"}
                rejected #1 (Some("m2")) batch[1].event required
                rejected #2 (None) batch[2].type unknown_type
                rejected #4 (None) batch[4] not_an_object"#]],
        );
    }

    #[test]
    fn limits_name_themselves() {
        let big =
            format!(r#"{{"userId": "u", "event": "E", "properties": {{"s": "{}"}}}}"#, "x".repeat(MAX_EVENT_BYTES));
        check(
            Call::Single(Kind::Track),
            &big,
            expect!["413 event_too_large: a call may be at most 32 KB (32768 bytes)"],
        );
        let batch = format!(r#"{{"batch": [{big}, {{"type": "track", "userId": "u", "event": "ok"}}]}}"#);
        check(
            Call::Batch,
            &batch,
            expect![[r#"
                writeKey: None
                accepted track 01010101-0101-4101-8101-010101010100 ok sentAt=None context={}
                rejected #0 (None) batch[0] event_too_large"#]],
        );
        let many = format!(r#"{{"batch": [{}]}}"#, vec!["{}"; MAX_BATCH_EVENTS + 1].join(","));
        check(
            Call::Batch,
            &many,
            expect!["400 too_many_events: a batch may hold at most 2500 messages; split it into several requests"],
        );
        let huge = format!(r#"{{"batch": [], "pad": "{}"}}"#, "x".repeat(MAX_BATCH_BYTES));
        check(Call::Batch, &huge, expect!["413 batch_too_large: a batch request may be at most 500 KB (512000 bytes)"]);
        check(Call::Batch, r#"{"batch": {}}"#, expect!["400 invalid_batch: batch must be an array of messages"]);
        check(Call::Batch, r#"{"batch": []}"#, expect![[r#"writeKey: None"#]]);
    }

    #[test]
    fn hostile_bodies_are_refused_cleanly() {
        let deep =
            format!(r#"{{"userId": "u", "event": "E", "properties": {}{}}}"#, "[".repeat(5000), "]".repeat(5000));
        check(
            Call::Single(Kind::Track),
            &deep,
            expect![
                "400 invalid_json: the body is not valid JSON: nesting is deeper than 128 levels at line 1 column 171"
            ],
        );
        let deep = format!(r#"{{"userId": "u", "event": "E", "properties": {}{}}}"#, "[".repeat(200), "]".repeat(200));
        check(
            Call::Single(Kind::Track),
            &deep,
            expect![
                "400 invalid_json: the body is not valid JSON: nesting is deeper than 128 levels at line 1 column 171"
            ],
        );
        check(
            Call::Single(Kind::Track),
            r#"{"userId": "u", "event": "E", "properties": {"n": 1e999}}"#,
            expect!["400 invalid_json: the body is not valid JSON: number out of range at line 1 column 55"],
        );
        let r = parse_body(Call::Single(Kind::Track), b"{\"userId\": \"\xc3\x28\", \"event\": \"E\"}");
        assert_eq!(r.map(|_| ()).map_err(|e| e.code), Err("invalid_json"));
    }

    #[test]
    fn routes() {
        let calls: Vec<_> = ["b", "batch", "t", "identify", "x"].iter().map(|s| Call::from_route(s)).collect();
        assert_eq!(
            calls,
            [
                Some(Call::Batch),
                Some(Call::Batch),
                Some(Call::Single(Kind::Track)),
                Some(Call::Single(Kind::Identify)),
                None
            ]
        );
    }

    fn enriched(context: &str, e: &Enrichment) -> String {
        let mut m = Message::new(Kind::Track, "m".into(), 0);
        m.context = serde_json::from_str(context).expect("fixture");
        enrich(&mut m, e);
        Value::Object(m.context).to_string()
    }

    #[test]
    fn enrichment_fills_gaps_and_applies_the_ip_policy() {
        let mut e =
            Enrichment { ip: Some("203.0.113.77".into()), user_agent: Some("UA/1".into()), ..Enrichment::default() };
        e.location.insert("country".into(), "DE".into());
        expect![[r#"{"ip":"203.0.113.0","location":{"country":"DE"},"userAgent":"UA/1"}"#]]
            .assert_eq(&enriched("{}", &e));
        expect![[r#"{"ip":"2001:db8:85a3::","location":{"city":"Rome"},"userAgent":"Mine"}"#]].assert_eq(&enriched(
            r#"{"ip": "2001:db8:85a3:8d3:1319:8a2e:370:7348", "userAgent": "Mine", "location": {"city": "Rome"}}"#,
            &e,
        ));
        e.ip_policy = IpPolicy::Keep;
        expect![[r#"{"ip":"203.0.113.77","location":{"country":"DE"},"userAgent":"UA/1"}"#]]
            .assert_eq(&enriched("{}", &e));
        e.ip_policy = IpPolicy::Drop;
        expect![[r#"{"location":{"country":"DE"},"userAgent":"UA/1"}"#]].assert_eq(&enriched("{}", &e));
        e.ip_policy = IpPolicy::Truncate;
        expect![[r#"{"location":{"country":"DE"},"userAgent":"UA/1"}"#]]
            .assert_eq(&enriched(r#"{"ip": "not an ip"}"#, &e));
    }
}
