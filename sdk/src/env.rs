//! What the SDK reads from the browser, declared directly rather than
//! through js-sys/web-sys: those bring code (futures, closures) into the
//! wasm that the SDK does not use, and every visitor downloads it.

use alloc::string::String;
use wasm_bindgen::prelude::*;

use cairn_core::time::Millis;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = Date, js_name = now)]
    fn date_now() -> f64;
    #[wasm_bindgen(js_namespace = crypto, js_name = getRandomValues)]
    fn get_random_values(bytes: &mut [u8]);
    /// `Reflect.get(target, key)`
    #[wasm_bindgen(js_namespace = Reflect)]
    pub fn get(target: &JsValue, key: &str) -> JsValue;
    /// `location.toString()` is the page's URL.
    #[wasm_bindgen(js_namespace = location, js_name = toString)]
    pub fn href() -> String;

    type Document;
    #[wasm_bindgen(thread_local_v2, js_name = document)]
    static DOCUMENT: Document;
    #[wasm_bindgen(method, getter, js_name = referrer)]
    fn referrer_of(this: &Document) -> String;
    #[wasm_bindgen(method, getter, js_name = title)]
    fn title_of(this: &Document) -> String;

    type Navigator;
    #[wasm_bindgen(thread_local_v2, js_name = navigator)]
    static NAVIGATOR: Navigator;
    #[wasm_bindgen(method, getter, js_name = language)]
    fn language_of(this: &Navigator) -> Option<String>;
}

pub fn now() -> Millis {
    date_now() as Millis
}

/// 16 bytes from `crypto.getRandomValues` (a UUID v4's worth).
pub fn random_bytes() -> [u8; 16] {
    let mut bytes = [0u8; 16];
    get_random_values(&mut bytes);
    bytes
}

pub fn referrer() -> String {
    DOCUMENT.with(Document::referrer_of)
}

pub fn title() -> String {
    DOCUMENT.with(Document::title_of)
}

pub fn language() -> Option<String> {
    NAVIGATOR.with(Navigator::language_of)
}
