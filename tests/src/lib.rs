//! Harness for Cairn's end-to-end tests: the real worker on `wrangler dev`
//! (workerd with local D1/KV) and a real headless Chromium, driven over HTTP
//! and the DevTools protocol. Everything started here is stopped on drop.

pub mod browser;
pub mod http;
pub mod population;
pub mod size;
pub mod static_files;
pub mod suite;
pub mod worker;

pub const DEMO_WRITE_KEY: &str = "cairn_demo_key";
pub const DEV_ADMIN_TOKEN: &str = "cairn_dev_admin";

pub type Result<T> = std::result::Result<T, String>;

/// The checkout's root folder.
pub fn workspace_root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).parent().map(std::path::Path::to_path_buf).unwrap_or_default()
}

/// A fresh, empty folder for one test run's state; removed by its owner.
pub fn scratch_dir(what: &str) -> Result<std::path::PathBuf> {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    let dir =
        std::env::temp_dir().join(format!("cairn-{what}-{}-{}", std::process::id(), N.fetch_add(1, Ordering::Relaxed)));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    Ok(dir)
}

/// A TCP port on 127.0.0.1 that was free a moment ago.
pub fn free_port() -> Result<u16> {
    let l = std::net::TcpListener::bind(("127.0.0.1", 0)).map_err(|e| format!("no free port: {e}"))?;
    l.local_addr().map(|a| a.port()).map_err(|e| e.to_string())
}

/// Polls `f` every 100 ms until it returns `Some`, or fails after `timeout`.
pub fn wait_for<T>(what: &str, timeout: std::time::Duration, mut f: impl FnMut() -> Option<T>) -> Result<T> {
    let deadline = std::time::Instant::now() + timeout;
    loop {
        if let Some(v) = f() {
            return Ok(v);
        }
        if std::time::Instant::now() > deadline {
            return Err(format!("timed out after {timeout:?} waiting for {what}"));
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

/// Makes sure the process group led by `child` does not outlive this test
/// process, even when it is killed before it can clean up: a small watcher
/// (in its own group) stops the group once this process is gone.
pub(crate) fn reap_with_this_process(child: &std::process::Child) {
    use std::os::unix::process::CommandExt;
    let script = "while kill -0 \"$0\" 2>/dev/null; do sleep 1; done; kill -TERM -- \"-$1\" 2>/dev/null; sleep 3; kill -KILL -- \"-$1\" 2>/dev/null";
    let _ = std::process::Command::new("sh")
        .args(["-c", script, &std::process::id().to_string(), &child.id().to_string()])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .process_group(0)
        .spawn();
}

/// Sends SIGTERM to a process group, then SIGKILL if it is still there.
pub(crate) fn stop_process_group(child: &mut std::process::Child) {
    let group = format!("-{}", child.id());
    let _ = std::process::Command::new("kill").args(["-TERM", "--", &group]).status();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while std::time::Instant::now() < deadline {
        if matches!(child.try_wait(), Ok(Some(_))) {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let _ = std::process::Command::new("kill").args(["-KILL", "--", &group]).status();
    let _ = child.wait();
}
