//! A small HTTP/1.1 server for files held in memory, on a free port of
//! 127.0.0.1: the benchmarks serve the pages and libraries they compare from
//! it, all from one origin and with the same headers. GET only; keep-alive.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::Result;

/// One file: its `Content-Type` and bytes.
pub struct File {
    pub content_type: &'static str,
    pub body: Vec<u8>,
}

pub struct StaticFiles {
    pub base_url: String,
    port: u16,
    stop: Arc<AtomicBool>,
}

struct Site {
    files: HashMap<String, File>,
    headers: Vec<(String, String)>,
}

impl StaticFiles {
    /// Serves `files` (by path, such as `/page.html`) with `headers` added to
    /// every answer, until dropped.
    pub fn start(files: HashMap<String, File>, headers: &[(&str, &str)]) -> Result<StaticFiles> {
        let listener = TcpListener::bind(("127.0.0.1", 0)).map_err(|e| format!("cannot listen on 127.0.0.1: {e}"))?;
        let port = listener.local_addr().map_err(|e| e.to_string())?.port();
        let site = Arc::new(Site {
            files,
            headers: headers.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect(),
        });
        let stop = Arc::new(AtomicBool::new(false));
        let stopping = stop.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                if stopping.load(Ordering::Relaxed) {
                    break;
                }
                let Ok(conn) = conn else { continue };
                let site = site.clone();
                std::thread::spawn(move || serve(conn, &site));
            }
        });
        Ok(StaticFiles { base_url: format!("http://127.0.0.1:{port}"), port, stop })
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }
}

impl Drop for StaticFiles {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        // Wakes the accept loop so that it sees the flag.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

/// Answers the requests of one connection until the client closes it.
fn serve(conn: TcpStream, site: &Site) {
    let _ = conn.set_read_timeout(Some(Duration::from_secs(30)));
    // Each answer goes out in one write, without waiting for ACKs (Nagle).
    let _ = conn.set_nodelay(true);
    let Ok(mut out) = conn.try_clone() else { return };
    let mut reader = BufReader::new(conn);
    loop {
        let mut request_line = String::new();
        if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
            return;
        }
        let mut close = false;
        let mut body_len = 0usize;
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            let (name, value) = line.split_once(':').unwrap_or((line, ""));
            let (name, value) = (name.trim().to_ascii_lowercase(), value.trim());
            if name == "connection" && value.eq_ignore_ascii_case("close") {
                close = true;
            } else if name == "content-length" {
                body_len = value.parse().unwrap_or(0);
            }
        }
        // A body (there should be none) is read and dropped.
        if body_len > 0 && std::io::copy(&mut reader.by_ref().take(body_len as u64), &mut std::io::sink()).is_err() {
            return;
        }
        let mut parts = request_line.split_whitespace();
        let method = parts.next().unwrap_or_default();
        let path = parts.next().unwrap_or_default().split(['?', '#']).next().unwrap_or_default();
        let (status, content_type, body): (&str, &str, &[u8]) = match (method, site.files.get(path)) {
            ("GET" | "HEAD", Some(f)) => ("200 OK", f.content_type, &f.body),
            ("GET" | "HEAD", None) => ("404 Not Found", "text/plain", b"not found"),
            _ => ("405 Method Not Allowed", "text/plain", b"GET only"),
        };
        let mut head = format!(
            "HTTP/1.1 {status}\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\ncache-control: no-store\r\n",
            body.len()
        );
        for (k, v) in &site.headers {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        head.push_str(if close { "connection: close\r\n\r\n" } else { "\r\n" });
        let mut answer = head.into_bytes();
        if method != "HEAD" {
            answer.extend_from_slice(body);
        }
        if out.write_all(&answer).and_then(|()| out.flush()).is_err() || close {
            return;
        }
    }
}
