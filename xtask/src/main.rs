//! `cargo xtask <command>`: the one entry point for Cairn's automation.
//!
//! Every command installs what it needs first (idempotently), so a fresh
//! clone on a fresh machine needs nothing but the two README commands.

mod build;
mod cmd;
mod sdk_test;
mod setup;
mod toolchain;

use std::path::PathBuf;
use std::process::ExitCode;

use cmd::Error;

const USAGE: &str = "\
usage: cargo xtask <command>

commands:
  setup           install what is missing: wasm32 toolchain, wasm-bindgen, worker-build,
                  npm tools (wrangler, Node 22, binaryen, esbuild), Chromium + chromedriver
  build           build the browser SDK into the demo's assets and the worker with worker-build
  demo [--port N] setup + build + local D1 migrations + wrangler dev serving the worker,
                  the demo shop and the console on http://127.0.0.1:8787 (alias: run)
  test            setup + build + fmt + clippy + all tests, end-to-end included
  bench [sdk]     setup + build + benchmarks (core parsing, ingest on local workerd, browser SDK size and
                  main-thread cost beside Segment's analytics-next) into BENCHMARKS.md; `bench sdk` runs
                  only the browser SDK part and keeps the other sections
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("setup") => no_args(&args).and_then(|()| setup::run(&Workspace::locate()?).map(drop)),
        Some("build") => no_args(&args).and_then(|()| built().map(drop)),
        Some("demo" | "run") => build::parse_port(&args[1..]).and_then(|port| {
            build::check_port_free(port)?;
            let (ws, tools) = built()?;
            build::demo(&ws, &tools, port)
        }),
        Some("test") => no_args(&args).and_then(|()| built().and_then(|(ws, tools)| build::test(&ws, &tools))),
        Some("bench") => {
            bench_part(&args[1..]).and_then(|part| built().and_then(|(ws, tools)| build::bench(&ws, &tools, part)))
        }
        Some("help" | "--help" | "-h") => {
            print!("{USAGE}");
            Ok(())
        }
        Some(other) => Err(Error::Usage(format!("unknown command `{other}`"))),
        None => Err(Error::Usage("no command given".into())),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Error::Usage(msg)) => {
            eprintln!("error: {msg}\n\n{USAGE}");
            ExitCode::from(2)
        }
        Err(e) => {
            eprintln!("\nerror: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Setup and build: what every command but `setup` starts with.
fn built() -> Result<(Workspace, setup::Tools), Error> {
    let ws = Workspace::locate()?;
    let tools = setup::run(&ws)?;
    build::all(&ws, &tools)?;
    Ok((ws, tools))
}

/// `bench` runs everything; `bench sdk` only the browser SDK part.
fn bench_part(args: &[String]) -> Result<Option<&'static str>, Error> {
    match args {
        [] => Ok(None),
        [part] if part == "sdk" => Ok(Some("sdk")),
        [other, ..] => Err(Error::Usage(format!("unexpected argument `{other}` (bench takes nothing, or `sdk`)"))),
    }
}

fn no_args(args: &[String]) -> Result<(), Error> {
    match args.get(1) {
        Some(extra) => Err(Error::Usage(format!("`{}` takes no argument, got `{extra}`", args[0]))),
        None => Ok(()),
    }
}

/// Paths of the checkout.
pub struct Workspace {
    pub root: PathBuf,
}

impl Workspace {
    fn locate() -> Result<Self, Error> {
        let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        let root = manifest
            .parent()
            .map(PathBuf::from)
            .ok_or_else(|| Error::Failed("cannot find the workspace root".into()))?;
        Ok(Workspace { root })
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.root.join(rel)
    }
}
