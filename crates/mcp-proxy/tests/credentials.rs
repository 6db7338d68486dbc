//! Outgoing credentials towards HTTP backends: the caller's token is never
//! passed through; `header` and `okta_client_credentials` send the gateway's own.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::sync::{Arc, Mutex};

use mcp_proxy::dev;
use rmcp::model::CallToolRequestParams;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::{StreamableHttpServerConfig, StreamableHttpService};
use support::{EXE, Running, args};

type Seen = Arc<Mutex<Vec<(Option<String>, Option<String>)>>>;

/// A real streamable-HTTP MCP server (the jira demo) that records the
/// `Authorization` and `X-Api-Key` headers of every request.
async fn recording_backend() -> (String, Seen) {
    let seen: Seen = Arc::default();
    let record = Arc::clone(&seen);
    let service = StreamableHttpService::new(
        || Ok(mcp_proxy::demo::server("jira").unwrap()),
        Arc::new(LocalSessionManager::default()),
        StreamableHttpServerConfig::default(),
    );
    let app = axum::Router::new()
        .route_service("/mcp", service)
        .layer(axum::middleware::from_fn(
            move |request: axum::extract::Request, next: axum::middleware::Next| {
                let header = |name: &str| {
                    request
                        .headers()
                        .get(name)
                        .map(|v| v.to_str().unwrap().to_owned())
                };
                record
                    .lock()
                    .unwrap()
                    .push((header("authorization"), header("x-api-key")));
                next.run(request)
            },
        ));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}/mcp"), seen)
}

async fn call_through(sim: &okta_sim::OktaSim, credentials: &str, url: &str) -> String {
    let gw = gateway_with(sim, "jira", url, credentials).await;
    let caller_token = dev::fetch_token(sim.base_url(), "alice", "mcp:read")
        .await
        .unwrap();
    let client = gw.client_with_token(&caller_token).await;
    let result = client
        .call_tool(
            CallToolRequestParams::new("jira_get_issue")
                .with_arguments(args(serde_json::json!({"key": "OPS-1"}))),
        )
        .await
        .unwrap();
    assert_eq!(result.structured_content.unwrap()["key"], "OPS-1");
    client.cancel().await.unwrap();
    gw.stop().await;
    caller_token
}

#[tokio::test]
async fn caller_token_is_never_passed_through_by_default() {
    let sim = dev::start_idp("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let (url, seen) = recording_backend().await;
    let caller = call_through(&sim, "", &url).await;
    let seen = seen.lock().unwrap().clone();
    assert!(!seen.is_empty());
    for (authorization, _) in &seen {
        assert!(authorization.is_none(), "backend got {authorization:?}");
        assert!(!format!("{authorization:?}").contains(&caller));
    }
    sim.shutdown().await;
}

#[tokio::test]
async fn static_header_credentials_reach_the_backend() {
    let sim = dev::start_idp("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let (url, seen) = recording_backend().await;
    let creds = "    credentials:\n      type: header\n      name: X-Api-Key\n      value: k-123\n";
    call_through(&sim, creds, &url).await;
    let seen = seen.lock().unwrap().clone();
    assert!(
        seen.iter()
            .all(|(auth, key)| auth.is_none() && key.as_deref() == Some("k-123")),
        "{seen:?}"
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn okta_client_credentials_send_the_gateways_own_token() {
    let sim = dev::start_idp("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let (url, seen) = recording_backend().await;
    let creds = format!(
        "    credentials:\n      type: okta_client_credentials\n      token_endpoint: {}\n      client_id: dev-agent\n      client_secret: dev-secret\n      scopes: [mcp:read]\n",
        sim.token_endpoint("default")
    );
    let caller = call_through(&sim, &creds, &url).await;
    let seen = seen.lock().unwrap().clone();
    assert!(!seen.is_empty());
    let first = seen[0].0.clone().unwrap();
    assert!(first.starts_with("Bearer eyJ"), "{first}");
    assert!(!first.contains(&caller), "not the caller's token");
    assert!(
        seen.iter()
            .all(|(auth, _)| auth.as_deref() == Some(first.as_str())),
        "one cached token"
    );
    assert_eq!(
        sim.request_count("/oauth2/default/v1/token"),
        2,
        "caller's token + one gateway token"
    );
    sim.shutdown().await;
}

#[test]
fn credentials_on_a_stdio_backend_are_a_config_error() {
    let yaml =
        "backends:\n  - name: a\n    demo: github\n    credentials: {type: header, value: x}\n";
    let err = mcp_proxy::config::GatewayConfig::from_yaml_str(yaml, "c.yaml").unwrap_err();
    assert!(err.to_string().contains("backends[0].credentials"), "{err}");
    let yaml = "backends:\n  - name: a\n    http: {url: 'http://127.0.0.1:1/mcp'}\n    credentials: {type: header, value: x, extra: 1}\n";
    let err = mcp_proxy::config::GatewayConfig::from_yaml_str(yaml, "c.yaml").unwrap_err();
    assert!(err.to_string().contains("unknown field `extra`"), "{err}");
    let yaml = "backends:\n  - name: a\n    http: {url: 'http://127.0.0.1:1/mcp'}\n    credentials: {type: pass_through}\n";
    let err = mcp_proxy::config::GatewayConfig::from_yaml_str(yaml, "c.yaml").unwrap_err();
    assert!(
        err.to_string().contains("unknown variant `pass_through`"),
        "{err}"
    );
    // Passthrough is opt-in per backend, and only for http backends.
    let yaml = "backends:\n  - name: a\n    http: {url: 'http://127.0.0.1:1/mcp'}\n    credentials: {type: passthrough}\n";
    mcp_proxy::config::GatewayConfig::from_yaml_str(yaml, "c.yaml").unwrap();
    let yaml = "backends:\n  - name: a\n    demo: jira\n    credentials: {type: passthrough}\n";
    let err = mcp_proxy::config::GatewayConfig::from_yaml_str(yaml, "c.yaml").unwrap_err();
    assert!(err.to_string().contains("backends[0].credentials"), "{err}");
    // id_jag: the ID token never travels in Authorization; token endpoints are https or loopback.
    let id_jag = |extra: &str| {
        format!(
            "backends:\n  - name: a\n    http: {{url: 'http://127.0.0.1:1/mcp'}}\n    credentials:\n      type: id_jag\n      idp_token_endpoint: https://idp.example/oauth2/v1/token\n      resource_token_endpoint: https://idp.example/oauth2/crm/v1/token\n      audience: https://idp.example/oauth2/crm\n      client_id: gw\n      client_secret: s\n{extra}"
        )
    };
    mcp_proxy::config::GatewayConfig::from_yaml_str(&id_jag(""), "c.yaml").unwrap();
    let err = mcp_proxy::config::GatewayConfig::from_yaml_str(
        &id_jag("      id_token_header: Authorization\n"),
        "c.yaml",
    )
    .unwrap_err();
    assert!(
        err.to_string()
            .contains("backends[0].credentials.id_token_header"),
        "{err}"
    );
    let err = mcp_proxy::config::GatewayConfig::from_yaml_str(
        &id_jag("").replace(
            "https://idp.example/oauth2/v1/token",
            "http://idp.example/t",
        ),
        "c.yaml",
    )
    .unwrap_err();
    assert!(
        err.to_string()
            .contains("backends[0].credentials.idp_token_endpoint"),
        "{err}"
    );
}

/// A gateway (dev identity provider `sim`, policy allow-all) in front of one
/// HTTP backend `name` at `url` with `credentials`.
async fn gateway_with(
    sim: &okta_sim::OktaSim,
    name: &str,
    url: &str,
    credentials: &str,
) -> Running {
    let yaml = format!(
        "policy:\n  default: allow\nbackends:\n  - name: {name}\n    http:\n      url: {url}\n{credentials}"
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let config = mcp_proxy::config::GatewayConfig::from_yaml_str(&yaml, "c.yaml").unwrap();
    let config = dev::gateway_config(sim, addr, EXE.as_ref(), Some(config)).unwrap();
    Running::start_on(listener, config).await
}

/// The error of a `crm_get_issue` call that must fail.
async fn get_issue_error(client: &rmcp::service::RunningService<rmcp::RoleClient, ()>) -> String {
    client
        .call_tool(
            CallToolRequestParams::new("crm_get_issue")
                .with_arguments(args(serde_json::json!({"key": "OPS-1"}))),
        )
        .await
        .unwrap_err()
        .to_string()
}

async fn get_issue(client: &rmcp::service::RunningService<rmcp::RoleClient, ()>) -> String {
    let result = client
        .call_tool(
            CallToolRequestParams::new("crm_get_issue")
                .with_arguments(args(serde_json::json!({"key": "OPS-1"}))),
        )
        .await
        .unwrap();
    result.structured_content.unwrap()["key"].to_string()
}

#[tokio::test]
async fn passthrough_sends_each_caller_their_own_token_in_their_own_session() {
    let sim = dev::start_idp("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let (url, seen) = recording_backend().await;
    let gw = gateway_with(&sim, "crm", &url, "    credentials: {type: passthrough}\n").await;
    // Nobody has called yet: no session, nothing sent, but the gateway is ready.
    assert_eq!(gw.gateway.backend_status()[0].state, "on_demand");
    assert!(seen.lock().unwrap().is_empty());
    let alice = dev::fetch_token(sim.base_url(), "alice", "mcp:read")
        .await
        .unwrap();
    let bob = dev::fetch_token(sim.base_url(), "bob", "mcp:read")
        .await
        .unwrap();

    // alice's first list opens her session and shows the backend's tools.
    let a = gw.client_with_token(&alice).await;
    let tools = a.list_all_tools().await.unwrap();
    assert!(tools.iter().any(|t| t.name == "crm_get_issue"), "{tools:?}");
    assert_eq!(get_issue(&a).await, "\"OPS-1\"");
    let b = gw.client_with_token(&bob).await;
    assert_eq!(get_issue(&b).await, "\"OPS-1\"");
    assert_eq!(get_issue(&a).await, "\"OPS-1\"");
    assert_eq!(gw.gateway.backend_status()[0].caller_sessions, 2);

    let seen = seen.lock().unwrap().clone();
    let with = |token: &str| {
        seen.iter()
            .filter(|(auth, _)| auth.as_deref() == Some(format!("Bearer {token}").as_str()))
            .count()
    };
    // Every request carried a caller's own token, never anything else.
    assert!(with(&alice) >= 3, "{seen:?}");
    assert!(with(&bob) >= 2, "{seen:?}");
    assert_eq!(with(&alice) + with(&bob), seen.len(), "{seen:?}");
    a.cancel().await.unwrap();
    b.cancel().await.unwrap();
    gw.stop().await;
}

/// The dev identity provider plus what cross-app access needs: the gateway's
/// Okta app `gateway-app` (password for ID tokens, token exchange, JWT
/// bearer) and the backend's authorization server `crm` (audience
/// `api://crm`), connected to the app (Okta: managed connection).
async fn cross_app_sim() -> okta_sim::OktaSim {
    use okta_sim::{AuthServer, GrantType, GroupsClaim, SimClient, SimUser};
    let mut builder = okta_sim::OktaSim::builder();
    for (login, group) in dev::USERS {
        builder = builder.user(SimUser::new(*login, dev::PASSWORD).groups([*group]));
    }
    let sim = builder
        .client(
            SimClient::secret(dev::CLIENT_ID, dev::CLIENT_SECRET)
                .grants([GrantType::Password])
                .scopes(["openid", "mcp:read", "mcp:write"]),
        )
        .client(
            SimClient::secret("gateway-app", "gateway-secret")
                .grants([
                    GrantType::Password,
                    GrantType::TokenExchange,
                    GrantType::JwtBearer,
                ])
                .scopes(["openid", "crm:read"]),
        )
        .auth_server(
            AuthServer::new(dev::AUTH_SERVER)
                .audience(dev::AUDIENCE)
                .scopes(dev::SCOPES.iter().copied())
                .groups_claim(GroupsClaim::all()),
        )
        .auth_server(
            AuthServer::new("crm")
                .audience("api://crm")
                .scopes(["crm:read"]),
        )
        .start()
        .await
        .unwrap();
    sim.add_managed_connection("gateway-app", "crm");
    sim
}

/// An ID token for `user` from the org server, issued to `gateway-app`.
async fn id_token(sim: &okta_sim::OktaSim, user: &str) -> String {
    let org = okta_auth::TokenEndpointClient::new(
        sim.org_token_endpoint(),
        okta_auth::ClientAuth::client_secret_basic("gateway-app", "gateway-secret"),
    )
    .unwrap();
    let answer = org
        .request(vec![
            ("grant_type".into(), "password".into()),
            ("username".into(), user.into()),
            ("password".into(), dev::PASSWORD.into()),
            ("scope".into(), "openid".into()),
        ])
        .await
        .unwrap();
    answer.id_token().unwrap().to_owned()
}

fn client_with_headers(
    gw: &Running,
    token: &str,
    headers: &[(&'static str, &str)],
) -> impl std::future::Future<Output = rmcp::service::RunningService<rmcp::RoleClient, ()>> {
    use rmcp::ServiceExt;
    use rmcp::transport::StreamableHttpClientTransport;
    use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
    let headers = headers
        .iter()
        .map(|(name, value)| {
            (
                http::HeaderName::from_static(name),
                http::HeaderValue::from_str(value).unwrap(),
            )
        })
        .collect();
    let config = StreamableHttpClientTransportConfig::with_uri(gw.mcp.as_str())
        .auth_header(token)
        .custom_headers(headers);
    async move { ().serve(StreamableHttpClientTransport::from_config(config)).await.unwrap() }
}

fn jwt_claims(jwt: &str) -> serde_json::Value {
    use base64::Engine;
    let payload = jwt.split('.').nth(1).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

#[tokio::test]
async fn id_jag_exchanges_the_callers_id_token_for_a_backend_token_per_caller() {
    let sim = cross_app_sim().await;
    let (url, seen) = protected_backend(&sim, "crm", "api://crm", "crm:read").await;
    let credentials = format!(
        "    credentials:\n      type: id_jag\n      idp_token_endpoint: {}\n      resource_token_endpoint: {}\n      audience: {}\n      client_id: gateway-app\n      client_secret: gateway-secret\n      scopes: [crm:read]\n",
        sim.org_token_endpoint(),
        sim.token_endpoint("crm"),
        sim.issuer("crm"),
    );
    let gw = gateway_with(&sim, "crm", &url, &credentials).await;
    let alice = dev::fetch_token(sim.base_url(), "alice", "mcp:read")
        .await
        .unwrap();
    let bob = dev::fetch_token(sim.base_url(), "bob", "mcp:read")
        .await
        .unwrap();
    let alice_id = id_token(&sim, "alice").await;
    let bob_id = id_token(&sim, "bob").await;

    // Without an ID token the call fails closed, saying what to send.
    let plain = gw.client_with_token(&alice).await;
    assert!(plain.list_all_tools().await.unwrap().is_empty());
    let err = get_issue_error(&plain).await;
    assert!(err.contains("backend `crm`"), "{err}");
    plain.cancel().await.unwrap();
    assert!(
        seen.lock().unwrap().is_empty(),
        "nothing reached the backend"
    );

    // Someone else's ID token with alice's access token: refused.
    let mixed = client_with_headers(&gw, &alice, &[("x-okta-id-token", &bob_id)]).await;
    assert!(mixed.list_all_tools().await.unwrap().is_empty());
    mixed.cancel().await.unwrap();
    assert!(
        seen.lock().unwrap().is_empty(),
        "nothing reached the backend"
    );

    // alice with her ID token: the backend gets a crm token for alice.
    let a = client_with_headers(&gw, &alice, &[("x-okta-id-token", &alice_id)]).await;
    let tools = a.list_all_tools().await.unwrap();
    assert!(tools.iter().any(|t| t.name == "crm_get_issue"), "{tools:?}");
    assert_eq!(get_issue(&a).await, "\"OPS-1\"");
    // bob now sees the tool (the catalog is published) but calls as himself.
    let b = client_with_headers(&gw, &bob, &[("x-okta-id-token", &bob_id)]).await;
    assert_eq!(get_issue(&b).await, "\"OPS-1\"");
    // Without the ID token even alice (whose session is open) is refused, clearly.
    let plain = gw.client_with_token(&alice).await;
    let err = get_issue_error(&plain).await;
    assert!(
        err.contains("ID token in the `x-okta-id-token` header"),
        "{err}"
    );
    plain.cancel().await.unwrap();
    assert_eq!(gw.gateway.backend_status()[0].caller_sessions, 2);

    let seen = seen.lock().unwrap().clone();
    let subjects: std::collections::BTreeSet<String> = seen
        .iter()
        .map(|(auth, _)| {
            let token = auth.as_deref().unwrap().strip_prefix("Bearer ").unwrap();
            assert_ne!(token, alice, "the caller's own token must not pass through");
            assert_ne!(token, bob, "the caller's own token must not pass through");
            let claims = jwt_claims(token);
            assert_eq!(claims["iss"], sim.issuer("crm"));
            assert_eq!(claims["aud"], "api://crm");
            claims["sub"].as_str().unwrap().to_owned()
        })
        .collect();
    assert_eq!(
        subjects,
        ["alice", "bob"].iter().map(|s| (*s).to_owned()).collect()
    );
    a.cancel().await.unwrap();
    b.cancel().await.unwrap();
    gw.stop().await;
}

/// A real streamable-HTTP MCP server (the jira demo) protected as the MCP
/// authorization spec wants: okta-auth's `AuthLayer` (tokens of the sim's
/// authorization server `server` with `audience`, e.g. `default` and
/// `api://default` as on Okta, `scope` required) and RFC 9728 metadata
/// naming that server. Records the `Authorization` headers.
async fn protected_backend(
    sim: &okta_sim::OktaSim,
    server: &str,
    audience: &str,
    scope: &str,
) -> (String, Seen) {
    use okta_auth::{AuthLayer, JwksCache, ProtectedResourceMetadata, Verifier, require_scopes};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/mcp", listener.local_addr().unwrap());
    let jwks = JwksCache::builder()
        .jwks_uri(sim.jwks_uri(server))
        .issuer(sim.issuer(server))
        .build()
        .await
        .unwrap();
    let verifier = Verifier::builder(jwks)
        .issuer(sim.issuer(server))
        .audience(audience)
        .build()
        .unwrap();
    let metadata = ProtectedResourceMetadata::new(&url)
        .authorization_server(sim.issuer(server))
        .scopes([scope]);
    let auth = AuthLayer::new(verifier)
        .resource_metadata_from(&metadata)
        .unwrap();
    let service = StreamableHttpService::new(
        || Ok(mcp_proxy::demo::server("jira").unwrap()),
        Arc::new(LocalSessionManager::default()),
        StreamableHttpServerConfig::default(),
    );
    let seen: Seen = Arc::default();
    let record = Arc::clone(&seen);
    let app = axum::Router::new()
        .route_service("/mcp", service)
        .layer(require_scopes([scope]))
        .layer(auth)
        .layer(axum::middleware::from_fn(
            move |request: axum::extract::Request, next: axum::middleware::Next| {
                let authorization = request
                    .headers()
                    .get("authorization")
                    .map(|v| v.to_str().unwrap().to_owned());
                record.lock().unwrap().push((authorization, None));
                next.run(request)
            },
        ))
        .merge(metadata.router().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, seen)
}

/// `oauth_client_credentials`: the gateway is an MCP client that authorizes
/// itself (okta-auth `McpAuthClient` under rmcp): the backend's 401 leads it
/// to the RFC 9728 metadata, the sim's discovery and a client-credentials
/// token for the backend URL; every later request carries that one token.
#[tokio::test]
async fn oauth_client_credentials_discover_the_backends_authorization_server() {
    let sim = dev::start_idp("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let (url, seen) = protected_backend(&sim, "default", dev::AUDIENCE, "mcp:read").await;
    let creds = format!(
        "    credentials:\n      type: oauth_client_credentials\n      client_id: dev-agent\n      client_secret: dev-secret\n      authorization_server: {}\n",
        sim.issuer("default")
    );
    let caller = call_through(&sim, &creds, &url).await;
    let seen = seen.lock().unwrap().clone();
    assert!(
        seen[0].0.is_none(),
        "first contact is unauthorized: {seen:?}"
    );
    let tokens: Vec<&String> = seen.iter().filter_map(|(a, _)| a.as_ref()).collect();
    assert!(tokens.len() >= 2, "{seen:?}");
    assert!(tokens.iter().all(|t| *t == tokens[0]), "one cached token");
    assert!(tokens[0].starts_with("Bearer eyJ") && !tokens[0].contains(&caller));
    // The backend verified issuer, audience and scope before answering.
    assert_eq!(
        sim.request_count("/oauth2/default/v1/token"),
        2,
        "caller's token + one gateway token"
    );
    assert_eq!(
        sim.request_count("/.well-known/oauth-protected-resource/mcp"),
        0,
        "the metadata is the backend's, not the sim's"
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn oauth_client_credentials_pinned_to_another_server_fail_clearly() {
    let sim = dev::start_idp("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let (url, _) = protected_backend(&sim, "default", dev::AUDIENCE, "mcp:read").await;
    let yaml = format!(
        "policy:\n  default: allow\nbackends:\n  - name: jira\n    backoff_initial: 50ms\n    http:\n      url: {url}\n    credentials:\n      type: oauth_client_credentials\n      client_id: dev-agent\n      client_secret: dev-secret\n      authorization_server: https://elsewhere.example.com\n"
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let config = mcp_proxy::config::GatewayConfig::from_yaml_str(&yaml, "c.yaml").unwrap();
    let config = dev::gateway_config(&sim, addr, EXE.as_ref(), Some(config)).unwrap();
    let gw = Running::start_on(listener, config).await;
    gw.wait_for("a failed attempt", |s| {
        s.iter().any(|b| {
            b.reason
                .as_deref()
                .is_some_and(|e| e.contains("elsewhere.example.com"))
        })
    })
    .await;
    assert_eq!(sim.request_count("/oauth2/default/v1/token"), 0);
    gw.stop().await;
    sim.shutdown().await;
}
