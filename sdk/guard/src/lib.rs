//! The SDK's guard: a second, optional wasm module that runs a source's
//! privacy rules on every batch before it leaves the page (see
//! `cairn_core::privacy::browser`). The loader fetches it only when the
//! source's settings (`GET /v1/projects/{writeKey}/settings`) carry rules
//! for the browser, so sites without them never download it. It links
//! serde_json and the whole privacy stage (PII classifier, policies,
//! tracking plans), which is why it is not part of the main SDK module.

#![cfg_attr(all(target_arch = "wasm32", not(test)), no_std)]

extern crate alloc;

use alloc::string::String;

use cairn_core::json;
use cairn_core::privacy::{Rules, browser};
use wasm_bindgen::prelude::*;

/// A source's browser rules, ready to screen batches.
#[wasm_bindgen]
pub struct Guard {
    rules: Rules,
}

#[wasm_bindgen]
impl Guard {
    /// `rules` is the `privacy` object of the source's settings (JSON text).
    #[wasm_bindgen(constructor)]
    pub fn new(rules: &str) -> Result<Guard, JsError> {
        let value = json::parse(rules.as_bytes()).map_err(|e| JsError::new(&e.message))?;
        let settings = value.as_object().ok_or_else(|| JsError::new("cairn: privacy rules must be an object"))?;
        let rules = Rules::from_settings(settings).map_err(|vs| {
            let paths: alloc::vec::Vec<&str> = vs.iter().map(|v| v.path.as_str()).collect();
            JsError::new(&["cairn: invalid privacy rules at ", &paths.join(", ")].concat())
        })?;
        Ok(Guard { rules })
    }

    /// The body with the rules applied: messages they drop are gone, values
    /// they redact or properties they omit are out. Empty when no message is
    /// left to send.
    pub fn screen(&self, body: &str) -> Result<String, JsError> {
        let out = browser::screen(body, &self.rules).map_err(|e| JsError::new(&e.message))?;
        Ok(if out.kept == 0 { String::new() } else { out.body })
    }
}

/// Inside the browser a panic can only be a bug; it traps (the loader
/// catches the error and holds the batch) rather than carrying std's
/// formatting machinery.
#[cfg(all(target_arch = "wasm32", not(test)))]
#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    core::arch::wasm32::unreachable()
}

#[cfg(all(target_arch = "wasm32", not(test)))]
#[global_allocator]
#[allow(unsafe_code)]
static ALLOCATOR: lol_alloc::AssumeSingleThreaded<lol_alloc::FreeListAllocator> =
    // SAFETY: wasm32-unknown-unknown without atomics runs one thread.
    unsafe { lol_alloc::AssumeSingleThreaded::new(lol_alloc::FreeListAllocator::new()) };
