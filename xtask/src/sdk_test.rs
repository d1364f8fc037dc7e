//! The SDK's browser tests (`sdk/tests/*.rs`): compiled for wasm32 with the
//! toolchain `toolchain.rs` picked, and run by `wasm-bindgen-test-runner`
//! (cargo's runner for the wasm32 target) in headless Chromium driven by
//! chromedriver.
//!
//! The runner starts `$CHROMEDRIVER` and reads the WebDriver capabilities
//! from the file named by `WASM_BINDGEN_TEST_WEBDRIVER_JSON`. That file names
//! our Chromium binary, which differs between machines, so it is written
//! here on every run, under `target/`, rather than kept in the repository.
//! The runner adds `headless`, `no-sandbox` and `disable-dev-shm-usage`
//! itself, and chromedriver gives every session a fresh profile.

use std::path::Path;
use std::process::Command;

use crate::Workspace;
use crate::cmd::{self, Error, Result, fail, step};
use crate::setup::Tools;
use crate::toolchain::TARGET;

/// Chromium switches besides the runner's own: the ones known to work
/// headless on this project's machines, without background network traffic.
const CHROMIUM_ARGS: &[&str] = &[
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
];

/// The runner's limits in seconds, unless set already: a whole test binary
/// (default 20 s) and chromedriver's start (default 5 s), roomy for a busy
/// 2-core machine.
const TIMEOUTS: &[(&str, &str)] = &[("WASM_BINDGEN_TEST_TIMEOUT", "120"), ("WASM_BINDGEN_TEST_DRIVER_TIMEOUT", "30")];

/// Settings that would make the runner pick another browser, driver or
/// mode, or wait for a person: the run must not depend on them.
const RUNNER_OVERRIDES: &[&str] = &[
    "GECKODRIVER",
    "GECKODRIVER_REMOTE",
    "SAFARIDRIVER",
    "SAFARIDRIVER_REMOTE",
    "CHROMEDRIVER_REMOTE",
    "MSEDGEDRIVER",
    "MSEDGEDRIVER_REMOTE",
    "NO_HEADLESS",
    "WASM_BINDGEN_TEST_ONLY_NODE",
    "WASM_BINDGEN_TEST_ADDRESS",
    "WASM_BINDGEN_USE_DENO",
    "WASM_BINDGEN_USE_NODE_EXPERIMENTAL",
    "WASM_BINDGEN_USE_DEDICATED_WORKER",
    "WASM_BINDGEN_USE_SHARED_WORKER",
    "WASM_BINDGEN_USE_SERVICE_WORKER",
    "WASM_BINDGEN_USE_EMSCRIPTEN",
];

/// `cargo test -p cairn-sdk --target wasm32-unknown-unknown --tests` in headless Chromium.
pub fn run(ws: &Workspace, tools: &Tools) -> Result<()> {
    step("test: SDK unit tests in headless Chromium (wasm-bindgen-test)");
    let runner = tools.wasm_bindgen.with_file_name("wasm-bindgen-test-runner");
    if !runner.is_file() {
        return fail(format!(
            "{} is missing (it comes with wasm-bindgen-cli); remove {} and run `cargo xtask setup`",
            runner.display(),
            tools.wasm_bindgen.parent().and_then(Path::parent).unwrap_or(&runner).display()
        ));
    }
    let scratch = ws.path("target/sdk-test");
    std::fs::create_dir_all(&scratch)
        .map_err(|e| Error::Failed(format!("cannot create {}: {e}", scratch.display())))?;
    let capabilities = scratch.join("webdriver.json");
    std::fs::write(&capabilities, webdriver_json(&tools.chromium))
        .map_err(|e| Error::Failed(format!("cannot write {}: {e}", capabilities.display())))?;

    let mut c = Command::new("cargo");
    c.current_dir(&ws.root);
    tools.wasm.configure(&mut c, ws);
    c.args(["test", "--package", "cairn-sdk", "--target", TARGET, "--tests"])
        .env("CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER", &runner)
        .env("CHROMEDRIVER", &tools.chromedriver)
        .env("WASM_BINDGEN_TEST_WEBDRIVER_JSON", &capabilities)
        // Test binaries without `wasm_bindgen_test_configure!` (the lib's
        // unit tests) run in the browser too, not in Node.js.
        .env("WASM_BINDGEN_USE_BROWSER", "1");
    for var in RUNNER_OVERRIDES {
        c.env_remove(var);
    }
    for (var, secs) in TIMEOUTS {
        if std::env::var_os(var).is_none() {
            c.env(var, secs);
        }
    }
    cmd::run(&mut c, "SDK browser tests (wasm-bindgen-test in headless Chromium)")
}

/// `{"goog:chromeOptions": {"binary": ..., "args": [...]}}`
fn webdriver_json(chromium: &Path) -> String {
    let args: Vec<String> = CHROMIUM_ARGS.iter().map(|a| json_string(a)).collect();
    format!(
        "{{\"goog:chromeOptions\": {{\"binary\": {}, \"args\": [{}]}}}}\n",
        json_string(&chromium.to_string_lossy()),
        args.join(", ")
    )
}

fn json_string(s: &str) -> String {
    let mut out = String::from("\"");
    for ch in s.chars() {
        match ch {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if u32::from(c) < 0x20 => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capabilities_name_the_binary_as_json() {
        let json = webdriver_json(Path::new("/opt/odd \"dir\"\\chromium"));
        assert!(json.starts_with(
            r#"{"goog:chromeOptions": {"binary": "/opt/odd \"dir\"\\chromium", "args": ["--headless=new", "#
        ));
        assert!(json.ends_with("\"--disable-sync\"]}}\n"));
        assert_eq!(json_string("a\nb"), r#""a\u000ab""#);
    }
}
