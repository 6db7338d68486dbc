//! `AuthLayer`, `require_scopes`, the `Verified` extractor and RFC 9728
//! metadata over real HTTP (axum on 127.0.0.1, reqwest client), with pinned keys.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod verify_support;

use axum::Router;
use axum::routing::get;
use jsonwebtoken::{Algorithm, EncodingKey};
use okta_auth::{
    AuthLayer, AuthMode, OktaClaims, ProtectedResourceMetadata, Verified, require_scopes,
};
use serde_json::{Value, json};
use verify_support::{
    ISSUER, RSA_PUBLIC_PEM, b64, claims, now, other_rsa_key, rs256, rs256_raw, sign, verifier,
};

async fn whoami(claims: Verified<OktaClaims>) -> String {
    claims.sub.clone().unwrap_or_default()
}

async fn maybe(claims: Option<Verified<OktaClaims>>) -> String {
    claims
        .and_then(|c| c.sub.clone())
        .unwrap_or_else(|| "anonymous".to_owned())
}

struct App {
    base: String,
    http: reqwest::Client,
}

async fn serve(router: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    format!("http://{addr}")
}

/// Strict `/api` (needs mcp:read) and `/admin` (needs mcp:admin), optional
/// `/optional`, permissive `/permissive`, and the metadata document.
async fn app() -> App {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let meta = ProtectedResourceMetadata::new(format!("{base}/api"))
        .authorization_server(ISSUER)
        .scopes(["mcp:read", "mcp:admin"]);
    let strict = AuthLayer::new(verifier())
        .realm("okta-mcp-test")
        .resource_metadata_from(&meta)
        .unwrap();
    let api = Router::new()
        .route("/api", get(whoami))
        .layer(require_scopes(["mcp:read"]))
        .merge(
            Router::new()
                .route("/admin", get(whoami))
                .layer(require_scopes(["mcp:admin", "mcp:read"])),
        )
        .layer(strict);
    let optional = Router::new()
        .route("/optional", get(maybe))
        .layer(AuthLayer::new(verifier()).mode(AuthMode::Optional));
    let permissive = Router::new()
        .route("/permissive", get(maybe))
        .layer(AuthLayer::new(verifier()).mode(AuthMode::Permissive));
    let unprotected = Router::new().route("/no-layer", get(whoami));
    let router = api
        .merge(optional)
        .merge(permissive)
        .merge(unprotected)
        .merge(meta.router().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    App {
        base,
        http: reqwest::Client::new(),
    }
}

impl App {
    async fn get(&self, path: &str, auth: &[&str]) -> (u16, Option<String>, String) {
        let mut req = self.http.get(format!("{}{path}", self.base));
        for value in auth {
            req = req.header("authorization", *value);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let challenge = resp
            .headers()
            .get("www-authenticate")
            .map(|v| v.to_str().unwrap().to_owned());
        (status, challenge, resp.text().await.unwrap())
    }

    fn metadata_url(&self) -> String {
        format!("{}/.well-known/oauth-protected-resource/api", self.base)
    }

    fn invalid_token(&self, description: &str) -> String {
        format!(
            "Bearer realm=\"okta-mcp-test\", error=\"invalid_token\", error_description=\"{description}\", resource_metadata=\"{}\"",
            self.metadata_url()
        )
    }
}

#[tokio::test]
async fn valid_token_with_scope_passes_and_claims_reach_the_handler() {
    let app = app().await;
    let token = rs256(&claims());
    let (status, challenge, body) = app.get("/api", &[&format!("Bearer {token}")]).await;
    assert_eq!(
        (status, challenge, body.as_str()),
        (200, None, "alice@example.com")
    );
}

#[tokio::test]
async fn lowercase_bearer_scheme_is_accepted() {
    let app = app().await;
    let token = rs256(&claims());
    assert_eq!(app.get("/api", &[&format!("bearer {token}")]).await.0, 200);
    assert_eq!(app.get("/api", &[&format!("BEARER {token}")]).await.0, 200);
}

#[tokio::test]
async fn no_token_gets_a_bare_challenge_without_error_attributes() {
    let app = app().await;
    let (status, challenge, _) = app.get("/api", &[]).await;
    assert_eq!(status, 401);
    assert_eq!(
        challenge.unwrap(),
        format!(
            "Bearer realm=\"okta-mcp-test\", resource_metadata=\"{}\"",
            app.metadata_url()
        )
    );
}

#[tokio::test]
async fn other_scheme_is_treated_as_no_token() {
    let app = app().await;
    let (status, challenge, _) = app.get("/api", &["Basic YWxpY2U6cHc="]).await;
    assert_eq!(status, 401);
    assert_eq!(
        challenge.unwrap(),
        format!(
            "Bearer realm=\"okta-mcp-test\", resource_metadata=\"{}\"",
            app.metadata_url()
        )
    );
}

#[tokio::test]
async fn two_authorization_headers_are_invalid_request() {
    let app = app().await;
    let token = rs256(&claims());
    let bearer = format!("Bearer {token}");
    let (status, challenge, body) = app.get("/api", &[&bearer, &bearer]).await;
    assert_eq!(status, 400);
    assert_eq!(
        challenge.unwrap(),
        format!(
            "Bearer realm=\"okta-mcp-test\", error=\"invalid_request\", error_description=\"more than one Authorization header\", resource_metadata=\"{}\"",
            app.metadata_url()
        )
    );
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap()["error"],
        "invalid_request"
    );
}

#[tokio::test]
async fn invalid_tokens_get_401_invalid_token_and_are_never_echoed() {
    let app = app().await;
    let mut expired = claims();
    expired["exp"] = json!(now() - 120);
    let mut wrong_aud = claims();
    wrong_aud["aud"] = json!("api://elsewhere");
    let good = rs256(&claims());
    let parts: Vec<&str> = good.split('.').collect();
    let cases = [
        (rs256(&expired), "token expired"),
        (rs256(&wrong_aud), "wrong audience"),
        (
            sign(Algorithm::RS256, Some("rsa-1"), &claims(), &other_rsa_key()),
            "invalid signature",
        ),
        (
            format!("{}.{}", parts[0], parts[1]),
            "malformed token: 2 segments, a JWS has 3",
        ),
        (
            format!("{}.{}.", b64(br#"{"alg":"none","kid":"rsa-1"}"#), parts[1]),
            "algorithm none not allowed for key",
        ),
        (
            "x".repeat(9000),
            "token too long: 9000 bytes, the limit is 8192",
        ),
        (
            sign(
                Algorithm::HS256,
                Some("rsa-1"),
                &claims(),
                &EncodingKey::from_secret(RSA_PUBLIC_PEM),
            ),
            "algorithm HS256 not allowed for key",
        ),
        (
            format!("{good}.{}", parts[2]),
            "malformed token: 4 segments, a JWS has 3",
        ),
        (
            format!("{}.{}*.{}", parts[0], parts[1], parts[2]),
            "bad base64 in token claims",
        ),
        (
            rs256_raw(r#"{"alg":"RS256","kid":"rsa-1"}"#, "[1,2,3]"),
            "claims not a JSON object",
        ),
    ];
    for (token, description) in cases {
        let (status, challenge, body) = app.get("/api", &[&format!("Bearer {token}")]).await;
        assert_eq!(status, 401, "{description}");
        let challenge = challenge.unwrap();
        assert_eq!(challenge, app.invalid_token(description));
        let body: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(
            body,
            json!({"error": "invalid_token", "error_description": description})
        );
        let sig = token.rsplit('.').next().unwrap();
        if sig.len() > 8 {
            assert!(!challenge.contains(sig), "token echoed");
        }
    }
}

#[tokio::test]
async fn missing_scope_is_403_insufficient_scope() {
    let app = app().await;
    let token = rs256(&claims()); // scp: mcp:read, openid
    let (status, challenge, body) = app.get("/admin", &[&format!("Bearer {token}")]).await;
    assert_eq!(status, 403);
    assert_eq!(
        challenge.unwrap(),
        format!(
            "Bearer realm=\"okta-mcp-test\", error=\"insufficient_scope\", error_description=\"the token lacks required scope(s): mcp:admin\", scope=\"mcp:admin mcp:read\", resource_metadata=\"{}\"",
            app.metadata_url()
        )
    );
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap()["error"],
        "insufficient_scope"
    );
    let mut no_scope = claims();
    no_scope["scp"] = json!([]);
    let (status, _, _) = app
        .get("/api", &[&format!("Bearer {}", rs256(&no_scope))])
        .await;
    assert_eq!(status, 403);
}

#[tokio::test]
async fn optional_and_permissive_modes() {
    let app = app().await;
    let good = format!("Bearer {}", rs256(&claims()));
    let mut expired = claims();
    expired["exp"] = json!(now() - 120);
    let bad = format!("Bearer {}", rs256(&expired));

    assert_eq!(app.get("/optional", &[]).await.2, "anonymous");
    assert_eq!(app.get("/optional", &[&good]).await.2, "alice@example.com");
    let (status, challenge, _) = app.get("/optional", &[&bad]).await;
    assert_eq!(status, 401);
    assert!(
        challenge
            .unwrap()
            .contains("error_description=\"token expired\"")
    );

    assert_eq!(app.get("/permissive", &[]).await.2, "anonymous");
    assert_eq!(
        app.get("/permissive", &[&good]).await.2,
        "alice@example.com"
    );
    assert_eq!(
        app.get("/permissive", &[&bad]).await,
        (200, None, "anonymous".to_owned())
    );
}

#[tokio::test]
async fn extractor_without_layer_answers_401() {
    let app = app().await;
    let (status, challenge, _) = app.get("/no-layer", &[]).await;
    assert_eq!((status, challenge.as_deref()), (401, Some("Bearer")));
}

#[tokio::test]
async fn protected_resource_metadata_is_served_without_a_token() {
    let app = app().await;
    let resp = app.http.get(app.metadata_url()).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "application/json");
    let doc: Value = resp.json().await.unwrap();
    assert_eq!(
        doc,
        json!({
            "resource": format!("{}/api", app.base),
            "authorization_servers": [ISSUER],
            "scopes_supported": ["mcp:read", "mcp:admin"],
            "bearer_methods_supported": ["header"],
        })
    );
}

#[tokio::test]
async fn metadata_for_a_resource_without_path_is_at_the_bare_well_known_path() {
    let meta = ProtectedResourceMetadata::new("http://127.0.0.1:1").resource_name("root");
    let base = serve(meta.router().unwrap()).await;
    let doc: Value = reqwest::get(format!("{base}/.well-known/oauth-protected-resource"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(doc["resource_name"], "root");
}

#[tokio::test]
async fn challenge_scope_hint_is_on_401s_only() {
    let meta = ProtectedResourceMetadata::new("https://mcp.example.com/mcp")
        .authorization_server(ISSUER)
        .scopes(["mcp:read", "mcp:write"]);
    let layer = AuthLayer::new(verifier())
        .challenge_scope(["mcp:read", "mcp:write"])
        .resource_metadata_from(&meta)
        .unwrap();
    let router = Router::new()
        .route("/admin", get(whoami))
        .layer(require_scopes(["mcp:admin"]))
        .layer(layer);
    let app = App {
        base: serve(router).await,
        http: reqwest::Client::new(),
    };
    let metadata = "https://mcp.example.com/.well-known/oauth-protected-resource/mcp";
    let (status, challenge, _) = app.get("/admin", &[]).await;
    assert_eq!(status, 401);
    assert_eq!(
        challenge.unwrap(),
        format!("Bearer scope=\"mcp:read mcp:write\", resource_metadata=\"{metadata}\"")
    );
    let mut expired = claims();
    expired["exp"] = json!(now() - 120);
    let (status, challenge, _) = app
        .get("/admin", &[&format!("Bearer {}", rs256(&expired))])
        .await;
    assert_eq!(status, 401);
    assert_eq!(
        challenge.unwrap(),
        format!(
            "Bearer error=\"invalid_token\", error_description=\"token expired\", scope=\"mcp:read mcp:write\", resource_metadata=\"{metadata}\""
        )
    );
    // A 403 names the scope it lacks, not the hint.
    let (status, challenge, _) = app
        .get("/admin", &[&format!("Bearer {}", rs256(&claims()))])
        .await;
    assert_eq!(status, 403);
    assert!(challenge.unwrap().contains("scope=\"mcp:admin\""));
}
