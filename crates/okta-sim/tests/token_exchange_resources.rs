//! RFC 8707 `resource` at the token endpoint: the ID-JAG token exchange takes several (the
//! ID-JAG's `resource` claim is a string for one, an array for several); every other grant,
//! and the authorization endpoint, take one; no other parameter may repeat.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{assert_oauth_error, http, post_token, verify};
use okta_sim::{AuthServer, GrantType, OktaSim, SimClient, SimUser};
use serde_json::{Value, json};

const TOKEN_EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
const ID_TOKEN: &str = "urn:ietf:params:oauth:token-type:id_token";
const ID_JAG: &str = "urn:ietf:params:oauth:token-type:id-jag";
const MCP: &str = "http://127.0.0.1:9/mcp";
const FILES: &str = "https://files.example.com/api";
const AGENT: Option<(&str, &str)> = Some(("agent", "agent-secret"));

struct Fixture {
    sim: OktaSim,
    id_token: String,
}

async fn start() -> Fixture {
    let sim = OktaSim::builder()
        .user(SimUser::new("alice", "pw-alice"))
        .client(
            SimClient::secret("agent", "agent-secret")
                .grants([
                    GrantType::Password,
                    GrantType::TokenExchange,
                    GrantType::ClientCredentials,
                    GrantType::AuthorizationCode,
                    GrantType::RefreshToken,
                ])
                .redirect_uris(["https://app.example.com/callback"])
                .scopes(["openid", "mcp:connect"]),
        )
        .auth_server(
            AuthServer::new("mcp")
                .audience("api://mcp")
                .scopes(["mcp:connect"]),
        )
        .start()
        .await
        .unwrap();
    sim.add_managed_connection("agent", "mcp");
    let (status, _, body) = post_token(
        &sim.org_token_endpoint(),
        &[
            ("grant_type", "password"),
            ("username", "alice"),
            ("password", "pw-alice"),
            ("scope", "openid"),
        ],
        AGENT,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let id_token = body["id_token"].as_str().unwrap().to_owned();
    Fixture { sim, id_token }
}

/// A token exchange (ID token → ID-JAG for `mcp`) with these extra parameters.
async fn exchange(
    f: &Fixture,
    extra: &[(&str, &str)],
) -> (reqwest::StatusCode, reqwest::header::HeaderMap, Value) {
    let audience = f.sim.issuer("mcp");
    let mut form = vec![
        ("grant_type", TOKEN_EXCHANGE),
        ("subject_token", f.id_token.as_str()),
        ("subject_token_type", ID_TOKEN),
        ("requested_token_type", ID_JAG),
        ("audience", audience.as_str()),
        ("scope", "mcp:connect"),
    ];
    form.extend_from_slice(extra);
    post_token(&f.sim.org_token_endpoint(), &form, AGENT).await
}

/// The verified claims of the ID-JAG in a successful exchange answer.
async fn id_jag_claims(
    f: &Fixture,
    answer: &(reqwest::StatusCode, reqwest::header::HeaderMap, Value),
) -> serde_json::Map<String, Value> {
    let (status, _, body) = answer;
    assert_eq!(*status, 200, "{body}");
    verify(
        &f.sim.org_jwks_uri(),
        body["access_token"].as_str().unwrap(),
    )
    .await
}

#[tokio::test]
async fn the_token_exchange_takes_several_resources() {
    let f = start().await;
    let cases: [(&[&str], Option<Value>); 6] = [
        (&[], None),
        (&[MCP], Some(json!(MCP))),
        (&[MCP, FILES], Some(json!([MCP, FILES]))),
        (&[FILES, MCP], Some(json!([FILES, MCP]))),
        // Repeats of one resource are one resource.
        (&[MCP, MCP], Some(json!(MCP))),
        (&[MCP, FILES, MCP], Some(json!([MCP, FILES]))),
    ];
    for (resources, claim) in cases {
        let extra: Vec<(&str, &str)> = resources.iter().map(|r| ("resource", *r)).collect();
        let claims = id_jag_claims(&f, &exchange(&f, &extra).await).await;
        assert_eq!(claims.get("resource"), claim.as_ref(), "{resources:?}");
        assert_eq!(claims["aud"], json!(f.sim.issuer("mcp")));
    }
}

#[tokio::test]
async fn an_invalid_resource_is_invalid_target() {
    let f = start().await;
    for bad in [
        "/relative",
        "https://files.example.com/api#frag",
        "not a uri",
    ] {
        // Alone, or after a good one.
        for extra in [
            vec![("resource", bad)],
            vec![("resource", MCP), ("resource", bad)],
        ] {
            let answer = exchange(&f, &extra).await;
            assert_oauth_error(&answer, 400, "invalid_target");
            let description = answer.2["error_description"].as_str().unwrap();
            assert!(
                description.contains("'resource' is not valid"),
                "{description}"
            );
        }
    }
}

#[tokio::test]
async fn no_other_parameter_may_repeat_in_a_token_exchange() {
    let f = start().await;
    for (name, value) in [
        ("scope", "mcp:connect"),
        ("audience", "http://127.0.0.1:9/other"),
        ("subject_token", "x"),
    ] {
        let answer = exchange(&f, &[("resource", MCP), (name, value), ("resource", FILES)]).await;
        assert_oauth_error(&answer, 400, "invalid_request");
        assert_eq!(
            answer.2["error_description"],
            format!("The parameter '{name}' is included more than once.")
        );
    }
}

#[tokio::test]
async fn the_actor_token_parameters_are_refused_by_the_id_jag_exchange() {
    let f = start().await;
    for (name, value) in [
        ("actor_token", "eyJ.actor.token"),
        (
            "actor_token_type",
            "urn:ietf:params:oauth:token-type:access_token",
        ),
    ] {
        let answer = exchange(&f, &[(name, value)]).await;
        assert_oauth_error(&answer, 400, "invalid_request");
        assert_eq!(
            answer.2["error_description"],
            format!("The ID-JAG token exchange does not use '{name}'.")
        );
    }
}

#[tokio::test]
async fn other_grants_take_one_resource() {
    let f = start().await;
    let url = f.sim.token_endpoint("mcp");
    let verifier = "v".repeat(43);
    let grants: [&[(&str, &str)]; 4] = [
        &[
            ("grant_type", "client_credentials"),
            ("scope", "mcp:connect"),
        ],
        &[
            ("grant_type", "password"),
            ("username", "alice"),
            ("password", "pw-alice"),
            ("scope", "mcp:connect"),
        ],
        &[
            ("grant_type", "authorization_code"),
            ("code", "no-such-code"),
            ("redirect_uri", "https://app.example.com/callback"),
            ("code_verifier", verifier.as_str()),
        ],
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", "no-such-token"),
        ],
    ];
    for grant in grants {
        let mut two = grant.to_vec();
        two.extend([("resource", "api://mcp"), ("resource", FILES)]);
        let answer = post_token(&url, &two, AGENT).await;
        assert_oauth_error(&answer, 400, "invalid_request");
        assert_eq!(
            answer.2["error_description"], "The parameter 'resource' is included more than once.",
            "{grant:?}"
        );
        // One resource gets past that check to the grant itself.
        let mut one = grant.to_vec();
        one.push(("resource", "api://mcp"));
        let (_, _, body) = post_token(&url, &one, AGENT).await;
        assert_ne!(
            body["error_description"], "The parameter 'resource' is included more than once.",
            "{grant:?}: {body}"
        );
    }
    // The org server's grants too.
    let answer = post_token(
        &f.sim.org_token_endpoint(),
        &[
            ("grant_type", "password"),
            ("username", "alice"),
            ("password", "pw-alice"),
            ("scope", "openid"),
            ("resource", MCP),
            ("resource", FILES),
        ],
        AGENT,
    )
    .await;
    assert_oauth_error(&answer, 400, "invalid_request");
}

#[tokio::test]
async fn the_authorization_endpoint_takes_one_resource() {
    let f = start().await;
    let query = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs([
            ("client_id", "agent"),
            ("redirect_uri", "https://app.example.com/callback"),
            ("response_type", "code"),
            ("resource", MCP),
            ("resource", FILES),
        ])
        .finish();
    let response = http()
        .get(format!("{}?{query}", f.sim.authorization_endpoint("mcp")))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    assert!(response.headers().get("location").is_none());
    let html = response.text().await.unwrap();
    assert!(html.contains("invalid_request"), "{html}");
    assert!(html.contains("included more than once"), "{html}");
}
