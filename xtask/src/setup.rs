//! `cargo xtask setup`: install what is missing, and nothing else.
//!
//! Each step first checks for the exact version it needs and skips when it is
//! there, so the second run takes a second or two.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::Workspace;
use crate::cmd::{self, Result, fail, step};
use crate::toolchain::{DEBIAN_PACKAGES, Wasm};

/// Pinned with the worker crate's version (edge-worker/Cargo.toml).
pub const WORKER_BUILD_VERSION: &str = "0.8.7";

/// Everything the other commands use, with absolute paths.
pub struct Tools {
    pub wasm: Wasm,
    pub wasm_bindgen: PathBuf,
    pub worker_build: PathBuf,
    /// node_modules/.bin: wrangler, node (22), wasm-opt, esbuild.
    pub node_bin: PathBuf,
    pub chromium: PathBuf,
    pub chromedriver: PathBuf,
}

impl Tools {
    /// A PATH with the npm tools (and so Node 22) first.
    pub fn path_env(&self) -> std::ffi::OsString {
        let mut paths = vec![self.node_bin.clone()];
        paths.extend(std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()));
        std::env::join_paths(paths).unwrap_or_default()
    }
}

pub fn run(ws: &Workspace) -> Result<Tools> {
    step("setup: checking tools");
    apt_packages()?;
    let wasm = Wasm::detect().ok_or_else(|| {
        cmd::Error::Failed(format!(
            "no way to compile for wasm32: install rustup's target (`rustup target add wasm32-unknown-unknown`) or Debian's {}",
            DEBIAN_PACKAGES.join(" ")
        ))
    })?;
    eprintln!("    wasm32: {}", wasm.describe());
    let node_bin = npm_tools(ws)?;
    let tools_dir = tools_dir();
    let wasm_bindgen_version = locked_version(ws, "wasm-bindgen")?;
    let wasm_bindgen = cargo_tool(&tools_dir, "wasm-bindgen-cli", &wasm_bindgen_version, "wasm-bindgen")?;
    let worker_build = cargo_tool(&tools_dir, "worker-build", WORKER_BUILD_VERSION, "worker-build")?;
    let chromium = browser_binary("CAIRN_CHROMIUM", &["chromium", "chromium-browser"])?;
    let chromedriver = browser_binary("CAIRN_CHROMEDRIVER", &["chromedriver"])?;
    Ok(Tools { wasm, wasm_bindgen, worker_build, node_bin, chromium, chromedriver })
}

/// Debian packages: the wasm32 compiler when no wasm32 std is available, and
/// Chromium + chromedriver for the browser tests.
fn apt_packages() -> Result<()> {
    let mut missing: Vec<&str> = Vec::new();
    if Wasm::detect().is_none() {
        missing.extend(DEBIAN_PACKAGES);
    }
    if which("chromium").is_none() && std::env::var_os("CAIRN_CHROMIUM").is_none() {
        missing.push("chromium");
    }
    if which("chromedriver").is_none() && std::env::var_os("CAIRN_CHROMEDRIVER").is_none() {
        missing.push("chromium-driver");
    }
    if missing.is_empty() {
        return Ok(());
    }
    if which("apt-get").is_none() {
        return fail(format!(
            "missing system packages and no apt-get to install them: install {} (or set CAIRN_CHROMIUM / CAIRN_CHROMEDRIVER)",
            missing.join(", ")
        ));
    }
    let root = cmd::output(Command::new("id").arg("-u")).is_some_and(|u| u.trim() == "0");
    let sudo: &[&str] = if root { &[] } else { &["sudo"] };
    step(&format!("setup: installing Debian packages {} (wasm32 compiler, headless browser)", missing.join(" ")));
    let apt = |args: &[&str]| {
        let mut c = Command::new(sudo.first().copied().unwrap_or("apt-get"));
        if !sudo.is_empty() {
            c.arg("apt-get");
        }
        c.args(args).env("DEBIAN_FRONTEND", "noninteractive");
        c
    };
    cmd::run(&mut apt(&["update", "-qq"]), "apt-get update")?;
    let mut install = apt(&["install", "-y", "-qq"]);
    install.args(&missing);
    cmd::run(&mut install, "installing Debian packages")
}

/// The npm tools pinned in package-lock.json, installed with `npm ci` when
/// node_modules does not match the lock file.
fn npm_tools(ws: &Workspace) -> Result<PathBuf> {
    let lock = std::fs::read(ws.path("package-lock.json"))
        .map_err(|e| cmd::Error::Failed(format!("cannot read package-lock.json: {e}")))?;
    let want = format!("{:016x}", fnv1a(&lock));
    let stamp = ws.path("node_modules/.cairn-lock-hash");
    let node_bin = ws.path("node_modules/.bin");
    let complete = ["wrangler", "node", "wasm-opt", "esbuild"].iter().all(|b| node_bin.join(b).exists());
    if complete && std::fs::read_to_string(&stamp).is_ok_and(|s| s == want) {
        return Ok(node_bin);
    }
    if which("npm").is_none() {
        return fail("npm is needed to install wrangler and Node 22: install Node.js (any version >= 18) with npm");
    }
    step("setup: installing npm tools from package-lock.json (wrangler, Node 22, binaryen, esbuild)");
    cmd::run(
        Command::new("npm").args(["ci", "--no-audit", "--no-fund", "--loglevel=error"]).current_dir(&ws.root),
        "npm ci",
    )?;
    std::fs::write(&stamp, want).map_err(|e| cmd::Error::Failed(format!("cannot write {}: {e}", stamp.display())))?;
    Ok(node_bin)
}

/// Cargo-installed tools live outside the checkout, one folder per version,
/// so fresh clones on the same machine reuse them.
fn tools_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("CAIRN_TOOLS_DIR") {
        return PathBuf::from(dir);
    }
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(std::env::temp_dir);
    cache.join("cairn/tools")
}

fn cargo_tool(tools_dir: &Path, krate: &str, version: &str, bin: &str) -> Result<PathBuf> {
    let root = tools_dir.join(format!("{krate}-{version}"));
    let path = root.join("bin").join(bin);
    let reported = cmd::output(Command::new(&path).arg("--version")).unwrap_or_default();
    if reported.contains(version) {
        return Ok(path);
    }
    step(&format!("setup: installing {krate} {version} (takes a few minutes once)"));
    let install = |locked: bool| {
        let mut c = Command::new("cargo");
        c.args(["install", krate, "--version", version, "--root"]).arg(&root);
        if locked {
            c.arg("--locked");
        }
        // A wasm toolchain override must not leak into a host build.
        for var in ["RUSTC", "RUSTC_BOOTSTRAP", "CARGO_UNSTABLE_BUILD_STD", "CARGO_TARGET_DIR", "CARGO_BUILD_TARGET"] {
            c.env_remove(var);
        }
        cmd::run(&mut c, &format!("cargo install {krate}"))
    };
    // The published lock file can name a dependency version that the registry
    // no longer serves (yanked); then resolve afresh.
    if install(true).is_err() {
        eprintln!("    retrying without --locked");
        install(false)?;
    }
    Ok(path)
}

/// The version of `package` in Cargo.lock (wasm-bindgen-cli must match it exactly).
fn locked_version(ws: &Workspace, package: &str) -> Result<String> {
    let lock = std::fs::read_to_string(ws.path("Cargo.lock"))
        .map_err(|e| cmd::Error::Failed(format!("cannot read Cargo.lock: {e}")))?;
    let needle = format!("name = \"{package}\"\nversion = \"");
    let start = lock
        .find(&needle)
        .map(|i| i + needle.len())
        .ok_or_else(|| cmd::Error::Failed(format!("{package} is not in Cargo.lock")))?;
    Ok(lock[start..].split('"').next().unwrap_or_default().to_owned())
}

fn browser_binary(env: &str, names: &[&str]) -> Result<PathBuf> {
    if let Some(p) = std::env::var_os(env) {
        return Ok(PathBuf::from(p));
    }
    names
        .iter()
        .find_map(|n| which(n))
        .map_or_else(|| fail(format!("{} not found; install it or set {env}", names[0])), Ok)
}

pub fn which(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|d| d.join(name)).find(|p| p.is_file())
}

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}
