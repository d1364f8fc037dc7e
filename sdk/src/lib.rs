//! The browser SDK: a thin shell that turns calls from the page into Spec
//! messages built by `cairn-core`, and sends them to the Cairn edge worker.
//!
//! All state lives here, in Rust; the JS loader (`js/cairn.js`) only replays
//! the snippet's queue and forwards calls.

use cairn_core::{Kind, Message, id, time};
use serde_json::{Map, Value};
use wasm_bindgen::prelude::*;

/// One loaded instance of the SDK, bound to a source's write key.
#[wasm_bindgen]
pub struct Cairn {
    write_key: String,
    api_host: String,
    anonymous_id: String,
    user_id: Option<String>,
}

#[wasm_bindgen]
impl Cairn {
    /// `api_host` is the origin of the Cairn worker; empty means this page's
    /// own origin (first-party collection).
    #[wasm_bindgen(constructor)]
    pub fn new(write_key: String, api_host: String) -> Result<Cairn, JsError> {
        let window = web_sys::window().ok_or_else(|| JsError::new("cairn: no window"))?;
        let api_host = if api_host.is_empty() {
            window.location().origin().map_err(|_| JsError::new("cairn: no origin"))?
        } else {
            api_host
        };
        Ok(Cairn { write_key, api_host, anonymous_id: id::uuid_v4(random_bytes()?), user_id: None })
    }

    #[wasm_bindgen(js_name = anonymousId)]
    pub fn anonymous_id(&self) -> String {
        self.anonymous_id.clone()
    }

    #[wasm_bindgen(js_name = userId)]
    pub fn user_id(&self) -> Option<String> {
        self.user_id.clone()
    }

    /// Records who the visitor is; later calls carry the `userId`.
    pub fn identify(&mut self, user_id: Option<String>, traits: &str) -> Result<js_sys::Promise, JsError> {
        if let Some(u) = user_id.filter(|u| !u.is_empty()) {
            self.user_id = Some(u);
        }
        let mut msg = self.message(Kind::Identify)?;
        msg.traits = parse_object(traits)?;
        self.send(msg)
    }

    /// Links `previous_id` (by default the current identity) to `user_id`.
    pub fn alias(&mut self, user_id: String, previous_id: Option<String>) -> Result<js_sys::Promise, JsError> {
        let previous = previous_id.or_else(|| self.user_id.clone()).unwrap_or_else(|| self.anonymous_id.clone());
        self.user_id = Some(user_id);
        let mut msg = self.message(Kind::Alias)?;
        msg.previous_id = Some(previous);
        self.send(msg)
    }

    /// Associates the visitor with a group (a company, an account).
    pub fn group(&self, group_id: String, traits: &str) -> Result<js_sys::Promise, JsError> {
        let mut msg = self.message(Kind::Group)?;
        msg.group_id = Some(group_id);
        msg.traits = parse_object(traits)?;
        self.send(msg)
    }

    /// Forgets the visitor (logout): no userId, a new anonymousId.
    pub fn reset(&mut self) -> Result<(), JsError> {
        self.user_id = None;
        self.anonymous_id = id::uuid_v4(random_bytes()?);
        Ok(())
    }

    /// Records a `track` call; `properties` is a JSON object text (the loader
    /// stringifies what the page passed). Resolves when the worker answers.
    pub fn track(&self, event: String, properties: &str) -> Result<js_sys::Promise, JsError> {
        let mut msg = self.message(Kind::Track)?;
        msg.event = Some(event);
        msg.properties = parse_object(properties)?;
        self.send(msg)
    }

    /// Records a `page` call for the current page.
    pub fn page(&self, name: Option<String>, properties: &str) -> Result<js_sys::Promise, JsError> {
        let mut msg = self.message(Kind::Page)?;
        msg.name = name;
        msg.properties = parse_object(properties)?;
        self.send(msg)
    }
}

impl Cairn {
    fn message(&self, kind: Kind) -> Result<Message, JsError> {
        let now = js_sys::Date::now() as time::Millis;
        let mut msg = Message::new(kind, id::uuid_v4(random_bytes()?), now);
        msg.anonymous_id = Some(self.anonymous_id.clone());
        msg.user_id = self.user_id.clone();
        let mut library = Map::new();
        library.insert("name".into(), "cairn-sdk".into());
        library.insert("version".into(), env!("CARGO_PKG_VERSION").into());
        msg.context.insert("library".into(), Value::Object(library));
        Ok(msg)
    }

    fn send(&self, mut msg: Message) -> Result<js_sys::Promise, JsError> {
        msg.sent_at = Some(js_sys::Date::now() as time::Millis);
        let mut body = msg.to_json();
        if let Value::Object(o) = &mut body {
            // The Spec's receivedAt is the server's to set.
            o.remove("receivedAt");
            o.insert("writeKey".into(), self.write_key.as_str().into());
        }
        let init = web_sys::RequestInit::new();
        init.set_method("POST");
        // text/plain keeps the request "simple": no CORS preflight.
        init.set_body(&JsValue::from_str(&body.to_string()));
        // keepalive lets the request outlive the page (web-sys has no setter for it).
        let _ = js_sys::Reflect::set(&init, &JsValue::from_str("keepalive"), &JsValue::TRUE);
        let window = web_sys::window().ok_or_else(|| JsError::new("cairn: no window"))?;
        let url = [self.api_host.as_str(), "/v1/", msg.kind.as_str()].concat();
        Ok(window.fetch_with_str_and_init(&url, &init))
    }
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
