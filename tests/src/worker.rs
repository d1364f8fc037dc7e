//! The Cairn worker on `wrangler dev`, with its own port and its own local
//! D1/KV state in a fresh folder.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use std::os::unix::process::CommandExt;

use crate::{Result, free_port, reap_with_this_process, scratch_dir, stop_process_group, wait_for, workspace_root};

pub struct Worker {
    child: Option<Child>,
    pub base_url: String,
    port: u16,
    vars: Vec<String>,
    state: PathBuf,
    log: PathBuf,
}

fn wrangler() -> Command {
    let mut c = Command::new("wrangler");
    c.current_dir(workspace_root().join("edge-worker")).env("WRANGLER_SEND_METRICS", "false").env("CI", "true");
    c
}

fn run_wrangler(args: &[&str], state: &PathBuf) -> Result<()> {
    let out = wrangler()
        .args(args)
        .arg("--persist-to")
        .arg(state)
        .output()
        .map_err(|e| format!("cannot run wrangler (is node_modules/.bin on PATH?): {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "wrangler {} failed:\n{}{}",
            args.join(" "),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

impl Worker {
    /// Applies the migrations and the dev seed to a fresh local database and
    /// starts `wrangler dev` on a free port; returns once `/healthz` answers.
    pub fn start() -> Result<Worker> {
        Worker::start_with(&[], &[])
    }

    /// Like [`Worker::start`], with extra worker variables (`--var NAME:VALUE`)
    /// and SQL run on the fresh database before the worker starts (tests use
    /// it to make D1 itself refuse a write).
    pub fn start_with(vars: &[(&str, &str)], sql: &[&str]) -> Result<Worker> {
        let state = scratch_dir("wrangler")?;
        run_wrangler(&["d1", "migrations", "apply", "DB", "--local"], &state)?;
        run_wrangler(&["d1", "execute", "DB", "--local", "--file", "seed/dev.sql"], &state)?;
        for statement in sql {
            run_wrangler(&["d1", "execute", "DB", "--local", "--command", statement], &state)?;
        }
        let port = free_port()?;
        let log = state.with_extension("log");
        let mut worker = Worker {
            child: None,
            base_url: format!("http://127.0.0.1:{port}"),
            port,
            vars: vars.iter().map(|(k, v)| format!("{k}:{v}")).collect(),
            state,
            log,
        };
        worker.resume()?;
        Ok(worker)
    }

    /// Stops wrangler dev, keeping its port and state for [`Worker::resume`]
    /// (a worker that is down, as clients see it).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            stop_process_group(&mut child);
        }
    }

    /// Starts wrangler dev (again) on the same port and state; returns once
    /// `/healthz` answers.
    pub fn resume(&mut self) -> Result<()> {
        self.stop();
        let inspector = free_port()?;
        let out = std::fs::OpenOptions::new().create(true).append(true).open(&self.log).map_err(|e| e.to_string())?;
        let err = out.try_clone().map_err(|e| e.to_string())?;
        let child = wrangler()
            .args([
                "dev",
                "--ip",
                "127.0.0.1",
                "--port",
                &self.port.to_string(),
                "--inspector-port",
                &inspector.to_string(),
                "--persist-to",
            ])
            .arg(&self.state)
            .args(self.vars.iter().flat_map(|v| ["--var".to_owned(), v.clone()]))
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .process_group(0)
            .spawn()
            .map_err(|e| format!("cannot start wrangler dev: {e}"))?;
        reap_with_this_process(&child);
        self.child = Some(child);
        let health = format!("{}/healthz", self.base_url);
        let child = &mut self.child;
        let ready = wait_for("wrangler dev to answer /healthz", Duration::from_secs(90), || {
            if let Some(Ok(Some(status))) = child.as_mut().map(Child::try_wait) {
                return Some(Err(format!("wrangler dev exited early ({status})")));
            }
            ureq::get(&health).call().ok().filter(|r| r.status() == 200).map(|_| Ok(()))
        });
        ready.and_then(|r| r).map_err(|e| format!("{e}\n--- wrangler dev log ---\n{}", self.log_tail()))
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    /// Creates a source with the admin API (`{"name", "allowedOrigins"?,
    /// "settings"?}`) and returns it, `id` and `writeKey` included.
    pub fn create_source(&self, body: &serde_json::Value) -> Result<serde_json::Value> {
        let r = crate::http::admin_post(&self.url("/admin/sources"), &body.to_string())?;
        if r.status != 201 {
            return Err(format!("create source: {} {}", r.status, r.body));
        }
        Ok(r.body["source"].clone())
    }

    /// Runs SQL on this worker's local D1 while it runs (`wrangler d1 execute
    /// --local --json`): the rows of the last statement.
    pub fn query(&self, sql: &str) -> Result<serde_json::Value> {
        let out = wrangler()
            .args(["d1", "execute", "DB", "--local", "--json", "--command", sql, "--persist-to"])
            .arg(&self.state)
            .output()
            .map_err(|e| format!("cannot run wrangler: {e}"))?;
        if !out.status.success() {
            return Err(format!("wrangler d1 execute failed: {}", String::from_utf8_lossy(&out.stderr)));
        }
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).map_err(|e| format!("wrangler's JSON: {e}"))?;
        Ok(v.as_array().and_then(|a| a.last()).map(|r| r["results"].clone()).unwrap_or_default())
    }

    /// The last lines wrangler printed, for failure messages.
    pub fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            stop_process_group(&mut child);
        }
        let _ = std::fs::remove_dir_all(&self.state);
        let _ = std::fs::remove_file(&self.log);
    }
}
