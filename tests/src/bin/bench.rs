//! `cargo xtask bench`: Cairn's performance figures, written to BENCHMARKS.md.
//!
//! 1. Native `cairn-core` parse + validate against `serde_json::from_slice`
//!    into a `Value`, on the same batch bytes.
//! 2. Ingest throughput on local workerd (wrangler dev) for batch sizes 1, 10
//!    and 100, against a floor measured in the same run: a worker route that
//!    only parses the same body and answers 200.
//! 3. The browser SDK against Segment's analytics-next (`sdk.rs`): download
//!    size, and start-up and `track()` cost in headless Chromium.
//!
//! `bench sdk` runs only part 3 and keeps the other sections of
//! BENCHMARKS.md as they are.

#[path = "bench/sdk.rs"]
mod sdk;

use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use cairn_core::event::Received;
use cairn_core::ingest::{self, Call};
use cairn_tests::worker::Worker;
use serde_json::{Value, json};

const CLIENTS: usize = 8;
const WINDOW: Duration = Duration::from_secs(8);

fn main() {
    if let Err(e) = run() {
        eprintln!("bench failed: {e}");
        std::process::exit(1);
    }
}

const CORE_HEADING: &str = "## cairn-core parse + validate (native, release)";
const INGEST_HEADING: &str = "## Ingest throughput on local workerd (wrangler dev, local D1)";
const PRIVACY_HEADING: &str = "## Privacy: PII scanning, tracking plans and deletion";
const IDENTITY_HEADING: &str = "## Identity resolution: accuracy and stitching throughput (native, release)";

fn run() -> Result<(), String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let only_sdk = match args.as_slice() {
        [] => false,
        [part] if part == "sdk" => true,
        other => return Err(format!("unexpected arguments {other:?} (bench takes nothing, or `sdk`)")),
    };
    let root = cairn_tests::workspace_root();
    let path = root.join("BENCHMARKS.md");
    let before = std::fs::read_to_string(&path).unwrap_or_default();
    let sdk_inputs = sdk::inputs(&root)?;

    let mut md = String::new();
    let _ = writeln!(md, "# Benchmarks\n");
    let _ = writeln!(
        md,
        "Reproduce with `cargo xtask bench` (builds everything, starts its own wrangler dev and headless Chromium, rewrites this file); \
         `cargo xtask bench sdk` runs only the browser SDK sections and keeps the others as they are.\n\
         Machine: {} cores, {}. Figures are one run each unless a section says otherwise, and noisy: the load generator, \
         the browser, wrangler's proxy and workerd share the cores.\n",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        std::env::consts::ARCH,
    );
    let mut sections = Vec::new();
    if only_sdk {
        for heading in [CORE_HEADING, INGEST_HEADING, IDENTITY_HEADING, PRIVACY_HEADING] {
            sections.push(kept_section(&before, heading));
        }
    } else {
        let mut s = String::new();
        core_parse(&mut s);
        sections.push(s);
        let mut s = String::new();
        ingest_throughput(&mut s)?;
        sections.push(s);
        sections.push(identity());
        let mut s = String::new();
        privacy(&mut s)?;
        sections.push(s);
    }
    let mut s = String::new();
    sdk::size_section(&mut s, &sdk_inputs);
    sections.push(s);
    let mut s = String::new();
    sdk::runtime_section(&mut s, &sdk_inputs)?;
    sections.push(s);
    for s in sections {
        md.push_str(s.trim_end());
        md.push_str("\n\n");
    }
    let md = format!("{}\n", md.trim_end());
    std::fs::write(&path, &md).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    println!("{md}");
    Ok(())
}

/// Identity resolution on a generated population with known truth (see
/// `cairn_tests::population`), through `cairn_core::graph` as ingest runs it.
fn identity() -> String {
    format!(
        "{IDENTITY_HEADING}\n\n\
         A generated population (seed 42): people with 1 to 3 devices each, browsing anonymously and then \
         logging in on most of them (70% with an account; emails in varying case and spacing, phones in three \
         formats), about 5% of computers shared by two people of a household, and clients that send placeholders \
         (`null`, `anonymous`, `0`, ...) as user ids. Events arrive in time order. \
         Resolvable events are those whose person the rules can know: they carry a user id, email or phone, or come \
         from an unshared device of one person that logs in; anonymous events on a shared computer, and devices \
         that never log in, are not. Pairwise precision and recall count pairs of events put in the same profile.\n\n\
         {}\n\
         Targets: 100% / 100% on resolvable events and 0 false merges: met when the table shows 100.0000%, 100.0000% \
         and 0. Ingest above includes stitching: every request resolves its events in the same D1 transaction (see \
         ARCHITECTURE.md). The same bench without stitching (before identity resolution existed) measured \
         ingest / floor at 73% / 59% / 33% for batch sizes 1 / 10 / 100.\n",
        cairn_tests::population::report(20_000, 42)
    )
}

/// The section of `md` under `heading` (up to the next `## `), as it is.
fn kept_section(md: &str, heading: &str) -> String {
    let mut lines = md.lines().skip_while(|l| *l != heading);
    match lines.next() {
        Some(h) => std::iter::once(h)
            .chain(lines.take_while(|l| !l.starts_with("## ")))
            .fold(String::new(), |acc, l| acc + l + "\n"),
        None => format!("{heading}\n\nNot measured yet: run `cargo xtask bench`.\n"),
    }
}

/// A realistic event from a shop: ~700 bytes of properties and context.
fn event(run: &str, i: usize) -> Value {
    json!({
        "type": "track",
        "event": "Product Added",
        "messageId": format!("{run}-{i}"),
        "anonymousId": format!("anon-{run}-{}", i % 97),
        // Each browser belongs to one customer (identity stitching sees real people).
        "userId": format!("user-{}", i % 97 % 13),
        "timestamp": "2026-12-04T10:00:00.000Z",
        "properties": {
            "product_id": format!("sku-{}", i % 50), "sku": "TR-001", "name": "Trail Runner", "category": "Shoes",
            "price": 89.0, "quantity": 1 + i % 3, "currency": "EUR", "cart_id": format!("cart-{}", i % 31),
            "position": i % 12, "url": "https://shop.example/products/trail-runner"
        },
        "context": {
            "library": {"name": "cairn-sdk", "version": "0.0.0"},
            "page": {"path": "/products/trail-runner", "referrer": "https://www.google.com/", "title": "Trail Runner",
                     "url": "https://shop.example/products/trail-runner?utm_source=newsletter"},
            "campaign": {"source": "newsletter", "medium": "email", "name": "winter"},
            "userAgent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0 Safari/537.36",
            "locale": "de-DE",
            "consent": {"categoryPreferences": {"necessary": true, "analytics": true, "marketing": false}}
        }
    })
}

fn batch_body(run: &str, from: usize, n: usize) -> String {
    batch_body_for(cairn_tests::DEMO_WRITE_KEY, run, from, n)
}

fn batch_body_for(write_key: &str, run: &str, from: usize, n: usize) -> String {
    json!({"writeKey": write_key, "sentAt": "2026-12-04T10:00:01.000Z",
           "batch": (from..from + n).map(|i| event(run, i)).collect::<Vec<_>>()})
    .to_string()
}

/// Best of five timed rounds of `f` over `iters` iterations, in seconds per iteration.
fn best_of(iters: usize, mut f: impl FnMut()) -> f64 {
    (0..5)
        .map(|_| {
            let t = Instant::now();
            for _ in 0..iters {
                f();
            }
            t.elapsed().as_secs_f64() / iters as f64
        })
        .fold(f64::INFINITY, f64::min)
}

fn core_parse(md: &mut String) {
    let body = batch_body("core", 0, 100);
    let bytes = body.as_bytes();
    let received = Received { at: 1_764_842_401_000, id_seed: [3; 16] };
    let iters = 300;
    let serde = best_of(iters, || {
        let v: Value = serde_json::from_slice(std::hint::black_box(bytes)).expect("valid JSON");
        std::hint::black_box(v);
    });
    let cairn = best_of(iters, || {
        let b = ingest::parse_body(Call::Batch, std::hint::black_box(bytes)).expect("valid body");
        let parsed = ingest::messages(b, &received).expect("valid batch");
        assert_eq!(parsed.accepted.len(), 100);
        std::hint::black_box(parsed);
    });
    let mb = |secs: f64| bytes.len() as f64 / secs / 1e6;
    let _ = writeln!(md, "{CORE_HEADING}\n");
    let _ = writeln!(md, "One batch of 100 shop events, {} bytes; best of 5 rounds of {iters}.\n", bytes.len());
    let _ = writeln!(md, "| what | per batch | events/s | MB/s |\n|---|---|---|---|");
    for (what, secs) in [("serde_json::from_slice into Value", serde), ("cairn-core parse_body + messages", cairn)] {
        let _ = writeln!(md, "| {what} | {:.1} µs | {:.0} | {:.1} |", secs * 1e6, 100.0 / secs, mb(secs));
    }
    let ratio = cairn / serde;
    let verdict = if ratio <= 2.0 { "met" } else { "missed" };
    let _ = writeln!(md, "\nRatio cairn-core / serde_json: **{ratio:.2}x** (target: within 2x, {verdict}).\n");
}

/// The PII policy and tracking plan of the privacy benchmarks: what a shop would set.
fn privacy_settings() -> Value {
    json!({
        "piiPolicy": {"classes": {"email": "hash", "phone": "hash", "payment_card": "block", "iban": "block",
                                  "us_ssn": "block", "street_address": "redact"}},
        "trackingPlan": {"mode": "omit_properties", "events": [{"name": "Product Added", "properties": {
            "product_id": {"type": "string", "required": true}, "sku": {"type": "string"}, "name": {"type": "string"},
            "category": {"type": "string"}, "price": {"type": "number", "minimum": 0}, "quantity": {"type": "integer"},
            "currency": {"type": "string", "enum": ["EUR", "USD"]}, "cart_id": {"type": "string"},
            "position": {"type": "integer"}}}]}
    })
}

/// PII scan rate in core, ingest with privacy on against off, and the time
/// to delete a person with 10,000 events.
fn privacy(md: &mut String) -> Result<(), String> {
    use cairn_core::{pii, plan, privacy};
    let _ = writeln!(md, "{PRIVACY_HEADING}\n");
    let settings = privacy_settings();
    let rules = privacy::Rules::from_settings(settings.as_object().ok_or("settings")?)
        .map_err(|v| format!("bench settings: {v:?}"))?;
    let body = batch_body("pii", 0, 100);
    let received = Received { at: 1_764_842_401_000, id_seed: [3; 16] };
    let messages =
        ingest::messages(ingest::parse_body(Call::Batch, body.as_bytes()).map_err(|e| e.message)?, &received)
            .map_err(|e| e.message)?
            .accepted;
    let (policy, plan) = (rules.pii.clone().ok_or("policy")?, rules.plan.clone().ok_or("plan")?);
    let iters = 50;
    let scan = best_of(iters, || {
        for m in &messages {
            let mut m = m.clone();
            std::hint::black_box(pii::apply_message(&mut m.parts(), &policy, b"salt"));
        }
    });
    let clone_only = best_of(iters, || {
        for m in &messages {
            std::hint::black_box(m.clone());
        }
    });
    let planned = best_of(iters, || {
        for m in &messages {
            let mut m = m.clone();
            std::hint::black_box(plan::apply(&plan, &mut m.parts()));
        }
    });
    let _ = writeln!(
        md,
        "cairn-core on the 100 shop events of the parse benchmark ({} bytes of JSON in total; best of 5 rounds of {iters}; \
         a message clone, {:.1} µs per batch, is subtracted):\n\n| what | per batch | per event | MB/s of whole events |\n|---|---|---|---|",
        body.len(),
        clone_only * 1e6
    );
    for (what, secs) in [
        ("PII policy (classify every string, hash emails and phones)", scan),
        ("tracking plan (omit_properties)", planned),
    ] {
        let net = (secs - clone_only).max(1e-9);
        let _ = writeln!(
            md,
            "| {what} | {:.1} µs | {:.2} µs | {:.1} |",
            net * 1e6,
            net * 1e4,
            body.len() as f64 / net / 1e6
        );
    }
    // What the SDK's guard does to each request body before it leaves the page.
    let browser_rules = privacy::browser::for_browser(&rules).ok_or("the bench rules hold nothing for the browser")?;
    let screened = best_of(iters, || {
        std::hint::black_box(privacy::browser::screen(&body, &browser_rules).map(|s| s.kept).unwrap_or(0));
    });
    let _ = writeln!(
        md,
        "\nThe SDK's guard on the same 100 events as one request body (`privacy::browser::screen`: parse, every stage \
         with hashing left to the worker, write the body again), natively: {:.0} µs per body, {:.1} µs per event \
         (the browser runs the same code as wasm, `sdk/cairn_sdk_guard_bg.wasm`; not measured there). A body \
         usually holds up to 10 events: the SDK sends at 10 calls.",
        screened * 1e6,
        screened * 1e4
    );

    // Ingest at batch 100 with and without the privacy stage, same worker, same run.
    let worker = Worker::start()?;
    let created = worker.create_source(&json!({"name": "bench-private", "settings": settings}))?;
    let key = created["writeKey"].as_str().ok_or(format!("create source: {created}"))?.to_owned();
    let mut rates = Vec::new();
    for (label, write_key) in [("off", cairn_tests::DEMO_WRITE_KEY.to_owned()), ("on", key)] {
        let run = format!("priv-{label}-{}", std::process::id());
        let f: Arc<dyn Fn(usize) -> String + Send + Sync> =
            Arc::new(move |n| batch_body_for(&write_key, &run, n * 100, 100));
        let (reqs, fails) = load(&worker.url("/v1/batch"), f);
        rates.push(((reqs - fails) as f64 * 100.0 / WINDOW.as_secs_f64(), fails));
    }
    let cost = 1.0 - rates[1].0 / rates[0].0.max(1.0);
    let _ = writeln!(
        md,
        "\nIngest at batch 100 ({CLIENTS} clients, {}s each, same worker): privacy stage off {:.0} events/s, on {:.0} events/s \
         ({} / {} failed requests): **{:.0}%** throughput cost (target: less than 20%, {}).",
        WINDOW.as_secs(),
        rates[0].0,
        rates[1].0,
        rates[0].1,
        rates[1].1,
        cost * 100.0,
        if cost < 0.2 { "met" } else { "missed" }
    );

    // Deleting a person with 10,000 events.
    let person = format!("bench-delete-{}", std::process::id());
    for chunk in 0..100 {
        let batch: Vec<Value> = (0..100)
            .map(|i| {
                json!({"type": "track", "userId": person, "anonymousId": format!("{person}-device"), "event": "Viewed",
                             "messageId": format!("{person}-{chunk}-{i}"), "properties": {"n": i}})
            })
            .collect();
        let r = cairn_tests::http::post(
            &worker.url("/v1/batch"),
            &[("content-type", "application/json")],
            &json!({"writeKey": cairn_tests::DEMO_WRITE_KEY, "batch": batch}).to_string(),
        )?;
        if r.status != 200 {
            return Err(format!("seeding the person: {} {}", r.status, r.body));
        }
    }
    let started = Instant::now();
    let r = cairn_tests::http::admin_post(
        &worker.url("/admin/regulations"),
        &json!({"type": "SUPPRESS_WITH_DELETE", "subjectType": "userId", "subjectIds": [person]}).to_string(),
    )?;
    let took = started.elapsed();
    let deleted = &r.body["regulation"]["receipt"]["deletedEvents"];
    let _ = writeln!(
        md,
        "\nDeleting a person with 10,000 events (`SUPPRESS_WITH_DELETE` by userId, answered when done): **{:.0} ms** \
         ({deleted} events deleted, status {}).",
        took.as_secs_f64() * 1000.0,
        r.status
    );
    Ok(())
}

/// Sends `body_for(request_number)` to `url` from CLIENTS threads for WINDOW;
/// returns (requests, failures).
fn load(url: &str, body_for: Arc<dyn Fn(usize) -> String + Send + Sync>) -> (usize, usize) {
    let next = Arc::new(AtomicUsize::new(0));
    let failures = Arc::new(AtomicUsize::new(0));
    let deadline = Instant::now() + WINDOW;
    let threads: Vec<_> = (0..CLIENTS)
        .map(|_| {
            let (url, next, failures, body_for) = (url.to_owned(), next.clone(), failures.clone(), body_for.clone());
            std::thread::spawn(move || {
                while Instant::now() < deadline {
                    let n = next.fetch_add(1, Ordering::Relaxed);
                    let body = body_for(n);
                    match cairn_tests::http::post(&url, &[("content-type", "application/json")], &body) {
                        Ok(r) if r.status == 200 => {}
                        _ => {
                            failures.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
            })
        })
        .collect();
    for t in threads {
        let _ = t.join();
    }
    let total = next.load(Ordering::Relaxed);
    (total, failures.load(Ordering::Relaxed))
}

fn ingest_throughput(md: &mut String) -> Result<(), String> {
    let worker = Worker::start_with(&[("CAIRN_BENCH", "1")], &[])?;
    let _ = writeln!(md, "{INGEST_HEADING}\n");
    let _ = writeln!(
        md,
        "{CLIENTS} client threads, {}s per measurement, keep-alive HTTP on 127.0.0.1. `floor` is a worker route \
         that parses the same body with the same code and answers 200 without storing. `ingest` is `POST /v1/batch` \
         with unique messageIds, stored in D1.\n",
        WINDOW.as_secs()
    );
    let _ = writeln!(
        md,
        "| batch size | floor events/s | ingest events/s | ingest / floor | failed requests |\n|---|---|---|---|---|"
    );
    let mut ratio_at_100 = 0.0;
    for size in [1usize, 10, 100] {
        let run = format!("bench{size}-{}", std::process::id());
        let floor_body = Arc::new(batch_body(&run, 0, size));
        let floor_fn: Arc<dyn Fn(usize) -> String + Send + Sync> = Arc::new(move |_| floor_body.as_str().to_owned());
        let (floor_reqs, floor_fail) = load(&worker.url("/bench/parse"), floor_fn);
        let ingest_fn: Arc<dyn Fn(usize) -> String + Send + Sync> = {
            let run = run.clone();
            Arc::new(move |n| batch_body(&run, n * size, size))
        };
        let (ingest_reqs, ingest_fail) = load(&worker.url("/v1/batch"), ingest_fn);
        let secs = WINDOW.as_secs_f64();
        let floor = (floor_reqs - floor_fail) as f64 * size as f64 / secs;
        let ingest = (ingest_reqs - ingest_fail) as f64 * size as f64 / secs;
        let ratio = if floor > 0.0 { ingest / floor } else { 0.0 };
        if size == 100 {
            ratio_at_100 = ratio;
        }
        let _ = writeln!(
            md,
            "| {size} | {floor:.0} | {ingest:.0} | {:.0}% | {} |",
            ratio * 100.0,
            floor_fail + ingest_fail
        );
    }
    let verdict = if ratio_at_100 >= 0.5 { "met" } else { "missed" };
    let _ = writeln!(
        md,
        "\nAt batch 100 ingest reaches **{:.0}%** of the floor (target: at least 50%, {verdict}).",
        ratio_at_100 * 100.0
    );
    Ok(())
}
