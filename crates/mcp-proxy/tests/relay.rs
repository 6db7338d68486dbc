//! Requests from backends to clients (`sampling/createMessage`,
//! `elicitation/create`, `roots/list`) relayed by the gateway to the client
//! whose call the backend is serving, with real peers: server-everything
//! (TypeScript SDK, installed by `scripts/install-peers`) over streamable
//! HTTP and over stdio, and an rmcp streamable-HTTP server in this process
//! for roots (server-everything never asks for roots on a call's stream).
//! The clients are rmcp clients answering sampling, elicitation and roots.
#![allow(clippy::unwrap_used, clippy::expect_used, deprecated)]

mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ClientCapabilities, ClientInfo,
    ContentBlock, CreateMessageRequestParams, CreateMessageResult, ElicitRequestParams,
    ElicitResult, ElicitationAction, ElicitationCapability, Implementation, ListRootsResult,
    ListToolsResult, PaginatedRequestParams, ProtocolVersion, Root, RootsCapabilities,
    SamplingCapability, SamplingMessage, ServerCapabilities, ServerConfig, Tool,
};
use rmcp::service::{RequestContext, RoleClient, RoleServer, RunningService};
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::{
    StreamableHttpClientTransport, StreamableHttpServerConfig, StreamableHttpService,
};
use rmcp::{ClientHandler, ErrorData as McpError, ServerHandler, ServiceExt};
use serde_json::{Value, json};
use support::{Running, args, everything, everything_http};
use tokio::sync::{Barrier, Semaphore, mpsc};

/// Upper bound on waiting for something that must happen (never a timing assertion).
const WAIT: Duration = Duration::from_secs(30);

/// What a client's sampling handler does before answering.
#[derive(Clone)]
enum Hook {
    Answer,
    /// Waits (bounded) until another handler reaches the barrier too.
    Meet(Arc<Barrier>),
    /// Says it was reached, then waits for a permit.
    Hold(mpsc::UnboundedSender<()>, Arc<Semaphore>),
}

/// An rmcp client that answers the backend's requests with its own name,
/// recording which ones reached it.
#[derive(Clone)]
struct Answerer {
    name: &'static str,
    /// Declares sampling, elicitation and roots; else no capability.
    capable: bool,
    heard: Arc<Mutex<Vec<&'static str>>>,
    hook: Hook,
}

impl Answerer {
    fn new(name: &'static str) -> Self {
        Self {
            name,
            capable: true,
            heard: Arc::default(),
            hook: Hook::Answer,
        }
    }

    fn heard(&self, method: &str) -> usize {
        self.heard
            .lock()
            .unwrap()
            .iter()
            .filter(|m| **m == method)
            .count()
    }

    async fn connect(&self, gw: &Running) -> RunningService<RoleClient, Answerer> {
        self.clone()
            .serve(StreamableHttpClientTransport::from_uri(gw.mcp.as_str()))
            .await
            .unwrap()
    }
}

impl ClientHandler for Answerer {
    fn get_info(&self) -> ClientInfo {
        let mut capabilities = ClientCapabilities::default();
        if self.capable {
            capabilities.sampling = Some(SamplingCapability::default());
            capabilities.elicitation = Some(ElicitationCapability::default());
            capabilities.roots = Some(RootsCapabilities::default());
        }
        ClientInfo::new(capabilities, Implementation::new(self.name, "1"))
            .with_protocol_version(ProtocolVersion::V_2025_11_25)
    }

    async fn create_message(
        &self,
        _params: CreateMessageRequestParams,
        _context: RequestContext<RoleClient>,
    ) -> Result<CreateMessageResult, McpError> {
        self.heard.lock().unwrap().push("sampling");
        match &self.hook {
            Hook::Answer => {}
            Hook::Meet(barrier) => {
                let _ = tokio::time::timeout(WAIT, barrier.wait()).await;
            }
            Hook::Hold(reached, release) => {
                let _ = reached.send(());
                let _permit = tokio::time::timeout(WAIT, release.acquire()).await;
            }
        }
        Ok(CreateMessageResult::new(
            SamplingMessage::assistant_text(format!("sampled by {}", self.name)),
            format!("model-of-{}", self.name),
        ))
    }

    async fn create_elicitation(
        &self,
        _request: ElicitRequestParams,
        _context: RequestContext<RoleClient>,
    ) -> Result<ElicitResult, McpError> {
        self.heard.lock().unwrap().push("elicitation");
        Ok(ElicitResult::new(ElicitationAction::Accept)
            .with_content(json!({ "name": format!("elicited by {}", self.name) })))
    }

    async fn list_roots(
        &self,
        _context: RequestContext<RoleClient>,
    ) -> Result<ListRootsResult, McpError> {
        self.heard.lock().unwrap().push("roots");
        Ok(ListRootsResult::new(vec![
            Root::new(format!("file:///home/{}", self.name)).with_name(self.name),
        ]))
    }
}

/// The text of a tool result, and whether it is an error.
fn text_of(result: &CallToolResult) -> (String, bool) {
    let text = result
        .content
        .iter()
        .filter_map(|c| c.as_text().map(|t| t.text.clone()))
        .collect::<Vec<_>>()
        .join("\n");
    (text, result.is_error == Some(true))
}

async fn call(
    client: &RunningService<RoleClient, Answerer>,
    tool: &str,
    arguments: Value,
) -> (String, bool) {
    let result = tokio::time::timeout(
        WAIT,
        client
            .call_tool(CallToolRequestParams::new(tool.to_owned()).with_arguments(args(arguments))),
    )
    .await
    .unwrap_or_else(|_| panic!("`{tool}` did not answer within {WAIT:?}"))
    .unwrap();
    text_of(&result)
}

/// Waits until the gateway lists `tool` (server-everything registers its
/// sampling, elicitation and roots tools once it knows the gateway's
/// capabilities, and announces them with `list_changed`).
async fn wait_for_tool(gw: &Running, tool: &str) {
    for _ in 0..600 {
        if gw.gateway.tool_names().iter().any(|t| t == tool) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "the gateway never listed `{tool}`: {:?}",
        gw.gateway.tool_names()
    );
}

fn everything_stdio_yaml() -> String {
    format!(
        "backends:\n  - name: everything\n    stdio:\n      command: \"{}\"\n      args: [stdio]\n",
        everything().display()
    )
}

/// The audit lines of `path` once at least `count` are written (bounded).
async fn audit_lines(path: &std::path::Path, count: usize) -> Vec<Value> {
    for _ in 0..600 {
        let lines: Vec<Value> = std::fs::read_to_string(path)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        if lines.len() >= count {
            return lines;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("fewer than {count} audit lines in {}", path.display());
}

/// server-everything over streamable HTTP asks for sampling and elicitation
/// on the answer stream of the gateway's `tools/call`: the client that made
/// the call answers, its answers come back inside the tool results, and each
/// relayed request has its audit line (without contents).
#[tokio::test]
async fn sampling_and_elicitation_from_an_http_backend_reach_the_caller() {
    let (_child, url) = everything_http().await;
    let audit = std::env::temp_dir().join(format!("mcp-proxy-relay-{}.log", uuid::Uuid::new_v4()));
    let yaml = format!(
        "audit:\n  file: \"{}\"\nbackends:\n  - name: remote\n    http:\n      url: {url}\n",
        audit.display()
    );
    let gw = Running::start(&yaml).await;
    wait_for_tool(&gw, "remote_trigger-elicitation-request").await;
    let alice = Answerer::new("alice");
    let client = alice.connect(&gw).await;

    let (text, is_error) = call(
        &client,
        "remote_trigger-sampling-request",
        json!({"prompt": "secret prompt", "maxTokens": 5}),
    )
    .await;
    assert!(!is_error, "{text}");
    assert!(text.contains("sampled by alice"), "{text}");
    assert!(text.contains("model-of-alice"), "{text}");

    let (text, is_error) = call(&client, "remote_trigger-elicitation-request", json!({})).await;
    assert!(!is_error, "{text}");
    assert!(text.contains("elicited by alice"), "{text}");
    assert_eq!(
        (alice.heard("sampling"), alice.heard("elicitation")),
        (1, 1)
    );

    // Two calls and two relayed requests.
    let lines = audit_lines(&audit, 4).await;
    let relayed: Vec<&Value> = lines
        .iter()
        .filter(|l| l["method"] != "tools/call")
        .collect();
    assert_eq!(relayed.len(), 2, "{lines:?}");
    for (line, method, tool) in [
        (
            relayed[0],
            "sampling/createMessage",
            "trigger-sampling-request",
        ),
        (
            relayed[1],
            "elicitation/create",
            "trigger-elicitation-request",
        ),
    ] {
        assert_eq!(line["method"], method, "{line}");
        assert_eq!(line["backend"], "remote", "{line}");
        assert_eq!(line["tool"], tool, "{line}");
        assert_eq!(line["exposed"], format!("remote_{tool}"), "{line}");
        assert_eq!(line["outcome"], "ok", "{line}");
        assert!(line["session"].is_string(), "{line}");
        let call = lines
            .iter()
            .find(|l| l["method"] == "tools/call" && l["tool"] == tool)
            .unwrap();
        assert_eq!(
            line["request_id"], call["request_id"],
            "the call's id: {line}"
        );
    }
    for line in relayed {
        assert!(line["arguments"].is_null(), "{line}");
        let text = line.to_string();
        assert!(
            !text.contains("secret prompt")
                && !text.contains("sampled by")
                && !text.contains("alice"),
            "no contents in a relay's audit line: {text}"
        );
    }
    let _ = std::fs::remove_file(&audit);
    client.cancel().await.unwrap();
    gw.stop().await;
}

/// Over stdio nothing on the wire says which call a request belongs to; with
/// one client's call in flight the gateway relays it to that client.
#[tokio::test]
async fn sampling_and_elicitation_from_a_stdio_backend_reach_the_caller() {
    let gw = Running::start(&everything_stdio_yaml()).await;
    wait_for_tool(&gw, "everything_trigger-elicitation-request").await;
    let bob = Answerer::new("bob");
    let client = bob.connect(&gw).await;
    let (text, is_error) = call(
        &client,
        "everything_trigger-sampling-request",
        json!({"prompt": "hello"}),
    )
    .await;
    assert!(!is_error, "{text}");
    assert!(text.contains("sampled by bob"), "{text}");
    let (text, is_error) = call(&client, "everything_trigger-elicitation-request", json!({})).await;
    assert!(!is_error, "{text}");
    assert!(text.contains("elicited by bob"), "{text}");
    assert_eq!((bob.heard("sampling"), bob.heard("elicitation")), (1, 1));
    client.cancel().await.unwrap();
    gw.stop().await;
}

/// A client that did not declare sampling or elicitation is never sent
/// them: the backend gets an error naming the missing capability, which
/// server-everything reports in its tool result.
#[tokio::test]
async fn a_client_without_the_capability_gets_a_clear_error() {
    let (_child, url) = everything_http().await;
    let gw = Running::start(&format!(
        "backends:\n  - name: remote\n    http:\n      url: {url}\n"
    ))
    .await;
    wait_for_tool(&gw, "remote_trigger-elicitation-request").await;
    let plain = Answerer {
        capable: false,
        ..Answerer::new("plain")
    };
    let client = plain.connect(&gw).await;
    let (text, is_error) = call(
        &client,
        "remote_trigger-sampling-request",
        json!({"prompt": "hello"}),
    )
    .await;
    assert!(is_error, "{text}");
    assert!(
        text.contains("did not declare the `sampling` capability"),
        "{text}"
    );
    assert!(
        text.contains(&mcp_proxy::RELAY_FAILED.to_string()),
        "{text}"
    );
    let (text, is_error) = call(&client, "remote_trigger-elicitation-request", json!({})).await;
    assert!(is_error, "{text}");
    assert!(
        text.contains("did not declare the `elicitation` capability"),
        "{text}"
    );
    assert!(plain.heard.lock().unwrap().is_empty());
    client.cancel().await.unwrap();
    gw.stop().await;
}

/// Two clients call at the same time, and each one's sampling handler waits
/// for the other's before answering, so both calls are in flight when the
/// backend's requests arrive: each client gets exactly the request made for
/// its own call, and each result carries its own client's answer.
#[tokio::test]
async fn concurrent_clients_each_get_only_their_own_requests() {
    let (_child, url) = everything_http().await;
    let gw = Running::start(&format!(
        "backends:\n  - name: remote\n    http:\n      url: {url}\n"
    ))
    .await;
    wait_for_tool(&gw, "remote_trigger-sampling-request").await;
    let barrier = Arc::new(Barrier::new(2));
    let alice = Answerer {
        hook: Hook::Meet(Arc::clone(&barrier)),
        ..Answerer::new("alice")
    };
    let bob = Answerer {
        hook: Hook::Meet(barrier),
        ..Answerer::new("bob")
    };
    let (alice_client, bob_client) = tokio::join!(alice.connect(&gw), bob.connect(&gw));
    let sample = json!({"prompt": "who answers?"});
    let ((alice_text, alice_error), (bob_text, bob_error)) = tokio::join!(
        call(
            &alice_client,
            "remote_trigger-sampling-request",
            sample.clone()
        ),
        call(
            &bob_client,
            "remote_trigger-sampling-request",
            sample.clone()
        ),
    );
    assert!(!alice_error && !bob_error, "{alice_text}\n{bob_text}");
    assert!(alice_text.contains("sampled by alice"), "{alice_text}");
    assert!(!alice_text.contains("bob"), "{alice_text}");
    assert!(bob_text.contains("sampled by bob"), "{bob_text}");
    assert!(!bob_text.contains("alice"), "{bob_text}");
    assert_eq!((alice.heard("sampling"), bob.heard("sampling")), (1, 1));
    alice_client.cancel().await.unwrap();
    bob_client.cancel().await.unwrap();
    gw.stop().await;
}

/// stdio: while alice's call waits for her sampling answer, bob's call asks
/// for sampling too. The gateway cannot tell whose request that is, so it
/// refuses it (bob's tool result says so) rather than guess; alice's relay
/// is unaffected.
#[tokio::test]
async fn a_stdio_backend_with_two_clients_calls_in_flight_gets_an_error_not_a_guess() {
    let gw = Running::start(&everything_stdio_yaml()).await;
    wait_for_tool(&gw, "everything_trigger-sampling-request").await;
    let (reached_tx, mut reached) = mpsc::unbounded_channel();
    let release = Arc::new(Semaphore::new(0));
    let alice = Answerer {
        hook: Hook::Hold(reached_tx, Arc::clone(&release)),
        ..Answerer::new("alice")
    };
    let bob = Answerer::new("bob");
    let alice_client = Arc::new(alice.connect(&gw).await);
    let bob_client = bob.connect(&gw).await;
    let sample = json!({"prompt": "whose?"});
    let alice_call = tokio::spawn({
        let client = Arc::clone(&alice_client);
        let sample = sample.clone();
        async move { call(&client, "everything_trigger-sampling-request", sample).await }
    });
    tokio::time::timeout(WAIT, reached.recv())
        .await
        .expect("alice's sampling request never arrived");

    let (text, is_error) = call(&bob_client, "everything_trigger-sampling-request", sample).await;
    assert!(is_error, "{text}");
    assert!(text.contains("cannot tell which client"), "{text}");
    assert_eq!(bob.heard("sampling"), 0);

    release.add_permits(1);
    let (text, is_error) = alice_call.await.unwrap();
    assert!(!is_error, "{text}");
    assert!(text.contains("sampled by alice"), "{text}");
    assert_eq!(alice.heard("sampling"), 1);
    Arc::try_unwrap(alice_client)
        .ok()
        .unwrap()
        .cancel()
        .await
        .unwrap();
    bob_client.cancel().await.unwrap();
    gw.stop().await;
}

/// An rmcp streamable-HTTP server asking its client for roots: `roots` from
/// inside the call (rmcp sends it on the call's answer stream), `roots_later`
/// from a task of its own (rmcp sends it on the session's GET stream, tied
/// to no call). Both answer with the URIs they got, as JSON.
#[derive(Clone)]
struct RootsServer;

impl ServerHandler for RootsServer {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, McpError> {
        let schema = Arc::new(json!({"type": "object"}).as_object().cloned().unwrap());
        Ok(ListToolsResult::with_all_items(vec![
            Tool::new(
                "roots",
                "asks the caller for its roots",
                Arc::clone(&schema),
            ),
            Tool::new("roots_later", "asks for roots outside the call", schema),
        ]))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, McpError> {
        let peer = context.peer.clone();
        let roots = match request.name.as_ref() {
            "roots" => peer.list_roots().await,
            _ => tokio::spawn(async move { peer.list_roots().await })
                .await
                .unwrap(),
        };
        let result = match roots {
            Ok(roots) => {
                let uris: Vec<String> = roots.roots.into_iter().map(|r| r.uri).collect();
                CallToolResult::success(vec![ContentBlock::text(json!(uris).to_string())])
            }
            Err(e) => CallToolResult::error(vec![ContentBlock::text(e.to_string())]),
        };
        Ok(CallToolResponse::Complete(result))
    }
}

async fn roots_server() -> String {
    let service = StreamableHttpService::new(
        || Ok(RootsServer),
        Arc::new(LocalSessionManager::default()),
        StreamableHttpServerConfig::default(),
    );
    let router = axum::Router::new().route_service("/mcp", service);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    format!("http://{addr}/mcp")
}

/// `roots/list` made for a call reaches its caller; one made outside any
/// call is answered by the gateway with an empty list (roots are the
/// client machine's, and the backend connection is every client's), and no
/// client is asked.
#[tokio::test]
async fn roots_reach_the_caller_and_are_empty_outside_calls() {
    let url = roots_server().await;
    let gw = Running::start(&format!(
        "backends:\n  - name: rs\n    http:\n      url: {url}\n"
    ))
    .await;
    let carol = Answerer::new("carol");
    let client = carol.connect(&gw).await;
    let (text, is_error) = call(&client, "rs_roots", json!({})).await;
    assert!(!is_error, "{text}");
    assert_eq!(text, r#"["file:///home/carol"]"#);
    assert_eq!(carol.heard("roots"), 1);

    let (text, is_error) = call(&client, "rs_roots_later", json!({})).await;
    assert!(!is_error, "{text}");
    assert_eq!(text, "[]");
    assert_eq!(carol.heard("roots"), 1, "the client was not asked");
    client.cancel().await.unwrap();
    gw.stop().await;
}
