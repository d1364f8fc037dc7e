//! `build`, `demo` and `test`.

use std::net::TcpListener;
use std::path::Path;
use std::process::Command;

use crate::Workspace;
use crate::cmd::{self, Error, Result, fail, step};
use crate::setup::Tools;
use crate::toolchain::TARGET;

pub const DEFAULT_PORT: u16 = 8787;
pub const DEMO_WRITE_KEY: &str = "cairn_demo_key";
pub const DEV_ADMIN_TOKEN: &str = "cairn_dev_admin";

/// Crates that must never reach `cairn-core`: it stays pure and portable.
const FORBIDDEN_IN_CORE: &[&str] =
    &["wasm-bindgen", "js-sys", "web-sys", "worker", "worker-sys", "gloo", "serde-wasm-bindgen", "getrandom"];

pub fn all(ws: &Workspace, tools: &Tools) -> Result<()> {
    sdk(ws, tools)?;
    worker(ws, tools)
}

fn cargo_wasm(ws: &Workspace, tools: &Tools) -> Command {
    let mut c = Command::new("cargo");
    c.current_dir(&ws.root);
    tools.wasm.configure(&mut c, ws);
    c
}

/// The SDK: wasm shrunk with wasm-opt -Oz; the loader and wasm-bindgen's glue
/// bundled and minified by esbuild into one ES module, next to the wasm, in
/// the demo's assets (`/sdk/`); the guard (`cairn-sdk-guard`) and the
/// consent-platform adapters as chunks of their own, fetched only by the
/// pages that use them; and the npm package in `target/npm/cairn-sdk`.
fn sdk(ws: &Workspace, tools: &Tools) -> Result<()> {
    step("build: browser SDK (cairn-sdk, cairn-sdk-guard -> wasm32)");
    let bindgen_out = ws.path("target/sdk-bindgen");
    let modules = [("cairn-sdk", "cairn_sdk"), ("cairn-sdk-guard", "cairn_sdk_guard")];
    let mut build = cargo_wasm(ws, tools);
    build.args(["build", "--release", "--target", TARGET]);
    for (package, _) in modules {
        build.args(["--package", package]);
    }
    cmd::run(&mut build, "building the SDK's wasm modules")?;
    for (_, name) in modules {
        bindgen_and_shrink(ws, tools, name, &bindgen_out)?;
    }
    for file in ["cairn.js", "platforms.js", "guard.js"] {
        copy(&ws.path("sdk/js").join(file), &bindgen_out.join(file))?;
    }
    let wasm_files = modules.map(|(_, name)| format!("{name}_bg.wasm"));

    let public = fresh_dir(&ws.path("www-demo/public/sdk"))?;
    for file in &wasm_files {
        copy(&bindgen_out.join(file.replace("_bg.", "_bg.opt.")), &public.join(file))?;
    }
    cmd::run(
        Command::new(tools.node_bin.join("esbuild"))
            .env("PATH", tools.path_env())
            .arg(bindgen_out.join("cairn.js"))
            // What is imported with `import()` becomes a chunk of its own.
            .args(["--bundle", "--minify", "--splitting", "--format=esm", "--target=es2020", "--log-level=warning"])
            .args(["--entry-names=[name]", "--chunk-names=[name]-[hash]"])
            .arg(format!("--outdir={}", public.display())),
        "esbuild for the SDK loader",
    )?;

    let npm = fresh_dir(&ws.path("target/npm/cairn-sdk"))?;
    for file in &wasm_files {
        copy(&bindgen_out.join(file.replace("_bg.", "_bg.opt.")), &npm.join(file))?;
    }
    for file in ["cairn.js", "cairn_sdk.js", "platforms.js", "guard.js", "cairn_sdk_guard.js"] {
        copy(&bindgen_out.join(file), &npm.join(file))?;
    }
    for file in ["package.json", "cairn.d.ts", "README.md"] {
        copy(&ws.path("sdk/npm").join(file), &npm.join(file))?;
    }
    Ok(())
}

/// wasm-bindgen's glue for `target/.../{name}.wasm` into `out`, and the
/// wasm shrunk by wasm-opt -Oz as `{name}_bg.opt.wasm`.
fn bindgen_and_shrink(ws: &Workspace, tools: &Tools, name: &str, out: &Path) -> Result<()> {
    let wasm = tools.wasm.target_dir(ws).join(TARGET).join("release").join(format!("{name}.wasm"));
    cmd::run(
        Command::new(&tools.wasm_bindgen).args(["--target", "web", "--no-typescript", "--out-dir"]).arg(out).arg(&wasm),
        &format!("wasm-bindgen for {name}"),
    )?;
    cmd::run(
        Command::new(tools.node_bin.join("wasm-opt"))
            .env("PATH", tools.path_env())
            .args([
                "-Oz",
                "--converge",
                "--strip-target-features",
                "--strip-producers",
                "--enable-bulk-memory",
                "--enable-nontrapping-float-to-int",
                "--enable-sign-ext",
                "--enable-mutable-globals",
                "--enable-reference-types",
                "--enable-multivalue",
            ])
            .arg(out.join(format!("{name}_bg.wasm")))
            .arg("-o")
            .arg(out.join(format!("{name}_bg.opt.wasm"))),
        &format!("wasm-opt for {name}"),
    )
}

/// An empty directory at `dir` (what an earlier build left there goes).
fn fresh_dir(dir: &Path) -> Result<std::path::PathBuf> {
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir).map_err(|e| Error::Failed(format!("cannot create {}: {e}", dir.display())))?;
    Ok(dir.to_path_buf())
}

/// The worker, with worker-build (wasm-bindgen, esbuild, wasm-opt from our own installs).
fn worker(ws: &Workspace, tools: &Tools) -> Result<()> {
    step("build: edge worker (cairn-edge -> worker-build)");
    let mut c = Command::new(&tools.worker_build);
    tools.wasm.configure(&mut c, ws);
    c.current_dir(ws.path("edge-worker"))
        .arg("--release")
        .env("PATH", tools.path_env())
        .env("WASM_BINDGEN_BIN", &tools.wasm_bindgen)
        .env("ESBUILD_BIN", tools.node_bin.join("esbuild"))
        .env("WASM_OPT_BIN", tools.node_bin.join("wasm-opt"));
    cmd::run(&mut c, "worker-build")
}

fn copy(from: &Path, to: &Path) -> Result<()> {
    std::fs::copy(from, to)
        .map(drop)
        .map_err(|e| Error::Failed(format!("cannot copy {} to {}: {e}", from.display(), to.display())))
}

pub fn parse_port(args: &[String]) -> Result<u16> {
    match args {
        [] => Ok(DEFAULT_PORT),
        [flag, n] if flag == "--port" => n
            .parse()
            .ok()
            .filter(|&p: &u16| p > 0)
            .ok_or_else(|| Error::Usage(format!("--port takes a number from 1 to 65535, got `{n}`"))),
        [other, ..] => Err(Error::Usage(format!("unexpected argument `{other}` (demo takes only --port N)"))),
    }
}

fn wrangler(ws: &Workspace, tools: &Tools) -> Command {
    let mut c = Command::new(tools.node_bin.join("wrangler"));
    c.current_dir(ws.path("edge-worker")).env("PATH", tools.path_env()).env("WRANGLER_SEND_METRICS", "false");
    c
}

/// Local D1: migrations, then the demo source.
fn prepare_local_db(ws: &Workspace, tools: &Tools) -> Result<()> {
    step("demo: applying D1 migrations and seeding the demo source (local state in edge-worker/.wrangler)");
    cmd::run(
        wrangler(ws, tools).args(["d1", "migrations", "apply", "DB", "--local"]).env("CI", "true"),
        "applying D1 migrations",
    )?;
    cmd::run(
        wrangler(ws, tools).args(["d1", "execute", "DB", "--local", "--file", "seed/dev.sql"]),
        "seeding the demo source",
    )
}

/// Fails early, before any build, when the demo's port is taken.
pub fn check_port_free(port: u16) -> Result<()> {
    match TcpListener::bind(("127.0.0.1", port)) {
        Ok(_) => Ok(()),
        Err(e) => fail(format!(
            "port {port} on 127.0.0.1 is not available ({e}); stop what uses it or run `cargo xtask demo --port N`"
        )),
    }
}

pub fn demo(ws: &Workspace, tools: &Tools, port: u16) -> Result<()> {
    check_port_free(port)?;
    prepare_local_db(ws, tools)?;
    let base = format!("http://127.0.0.1:{port}");
    eprintln!(
        "\n\x1b[1mCairn is starting on {base}\x1b[0m\n\
         \x20 demo shop      {base}/\n\
         \x20 admin console  {base}/console/\n\
         \x20 ingest API     {base}/v1/track  (write key: {DEMO_WRITE_KEY})\n\
         \x20 admin API      {base}/admin/events  (Authorization: Bearer {DEV_ADMIN_TOKEN})\n\
         \x20 stop with Ctrl-C\n"
    );
    cmd::run(wrangler(ws, tools).args(["dev", "--ip", "127.0.0.1", "--port", &port.to_string()]), "wrangler dev")
}

pub fn test(ws: &Workspace, tools: &Tools) -> Result<()> {
    step("test: cairn-core stays pure (no wasm-bindgen / worker / web-sys) and builds for wasm32");
    core_boundary(ws, tools)?;
    step("test: cargo fmt --check");
    cmd::run(
        Command::new("cargo").current_dir(&ws.root).args(["fmt", "--all", "--", "--check"]),
        "cargo fmt --check (run `cargo fmt` to fix)",
    )?;
    step("test: cargo clippy --all-targets -- -D warnings");
    cmd::run(
        Command::new("cargo").current_dir(&ws.root).args([
            "clippy",
            "--workspace",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ]),
        "clippy",
    )?;
    crate::sdk_test::run(ws, tools)?;
    step("test: unit, data-driven and end-to-end tests (wrangler dev + headless Chromium)");
    cmd::run(
        Command::new("cargo")
            .current_dir(&ws.root)
            .args(["test", "--workspace"])
            .env("CAIRN_E2E", "1")
            .env("PATH", tools.path_env())
            .env("CAIRN_CHROMIUM", &tools.chromium)
            .env("CHROMEDRIVER", &tools.chromedriver)
            .env("WRANGLER_SEND_METRICS", "false"),
        "tests",
    )
}

fn core_boundary(ws: &Workspace, tools: &Tools) -> Result<()> {
    let tree = cmd::output(Command::new("cargo").current_dir(&ws.root).args([
        "tree",
        "--package",
        "cairn-core",
        "--edges",
        "normal,build",
        "--prefix",
        "none",
        "--format",
        "{p}",
    ]))
    .ok_or_else(|| Error::Failed("cargo tree failed for cairn-core".into()))?;
    let bad: Vec<&str> =
        tree.lines().filter(|l| FORBIDDEN_IN_CORE.contains(&l.split(' ').next().unwrap_or_default())).collect();
    if !bad.is_empty() {
        return fail(format!("cairn-core must not depend on runtime crates, but it pulls in: {}", bad.join(", ")));
    }
    cmd::run(
        cargo_wasm(ws, tools).args(["build", "--package", "cairn-core", "--release", "--target", TARGET]),
        "building cairn-core for wasm32",
    )
}

/// Runs after `build::all` (see `built` in main.rs): the SDK's size and its
/// browser figures are measured on what was just built.
pub fn bench(ws: &Workspace, tools: &Tools, part: Option<&str>) -> Result<()> {
    step(match part {
        Some(_) => "bench: browser SDK size and main-thread cost beside analytics-next -> BENCHMARKS.md",
        None => "bench: cairn-core parsing, ingest throughput on local workerd, browser SDK -> BENCHMARKS.md",
    });
    cmd::run(
        Command::new("cargo")
            .current_dir(&ws.root)
            .args(["run", "--profile", "bench", "--package", "cairn-tests", "--bin", "bench", "--"])
            .args(part)
            .env("PATH", tools.path_env())
            .env("CAIRN_CHROMIUM", &tools.chromium)
            .env("WRANGLER_SEND_METRICS", "false"),
        "benchmarks",
    )
}
