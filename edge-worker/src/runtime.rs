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

/// The workspace's identity settings from the `CAIRN_IDENTITY` variable (JSON,
/// see `cairn_core::resolve::settings`); defaults when it is not set. A
/// setting that does not parse is an operator error: every request that
/// needs it fails with 500, and the log names the problems.
pub fn identity_settings(
    env: &worker::Env,
) -> crate::error::AppResult<(cairn_core::identity::Config, cairn_core::resolve::Rules)> {
    let Ok(var) = env.var("CAIRN_IDENTITY") else { return Ok(Default::default()) };
    let text = var.to_string();
    if text.trim().is_empty() {
        return Ok(Default::default());
    }
    let parsed = serde_json::from_str(&text).map_err(|e| e.to_string()).and_then(|v| {
        cairn_core::resolve::settings(&v).map_err(|vs| {
            vs.iter().map(|v| [v.path.as_str(), ": ", &v.message].concat()).collect::<Vec<_>>().join("; ")
        })
    });
    parsed.map_err(|e| {
        worker::console_error!("CAIRN_IDENTITY is invalid: {e}");
        crate::error::AppError::Internal(["CAIRN_IDENTITY is invalid: ", &e].concat())
    })
}

/// The workspace's secret for hashing personal data (`PII_SALT`), needed by
/// sources whose PII policy hashes. Missing, it is an operator error.
pub fn pii_salt(env: &worker::Env) -> crate::error::AppResult<Vec<u8>> {
    pii_salt_if_set(env).ok_or_else(|| {
        worker::console_error!("PII_SALT is not set; hashing personal data and suppression need it");
        crate::error::AppError::Internal("PII_SALT is not set".into())
    })
}

/// `PII_SALT` when it is set (without it nothing can have been suppressed).
pub fn pii_salt_if_set(env: &worker::Env) -> Option<Vec<u8>> {
    let salt = env.secret("PII_SALT").map(|s| s.to_string()).or_else(|_| env.var("PII_SALT").map(|v| v.to_string()));
    salt.ok().filter(|s| !s.is_empty()).map(String::into_bytes)
}
