//! The browser SDK: a thin shell that turns calls from the page into Spec
//! messages, queues them and hands batches to the JS loader to send,
//! following `cairn_core::delivery`'s policy and the visitor's consent.
//!
//! All state lives here, in Rust; the JS loader (`js/cairn.js`) replays the
//! snippet's queue, reads the DOM for autocapture, owns the timers, storage
//! and the `fetch`/`sendBeacon` calls, and reports each answer back with `ack`.
//!
//! Size matters more than anywhere else in Cairn: every visitor downloads
//! this. Messages are written as JSON text with `cairn_core::json_out` and
//! properties arrive as JSON text from `JSON.stringify`, so no JSON parser,
//! serializer or float formatting is compiled in.

#![cfg_attr(all(target_arch = "wasm32", not(test), not(feature = "std")), no_std)]

extern crate alloc;

use alloc::string::String;
use alloc::vec::Vec;

use cairn_core::consent::{Category, Mode, Preferences};
use cairn_core::delivery::{self, Outcome};
use cairn_core::json_out::{self, Obj, push_str, push_u64};
use cairn_core::{Kind, id, page, text, time};
use wasm_bindgen::prelude::*;

mod env;
use env::{now, random_bytes};

use crate::Field::{Raw, Str};

/// One loaded instance of the SDK, bound to a source's write key.
#[wasm_bindgen]
pub struct Cairn {
    write_key: String,
    anonymous_id: String,
    user_id: Option<String>,
    /// The visitor's consent, and whether they have chosen at all.
    consent: Preferences,
    chosen: bool,
    /// Messages waiting to be delivered, oldest first.
    queue: Vec<Queued>,
    /// How many messages at the front of `queue` are in the request in flight.
    in_flight: usize,
    /// Failed attempts of the current front batch.
    attempt: u32,
}

/// A recorded message. `head` is its JSON text up to the end of `context`,
/// left open: the consent in force when it is sent is appended then.
struct Queued {
    at: time::Millis,
    head: String,
}

/// TCF purpose ids 1 to 10 as the keys of `purpose.consents` (no number formatting in the SDK).
const PURPOSES: [&str; 10] = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "10"];

/// Messages held while consent does not allow sending; older ones go first.
const MAX_HELD: usize = 100;
/// Messages kept while the API cannot be reached; older ones go first.
const MAX_QUEUED: usize = 1000;
/// What `saved` keeps for the next page at most (localStorage holds ~5 MB of UTF-16).
const MAX_SAVED_BYTES: usize = 512 * 1024;

/// The bytes around the messages of a batch body: `{"batch":[...],"writeKey":"...","sentAt":"..."}`.
const ENVELOPE_BYTES: usize = 64;

#[wasm_bindgen]
impl Cairn {
    /// `consent_mode` is `opt-out` to send until the visitor objects; anything
    /// else is opt-in: nothing leaves the page before the visitor allows it.
    #[wasm_bindgen(constructor)]
    pub fn new(write_key: String, consent_mode: &str) -> Result<Cairn, JsError> {
        let mode = if consent_mode == "opt-out" { Mode::OptOut } else { Mode::OptIn };
        Ok(Cairn {
            write_key,
            anonymous_id: id::uuid_v4(random_bytes()),
            user_id: None,
            consent: Preferences::initial(mode),
            chosen: false,
            queue: Vec::new(),
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

    /// Records a `track` call; `properties` is a JSON object text (the loader
    /// stringifies what the page passed) or empty. Every recording call
    /// returns whether the queue should be sent now (else within 5 s).
    pub fn track(&mut self, event: &str, properties: &str) -> Result<bool, JsError> {
        if event.is_empty() {
            return Err(JsError::new("cairn: track needs an event name"));
        }
        self.record(Kind::Track, &[("event", Str(event)), ("properties", Raw(object(properties)?))])
    }

    /// Records a `page` call for the current page.
    pub fn page(&mut self, name: Option<String>, properties: &str) -> Result<bool, JsError> {
        let properties = ("properties", Raw(object(properties)?));
        match name {
            Some(name) => self.record(Kind::Page, &[("name", Str(&name)), properties]),
            None => self.record(Kind::Page, &[properties]),
        }
    }

    /// Records who the visitor is; later calls carry the `userId`.
    pub fn identify(&mut self, user_id: Option<String>, traits: &str) -> Result<bool, JsError> {
        let traits = object(traits)?;
        if let Some(u) = user_id.filter(|u| !u.is_empty()) {
            self.user_id = Some(u);
        }
        self.record(Kind::Identify, &[("traits", Raw(traits))])
    }

    /// Links `previous_id` (by default the current identity) to `user_id`.
    pub fn alias(&mut self, user_id: Option<String>, previous_id: Option<String>) -> Result<bool, JsError> {
        let user_id = user_id.filter(|u| !u.is_empty()).ok_or_else(|| JsError::new("cairn: alias needs a userId"))?;
        let previous = previous_id
            .filter(|p| !p.is_empty())
            .or_else(|| self.user_id.clone())
            .unwrap_or_else(|| self.anonymous_id.clone());
        self.user_id = Some(user_id);
        self.record(Kind::Alias, &[("previousId", Str(&previous))])
    }

    /// Associates the visitor with a group (a company, an account).
    pub fn group(&mut self, group_id: &str, traits: &str) -> Result<bool, JsError> {
        if group_id.is_empty() {
            return Err(JsError::new("cairn: group needs a groupId"));
        }
        self.record(Kind::Group, &[("groupId", Str(group_id)), ("traits", Raw(object(traits)?))])
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
        self.anonymous_id = id::uuid_v4(random_bytes());
        Ok(())
    }

    /// Messages not yet delivered.
    pub fn pending(&self) -> usize {
        self.queue.len()
    }

    /// Records the visitor's choice (`{analytics: true, ...}`; categories
    /// not named keep their value). Withdrawing analytics drops what is
    /// queued. Returns whether the queue should be sent now.
    #[wasm_bindgen(js_name = setConsent)]
    pub fn set_consent(&mut self, preferences: &JsValue) -> bool {
        if !preferences.is_object() {
            return false;
        }
        let mut p = self.consent;
        for c in Category::ALL {
            if let Some(allowed) = flag(preferences, c.as_str()) {
                p = p.with(c, allowed);
            }
        }
        self.decide(p, true)
    }

    /// Takes the decision of an IAB TCF v2.2 consent platform (it replaces
    /// the one before): `consents` is the TC data's `purpose.consents`
    /// (`{"1": true, ...}`; only `true` is consent, anything else or a
    /// missing object denies), mapped by `Preferences::from_tcf`. Where GDPR
    /// does not apply (`gdprApplies: false`) every category is allowed.
    /// Returns whether the queue should be sent now.
    #[wasm_bindgen(js_name = setConsentTcf)]
    pub fn set_consent_tcf(&mut self, consents: &JsValue, gdpr_applies: bool) -> bool {
        let p = match (gdpr_applies, consents.is_object()) {
            (false, _) => Preferences::ALL,
            (true, false) => Preferences::NECESSARY_ONLY,
            (true, true) => Preferences::from_tcf(|id| {
                let key = PURPOSES.get(usize::from(id).wrapping_sub(1));
                key.is_some_and(|k| flag(consents, k) == Some(true))
            }),
        };
        self.decide(p, true)
    }

    /// Takes the state of Google Consent Mode v2 (it replaces the one
    /// before): `state` holds the signals the loader merged from the
    /// `consent` commands, `true` for `granted` (`{"analytics_storage": true,
    /// ...}`; anything but `true`, or a missing signal, denies), mapped by
    /// `Preferences::from_google_consent_mode`. `chosen`: whether an `update`
    /// (the visitor's choice) is among them, not only the site's defaults.
    /// Returns whether the queue should be sent now.
    #[wasm_bindgen(js_name = setConsentGoogle)]
    pub fn set_consent_google(&mut self, state: &JsValue, chosen: bool) -> bool {
        let p = if state.is_object() {
            Preferences::from_google_consent_mode(|k| Some(flag(state, k) == Some(true)))
        } else {
            Preferences::NECESSARY_ONLY
        };
        self.decide(p, chosen)
    }

    /// `{"chosen": bool, "categoryPreferences": {...}}`
    #[wasm_bindgen(js_name = getConsent)]
    pub fn get_consent(&self) -> String {
        let mut out = String::new();
        let mut o = Obj::new(&mut out);
        o.bool("chosen", self.chosen);
        self.consent.write_json(o.key("categoryPreferences"));
        o.end();
        out
    }

    /// Whether identifiers and the queue may be kept in cookies/localStorage.
    #[wasm_bindgen(js_name = storageAllowed)]
    pub fn storage_allowed(&self) -> bool {
        self.consent.allows_storage()
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

    /// The queue as text for localStorage, so that what is not delivered yet
    /// survives a reload: one message a line, newest last, at most 512 KB.
    /// Empty when there is nothing to keep.
    pub fn saved(&self) -> String {
        let mut budget = MAX_SAVED_BYTES;
        // Each line is the head plus its time (13 digits), a space and a newline.
        let keep =
            self.queue.iter().rev().take_while(|q| budget.checked_sub(q.head.len() + 15).map(|b| budget = b).is_some());
        let kept: Vec<&Queued> = keep.collect();
        let mut out = String::new();
        for q in kept.into_iter().rev() {
            if !out.is_empty() {
                out.push('\n');
            }
            push_u64(&mut out, q.at.max(0) as u64);
            out.push(' ');
            out.push_str(&q.head);
        }
        out
    }

    /// Takes back messages from `saved` (of this page's earlier load or of
    /// another tab that is gone), ahead of the ones recorded since. Lines
    /// that are not messages are skipped. Returns whether the queue is due.
    #[wasm_bindgen(js_name = loadSaved)]
    pub fn load_saved(&mut self, saved: &str) -> bool {
        let restored = text::split(saved, b'\n').filter_map(|line| {
            let (at, head) = text::cut(line, b' ')?;
            let at = at.parse().ok()?;
            // A head is a message object with `context` left open; a truncated
            // line would make the whole batch invalid JSON.
            let whole = head.starts_with("{\"type\":") && json_out::open_depth(head) == Some(2);
            whole.then(|| Queued { at, head: head.into() })
        });
        // What is in flight stays first; the restored messages are older than the rest.
        let rest: Vec<Queued> = self.queue.drain(self.in_flight..).collect();
        self.queue.extend(restored);
        self.queue.extend(rest);
        self.bound();
        self.due()
    }
}

impl Cairn {
    /// Puts a consent decision in force (every way of setting consent ends
    /// here). Without analytics what is queued goes. Returns whether the
    /// queue should be sent now.
    fn decide(&mut self, consent: Preferences, chosen: bool) -> bool {
        self.consent = consent;
        self.chosen = chosen;
        if !self.sending_allowed() {
            self.queue.clear();
            self.in_flight = 0;
            self.attempt = 0;
        }
        self.sending_allowed() && !self.queue.is_empty()
    }

    /// Whether the queue is due (10 messages, 60 KB, or 5 s old) and may be sent.
    fn due(&self) -> bool {
        if !self.sending_allowed() {
            return false;
        }
        let bytes = self.queue.iter().map(|q| q.head.len()).sum();
        let age = self.queue.first().map_or(0, |q| now().saturating_sub(q.at));
        delivery::should_flush(self.queue.len(), bytes, age)
    }

    /// Writes a message of `kind` (common fields, then `fields`, then the
    /// context) and queues it.
    fn record(&mut self, kind: Kind, fields: &[(&str, Field<'_>)]) -> Result<bool, JsError> {
        let at = now();
        let mut head = String::with_capacity(640);
        let mut m = Obj::new(&mut head);
        m.str("type", kind.as_str())
            .str("messageId", &id::uuid_v4(random_bytes()))
            .str("anonymousId", &self.anonymous_id)
            .opt_str("userId", self.user_id.as_deref());
        for (k, v) in fields {
            match v {
                Str(s) => m.str(k, s),
                Raw(json) => m.raw(k, json),
            };
        }
        m.str("originalTimestamp", &time::format(at));
        let mut context = Obj::new(m.key("context"));
        let mut library = Obj::new(context.key("library"));
        library.str("name", "cairn-sdk").str("version", env!("CARGO_PKG_VERSION"));
        library.end();
        page::write_context(&mut context, &env::href(), &env::referrer(), &env::title());
        context.opt_str("locale", env::language().as_deref());
        // `context` stays open: see `Queued`.
        self.queue.push(Queued { at, head });
        self.bound();
        Ok(self.due())
    }

    /// Drops the oldest messages beyond what may be held.
    fn bound(&mut self) {
        let max = if self.sending_allowed() { MAX_QUEUED } else { MAX_HELD };
        let excess = self.queue.len().saturating_sub(max);
        self.queue.drain(..excess);
        // Dropped messages that were in flight are no longer the request's to acknowledge.
        self.in_flight = self.in_flight.saturating_sub(excess);
    }

    /// The body of the first chunk of queued messages after the first `skip`,
    /// and how many messages it holds.
    fn next_chunk(&self, skip: usize, max_bytes: usize) -> Option<(String, usize)> {
        let tail = self.wire_tail();
        let sizes: Vec<usize> = self.queue.iter().skip(skip).map(|q| q.head.len() + tail.len()).collect();
        let chunk = delivery::chunks(&sizes, ENVELOPE_BYTES + self.write_key.len(), max_bytes).into_iter().next()?;
        let mut body = String::with_capacity(ENVELOPE_BYTES + chunk.len() * 1024);
        body.push_str("{\"batch\":[");
        for (i, q) in self.queue.iter().skip(skip + chunk.start).take(chunk.len()).enumerate() {
            if i > 0 {
                body.push(',');
            }
            body.push_str(&q.head);
            body.push_str(&tail);
        }
        body.push_str("],\"writeKey\":");
        push_str(&mut body, &self.write_key);
        body.push_str(",\"sentAt\":\"");
        body.push_str(&time::format(now()));
        body.push_str("\"}");
        Some((body, chunk.len()))
    }

    /// What closes a message as sent: the consent in force now, then the
    /// ends of `context` and the message. Messages carry no `timestamp`: the
    /// server corrects the client's clock from `originalTimestamp` and `sentAt`.
    fn wire_tail(&self) -> String {
        let mut tail = String::from(",\"consent\":{\"categoryPreferences\":");
        self.consent.write_json(&mut tail);
        tail.push_str("}}}");
        tail
    }

    /// Analytics is what Cairn's events are for; without it nothing is sent.
    fn sending_allowed(&self) -> bool {
        self.consent.allows(Category::Analytics)
    }
}

/// Text shown on the page with emails and long numbers replaced, for the
/// labels of clicked elements (see `cairn_core::pii::scrub`).
#[wasm_bindgen]
pub fn scrub(text: &str) -> String {
    cairn_core::pii::scrub(text)
}

/// `object[key]` when it is a boolean. (Not inlined: one copy for every
/// reader of consent objects is smaller.)
#[inline(never)]
fn flag(object: &JsValue, key: &str) -> Option<bool> {
    env::get(object, key).as_bool()
}

/// A field of a message: a string, or a value that is JSON text already.
enum Field<'a> {
    Str(&'a str),
    Raw(&'a str),
}

/// JSON object text from `JSON.stringify`, or `{}` for none.
fn object(json: &str) -> Result<&str, JsError> {
    match json {
        "" => Ok("{}"),
        j if json_out::is_one_object(j) => Ok(j),
        _ => Err(JsError::new("cairn: properties and traits must be an object")),
    }
}

/// Inside the browser a panic can only be a bug; it traps (the loader catches
/// the error) rather than carrying std's formatting machinery in every page.
/// (With the `std` feature, for the browser tests, std's handler is used.)
#[cfg(all(target_arch = "wasm32", not(test), not(feature = "std")))]
#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    core::arch::wasm32::unreachable()
}

/// A small free-list allocator: dlmalloc (std's) is about 6 KB of wasm.
#[cfg(all(target_arch = "wasm32", not(test)))]
#[global_allocator]
#[allow(unsafe_code)]
static ALLOCATOR: lol_alloc::AssumeSingleThreaded<lol_alloc::FreeListAllocator> =
    // SAFETY: wasm32-unknown-unknown without atomics runs one thread.
    unsafe { lol_alloc::AssumeSingleThreaded::new(lol_alloc::FreeListAllocator::new()) };
