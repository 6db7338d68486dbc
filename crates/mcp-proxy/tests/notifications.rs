//! Notifications through the gateway, with real peers (installed by
//! `scripts/install-peers` into `.tools/`): progress back to the caller under
//! its own token, a client's cancellation reaching the backend, backend log
//! messages relayed to clients (filtered by `logging/setLevel`), and a
//! backend's `tools/list_changed` refreshing the aggregate. Backends are
//! server-everything (TypeScript SDK) and `tests/peers/mcp_server.py` (Python
//! SDK), both over stdio; clients are rmcp and plain HTTP.
#![allow(clippy::unwrap_used, clippy::expect_used, deprecated)]

mod support;

use std::path::PathBuf;
use std::time::Duration;

use rmcp::model::{
    CallToolRequest, CallToolRequestParams, ClientRequest, LoggingLevel,
    LoggingMessageNotificationParam, ProgressNotificationParam, ServerResult,
    SetLevelRequestParams,
};
use rmcp::service::{NotificationContext, PeerRequestOptions, RoleClient, RunningService};
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::{ClientHandler, ServiceExt};
use serde_json::{Value, json};
use support::{Running, args, installed_peer as peer};
use tokio::sync::mpsc;

/// Upper bound on waiting for something that must happen (never a timing assertion).
const WAIT: Duration = Duration::from_secs(30);

/// server-everything over stdio as backend `everything`.
fn everything_yaml() -> String {
    format!(
        "backends:\n  - name: everything\n    stdio:\n      command: \"{}\"\n      args: [stdio]\n",
        peer("npm/node_modules/.bin/mcp-server-everything").display()
    )
}

/// The Python SDK server (`tests/peers/mcp_server.py`) over stdio as backend `py`;
/// `cancel_file` is where it records a cancelled `wait_for_cancel`.
fn python_yaml(cancel_file: Option<&std::path::Path>) -> String {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/peers/mcp_server.py");
    let env = cancel_file
        .map(|f| {
            format!(
                "      env: {{MCP_SERVER_CANCEL_FILE: \"{}\"}}\n",
                f.display()
            )
        })
        .unwrap_or_default();
    format!(
        "backends:\n  - name: py\n    stdio:\n      command: \"{}\"\n      args: [\"{}\"]\n{env}",
        peer("venv/bin/python").display(),
        script.display()
    )
}

/// What a recording client heard from the gateway.
#[derive(Debug)]
enum Heard {
    Progress(ProgressNotificationParam),
    Log(LoggingMessageNotificationParam),
    ToolsChanged,
}

/// An rmcp client handler that records notifications.
#[derive(Clone)]
struct Recorder(mpsc::UnboundedSender<Heard>);

impl ClientHandler for Recorder {
    async fn on_progress(
        &self,
        params: ProgressNotificationParam,
        _context: NotificationContext<RoleClient>,
    ) {
        let _ = self.0.send(Heard::Progress(params));
    }

    async fn on_logging_message(
        &self,
        params: LoggingMessageNotificationParam,
        _context: NotificationContext<RoleClient>,
    ) {
        let _ = self.0.send(Heard::Log(params));
    }

    async fn on_tool_list_changed(&self, _context: NotificationContext<RoleClient>) {
        let _ = self.0.send(Heard::ToolsChanged);
    }
}

type Client = RunningService<RoleClient, Recorder>;

/// An rmcp client of the gateway and what it hears.
async fn recorder(gw: &Running) -> (Client, mpsc::UnboundedReceiver<Heard>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let client = Recorder(tx)
        .serve(StreamableHttpClientTransport::from_uri(gw.mcp.as_str()))
        .await
        .unwrap();
    (client, rx)
}

/// Waits (bounded by [`WAIT`]) for the next notification `pick` accepts,
/// keeping the others in `skipped`.
async fn next<T>(
    rx: &mut mpsc::UnboundedReceiver<Heard>,
    what: &str,
    skipped: &mut Vec<Heard>,
    mut pick: impl FnMut(&Heard) -> Option<T>,
) -> T {
    let found = tokio::time::timeout(WAIT, async {
        while let Some(heard) = rx.recv().await {
            if let Some(found) = pick(&heard) {
                return found;
            }
            skipped.push(heard);
        }
        panic!("the client stopped before {what}")
    })
    .await;
    found.unwrap_or_else(|_| panic!("no {what} within {WAIT:?}; heard instead: {skipped:?}"))
}

fn call(name: &str, arguments: Value) -> ClientRequest {
    ClientRequest::CallToolRequest(CallToolRequest::new(
        CallToolRequestParams::new(name.to_owned()).with_arguments(args(arguments)),
    ))
}

fn text_of(result: &ServerResult) -> String {
    match result {
        ServerResult::CallToolResult(r) => r
            .content
            .iter()
            .filter_map(|c| c.as_text().map(|t| t.text.clone()))
            .collect(),
        other => panic!("not a tools/call result: {other:?}"),
    }
}

/// server-everything's long-running tool reports progress to the request's
/// `progressToken`; the rmcp client that made the call hears every step under
/// the token it sent.
#[tokio::test]
async fn server_everything_progress_reaches_the_caller_under_its_own_token() {
    let gw = Running::start(&everything_yaml()).await;
    let (client, mut rx) = recorder(&gw).await;
    let handle = client
        .send_cancellable_request(
            call(
                "everything_trigger-long-running-operation",
                json!({"duration": 1, "steps": 3}),
            ),
            PeerRequestOptions::no_options(),
        )
        .await
        .unwrap();
    let token = handle.progress_token.clone();
    let result = handle.await_response().await.unwrap();
    assert!(text_of(&result).contains("completed"), "{result:?}");

    let mut skipped = Vec::new();
    for step in 1..=3 {
        let progress = next(
            &mut rx,
            "a progress notification",
            &mut skipped,
            |h| match h {
                Heard::Progress(p) => Some(p.clone()),
                _ => None,
            },
        )
        .await;
        assert_eq!(progress.progress_token, token, "{progress:?}");
        assert_eq!(progress.progress, f64::from(step), "{progress:?}");
        assert_eq!(progress.total, Some(3.0), "{progress:?}");
    }
    client.cancel().await.unwrap();
    gw.stop().await;
}

/// A JSON-RPC session by hand, so the client's progress token is one no SDK
/// would pick: the gateway relays the Python server's progress under
/// `caller-token-7`, while the server itself saw another token (the gateway's).
#[tokio::test]
async fn progress_tokens_are_translated_between_client_and_backend() {
    let gw = Running::start(&python_yaml(None)).await;
    let http = reqwest::Client::new();
    let post = |body: Value, session: Option<&str>| {
        let mut request = http
            .post(&gw.mcp)
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
            .json(&body);
        if let Some(session) = session {
            request = request
                .header("mcp-session-id", session)
                .header("mcp-protocol-version", "2025-06-18");
        }
        request.send()
    };
    let init = post(
        json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-06-18", "capabilities": {},
            "clientInfo": {"name": "by-hand", "version": "1"}}}),
        None,
    )
    .await
    .unwrap();
    assert_eq!(init.status(), 200);
    let session = init.headers()["mcp-session-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let _ = init.text().await.unwrap();
    let initialized = post(
        json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
        Some(&session),
    )
    .await
    .unwrap();
    assert_eq!(initialized.status(), 202);

    let answer = post(
        json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {
            "name": "py_progress", "arguments": {"steps": 3},
            "_meta": {"progressToken": "caller-token-7"}}}),
        Some(&session),
    )
    .await
    .unwrap();
    assert_eq!(answer.status(), 200);
    // The answer is an SSE stream: the progress notifications, then the result.
    let body = answer.text().await.unwrap();
    let messages: Vec<Value> = body
        .lines()
        .filter_map(|line| line.strip_prefix("data:"))
        .filter(|data| !data.trim().is_empty())
        .map(|data| serde_json::from_str(data.trim()).unwrap())
        .collect();
    let progress: Vec<&Value> = messages
        .iter()
        .filter(|m| m["method"] == "notifications/progress")
        .collect();
    assert_eq!(progress.len(), 3, "{body}");
    for (step, p) in progress.iter().enumerate() {
        assert_eq!(p["params"]["progressToken"], "caller-token-7", "{body}");
        assert_eq!(p["params"]["progress"], json!(step as f64 + 1.0), "{body}");
        assert_eq!(
            p["params"]["message"],
            format!("step {}", step + 1),
            "{body}"
        );
    }
    let result = messages
        .iter()
        .find(|m| m["id"] == 2)
        .unwrap_or_else(|| panic!("no result: {body}"));
    let text = result["result"]["content"][0]["text"].as_str().unwrap();
    let seen: Value = serde_json::from_str(text).unwrap();
    assert_eq!(seen["steps"], 3);
    assert!(
        !seen["token"].is_null() && seen["token"] != "caller-token-7",
        "the backend gets the gateway's own token: {seen}"
    );
    gw.stop().await;
}

/// The client cancels a call the Python server is working on: the gateway
/// sends `notifications/cancelled` to the backend, whose SDK cancels the
/// tool (it writes the cancel file), and the gateway keeps serving.
#[tokio::test]
async fn a_cancelled_call_is_cancelled_at_the_backend() {
    let cancel_file =
        std::env::temp_dir().join(format!("mcp-proxy-cancel-{}", uuid::Uuid::new_v4()));
    let gw = Running::start(&python_yaml(Some(&cancel_file))).await;
    let (client, mut rx) = recorder(&gw).await;
    let handle = client
        .send_cancellable_request(
            call("py_wait_for_cancel", json!({})),
            PeerRequestOptions::no_options(),
        )
        .await
        .unwrap();
    let token = handle.progress_token.clone();
    // Its first progress notification says the tool is running at the backend.
    let mut skipped = Vec::new();
    next(&mut rx, "the tool's first progress", &mut skipped, |h| {
        matches!(h, Heard::Progress(p) if p.progress_token == token).then_some(())
    })
    .await;
    assert!(!cancel_file.exists());
    handle
        .cancel(Some("the test cancels".into()))
        .await
        .unwrap();

    let recorded = tokio::time::timeout(WAIT, async {
        loop {
            if let Ok(text) = std::fs::read_to_string(&cancel_file) {
                return text;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .expect("the backend's tool was never cancelled");
    assert_eq!(recorded, "cancelled");
    let _ = std::fs::remove_file(&cancel_file);

    // Same session, same backend connection: still fine.
    let echo = client
        .send_request(call("py_echo", json!({"message": "after cancel"})))
        .await
        .unwrap();
    assert_eq!(text_of(&echo), "py echo: after cancel");
    let status = &gw.gateway.backend_status()[0];
    assert_eq!((status.state, status.restarts), ("up", 0), "{status:?}");
    client.cancel().await.unwrap();
    gw.stop().await;
}

/// server-everything's simulated logging sends `notifications/message`
/// (once at once, then every 5 s); the connected client receives them, the
/// logger naming the backend.
#[tokio::test]
async fn server_everything_log_messages_reach_connected_clients() {
    let gw = Running::start(&everything_yaml()).await;
    let (client, mut rx) = recorder(&gw).await;
    let toggle = || call("everything_toggle-simulated-logging", json!({}));
    let started = client.send_request(toggle()).await.unwrap();
    assert!(text_of(&started).contains("Started"), "{started:?}");
    let mut skipped = Vec::new();
    let log = next(&mut rx, "a log message", &mut skipped, |h| match h {
        Heard::Log(l) => Some(l.clone()),
        _ => None,
    })
    .await;
    assert_eq!(log.logger.as_deref(), Some("everything"), "{log:?}");
    assert!(
        log.data.as_str().is_some_and(|d| d.contains("message")),
        "{log:?}"
    );
    let stopped = client.send_request(toggle()).await.unwrap();
    assert!(text_of(&stopped).contains("Stopped"), "{stopped:?}");
    client.cancel().await.unwrap();
    gw.stop().await;
}

/// Backend log messages go to every connected client, each filtered by the
/// level it chose with `logging/setLevel` (none chosen: every level).
#[tokio::test]
async fn log_messages_respect_each_clients_level() {
    let gw = Running::start(&python_yaml(None)).await;
    let (picky, mut picky_rx) = recorder(&gw).await;
    let (everything, mut everything_rx) = recorder(&gw).await;
    picky
        .set_level(SetLevelRequestParams::new(LoggingLevel::Warning))
        .await
        .unwrap();
    let levels = ["debug", "info", "warning", "error"];
    let logged = picky
        .send_request(call("py_log", json!({ "levels": levels })))
        .await
        .unwrap();
    assert_eq!(text_of(&logged), "logged 4");
    // Then one more message, which ends what the picky client may hear.
    picky
        .send_request(call("py_log", json!({"levels": ["emergency"]})))
        .await
        .unwrap();

    let data = |h: &Heard| match h {
        Heard::Log(l) => {
            assert_eq!(l.logger.as_deref(), Some("py/py-peer"), "{l:?}");
            Some(l.data.as_str().unwrap().to_owned())
        }
        _ => None,
    };
    let mut heard = Vec::new();
    let mut skipped = Vec::new();
    while !heard.contains(&"log emergency".to_owned()) {
        heard.push(next(&mut picky_rx, "the last log message", &mut skipped, data).await);
    }
    heard.sort();
    assert_eq!(
        heard,
        ["log emergency", "log error", "log warning"],
        "warning and above only"
    );

    let mut heard = Vec::new();
    while heard.len() < 5 {
        heard.push(next(&mut everything_rx, "five log messages", &mut skipped, data).await);
    }
    heard.sort();
    assert_eq!(
        heard,
        [
            "log debug",
            "log emergency",
            "log error",
            "log info",
            "log warning"
        ]
    );
    picky.cancel().await.unwrap();
    everything.cancel().await.unwrap();
    gw.stop().await;
}

/// The Python server adds a tool at run time and sends `tools/list_changed`:
/// the gateway re-lists it, tells its clients, and the new tool is listed and
/// callable under the backend's prefix.
#[tokio::test]
async fn a_backends_list_change_reaches_clients_and_the_new_tool_is_served() {
    let gw = Running::start(&python_yaml(None)).await;
    let (client, mut rx) = recorder(&gw).await;
    let names = |tools: Vec<rmcp::model::Tool>| -> Vec<String> {
        tools.into_iter().map(|t| t.name.to_string()).collect()
    };
    let before = names(client.list_all_tools().await.unwrap());
    assert!(before.contains(&"py_add_tool".to_owned()), "{before:?}");
    assert!(
        !before.contains(&"py_runtime_tool".to_owned()),
        "{before:?}"
    );

    let added = client
        .send_request(call("py_add_tool", json!({"name": "runtime_tool"})))
        .await
        .unwrap();
    assert_eq!(text_of(&added), "tool runtime_tool added");

    // Each list_changed is followed by a fresh list; the new tool shows up
    // after one of them.
    let mut skipped = Vec::new();
    let after = loop {
        next(&mut rx, "tools/list_changed", &mut skipped, |h| {
            matches!(h, Heard::ToolsChanged).then_some(())
        })
        .await;
        let tools = names(client.list_all_tools().await.unwrap());
        if tools.contains(&"py_runtime_tool".to_owned()) {
            break tools;
        }
    };
    assert!(after.contains(&"py_echo".to_owned()), "{after:?}");
    let result = client
        .send_request(call("py_runtime_tool", json!({})))
        .await
        .unwrap();
    assert_eq!(text_of(&result), "added runtime_tool");
    client.cancel().await.unwrap();
    gw.stop().await;
}
