//! Running commands with clear errors.

use std::fmt;
use std::process::{Command, Stdio};

#[derive(Debug)]
pub enum Error {
    /// The user asked for something that does not exist.
    Usage(String),
    /// A step failed; the message says which and what to do.
    Failed(String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Usage(m) | Error::Failed(m) => f.write_str(m),
        }
    }
}

pub type Result<T> = std::result::Result<T, Error>;

pub fn fail<T>(msg: impl Into<String>) -> Result<T> {
    Err(Error::Failed(msg.into()))
}

/// Prints a step header, the way every xtask command reports progress.
pub fn step(msg: &str) {
    eprintln!("\x1b[1m==> {msg}\x1b[0m");
}

fn describe(cmd: &Command) -> String {
    let mut s = cmd.get_program().to_string_lossy().into_owned();
    for a in cmd.get_args() {
        s.push(' ');
        s.push_str(&a.to_string_lossy());
    }
    s
}

/// Runs `cmd` with inherited output; fails with `what` if it does not succeed.
pub fn run(cmd: &mut Command, what: &str) -> Result<()> {
    match cmd.status() {
        Ok(s) if s.success() => Ok(()),
        Ok(s) => fail(format!("{what} failed ({s}): {}", describe(cmd))),
        Err(e) => fail(format!("{what}: cannot start `{}`: {e}", describe(cmd))),
    }
}

/// Runs `cmd` and returns its stdout, or `None` if it cannot run or fails.
pub fn output(cmd: &mut Command) -> Option<String> {
    let out = cmd.stderr(Stdio::null()).output().ok()?;
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}
