//! Shared fixtures of the `mcp_client_*` tests: okta-sim as the authorization server, and
//! tiny protected MCP-like resource servers built from okta-auth's own server side
//! (`AuthLayer`, `ProtectedResourceMetadata`, `check_scopes`) on 127.0.0.1.
#![allow(dead_code, unreachable_pub)]

use std::time::Duration;

use axum::Router;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use http::StatusCode;
use okta_auth::mcp_client::McpAuthClient;
use okta_auth::{
    AuthLayer, BearerChallenge, Error, JwksCache, OktaClaims, ProtectedResourceMetadata, Verified,
    Verifier, check_scopes,
};
use okta_sim::{AuthServer, GrantType, OktaSim, SimClient};

pub const TOKEN_PATH: &str = "/oauth2/default/v1/token";
pub const EC_PKCS8: &str = include_str!("../fixtures/ec_pkcs8.pem");
pub const RSA_PKCS8: &str = include_str!("../fixtures/rsa_pkcs8.pem");

/// okta-sim with a custom AS `default` and clients for every method.
pub async fn sim() -> OktaSim {
    let ec = okta_auth::SigningKey::from_pem(EC_PKCS8).unwrap();
    let rsa = okta_auth::SigningKey::from_pem(RSA_PKCS8).unwrap();
    OktaSim::builder()
        .client(
            SimClient::secret("agent", "agent-secret")
                .grants([GrantType::ClientCredentials])
                .scopes(["mcp:read", "mcp:write"]),
        )
        .client(
            SimClient::secret("reader", "reader-secret")
                .grants([GrantType::ClientCredentials])
                .scopes(["mcp:read"]),
        )
        .client(
            SimClient::private_key_jwt("svc-es", ec.public_jwk())
                .grants([GrantType::ClientCredentials])
                .scopes(["mcp:read"]),
        )
        .client(
            SimClient::private_key_jwt("svc-rs", rsa.public_jwk())
                .grants([GrantType::ClientCredentials])
                .scopes(["mcp:read"]),
        )
        .auth_server(
            AuthServer::new("default")
                .audience("api://default")
                .scopes(["mcp:read", "mcp:write", "mcp:admin"])
                .access_token_ttl(Duration::from_secs(3600)),
        )
        .start()
        .await
        .unwrap()
}

/// How the resource server behaves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// `POST /mcp` needs `mcp:read`; a body containing `write` needs `mcp:write` too.
    Normal,
    /// Challenges carry no `resource_metadata` (the client must try the well-known URL).
    NoResourceMetadata,
    /// Answers `403 insufficient_scope` (scope `mcp:write`) to every authenticated request.
    Stubborn,
}

pub async fn serve(app: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    base
}

/// A protected resource at `<base>/mcp` whose tokens come from `sim`'s `default` server.
/// Returns the MCP URL.
pub async fn resource_server(sim: &OktaSim, mode: Mode) -> String {
    resource_server_with(sim, mode, |m| m).await
}

/// Like [`resource_server`], with the metadata document adjusted by `edit`.
pub async fn resource_server_with(
    sim: &OktaSim,
    mode: Mode,
    edit: impl FnOnce(ProtectedResourceMetadata) -> ProtectedResourceMetadata,
) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let resource = format!("{base}/mcp");
    let cache = JwksCache::builder()
        .issuer(sim.issuer("default"))
        .build()
        .await
        .unwrap();
    let verifier = Verifier::builder(cache)
        .audience("api://default")
        .build()
        .unwrap();
    let meta = edit(
        ProtectedResourceMetadata::new(&resource)
            .authorization_server(sim.issuer("default"))
            .scopes(["mcp:read"]),
    );
    let mut layer = AuthLayer::new(verifier);
    if mode != Mode::NoResourceMetadata {
        layer = layer.resource_metadata(okta_auth::metadata_url(&resource).unwrap());
    }
    let handler = move |claims: Verified<OktaClaims>, body: String| async move {
        if mode == Mode::Stubborn {
            let c = BearerChallenge {
                error: Some("insufficient_scope".into()),
                scope: Some("mcp:write".into()),
                ..Default::default()
            };
            return (
                StatusCode::FORBIDDEN,
                [(http::header::WWW_AUTHENTICATE, c.to_header_value())],
            )
                .into_response();
        }
        let needed: &[&str] = if body.contains("write") {
            &["mcp:read", "mcp:write"]
        } else {
            &["mcp:read"]
        };
        match check_scopes(&claims, needed) {
            Ok(()) => (StatusCode::OK, "ok").into_response(),
            Err(rejection) => rejection.into_response(),
        }
    };
    let app = Router::new()
        .route("/mcp", post(handler).layer(layer))
        .merge(meta.router().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    resource
}

/// A resource server whose 401 points at `prm_url`, and which serves `prm_body` (with
/// `content_type` and `status`) at `/prm`. Returns the MCP URL.
pub async fn custom_resource(
    status: StatusCode,
    content_type: &'static str,
    prm_body: String,
) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let challenge = format!(r#"Bearer resource_metadata="{base}/prm""#);
    let app = Router::new()
        .route(
            "/mcp",
            post(move || async move {
                Response::builder()
                    .status(StatusCode::UNAUTHORIZED)
                    .header(http::header::WWW_AUTHENTICATE, challenge)
                    .body(axum::body::Body::empty())
                    .unwrap()
            }),
        )
        .route(
            "/prm",
            get(move || async move {
                (
                    status,
                    [(http::header::CONTENT_TYPE, content_type)],
                    prm_body,
                )
            }),
        );
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("{base}/mcp")
}

/// An authorization server that serves `metadata(issuer)` (status, content type, body) at the
/// RFC 8414 well-known URL and nothing else. Returns its issuer.
pub async fn custom_authorization_server(
    metadata: impl Fn(&str) -> (StatusCode, &'static str, String) + Send + Sync + 'static,
) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let issuer = format!("http://{}", listener.local_addr().unwrap());
    let (status, content_type, body) = metadata(&issuer);
    let app = Router::new().route(
        "/.well-known/oauth-authorization-server",
        get(move || async move { (status, [(http::header::CONTENT_TYPE, content_type)], body) }),
    );
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    issuer
}

/// POSTs `body` to `url` through `auth`.
pub async fn call(auth: &McpAuthClient, url: &str, body: &str) -> Result<u16, Error> {
    let http = reqwest::Client::new();
    let request = http.post(url).body(body.to_owned()).build().unwrap();
    let response = auth.send(&http, request).await?;
    Ok(response.status().as_u16())
}
