//! The browser SDK: a thin shell that turns calls from the page into Spec
//! messages built by `cairn-core`, queues them and hands batches to the JS
//! loader to send, following `cairn_core::delivery`'s policy.
//!
//! All state lives here, in Rust; the JS loader (`js/cairn.js`) replays the
//! snippet's queue, owns the timers and does the `fetch`/`sendBeacon` calls,
//! reporting each answer back with `ack`.

use std::collections::VecDeque;

use cairn_core::consent::{Category, Mode, Preferences};
use cairn_core::delivery::{self, Outcome};
use cairn_core::{Kind, Message, id, time};
use serde_json::{Map, Value};
use wasm_bindgen::prelude::*;

/// One loaded instance of the SDK, bound to a source's write key.
#[wasm_bindgen]
pub struct Cairn {
    write_key: String,
    endpoint: String,
    anonymous_id: String,
    user_id: Option<String>,
    /// The visitor's consent, and whether they have chosen at all.
    consent: Preferences,
    chosen: bool,
    /// Messages waiting to be delivered, oldest first. They are serialized
    /// when sent, so they carry the consent in force at that moment.
    queue: VecDeque<Message>,
    /// How many messages at the front of `queue` are in the request in flight.
    in_flight: usize,
    /// Failed attempts of the current front batch.
    attempt: u32,
}

/// Messages held while consent does not allow sending; older ones go first.
const MAX_HELD: usize = 100;

/// The bytes around the messages of a batch body: `{"batch":[...],"writeKey":"...","sentAt":"..."}`.
const ENVELOPE_BYTES: usize = 64;

#[wasm_bindgen]
impl Cairn {
    /// `api_host` is the origin of the Cairn worker; empty means this page's
    /// own origin (first-party collection).
    /// `consent_mode` is `opt-out` to send until the visitor objects; anything
    /// else is opt-in: nothing leaves the page before the visitor allows it.
    #[wasm_bindgen(constructor)]
    pub fn new(write_key: String, api_host: String, consent_mode: &str) -> Result<Cairn, JsError> {
        let mode = if consent_mode == "opt-out" { Mode::OptOut } else { Mode::OptIn };
        let window = web_sys::window().ok_or_else(|| JsError::new("cairn: no window"))?;
        let api_host = if api_host.is_empty() {
            window.location().origin().map_err(|_| JsError::new("cairn: no origin"))?
        } else {
            api_host
        };
        Ok(Cairn {
            write_key,
            endpoint: [api_host.trim_end_matches('/'), "/v1/batch"].concat(),
            anonymous_id: id::uuid_v4(random_bytes()?),
            user_id: None,
            consent: Preferences::initial(mode),
            chosen: false,
            queue: VecDeque::new(),
            in_flight: 0,
            attempt: 0,
        })
    }

    #[wasm_bindgen(js_name = anonymousId)]
    pub fn anonymous_id(&self) -> String {
        self.anonymous_id.clone()
    }

    #[wasm_bindgen(js_name = userId)]
    pub fn user_id(&self) -> Option<String> {
        self.user_id.clone()
    }

    /// Where batches go (`POST`).
    pub fn endpoint(&self) -> String {
        self.endpoint.clone()
    }

    /// Records a `track` call; `properties` is a JSON object text (the loader
    /// stringifies what the page passed). Every recording call returns
    /// whether the queue should be sent now (else within 5 s).
    pub fn track(&mut self, event: String, properties: &str) -> Result<bool, JsError> {
        let mut msg = self.message(Kind::Track)?;
        msg.event = Some(event);
        msg.properties = parse_object(properties)?;
        Ok(self.enqueue(msg))
    }

    /// Records a `page` call for the current page.
    pub fn page(&mut self, name: Option<String>, properties: &str) -> Result<bool, JsError> {
        let mut msg = self.message(Kind::Page)?;
        msg.name = name;
        msg.properties = parse_object(properties)?;
        Ok(self.enqueue(msg))
    }

    /// Records who the visitor is; later calls carry the `userId`.
    pub fn identify(&mut self, user_id: Option<String>, traits: &str) -> Result<bool, JsError> {
        if let Some(u) = user_id.filter(|u| !u.is_empty()) {
            self.user_id = Some(u);
        }
        let mut msg = self.message(Kind::Identify)?;
        msg.traits = parse_object(traits)?;
        Ok(self.enqueue(msg))
    }

    /// Links `previous_id` (by default the current identity) to `user_id`.
    pub fn alias(&mut self, user_id: String, previous_id: Option<String>) -> Result<bool, JsError> {
        let previous = previous_id.or_else(|| self.user_id.clone()).unwrap_or_else(|| self.anonymous_id.clone());
        self.user_id = Some(user_id);
        let mut msg = self.message(Kind::Alias)?;
        msg.previous_id = Some(previous);
        Ok(self.enqueue(msg))
    }

    /// Associates the visitor with a group (a company, an account).
    pub fn group(&mut self, group_id: String, traits: &str) -> Result<bool, JsError> {
        let mut msg = self.message(Kind::Group)?;
        msg.group_id = Some(group_id);
        msg.traits = parse_object(traits)?;
        Ok(self.enqueue(msg))
    }

    /// Takes back the identity kept on the device from an earlier visit (the
    /// loader reads it, and only when consent allows storage).
    pub fn restore(&mut self, anonymous_id: String, user_id: Option<String>) {
        if !anonymous_id.is_empty() {
            self.anonymous_id = anonymous_id;
        }
        self.user_id = user_id.filter(|u| !u.is_empty());
    }

    /// Forgets the visitor (logout): no userId, a new anonymousId.
    pub fn reset(&mut self) -> Result<(), JsError> {
        self.user_id = None;
        self.anonymous_id = id::uuid_v4(random_bytes()?);
        Ok(())
    }

    /// Messages not yet delivered.
    pub fn pending(&self) -> usize {
        self.queue.len()
    }

    /// Records the visitor's choice (`{"analytics": true, ...}`; categories
    /// not named keep their value). Withdrawing analytics drops what is
    /// queued. Returns whether the queue should be sent now.
    #[wasm_bindgen(js_name = setConsent)]
    pub fn set_consent(&mut self, preferences: &str) -> Result<bool, JsError> {
        let v: Value =
            serde_json::from_str(preferences).map_err(|_| JsError::new("cairn: consent must be an object"))?;
        self.consent = Preferences::from_json(self.consent, &v);
        self.chosen = true;
        if !self.sending_allowed() {
            self.queue.clear();
            self.in_flight = 0;
        }
        Ok(self.sending_allowed() && !self.queue.is_empty())
    }

    /// `{"chosen": bool, "categoryPreferences": {...}}`
    #[wasm_bindgen(js_name = getConsent)]
    pub fn get_consent(&self) -> String {
        let mut m = Map::new();
        m.insert("chosen".into(), Value::Bool(self.chosen));
        m.insert("categoryPreferences".into(), self.consent.to_json());
        Value::Object(m).to_string()
    }

    /// Whether identifiers may be kept in cookies/localStorage.
    #[wasm_bindgen(js_name = storageAllowed)]
    pub fn storage_allowed(&self) -> bool {
        self.consent.allows_storage()
    }

    /// Whether the queue is due (10 messages, 60 KB, or 5 s old) and may be sent.
    pub fn due(&self) -> bool {
        if !self.sending_allowed() {
            return false;
        }
        let bytes = self.queue.len() * 600; // a typical message; exact sizes are taken when sending
        let age = self.queue.front().map_or(0, |m| now().saturating_sub(m.timestamp));
        delivery::should_flush(self.queue.len(), bytes, age)
    }

    /// The body of the next request, or `None` when nothing is waiting or a
    /// request is already in flight. Bodies stay under `max_bytes` unless one
    /// message alone is larger.
    #[wasm_bindgen(js_name = takeBatch)]
    pub fn take_batch(&mut self, max_bytes: usize) -> Option<String> {
        if self.in_flight > 0 || self.queue.is_empty() || !self.sending_allowed() {
            return None;
        }
        let (body, count) = self.next_chunk(0, max_bytes)?;
        self.in_flight = count;
        Some(body)
    }

    /// Reports the answer to the request from `takeBatch` (`status` absent
    /// for a network error) and returns what the loader does next: a delay in
    /// ms before retrying, 0 to send the next batch now, -1 when all is sent.
    pub fn ack(&mut self, status: Option<u16>, retry_after: Option<String>, jitter: f64) -> f64 {
        let sent = core::mem::take(&mut self.in_flight);
        match delivery::outcome(status, self.attempt + 1, jitter, retry_after.as_deref()) {
            Outcome::Retry(ms) => {
                self.attempt += 1;
                return ms as f64;
            }
            Outcome::Delivered | Outcome::Drop => {
                self.attempt = 0;
                self.queue.drain(..sent.min(self.queue.len()));
            }
        }
        if self.queue.is_empty() { -1.0 } else { 0.0 }
    }

    /// When the page goes away: takes the next batch of what is not in
    /// flight, for `sendBeacon`, and forgets it (there is no answer to wait for).
    #[wasm_bindgen(js_name = drainForBeacon)]
    pub fn drain_for_beacon(&mut self, max_bytes: usize) -> Option<String> {
        if !self.sending_allowed() {
            return None;
        }
        let (body, count) = self.next_chunk(self.in_flight, max_bytes)?;
        self.queue.drain(self.in_flight..self.in_flight + count);
        Some(body)
    }
}

impl Cairn {
    fn message(&self, kind: Kind) -> Result<Message, JsError> {
        let mut msg = Message::new(kind, id::uuid_v4(random_bytes()?), now());
        msg.anonymous_id = Some(self.anonymous_id.clone());
        msg.user_id = self.user_id.clone();
        let mut library = Map::new();
        library.insert("name".into(), "cairn-sdk".into());
        library.insert("version".into(), env!("CARGO_PKG_VERSION").into());
        msg.context.insert("library".into(), Value::Object(library));
        if let Some(window) = web_sys::window() {
            let href = window.location().href().unwrap_or_default();
            let (referrer, title) = window.document().map(|d| (d.referrer(), d.title())).unwrap_or_default();
            let page = cairn_core::page::page_context(&href, &referrer, &title);
            let search = page.get("search").and_then(Value::as_str).unwrap_or_default();
            if let Some(campaign) = cairn_core::page::campaign(search) {
                msg.context.insert("campaign".into(), Value::Object(campaign));
            }
            msg.context.insert("page".into(), Value::Object(page));
            if let Some(locale) = window.navigator().language() {
                msg.context.insert("locale".into(), locale.into());
            }
        }
        Ok(msg)
    }

    /// The body of the first chunk of queued messages after the first `skip`,
    /// and how many messages it holds.
    fn next_chunk(&self, skip: usize, max_bytes: usize) -> Option<(String, usize)> {
        let jsons: Vec<String> = self.queue.iter().skip(skip).map(|m| self.wire_json(m)).collect();
        let sizes: Vec<usize> = jsons.iter().map(String::len).collect();
        let chunk = delivery::chunks(&sizes, ENVELOPE_BYTES + self.write_key.len(), max_bytes).into_iter().next()?;
        Some((self.body(&jsons[chunk.clone()]), chunk.len()))
    }

    /// Analytics is what Cairn's events are for; without it nothing is sent.
    fn sending_allowed(&self) -> bool {
        self.consent.allows(Category::Analytics)
    }

    fn enqueue(&mut self, msg: Message) -> bool {
        if !self.sending_allowed() && self.queue.len() >= MAX_HELD {
            self.queue.pop_front();
        }
        self.queue.push_back(msg);
        self.due()
    }

    /// A message as sent: with the consent in force now, without `timestamp`
    /// and `receivedAt` (the server corrects the client's clock from
    /// `originalTimestamp` and `sentAt`, and sets `receivedAt` itself).
    fn wire_json(&self, msg: &Message) -> String {
        let mut json = msg.to_json();
        if let Value::Object(o) = &mut json {
            o.remove("timestamp");
            o.remove("receivedAt");
            if let Some(Value::Object(ctx)) = o.get_mut("context") {
                let mut consent = Map::new();
                consent.insert("categoryPreferences".into(), self.consent.to_json());
                ctx.insert("consent".into(), Value::Object(consent));
            }
        }
        json.to_string()
    }

    fn body(&self, messages: &[String]) -> String {
        let mut body = String::from("{\"batch\":[");
        for (i, m) in messages.iter().enumerate() {
            if i > 0 {
                body.push(',');
            }
            body.push_str(m);
        }
        body.push_str("],\"writeKey\":");
        body.push_str(&Value::from(self.write_key.as_str()).to_string());
        body.push_str(",\"sentAt\":\"");
        body.push_str(&time::format(now()));
        body.push_str("\"}");
        body
    }
}

fn now() -> time::Millis {
    js_sys::Date::now() as time::Millis
}

fn parse_object(json: &str) -> Result<Map<String, Value>, JsError> {
    if json.is_empty() {
        return Ok(Map::new());
    }
    match serde_json::from_str(json) {
        Ok(Value::Object(m)) => Ok(m),
        _ => Err(JsError::new("cairn: properties must be an object")),
    }
}

fn random_bytes() -> Result<[u8; 16], JsError> {
    let mut bytes = [0u8; 16];
    let crypto = web_sys::window().and_then(|w| w.crypto().ok()).ok_or_else(|| JsError::new("cairn: no crypto"))?;
    crypto.get_random_values_with_u8_array(&mut bytes).map_err(|_| JsError::new("cairn: getRandomValues failed"))?;
    Ok(bytes)
}
