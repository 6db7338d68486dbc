//! Headless Chromium (the Debian package; `scripts/install-browser`) driven over the
//! Chrome DevTools Protocol on a pipe (`--remote-debugging-pipe`: NUL-terminated JSON on
//! fds 3 and 4), so no extra crate is needed; and a tiny HTTP server standing in for an
//! OAuth client's redirect URI. Shared by okta-sim's sign-in page test and mcp-proxy's
//! `--dev` browser sign-in test (which includes this file by path).
#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// How long any one browser step may take before the test fails.
pub const STEP: Duration = Duration::from_secs(30);

pub fn find_chromium() -> PathBuf {
    if let Some(path) = std::env::var_os("OKTA_SIM_CHROMIUM") {
        return PathBuf::from(path);
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    for dir in std::env::split_paths(&path) {
        for name in ["chromium", "chromium-browser"] {
            let candidate = dir.join(name);
            if candidate.is_file() {
                return candidate;
            }
        }
    }
    panic!(
        "chromium is not installed: the sign-in page browser test needs it. Run \
         scripts/install-browser (apt-get install chromium) or set OKTA_SIM_CHROMIUM to a \
         Chromium binary. scripts/test installs it."
    );
}

/// A Chromium process driven over `--remote-debugging-pipe`.
pub struct Browser {
    child: Child,
    input: ChildStdin,
    messages: mpsc::Receiver<Value>,
    events: Vec<Value>,
    next_id: u64,
    profile: PathBuf,
}

impl Browser {
    pub fn launch(binary: &Path) -> Self {
        let profile = std::env::temp_dir().join(format!(
            "okta-sim-chromium-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos()
        ));
        std::fs::create_dir_all(&profile).unwrap();
        // The shell maps our stdin/stdout pipes to the fds 3 and 4 Chromium reads and writes.
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(r#"exec "$0" "$@" 3<&0 4>&1 0</dev/null 1>&2"#)
            .arg(binary)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                "--disable-quic",
                "--hide-scrollbars",
                "--window-size=900,1000",
                "--remote-debugging-pipe",
            ])
            .arg(format!("--user-data-dir={}", profile.display()))
            .arg("about:blank")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromium");
        let input = child.stdin.take().unwrap();
        let output = child.stdout.take().unwrap();
        let (tx, messages) = mpsc::channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(output);
            let mut buf = Vec::new();
            while matches!(reader.read_until(0, &mut buf), Ok(n) if n > 0) {
                if buf.last() == Some(&0) {
                    buf.pop();
                }
                if let Ok(message) = serde_json::from_slice::<Value>(&buf)
                    && tx.send(message).is_err()
                {
                    break;
                }
                buf.clear();
            }
        });
        Self {
            child,
            input,
            messages,
            events: Vec::new(),
            next_id: 1,
            profile,
        }
    }

    /// Opens `url` in a new page with the Page, Runtime and Log domains on (so
    /// [`Self::errors`] sees everything), waits for it to load, and returns the
    /// page's session id.
    pub fn open(&mut self, url: &str) -> String {
        let target = self.call(None, "Target.createTarget", json!({ "url": "about:blank" }));
        let attached = self.call(
            None,
            "Target.attachToTarget",
            json!({ "targetId": target["targetId"], "flatten": true }),
        );
        let session = attached["sessionId"].as_str().unwrap().to_owned();
        for domain in ["Page.enable", "Runtime.enable", "Log.enable"] {
            self.call(Some(&session), domain, json!({}));
        }
        self.call(Some(&session), "Page.navigate", json!({ "url": url }));
        self.wait_event("Page.loadEventFired");
        session
    }

    /// Saves a PNG screenshot of the page to `path`.
    pub fn screenshot(&mut self, session: &str, path: &Path) {
        let png = self.call(
            Some(session),
            "Page.captureScreenshot",
            json!({ "format": "png" }),
        );
        let png = STANDARD.decode(png["data"].as_str().unwrap()).unwrap();
        assert!(png.starts_with(b"\x89PNG"), "a PNG screenshot");
        std::fs::write(path, png).unwrap();
    }

    /// Sends a command (to a page session when `session` is given) and waits for its result.
    pub fn call(&mut self, session: Option<&str>, method: &str, params: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        let mut message = json!({ "id": id, "method": method, "params": params });
        if let Some(session) = session {
            message["sessionId"] = json!(session);
        }
        let mut bytes = serde_json::to_vec(&message).unwrap();
        bytes.push(0);
        self.input.write_all(&bytes).unwrap();
        self.input.flush().unwrap();
        let deadline = Instant::now() + STEP;
        loop {
            let message = self.next_message(deadline, method);
            if message["id"] == id {
                if let Some(error) = message.get("error") {
                    panic!("CDP {method} failed: {error}");
                }
                return message["result"].clone();
            }
            self.events.push(message);
        }
    }

    /// Waits for an event named `method` (already received or arriving within [`STEP`]).
    pub fn wait_event(&mut self, method: &str) -> Value {
        if let Some(i) = self.events.iter().position(|e| e["method"] == method) {
            return self.events.remove(i);
        }
        let deadline = Instant::now() + STEP;
        loop {
            let message = self.next_message(deadline, method);
            if message["method"] == method {
                return message;
            }
            self.events.push(message);
        }
    }

    fn next_message(&mut self, deadline: Instant, waiting_for: &str) -> Value {
        let left = deadline.saturating_duration_since(Instant::now());
        self.messages
            .recv_timeout(left)
            .unwrap_or_else(|_| panic!("chromium did not answer {waiting_for} in time"))
    }

    /// Presses a key in the page (keyDown + keyUp), as a keyboard would.
    pub fn press(&mut self, session: &str, key: &str, code: u32, text: Option<&str>) {
        let mut down = json!({
            "type": if text.is_some() { "keyDown" } else { "rawKeyDown" },
            "key": key, "code": key, "windowsVirtualKeyCode": code,
        });
        if let Some(text) = text {
            down["text"] = json!(text);
            down["unmodifiedText"] = json!(text);
        }
        self.call(Some(session), "Input.dispatchKeyEvent", down);
        self.call(
            Some(session),
            "Input.dispatchKeyEvent",
            json!({ "type": "keyUp", "key": key, "code": key, "windowsVirtualKeyCode": code }),
        );
    }

    /// Page errors seen so far: uncaught exceptions, console errors, and browser log errors
    /// (CSP violations, failed loads) except favicon requests.
    pub fn errors(&mut self) -> Vec<String> {
        while let Ok(message) = self.messages.try_recv() {
            self.events.push(message);
        }
        self.events
            .iter()
            .filter_map(|event| {
                let params = &event["params"];
                match event["method"].as_str()? {
                    "Runtime.exceptionThrown" => Some(params["exceptionDetails"].to_string()),
                    "Runtime.consoleAPICalled" if params["type"] == "error" => {
                        Some(params["args"].to_string())
                    }
                    "Log.entryAdded" if params["entry"]["level"] == "error" => {
                        let url = params["entry"]["url"].as_str().unwrap_or_default();
                        (!url.ends_with("/favicon.ico")).then(|| params["entry"].to_string())
                    }
                    _ => None,
                }
            })
            .collect()
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

/// Serves the client's redirect URI: reports each request line, answers a small page.
pub async fn callback_server(listener: tokio::net::TcpListener, seen: mpsc::Sender<String>) {
    loop {
        let Ok((mut stream, _)) = listener.accept().await else {
            return;
        };
        let mut buf = vec![0u8; 8192];
        let n = stream.read(&mut buf).await.unwrap_or(0);
        let head = String::from_utf8_lossy(&buf[..n]).into_owned();
        let line = head.lines().next().unwrap_or_default().to_owned();
        let body =
            "<!doctype html><html lang=\"en\"><title>Signed in</title><p>Signed in.</p></html>";
        let response = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: text/html; charset=utf-8\r\ncontent-length: {}\r\n\
             connection: close\r\n\r\n{body}",
            body.len()
        );
        let _ = stream.write_all(response.as_bytes()).await;
        let _ = stream.shutdown().await;
        if line.contains("/callback") {
            let _ = seen.send(line);
        }
    }
}

/// The query of the request line `callback_server` reported
/// (`GET /callback?code=…&state=…&iss=… HTTP/1.1`).
pub fn callback_query(request_line: &str) -> HashMap<String, String> {
    let target = request_line.split(' ').nth(1).unwrap();
    url::Url::parse(&format!("http://x{target}"))
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect()
}
