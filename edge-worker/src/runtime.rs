//! What the core takes as values: the clock and random bytes, from the Workers runtime.

use cairn_core::time::Millis;

pub fn now() -> Millis {
    worker::Date::now().as_millis() as Millis
}

/// 16 bytes from the runtime's CSPRNG (`crypto.randomUUID`, whose 122 random
/// bits are plenty for ids and seeds).
pub fn random_bytes() -> [u8; 16] {
    let mut bytes = [0u8; 16];
    let hex: Vec<u8> = random_uuid().bytes().filter(u8::is_ascii_hexdigit).collect();
    for (b, pair) in bytes.iter_mut().zip(hex.chunks(2)) {
        *b = core::str::from_utf8(pair).ok().and_then(|s| u8::from_str_radix(s, 16).ok()).unwrap_or(0);
    }
    bytes
}

/// `prefix` followed by 32 random hex digits: source ids, write keys.
pub fn random_token(prefix: &str) -> String {
    let mut s = String::from(prefix);
    s.extend(random_uuid().chars().filter(char::is_ascii_hexdigit));
    s
}

#[wasm_bindgen::prelude::wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = crypto, js_name = randomUUID)]
    fn random_uuid() -> String;
}
