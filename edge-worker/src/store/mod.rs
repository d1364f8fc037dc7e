//! D1 storage behind small typed functions. Prepared, bound statements only.

pub mod audit;
pub mod events;
pub mod identity;
pub mod merges;
pub mod privacy;
pub mod profiles;
pub mod regulations;
pub mod sources;

use worker::wasm_bindgen::JsValue;

fn text(s: &str) -> JsValue {
    JsValue::from_str(s)
}

fn int(n: i64) -> JsValue {
    // D1 binds JS numbers; every integer we store (epoch millis, counts) is
    // far below 2^53.
    JsValue::from_f64(n as f64)
}
