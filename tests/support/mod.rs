//! The world of the spec checklist: okta-sim as the dev authorization server,
//! a recording streamable-HTTP MCP backend (rmcp, in process), and the real
//! gateway (`mcp_proxy::Gateway`) in front of it, all on 127.0.0.1.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use mcp_proxy::config::GatewayConfig;
use mcp_proxy::{Gateway, dev};
use okta_sim::{AccessTokenSpec, OktaSim};
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE};
use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::model::{ServerCapabilities, ServerConfig};
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use rmcp::{ServerHandler, tool, tool_handler, tool_router};
use serde_json::Value;

/// The MCP protocol revision the checklist follows.
pub(crate) const PROTOCOL_VERSION: &str = "2025-11-25";
/// Where the gateway serves MCP (its default path).
pub(crate) const MCP_PATH: &str = "/mcp";
/// RFC 9728 §3: the well-known suffix inserted between host and path.
pub(crate) const WELL_KNOWN_PRM: &str = "/.well-known/oauth-protected-resource";
/// Exposed names of the backend's tools (`<backend>_<tool>`).
pub(crate) const GET_NOTE: &str = "notes_get_note";
pub(crate) const CREATE_NOTE: &str = "notes_create_note";

/// The gateway's policy: Okta scopes gate (read / write), groups decide
/// (`scope_mode: require`, as the shipped dev policy): alice (Senior
/// Engineers) may create notes, bob (Junior Engineers) may only read them.
const POLICY: &str = r#"  default: deny
  scope_mode: require
  scopes:
    mcp:read: ["notes:get_*"]
    mcp:write: ["notes:create_*"]
  groups:
    Senior Engineers:
      allow: ["notes:*"]
    Junior Engineers:
      allow: ["notes:get_*"]
"#;

/// One HTTP request as the backend received it.
#[derive(Debug, Clone)]
pub(crate) struct Seen {
    pub(crate) method: String,
    pub(crate) uri: String,
    pub(crate) headers: Vec<(String, String)>,
}

impl Seen {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// The backend MCP server: two tools, each call counted.
#[derive(Clone)]
struct Notes {
    reads: Arc<AtomicUsize>,
    creates: Arc<AtomicUsize>,
    tool_router: ToolRouter<Self>,
}

#[tool_router]
impl Notes {
    #[tool(description = "Read the note")]
    fn get_note(&self) -> String {
        self.reads.fetch_add(1, Ordering::SeqCst);
        "note 1: make authorization boring".into()
    }

    #[tool(description = "Create a note")]
    fn create_note(&self) -> String {
        self.creates.fetch_add(1, Ordering::SeqCst);
        "created note 2".into()
    }
}

#[tool_handler(router = self.tool_router)]
impl ServerHandler for Notes {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
    }
}

/// The recording backend: its URL, what it received, its tool-call counters.
pub(crate) struct Backend {
    pub(crate) url: String,
    pub(crate) seen: Arc<Mutex<Vec<Seen>>>,
    pub(crate) reads: Arc<AtomicUsize>,
    pub(crate) creates: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl Backend {
    async fn start() -> Backend {
        let seen: Arc<Mutex<Vec<Seen>>> = Arc::default();
        let reads = Arc::new(AtomicUsize::new(0));
        let creates = Arc::new(AtomicUsize::new(0));
        let (r, c) = (Arc::clone(&reads), Arc::clone(&creates));
        let service = StreamableHttpService::new(
            move || {
                Ok(Notes {
                    reads: Arc::clone(&r),
                    creates: Arc::clone(&c),
                    tool_router: Notes::tool_router(),
                })
            },
            Arc::new(LocalSessionManager::default()),
            StreamableHttpServerConfig::default(),
        );
        let record = Arc::clone(&seen);
        let app =
            axum::Router::new()
                .route_service(MCP_PATH, service)
                .layer(axum::middleware::from_fn(
                    move |request: axum::extract::Request, next: axum::middleware::Next| {
                        let headers = request
                            .headers()
                            .iter()
                            .map(|(name, value)| {
                                (
                                    name.as_str().to_owned(),
                                    String::from_utf8_lossy(value.as_bytes()).into_owned(),
                                )
                            })
                            .collect();
                        record.lock().unwrap().push(Seen {
                            method: request.method().to_string(),
                            uri: request.uri().to_string(),
                            headers,
                        });
                        next.run(request)
                    },
                ));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Backend {
            url: format!("http://{addr}{MCP_PATH}"),
            seen,
            reads,
            creates,
            task,
        }
    }

    pub(crate) fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

/// Dev IdP + recording backend + gateway, torn down by [`World::stop`].
pub(crate) struct World {
    pub(crate) sim: OktaSim,
    pub(crate) backend: Backend,
    /// `http://127.0.0.1:<port>`.
    pub(crate) base: String,
    /// The URL clients connect to: `http://127.0.0.1:<port>/mcp`.
    pub(crate) mcp: String,
    pub(crate) http: reqwest::Client,
    task: tokio::task::JoinHandle<()>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl World {
    pub(crate) async fn start() -> World {
        let sim = dev::start_idp("127.0.0.1:0".parse().unwrap())
            .await
            .unwrap();
        let backend = Backend::start().await;
        let yaml = format!(
            "policy:\n{POLICY}backends:\n  - name: notes\n    backoff_initial: 50ms\n    http:\n      url: {}\n",
            backend.url
        );
        let file = GatewayConfig::from_yaml_str(&yaml, "spec_authorization.yaml").unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        // The demo executable is only used when no config file is given.
        let config =
            dev::gateway_config(&sim, addr, Path::new("no-demo-servers"), Some(file)).unwrap();
        let gateway = Gateway::start(config).await.unwrap();
        let tools = gateway.tool_names();
        assert!(
            tools.iter().any(|t| t == GET_NOTE) && tools.iter().any(|t| t == CREATE_NOTE),
            "backend tools missing from the catalog: {tools:?}"
        );
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            gateway
                .serve(listener, async move {
                    let _ = stopped.await;
                })
                .await
                .unwrap();
        });
        World {
            sim,
            backend,
            base: format!("http://{addr}"),
            mcp: format!("http://{addr}{MCP_PATH}"),
            http: reqwest::Client::new(),
            task,
            stop: Some(stop),
        }
    }

    pub(crate) async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let _ = tokio::time::timeout(Duration::from_secs(10), &mut self.task).await;
        self.backend.task.abort();
        self.sim.shutdown().await;
    }

    /// Where the gateway's RFC 9728 metadata is: the well-known suffix inserted
    /// between host and the path of the resource `/mcp` (RFC 9728 §3.1).
    pub(crate) fn metadata_url(&self) -> String {
        format!("{}{WELL_KNOWN_PRM}{MCP_PATH}", self.base)
    }

    /// The issuer of the dev authorization server (okta-sim's custom server).
    pub(crate) fn issuer(&self) -> String {
        self.sim.issuer(dev::AUTH_SERVER)
    }

    /// A password-grant access token of a dev user with `scopes`.
    pub(crate) async fn token(&self, user: &str, scopes: &str) -> String {
        dev::fetch_token(self.sim.base_url(), user, scopes)
            .await
            .unwrap()
    }

    /// A token minted by the dev authorization server as `spec` says.
    pub(crate) fn mint(&self, spec: AccessTokenSpec) -> String {
        self.sim.mint_access_token(dev::AUTH_SERVER, spec).unwrap()
    }

    /// A POST to `url` with the MCP streamable-HTTP headers and no credentials.
    pub(crate) fn post_to(&self, url: &str, body: &str) -> reqwest::RequestBuilder {
        self.http
            .post(url)
            .header(CONTENT_TYPE, "application/json")
            .header(ACCEPT, "application/json, text/event-stream")
            .header("mcp-protocol-version", PROTOCOL_VERSION)
            .body(body.to_owned())
    }

    /// A POST to the MCP endpoint with no credentials.
    pub(crate) fn post(&self, body: &str) -> reqwest::RequestBuilder {
        self.post_to(&self.mcp, body)
    }

    /// An `initialize` request with the given `Authorization` header value(s).
    pub(crate) async fn initialize_with(&self, authorization: &[&str]) -> reqwest::Response {
        let mut request = self.post(&initialize_body());
        for value in authorization {
            request = request.header(AUTHORIZATION, *value);
        }
        request.send().await.unwrap()
    }

    /// Opens an MCP session with `token` (initialize, then initialized);
    /// returns its `Mcp-Session-Id`.
    pub(crate) async fn open_session(&self, token: &str) -> String {
        let init = self
            .post(&initialize_body())
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert_eq!(init.status(), 200, "initialize: {init:?}");
        let session = init.headers()["mcp-session-id"]
            .to_str()
            .unwrap()
            .to_owned();
        let answer = json_rpc(init).await;
        assert!(answer["result"]["serverInfo"].is_object(), "{answer}");
        let initialized = self
            .post(r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#)
            .bearer_auth(token)
            .header("mcp-session-id", &session)
            .send()
            .await
            .unwrap();
        assert_eq!(initialized.status(), 202, "initialized: {initialized:?}");
        session
    }

    /// A JSON-RPC request in `session`, with `token` when given.
    pub(crate) async fn rpc(
        &self,
        token: Option<&str>,
        session: &str,
        body: &str,
    ) -> reqwest::Response {
        let mut request = self.post(body).header("mcp-session-id", session);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send().await.unwrap()
    }

    /// The exposed tool names `token`'s caller sees in `session`.
    pub(crate) async fn list_tools(&self, token: &str, session: &str) -> Vec<String> {
        let response = self.rpc(Some(token), session, &tools_list_body(2)).await;
        assert_eq!(response.status(), 200, "tools/list: {response:?}");
        let answer = json_rpc(response).await;
        let mut names: Vec<String> = answer["result"]["tools"]
            .as_array()
            .unwrap_or_else(|| panic!("no tools in {answer}"))
            .iter()
            .map(|t| t["name"].as_str().unwrap().to_owned())
            .collect();
        names.sort();
        names
    }
}

/// The body of an `initialize` request.
pub(crate) fn initialize_body() -> String {
    format!(
        r#"{{"jsonrpc":"2.0","id":1,"method":"initialize","params":{{"protocolVersion":"{PROTOCOL_VERSION}","capabilities":{{}},"clientInfo":{{"name":"spec-checklist","version":"1"}}}}}}"#
    )
}

/// The body of a `tools/list` request.
pub(crate) fn tools_list_body(id: u64) -> String {
    format!(r#"{{"jsonrpc":"2.0","id":{id},"method":"tools/list"}}"#)
}

/// The body of a `tools/call` of `tool` without arguments.
pub(crate) fn call_body(id: u64, tool: &str) -> String {
    format!(
        r#"{{"jsonrpc":"2.0","id":{id},"method":"tools/call","params":{{"name":"{tool}","arguments":{{}}}}}}"#
    )
}

/// The JSON-RPC message answering a POST: the JSON body, or the last
/// JSON-RPC message of an SSE body.
pub(crate) async fn json_rpc(response: reqwest::Response) -> Value {
    let sse = response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/event-stream"));
    let text = response.text().await.unwrap();
    if !sse {
        return serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
    }
    text.lines()
        .filter_map(|line| line.strip_prefix("data:"))
        .filter_map(|data| serde_json::from_str::<Value>(data.trim()).ok())
        .rfind(|message| message.get("jsonrpc").is_some())
        .unwrap_or_else(|| panic!("no JSON-RPC message in {text:?}"))
}

/// The single `WWW-Authenticate` value of a response.
pub(crate) fn www_authenticate(response: &reqwest::Response) -> String {
    let values: Vec<_> = response
        .headers()
        .get_all(reqwest::header::WWW_AUTHENTICATE)
        .iter()
        .collect();
    assert_eq!(
        values.len(),
        1,
        "expected one WWW-Authenticate on {response:?}"
    );
    values[0].to_str().unwrap().to_owned()
}

/// One parsed challenge (RFC 9110 §11.3): its scheme and auth-params in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Challenge {
    pub(crate) scheme: String,
    pub(crate) params: Vec<(String, String)>,
}

impl Challenge {
    /// The value of auth-param `name` (names are case-insensitive).
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

fn is_tchar(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c)
}

/// Parses one challenge `scheme 1*SP auth-param *( OWS "," OWS auth-param )`
/// (RFC 9110 §11.3, §11.2); panics on anything else.
pub(crate) fn parse_challenge(value: &str) -> Challenge {
    let (scheme, rest) = value
        .split_once(' ')
        .unwrap_or_else(|| panic!("challenge without auth-params: {value:?}"));
    assert!(
        !scheme.is_empty() && scheme.chars().all(is_tchar),
        "bad auth-scheme in {value:?}"
    );
    let mut params = Vec::new();
    let mut chars = rest.chars().peekable();
    loop {
        while chars.peek() == Some(&' ') {
            chars.next();
        }
        let mut name = String::new();
        while let Some(&c) = chars.peek() {
            if !is_tchar(c) {
                break;
            }
            name.push(c);
            chars.next();
        }
        assert!(!name.is_empty(), "expected an auth-param name in {value:?}");
        assert_eq!(
            chars.next(),
            Some('='),
            "expected `=` after {name} in {value:?}"
        );
        let mut param = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            loop {
                match chars.next() {
                    Some('"') => break,
                    Some('\\') => param.push(chars.next().expect("dangling escape")),
                    Some(c) => param.push(c),
                    None => panic!("unterminated quoted-string in {value:?}"),
                }
            }
        } else {
            while let Some(&c) = chars.peek() {
                if !is_tchar(c) {
                    break;
                }
                param.push(c);
                chars.next();
            }
        }
        params.push((name, param));
        while chars.peek() == Some(&' ') {
            chars.next();
        }
        match chars.next() {
            None => break,
            Some(',') => {}
            Some(c) => panic!("unexpected {c:?} in {value:?}"),
        }
    }
    Challenge {
        scheme: scheme.to_owned(),
        params,
    }
}
