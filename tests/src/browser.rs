//! Headless Chromium driven over the DevTools protocol (CDP), with no driver
//! in between: we see the page, its network and its storage as the browser does.

use std::io::{BufRead, BufReader};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tungstenite::{Message, WebSocket};

use std::os::unix::process::CommandExt;

use crate::{Result, scratch_dir, stop_process_group};

pub struct Browser {
    child: Option<Child>,
    profile: PathBuf,
    ws: WebSocket<TcpStream>,
    next_id: u64,
    /// Protocol events received so far (Network.*, Page.*, ...), in order.
    pub events: Vec<Value>,
}

fn chromium_path() -> String {
    std::env::var("CAIRN_CHROMIUM").unwrap_or_else(|_| "chromium".into())
}

impl Browser {
    /// Starts a headless Chromium with a fresh profile and attaches to its page.
    pub fn start() -> Result<Browser> {
        let profile = scratch_dir("chromium")?;
        let mut child = Command::new(chromium_path())
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-dev-shm-usage",
                "--remote-debugging-port=0",
                "--remote-allow-origins=*",
            ])
            .arg(format!("--user-data-dir={}", profile.display()))
            .arg("about:blank")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .process_group(0)
            .spawn()
            .map_err(|e| format!("cannot start {} (install chromium or set CAIRN_CHROMIUM): {e}", chromium_path()))?;
        // Chromium prints "DevTools listening on ws://127.0.0.1:PORT/devtools/browser/ID".
        let stderr = child.stderr.take().ok_or("no stderr")?;
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(std::result::Result::ok) {
                if let Some(url) = line.strip_prefix("DevTools listening on ") {
                    let _ = tx.send(url.to_owned());
                }
            }
        });
        let browser_ws = match rx.recv_timeout(Duration::from_secs(30)) {
            Ok(url) => url,
            Err(_) => {
                stop_process_group(&mut child);
                return Err("chromium did not open its DevTools port within 30 s".into());
            }
        };
        let port = browser_ws.trim_start_matches("ws://").split(['/', ':']).nth(1).unwrap_or_default().to_owned();
        let page_ws = crate::wait_for("chromium's first page", Duration::from_secs(10), || {
            let list = crate::http::get(&format!("http://127.0.0.1:{port}/json/list"), &[]).ok()?;
            list.body
                .as_array()?
                .iter()
                .find(|t| t["type"] == "page")
                .and_then(|t| t["webSocketDebuggerUrl"].as_str())
                .map(str::to_owned)
        });
        let page_ws = match page_ws {
            Ok(u) => u,
            Err(e) => {
                stop_process_group(&mut child);
                return Err(e);
            }
        };
        let host = format!("127.0.0.1:{port}");
        let stream = TcpStream::connect(&host).map_err(|e| format!("cannot connect to chromium: {e}"))?;
        let (ws, _) =
            tungstenite::client(page_ws.as_str(), stream).map_err(|e| format!("DevTools handshake failed: {e}"))?;
        let mut b = Browser { child: Some(child), profile, ws, next_id: 0, events: Vec::new() };
        b.call("Page.enable", json!({}))?;
        b.call("Runtime.enable", json!({}))?;
        b.call("Network.enable", json!({}))?;
        Ok(b)
    }

    /// Sends one protocol command and returns its result.
    pub fn call(&mut self, method: &str, params: Value) -> Result<Value> {
        self.next_id += 1;
        let id = self.next_id;
        let msg = json!({"id": id, "method": method, "params": params});
        self.ws.send(Message::text(msg.to_string())).map_err(|e| format!("{method}: {e}"))?;
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            let frame = match self.ws.read() {
                Ok(f) => f,
                Err(tungstenite::Error::Io(e))
                    if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) =>
                {
                    continue;
                }
                Err(e) => return Err(format!("{method}: {e}")),
            };
            let Ok(text) = frame.to_text() else { continue };
            let Ok(v) = serde_json::from_str::<Value>(text) else {
                continue;
            };
            if v["id"] == id {
                if let Some(err) = v.get("error") {
                    return Err(format!("{method} failed: {err}"));
                }
                return Ok(v["result"].clone());
            }
            if v.get("method").is_some() {
                self.events.push(v);
            }
        }
        Err(format!("{method}: no answer within 30 s"))
    }

    /// Evaluates `expression` in the page (awaiting a promise) and returns its JSON value.
    pub fn eval(&mut self, expression: &str) -> Result<Value> {
        let r = self
            .call("Runtime.evaluate", json!({"expression": expression, "awaitPromise": true, "returnByValue": true}))?;
        if let Some(ex) = r.get("exceptionDetails") {
            return Err(format!(
                "`{expression}` threw: {}",
                ex["exception"]["description"].as_str().unwrap_or(&ex.to_string())
            ));
        }
        Ok(r["result"]["value"].clone())
    }

    /// Opens `url` and waits for its load event.
    pub fn goto(&mut self, url: &str) -> Result<()> {
        let r = self.call("Page.navigate", json!({"url": url}))?;
        if let Some(err) = r.get("errorText") {
            return Err(format!("cannot open {url}: {err}"));
        }
        crate::wait_for("the page to load", Duration::from_secs(30), || match self.eval("document.readyState") {
            Ok(s) if s == "complete" => Some(()),
            _ => None,
        })
    }

    /// Clicks the centre of the first element matching `selector` with real
    /// mouse events, as a person would.
    pub fn click(&mut self, selector: &str) -> Result<()> {
        let sel = serde_json::to_string(selector).map_err(|e| e.to_string())?;
        let rect = self.eval(&format!(
            "(() => {{ const e = document.querySelector({sel}); if (!e) return null; e.scrollIntoView({{block: 'center'}}); \
             const r = e.getBoundingClientRect(); return {{x: r.x + r.width / 2, y: r.y + r.height / 2}}; }})()"
        ))?;
        let (Some(x), Some(y)) = (rect["x"].as_f64(), rect["y"].as_f64()) else {
            return Err(format!("no element matches {selector}"));
        };
        for kind in ["mousePressed", "mouseReleased"] {
            self.call(
                "Input.dispatchMouseEvent",
                json!({"type": kind, "x": x, "y": y, "button": "left", "clickCount": 1}),
            )?;
        }
        Ok(())
    }

    /// Requests the page sent whose URL contains `needle` (from Network events).
    pub fn requests_to(&mut self, needle: &str) -> Result<Vec<Value>> {
        self.eval("0")?; // drain pending protocol events
        Ok(self
            .events
            .iter()
            .filter(|e| e["method"] == "Network.requestWillBeSent")
            .filter(|e| e["params"]["request"]["url"].as_str().is_some_and(|u| u.contains(needle)))
            .map(|e| e["params"]["request"].clone())
            .collect())
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.ws.close(None);
        if let Some(mut child) = self.child.take() {
            stop_process_group(&mut child);
        }
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}
