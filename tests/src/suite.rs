//! The harness of the end-to-end suites (`tests/*.rs` with `harness =
//! false`): one worker shared by all tests of a run, libtest's command line
//! and output (libtest-mimic), and the worker's log when something failed.

use std::process::ExitCode;
use std::sync::Arc;

use libtest_mimic::{Arguments, Failed, Trial};

use crate::Result;
use crate::worker::Worker;

pub type Test = fn(&Worker) -> Result<()>;

/// `(name, test)` pairs from test functions, named after them.
#[macro_export]
macro_rules! tests {
    ($($name:ident),* $(,)?) => {
        &[$((stringify!($name), $name as $crate::suite::Test)),*]
    };
}

/// Runs `tests` against one worker from `start`. Without `CAIRN_E2E` (set by
/// `cargo xtask test`, which builds what they need) they are listed as ignored.
pub fn run(what: &str, tests: &[(&'static str, Test)], start: impl FnOnce() -> Result<Worker>) -> ExitCode {
    let args = Arguments::from_args();
    if std::env::var_os("CAIRN_E2E").is_none() {
        eprintln!("{what} need the built worker and Chromium: run them with `cargo xtask test` (sets CAIRN_E2E=1)");
        let trials = tests.iter().map(|(name, _)| Trial::test(*name, || Ok(())).with_ignored_flag(true)).collect();
        return libtest_mimic::run(&args, trials).exit_code();
    }
    let worker = match start() {
        Ok(w) => Arc::new(w),
        Err(e) => {
            eprintln!("cannot start the worker: {e}");
            return ExitCode::FAILURE;
        }
    };
    let trials = tests
        .iter()
        .map(|&(name, test)| {
            let w = Arc::clone(&worker);
            Trial::test(name, move || test(&w).map_err(Failed::from))
        })
        .collect();
    let conclusion = libtest_mimic::run(&args, trials);
    if conclusion.has_failed() {
        eprintln!("--- wrangler dev log (tail) ---\n{}", worker.log_tail());
    }
    drop(worker); // stops wrangler dev and removes its state
    conclusion.exit_code()
}

/// `Ok` when `cond` holds, else the failure `what` describes.
pub fn check(cond: bool, what: impl FnOnce() -> String) -> Result<()> {
    if cond { Ok(()) } else { Err(what()) }
}
