//! The browser SDK sections of BENCHMARKS.md, Cairn beside Segment's
//! `@segment/analytics-next` measured in the same run:
//!
//! 1. Download size: Cairn's snippet, loader and wasm against analytics-next's
//!    UMD bundle, raw, gzip -9 and brotli 11.
//! 2. Main-thread cost in headless Chromium: start-up (loader inserted until
//!    ready) and `track()` (1000 calls), with both libraries served by the
//!    same static server and sending to the same local worker.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::Path;
use std::time::{Duration, Instant};

use cairn_tests::browser::Browser;
use cairn_tests::size::{self, GZIP_BUDGET, GZIP_TARGET, Payload, Report, Sizes};
use cairn_tests::static_files::{File, StaticFiles};
use cairn_tests::worker::Worker;
use serde_json::{Value, json};

pub const SIZE_HEADING: &str = "## Browser SDK download size";
pub const RUNTIME_HEADING: &str = "## Browser SDK main-thread cost (headless Chromium)";

const AJS_PACKAGE: &str = "node_modules/@segment/analytics-next";
const AJS_BUNDLE: &str = "dist/umd/index.js";
/// Page loads per library (interleaved); the tables show medians.
const RUNS: usize = 5;
const TRACKS: usize = 1000;
/// How long the delivery of one burst may take before the run fails.
const DELIVERY_TIMEOUT: Duration = Duration::from_secs(180);
/// No new event stored for this long, and nothing left in the library: the
/// rest is lost.
const STALL: Duration = Duration::from_secs(10);

/// What both sections measure, read once so that a rebuild of the SDK during
/// the run cannot mix two builds.
pub struct Inputs {
    cairn: Vec<Payload>,
    ajs: Vec<u8>,
    ajs_version: String,
}

pub fn inputs(root: &Path) -> Result<Inputs, String> {
    let cairn = size::cairn_payloads(root)?;
    let package = root.join(AJS_PACKAGE);
    let missing = |e: std::io::Error| {
        format!(
            "cannot read {} ({e}): run `cargo xtask setup` (npm installs @segment/analytics-next from package-lock.json)",
            package.display()
        )
    };
    let ajs = std::fs::read(package.join(AJS_BUNDLE)).map_err(missing)?;
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(package.join("package.json")).map_err(missing)?).unwrap_or_default();
    let ajs_version = manifest["version"].as_str().unwrap_or("unknown").to_owned();
    Ok(Inputs { cairn, ajs, ajs_version })
}

fn cell(bytes: usize) -> String {
    format!("{bytes} B ({})", size::kb(bytes))
}

pub fn size_section(md: &mut String, inputs: &Inputs) {
    let cairn = Report::of(&inputs.cairn);
    let ajs = Sizes::of(&inputs.ajs);
    let _ = writeln!(md, "{SIZE_HEADING}\n");
    let _ = writeln!(
        md,
        "Bytes a page downloads for the SDK, raw and as a server would send them compressed (gzip -9 and brotli quality 11, \
         computed in Rust with flate2 and brotli). Cairn: the inline snippet (the `!function(w,d){{...}}` line of \
         `www-demo/public/index.html`), `sdk/cairn.js` (loader and wasm-bindgen glue, bundled and minified by esbuild) and \
         `sdk/cairn_sdk_bg.wasm` (wasm-opt -Oz), as `cargo xtask build` leaves them in `www-demo/public/sdk/`. \
         Segment: `@segment/analytics-next` {v} `{AJS_BUNDLE}`, what `AnalyticsBrowser.load` runs from (its lazily \
         loaded chunks and Segment's CDN snippet are not counted; none is loaded in the runs below).\n",
        v = inputs.ajs_version
    );
    let _ = writeln!(md, "| what | raw | gzip -9 | brotli 11 |\n|---|---|---|---|");
    for (name, s) in &cairn.parts {
        let _ = writeln!(md, "| Cairn {name} | {} | {} | {} |", cell(s.raw), cell(s.gzip), cell(s.brotli));
    }
    let t = cairn.total;
    let _ = writeln!(md, "| **Cairn total** | **{}** | **{}** | **{}** |", cell(t.raw), cell(t.gzip), cell(t.brotli));
    let _ = writeln!(
        md,
        "| analytics-next {} {AJS_BUNDLE} | {} | {} | {} |",
        inputs.ajs_version,
        cell(ajs.raw),
        cell(ajs.gzip),
        cell(ajs.brotli)
    );
    let verdict = if t.gzip <= GZIP_TARGET { "met" } else { "missed" };
    let _ = writeln!(
        md,
        "\nCairn in total: **{} gzipped** (target: at most {}, {verdict}), {:.0}% of analytics-next's {}; \
         brotli: {} against {}. `cargo xtask test` fails above {} gzipped (`tests/tests/sdk_size.rs`).\n",
        size::kb(t.gzip),
        size::kb(GZIP_TARGET),
        100.0 * t.gzip as f64 / ajs.gzip.max(1) as f64,
        size::kb(ajs.gzip),
        size::kb(t.brotli),
        size::kb(ajs.brotli),
        size::kb(GZIP_BUDGET),
    );
    // Chunks fetched only by some pages, so not part of the total.
    let sdk_dir = cairn_tests::workspace_root().join("www-demo/public/sdk");
    let files: Vec<(String, Vec<u8>)> = std::fs::read_dir(&sdk_dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| Some((e.file_name().to_string_lossy().into_owned(), std::fs::read(e.path()).ok()?)))
        .collect();
    let gz = |prefix: &str| {
        let found = files.iter().filter(|(name, _)| name.starts_with(prefix));
        let names: Vec<String> = found.clone().map(|(name, _)| format!("`sdk/{name}`")).collect();
        (names.join(" + "), size::kb(found.map(|(_, bytes)| size::gzip(bytes)).sum()))
    };
    let (platforms, platforms_gz) = gz("platforms-");
    let _ = writeln!(
        md,
        "The consent-platform adapters ({platforms}, {platforms_gz} gzipped) are fetched only by pages that load with \
         `consent: 'tcf'` or `'google'`, and are not counted above.\n"
    );
    let (guard_js, guard_js_gz) = gz("guard-");
    let (guard_wasm, guard_wasm_gz) = gz("cairn_sdk_guard_bg.wasm");
    let _ = writeln!(
        md,
        "The guard ({guard_js}, {guard_js_gz} gzipped, and {guard_wasm}, {guard_wasm_gz} gzipped: the privacy stage \
         of cairn-core with serde_json) is fetched only for sources whose settings carry rules for the browser \
         (consent categories, PII rules that redact or block, a tracking plan that omits or blocks), with the \
         first batch, and is not counted above.\n"
    );
}

#[derive(Clone, Copy, PartialEq, Eq, Hash)]
enum Lib {
    Cairn,
    Segment,
}

impl Lib {
    fn name(self) -> &'static str {
        match self {
            Lib::Cairn => "Cairn",
            Lib::Segment => "analytics-next",
        }
    }
}

/// How the `track()` calls come: all in one loop (one task), or one per task.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
enum Calls {
    Burst,
    Paced,
}

impl Calls {
    fn name(self) -> &'static str {
        match self {
            Calls::Burst => "in one loop",
            Calls::Paced => "one per task",
        }
    }
}

/// One figure of a run.
type Figure = fn(&Run) -> f64;

/// One page load's figures, in milliseconds.
#[derive(Default)]
struct Run {
    startup_wall: f64,
    startup_busy: f64,
    startup_script: f64,
    call_mean: f64,
    call_p95: f64,
    first_100_mean: f64,
    last_100_mean: f64,
    calls_total: f64,
    delivered_busy: f64,
    delivered_wall: f64,
    stored: f64,
    requests: f64,
}

const BLANK_PAGE: &str = "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>bench</title>\
                          <link rel=\"icon\" href=\"data:,\"></head><body><p>bench</p></body></html>";

/// The properties of each tracked event (the shop's "Product Added").
const PROPERTIES: &str = "{product_id: 'sku-' + (i % 50), sku: 'TR-001', name: 'Trail Runner', category: 'Shoes', \
                          price: 89, quantity: 1 + (i % 3), currency: 'EUR', cart_id: 'cart-7', position: i % 12, \
                          url: 'https://shop.example/products/trail-runner'}";

/// Starts the library and resolves with the milliseconds from inserting its
/// loader until it is ready; leaves the API in `window.__lib`.
fn startup_script(lib: Lib, snippet: &str, worker: &str) -> String {
    let key = cairn_tests::DEMO_WRITE_KEY;
    let host = worker.trim_start_matches("http://");
    let start = match lib {
        Lib::Cairn => format!(
            "{snippet}\n\
             cairn.load('{key}', {{apiHost: '{worker}'}});\n\
             cairn.ready((api) => {{ window.__lib = api; done(); }});"
        ),
        Lib::Segment => format!(
            "const s = document.createElement('script');\n\
             s.src = '/ajs/index.js';\n\
             s.onerror = () => reject(new Error('cannot load /ajs/index.js'));\n\
             s.onload = () => {{\n\
               const analytics = AnalyticsNext.AnalyticsBrowser.load({{\n\
                 writeKey: '{key}',\n\
                 cdnURL: location.origin,\n\
                 cdnSettings: {{\n\
                   integrations: {{'Segment.io': {{apiKey: '{key}', apiHost: '{host}/v1', protocol: 'http'}}}},\n\
                   metrics: {{sampleRate: 0}},\n\
                 }},\n\
               }});\n\
               window.__lib = analytics;\n\
               analytics.ready(done).catch(reject);\n\
             }};\n\
             document.head.appendChild(s);"
        ),
    };
    format!(
        "new Promise((resolve, reject) => {{\n\
           setTimeout(() => reject(new Error('not ready within 20 s')), 20000);\n\
           const t0 = performance.now();\n\
           const done = () => resolve(performance.now() - t0);\n\
           {start}\n\
         }})"
    )
}

/// The anonymousId the library puts on its events, once tracking is allowed
/// (Cairn: analytics consent granted); then half a second of quiet.
fn prepare_script(lib: Lib) -> &'static str {
    match lib {
        Lib::Cairn => {
            "(async () => { __lib.consent.set({analytics: true}); performance.setResourceTimingBufferSize(100000); \
             await new Promise((r) => setTimeout(r, 500)); return __lib.user().anonymousId; })()"
        }
        Lib::Segment => {
            "(async () => { const user = await __lib.user(); performance.setResourceTimingBufferSize(100000); \
             await new Promise((r) => setTimeout(r, 500)); return user.anonymousId(); })()"
        }
    }
}

/// `n` calls of `track`, each timed on its own; resolves with the durations.
/// `Paced` yields to the event loop (a MessageChannel task, not clamped like
/// nested timers) after each call, so the library's own work runs between calls.
fn calls_script(calls: Calls, n: usize) -> String {
    let pause = match calls {
        Calls::Burst => "",
        Calls::Paced => "await new Promise((r) => { wake = r; channel.port2.postMessage(0); });",
    };
    format!(
        "(async () => {{ const d = new Array({n}); const channel = new MessageChannel(); let wake; \
         channel.port1.onmessage = () => wake(); \
         for (let i = 0; i < {n}; i++) {{ const p = {PROPERTIES}; const t = performance.now(); \
         __lib.track('Product Added', p); d[i] = performance.now() - t; {pause} }} channel.port1.close(); return d; }})()"
    )
}

/// How many messages the library still holds to send, when it says:
/// Cairn keeps what is not delivered in localStorage (with consent).
fn holds(browser: &mut Browser, lib: Lib) -> Result<Option<u64>, String> {
    match lib {
        Lib::Cairn => Ok(browser
            .eval(
                "Object.keys(localStorage).filter((k) => k.startsWith('cairn.queue.'))\
                 .reduce((n, k) => n + localStorage.getItem(k).split('\\n').length - 1, 0)",
            )?
            .as_u64()),
        Lib::Segment => Ok(None),
    }
}

/// Main-thread task and script time so far, in milliseconds.
fn busy(browser: &mut Browser) -> Result<(f64, f64), String> {
    let r = browser.call("Performance.getMetrics", json!({}))?;
    let metric = |name: &str| {
        r["metrics"].as_array().and_then(|m| m.iter().find(|x| x["name"] == name)).and_then(|x| x["value"].as_f64())
    };
    match (metric("TaskDuration"), metric("ScriptDuration")) {
        (Some(t), Some(s)) => Ok((t * 1000.0, s * 1000.0)),
        _ => Err(format!("Performance.getMetrics has no TaskDuration/ScriptDuration: {r}")),
    }
}

/// How many events the worker stored for `anonymous_id` (up to 1000).
fn stored(worker: &Worker, anonymous_id: &str) -> Result<usize, String> {
    let r = cairn_tests::http::admin_get(&worker.url(&format!("/admin/events?anonymousId={anonymous_id}&limit=1000")))?;
    r.body["events"].as_array().map(Vec::len).ok_or_else(|| format!("admin events: {} {}", r.status, r.body))
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

/// The `q` quantile (nearest rank) of `v`.
fn quantile(mut v: Vec<f64>, q: f64) -> f64 {
    v.sort_by(f64::total_cmp);
    let rank = ((q * v.len() as f64).ceil() as usize).clamp(1, v.len().max(1));
    v.get(rank - 1).copied().unwrap_or(f64::NAN)
}

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len().max(1) as f64
}

struct Bench<'a> {
    browser: &'a mut Browser,
    worker: &'a Worker,
    site: &'a StaticFiles,
    snippet: &'a str,
}

impl Bench<'_> {
    /// One page load of `lib` with fresh storage: start-up, then `n` calls of
    /// `track`, waiting until the worker has stored them all.
    fn run(&mut self, lib: Lib, calls: Calls, n: usize) -> Result<Run, String> {
        let b = &mut *self.browser;
        b.call("Storage.clearDataForOrigin", json!({"origin": self.site.base_url, "storageTypes": "all"}))?;
        b.goto(&self.site.url("/blank.html"))?;
        let mut run = Run::default();
        let (t0, s0) = busy(b)?;
        let wall = b.eval(&startup_script(lib, self.snippet, &self.worker.base_url))?;
        let (t1, s1) = busy(b)?;
        run.startup_wall = wall.as_f64().ok_or_else(|| format!("{}: start-up returned {wall}", lib.name()))?;
        (run.startup_busy, run.startup_script) = (t1 - t0, s1 - s0);

        let id = b.eval(prepare_script(lib))?;
        let id = id.as_str().ok_or_else(|| format!("{}: no anonymousId ({id})", lib.name()))?.to_owned();
        let (t2, _) = busy(b)?;
        let sent = Instant::now();
        let durations: Vec<f64> = b
            .eval(&calls_script(calls, n))?
            .as_array()
            .map(|a| a.iter().filter_map(Value::as_f64).collect())
            .filter(|d: &Vec<f64>| d.len() == n)
            .ok_or_else(|| format!("{}: the calls returned no timings", lib.name()))?;
        // Until the worker has them all, or has had nothing new for STALL
        // while the library holds nothing more to send (events lost).
        let deadline = sent + DELIVERY_TIMEOUT;
        let (mut last, mut last_change) = (0, Instant::now());
        loop {
            let now = stored(self.worker, &id)?;
            if now != last {
                (last, last_change) = (now, Instant::now());
                run.delivered_wall = sent.elapsed().as_secs_f64() * 1000.0;
            }
            if now >= n {
                break;
            }
            if last_change.elapsed() > STALL && holds(self.browser, lib)? == Some(0) {
                break;
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "{}: {now} of {n} events stored after {DELIVERY_TIMEOUT:?}\n--- wrangler dev log ---\n{}",
                    lib.name(),
                    self.worker.log_tail()
                ));
            }
            std::thread::sleep(Duration::from_millis(500));
        }
        run.stored = last as f64;
        let b = &mut *self.browser;
        let (t3, _) = busy(b)?;
        run.delivered_busy = t3 - t2;
        run.calls_total = durations.iter().sum();
        run.call_mean = run.calls_total / n as f64;
        let tail = n.min(100);
        run.first_100_mean = mean(&durations[..tail]);
        run.last_100_mean = mean(&durations[n - tail..]);
        run.call_p95 = quantile(durations, 0.95);
        let worker_origin = serde_json::to_string(&self.worker.base_url).map_err(|e| e.to_string())?;
        run.requests = b
            .eval(&format!(
                "performance.getEntriesByType('resource').filter((e) => e.name.startsWith({worker_origin})).length"
            ))?
            .as_f64()
            .unwrap_or(f64::NAN);
        Ok(run)
    }
}

/// The URLs the page requested (from Network events) that are not on this machine.
fn off_machine_requests(browser: &mut Browser) -> Result<Vec<String>, String> {
    browser.eval("0")?; // drains pending protocol events
    Ok(browser
        .events
        .iter()
        .filter(|e| e["method"] == "Network.requestWillBeSent")
        .filter_map(|e| e["params"]["request"]["url"].as_str())
        .filter(|u| !u.starts_with("http://127.0.0.1:") && !u.starts_with("data:"))
        .map(str::to_owned)
        .collect())
}

pub fn runtime_section(md: &mut String, inputs: &Inputs) -> Result<(), String> {
    let snippet = inputs
        .cairn
        .iter()
        .find(|p| p.name.starts_with("snippet"))
        .map(|p| String::from_utf8_lossy(&p.bytes).into_owned())
        .ok_or("no snippet")?;
    let file = |content_type, bytes: &[u8]| File { content_type, body: bytes.to_vec() };
    let mut files = HashMap::from([
        ("/blank.html".to_owned(), file("text/html; charset=utf-8", BLANK_PAGE.as_bytes())),
        ("/ajs/index.js".to_owned(), file("text/javascript", &inputs.ajs)),
    ]);
    for p in &inputs.cairn {
        if let Some(name) = p.name.strip_prefix("sdk/") {
            let content_type = if name.ends_with(".wasm") { "application/wasm" } else { "text/javascript" };
            files.insert(format!("/sdk/{name}"), file(content_type, &p.bytes));
        }
    }
    // Cross-origin isolated, so that performance.now() has its fine resolution.
    let site = StaticFiles::start(
        files,
        &[("cross-origin-opener-policy", "same-origin"), ("cross-origin-embedder-policy", "require-corp")],
    )?;
    let allow = format!("UPDATE sources SET allowed_origins = '[\"{}\"]' WHERE id = 'src_demo'", site.base_url);
    let worker = Worker::start_with(&[], &[&allow])?;
    let mut browser = Browser::start()?;
    let version = browser.call("Browser.getVersion", json!({}))?["product"].as_str().unwrap_or("Chromium").to_owned();
    browser.call("Performance.enable", json!({}))?;
    let mut bench = Bench { browser: &mut browser, worker: &worker, site: &site, snippet: &snippet };

    // A first, unmeasured load of each (warms the browser up) with the
    // network recorded: everything must stay on this machine.
    for lib in [Lib::Cairn, Lib::Segment] {
        bench.browser.events.clear();
        bench.run(lib, Calls::Burst, 20)?;
        let isolated = bench.browser.eval("crossOriginIsolated")?;
        let away = off_machine_requests(bench.browser)?;
        if !away.is_empty() {
            return Err(format!("{} requested URLs off this machine: {away:?}", lib.name()));
        }
        if isolated != true {
            return Err("the bench page is not cross-origin isolated".into());
        }
    }
    // Protocol events cost the page time (stack traces for each request): off.
    bench.browser.call("Network.disable", json!({}))?;
    bench.browser.events.clear();

    let mut runs: HashMap<(Lib, Calls), Vec<Run>> = HashMap::new();
    for i in 0..RUNS {
        for calls in [Calls::Burst, Calls::Paced] {
            for lib in [Lib::Cairn, Lib::Segment] {
                eprintln!("bench: {}, track() {}, page load {}/{RUNS}", lib.name(), calls.name(), i + 1);
                let run = bench.run(lib, calls, TRACKS)?;
                eprintln!(
                    "       start-up {:.1} ms (busy {:.1} ms); track() mean {:.1} µs, p95 {:.1} µs; {:.0} stored after {:.1} s",
                    run.startup_wall,
                    run.startup_busy,
                    run.call_mean * 1000.0,
                    run.call_p95 * 1000.0,
                    run.stored,
                    run.delivered_wall / 1000.0
                );
                runs.entry((lib, calls)).or_default().push(run);
            }
        }
    }
    let m = |lib: Lib, calls: Option<Calls>, f: Figure| {
        let chosen = calls.map_or(vec![Calls::Burst, Calls::Paced], |c| vec![c]);
        median(chosen.into_iter().flat_map(|c| runs.get(&(lib, c))).flatten().map(f).collect())
    };

    let _ = writeln!(md, "{RUNTIME_HEADING}\n");
    let _ = writeln!(
        md,
        "Cairn and analytics-next {v} in the same run, on {version}. Both are served by one static file server in the \
         bench (one origin, uncompressed over loopback, `cache-control: no-store`, so every load is a first visit; \
         cross-origin isolated, so `performance.now()` is precise to 5 µs), start from a blank page with fresh storage, \
         and send to the same local worker (wrangler dev, local D1). {RUNS} page loads per library and case, \
         interleaved, after one unmeasured load each; the tables show medians. Busy time is the main thread's task time \
         (`TaskDuration` from CDP `Performance.getMetrics`, before and after), script time its `ScriptDuration`.\n",
        v = inputs.ajs_version
    );
    let _ = writeln!(
        md,
        "Start-up, from inserting the loader until the SDK is ready (all {} page loads of each library). Cairn: the \
         snippet line, `cairn.load(writeKey, {{apiHost}})` and `cairn.ready(cb)` (a module script, which then fetches \
         and compiles the wasm). analytics-next: a `<script src=\"{AJS_BUNDLE}\">`, then \
         `AnalyticsBrowser.load({{writeKey, cdnSettings}})` and `analytics.ready(cb)`; `cdnSettings` is given inline \
         (only the Segment.io destination, pointed at the worker; remote metrics off), so nothing is fetched from \
         Segment's CDN.\n",
        2 * RUNS
    );
    let _ = writeln!(md, "| library | wall time | main thread busy | of which script |\n|---|---|---|---|");
    for lib in [Lib::Cairn, Lib::Segment] {
        let _ = writeln!(
            md,
            "| {} | {:.1} ms | {:.1} ms | {:.1} ms |",
            lib.name(),
            m(lib, None, |r| r.startup_wall),
            m(lib, None, |r| r.startup_busy),
            m(lib, None, |r| r.startup_script)
        );
    }
    let _ = writeln!(
        md,
        "\n`track()`: {TRACKS} calls of `track('Product Added', {{...10 properties}})`, each timed with \
         `performance.now()` (the properties object is built outside the timed part), either all in one loop or one \
         per task (the page yields to the event loop after each call, so the library's deferred work and its network \
         answers run in between, as on a real page). Cairn has analytics consent, so the real path runs (message built \
         in wasm, queue saved to localStorage, batches POSTed to `/v1/batch`); analytics-next uses its default \
         delivery (one POST per event to `/v1/t`). Much of the work happens after a call returns (analytics-next runs \
         its plugin chain in promises), so the last columns count the main thread's busy time and the wall time from \
         the first call until the worker has stored the events (polled every 0.5 s), and how many it stored: a run \
         ends when all {TRACKS} are stored, or when none came for {stall} s while Cairn holds nothing more to send.\n",
        stall = STALL.as_secs()
    );
    let _ = writeln!(
        md,
        "| library | calls | per call, mean | per call, p95 | first 100 / last 100, mean | all calls | busy until stored | wall until stored | requests answered | stored (min) |\n\
         |---|---|---|---|---|---|---|---|---|---|"
    );
    let mut losses = Vec::new();
    for calls in [Calls::Burst, Calls::Paced] {
        for lib in [Lib::Cairn, Lib::Segment] {
            let c = Some(calls);
            let all = runs.get(&(lib, calls)).map_or(&[][..], Vec::as_slice);
            let lossy = all.iter().filter(|r| r.stored < TRACKS as f64).count();
            let min_stored = all.iter().map(|r| r.stored).fold(f64::INFINITY, f64::min);
            if lossy > 0 {
                losses.push(format!(
                    "{} with calls {} lost events in {lossy} of {} page loads (stored {:.0} of {TRACKS} at worst)",
                    lib.name(),
                    calls.name(),
                    all.len(),
                    min_stored
                ));
            }
            let _ = writeln!(
                md,
                "| {} | {} | {:.1} µs | {:.1} µs | {:.1} / {:.1} µs | {:.1} ms | {:.0} ms | {:.1} s | {:.0} | {:.0} ({:.0}) |",
                lib.name(),
                calls.name(),
                m(lib, c, |r| r.call_mean) * 1000.0,
                m(lib, c, |r| r.call_p95) * 1000.0,
                m(lib, c, |r| r.first_100_mean) * 1000.0,
                m(lib, c, |r| r.last_100_mean) * 1000.0,
                m(lib, c, |r| r.calls_total),
                m(lib, c, |r| r.delivered_busy),
                m(lib, c, |r| r.delivered_wall) / 1000.0,
                m(lib, c, |r| r.requests),
                m(lib, c, |r| r.stored),
                min_stored,
            );
        }
    }
    if !losses.is_empty() {
        let _ = writeln!(md, "\n**Events lost:** {}.", losses.join("; "));
    }
    let compare: [(&str, Option<Calls>, Figure); 8] = [
        ("start-up wall time", None, |r| r.startup_wall),
        ("start-up busy time", None, |r| r.startup_busy),
        ("track() mean in one loop", Some(Calls::Burst), |r| r.call_mean),
        ("track() p95 in one loop", Some(Calls::Burst), |r| r.call_p95),
        ("busy until stored in one loop", Some(Calls::Burst), |r| r.delivered_busy),
        ("track() mean one per task", Some(Calls::Paced), |r| r.call_mean),
        ("track() p95 one per task", Some(Calls::Paced), |r| r.call_p95),
        ("busy until stored one per task", Some(Calls::Paced), |r| r.delivered_busy),
    ];
    let lost =
        |lib: Lib, calls: Calls| runs.get(&(lib, calls)).is_some_and(|r| r.iter().any(|r| r.stored < TRACKS as f64));
    let (mut met, mut missed, mut skipped) = (Vec::new(), Vec::new(), Vec::new());
    for (what, calls, f) in compare {
        // Delivering fewer events is no speed-up: those figures are not compared.
        if what.starts_with("busy until stored") && calls.is_some_and(|c| lost(Lib::Cairn, c) || lost(Lib::Segment, c))
        {
            skipped.push(what);
            continue;
        }
        let (c, s) = (m(Lib::Cairn, calls, f), m(Lib::Segment, calls, f));
        let text = format!("{what} {:.2}x", c / s);
        if c <= s { met.push(text) } else { missed.push(text) }
    }
    let mut verdict = if missed.is_empty() { "met".to_owned() } else { format!("missed on {}", missed.join(", ")) };
    if !skipped.is_empty() {
        verdict.push_str(&format!("; not compared because events were lost: {}", skipped.join(", ")));
    }
    let _ = writeln!(
        md,
        "\nCairn / analytics-next: {} (target: Cairn no slower than analytics-next, {verdict}).",
        met.iter().chain(&missed).cloned().collect::<Vec<_>>().join(", ")
    );
    if lost(Lib::Cairn, Calls::Burst) || lost(Lib::Cairn, Calls::Paced) {
        let _ = writeln!(md, "\nCairn lost events in this run, so it does not meet its targets as a whole.");
    }
    Ok(())
}
