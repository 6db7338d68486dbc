//! Spec checklist: the resource-server requirements of the MCP authorization
//! specification (revision 2025-11-25, "Authorization", and the token
//! passthrough / session rules of "Security Best Practices"), RFC 9728
//! (OAuth 2.0 Protected Resource Metadata) and RFC 6750 (Bearer Token Usage),
//! one test per requirement, checked against the real gateway
//! (`mcp_proxy::Gateway`) in dev configuration: okta-sim is the authorization
//! server, the backend is an in-process streamable-HTTP MCP server that records
//! every request it receives.
//!
//! Each test names its section; its doc comment quotes the requirement. Tests
//! of a SHOULD say so in their name (`should_`) and doc comment.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::sync::atomic::Ordering;
use std::time::Duration;

use okta_sim::{AccessTokenSpec, AuthServer, OktaSim};
use reqwest::header::CONTENT_TYPE;
use serde_json::Value;
use support::{
    CREATE_NOTE, GET_NOTE, MCP_PATH, WELL_KNOWN_PRM, World, call_body, json_rpc, parse_challenge,
    tools_list_body, www_authenticate,
};

/// The challenge of a `401` to a request without credentials (realm, scope
/// hint, resource metadata; no error attributes).
fn bare_challenge(world: &World) -> String {
    format!(
        "Bearer realm=\"mcp-proxy\", scope=\"mcp:read\", resource_metadata=\"{}\"",
        world.metadata_url()
    )
}

/// Asserts a `401 invalid_token` answer with the gateway's challenge attributes.
fn assert_invalid_token(world: &World, response: &reqwest::Response, what: &str) {
    assert_eq!(response.status(), 401, "{what}: {response:?}");
    let challenge = parse_challenge(&www_authenticate(response));
    assert_eq!(challenge.scheme, "Bearer", "{what}");
    assert_eq!(challenge.get("error"), Some("invalid_token"), "{what}");
    assert_eq!(challenge.get("realm"), Some("mcp-proxy"), "{what}");
    assert_eq!(
        challenge.get("resource_metadata"),
        Some(world.metadata_url().as_str()),
        "{what}"
    );
    assert!(
        challenge
            .get("error_description")
            .is_some_and(|d| !d.is_empty()),
        "{what}: {challenge:?}"
    );
}

/// Asserts that `initialize` with `token` opens a session (the positive
/// control of every rejection test: the same request with a good token passes).
async fn assert_accepted(world: &World, authorization: &str, what: &str) {
    let response = world.initialize_with(&[authorization]).await;
    assert_eq!(response.status(), 200, "{what}: {response:?}");
    assert!(
        response.headers().contains_key("mcp-session-id"),
        "{what}: {response:?}"
    );
    let answer = json_rpc(response).await;
    assert!(
        answer["result"]["serverInfo"].is_object(),
        "{what}: {answer}"
    );
}

// ----- Protected resource metadata (RFC 9728, MCP "Authorization Server Discovery") -----

/// RFC 9728 §3 and §3.2, MCP "Protected Resource Metadata Discovery Requirements"
/// (well-known URI): "MCP servers **MUST** implement OAuth 2.0 Protected Resource
/// Metadata"; for a resource with a path the metadata is at the well-known suffix
/// inserted between host and path (`/.well-known/oauth-protected-resource/mcp`),
/// and "a successful response MUST use the 200 OK HTTP status code and return a
/// JSON object using the application/json content type". Readable without a token.
#[tokio::test]
async fn rfc9728_s3_metadata_is_served_at_the_path_inserted_well_known_uri() {
    let world = World::start().await;
    let url = format!("{}{WELL_KNOWN_PRM}{MCP_PATH}", world.base);
    let response = world.http.get(&url).send().await.unwrap();
    assert_eq!(response.status(), 200, "{response:?}");
    assert_eq!(
        response.headers()[CONTENT_TYPE].to_str().unwrap(),
        "application/json"
    );
    let metadata: Value = response.json().await.unwrap();
    assert!(metadata.is_object(), "{metadata}");
    world.stop().await;
}

/// RFC 9728 §3.3: "The `resource` value returned MUST be identical to the
/// protected resource's resource identifier value into which the well-known URI
/// path suffix was inserted to create the URL used to retrieve the metadata."
/// That identifier is the URL MCP clients connect to (MCP "Canonical Server URI").
#[tokio::test]
async fn rfc9728_s3_3_metadata_resource_is_identical_to_the_url_clients_connect_to() {
    let world = World::start().await;
    let url = world.metadata_url();
    let metadata: Value = world
        .http
        .get(&url)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let resource_from_url = url.replacen(WELL_KNOWN_PRM, "", 1);
    assert_eq!(resource_from_url, world.mcp);
    assert_eq!(metadata["resource"], Value::String(world.mcp.clone()));
    world.stop().await;
}

/// MCP "Authorization Server Location": "The Protected Resource Metadata document
/// returned by the MCP server **MUST** include the `authorization_servers` field
/// containing at least one authorization server." In dev mode that is okta-sim's
/// custom authorization server, whose discovery document names the same issuer.
#[tokio::test]
async fn mcp_authorization_server_location_metadata_names_the_dev_authorization_server() {
    let world = World::start().await;
    let metadata: Value = world
        .http
        .get(world.metadata_url())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        metadata["authorization_servers"],
        serde_json::json!([world.issuer()])
    );
    // The advertised issuer is a live authorization server (OIDC discovery, path appended).
    let discovery: Value = world
        .http
        .get(format!(
            "{}/.well-known/openid-configuration",
            world.issuer()
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(discovery["issuer"], Value::String(world.issuer()));
    world.stop().await;
}

/// RFC 9728 §3.2: "Claims with zero elements MUST be omitted from the response";
/// and the metadata tells the truth about the methods tokens may be sent with
/// (§2 `bearer_methods_supported`): the header only, matching MCP "Access Token
/// Usage" (tokens **MUST NOT** be in the query string).
#[tokio::test]
async fn rfc9728_s3_2_metadata_omits_empty_claims_and_offers_the_header_only() {
    let world = World::start().await;
    let metadata: Value = world
        .http
        .get(world.metadata_url())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    for (claim, value) in metadata.as_object().unwrap() {
        assert!(!value.is_null(), "{claim} is null");
        assert!(
            value.as_array().is_none_or(|a| !a.is_empty()),
            "{claim} is an empty array"
        );
        assert!(
            value.as_str().is_none_or(|s| !s.is_empty()),
            "{claim} is an empty string"
        );
    }
    assert_eq!(
        metadata["bearer_methods_supported"],
        serde_json::json!(["header"])
    );
    assert_eq!(
        metadata["scopes_supported"],
        serde_json::json!(["mcp:read", "mcp:write"])
    );
    world.stop().await;
}

// ----- 401 challenges (MCP "Protected Resource Metadata Discovery Requirements", RFC 9728 §5.1, RFC 6750 §3) -----

/// MCP "Protected Resource Metadata Discovery Requirements" and RFC 9728 §5.1:
/// "Include the resource metadata URL in the `WWW-Authenticate` HTTP header under
/// `resource_metadata` when returning `401 Unauthorized` responses". A client that
/// follows that URL gets the metadata of the resource it called.
#[tokio::test]
async fn mcp_prm_discovery_rfc9728_s5_1_401_names_the_resource_metadata_url() {
    let world = World::start().await;
    let response = world.post(&tools_list_body(1)).send().await.unwrap();
    assert_eq!(response.status(), 401);
    let challenge = parse_challenge(&www_authenticate(&response));
    let url = challenge
        .get("resource_metadata")
        .expect("resource_metadata in the challenge")
        .to_owned();
    assert_eq!(url, world.metadata_url());
    let metadata: Value = world
        .http
        .get(&url)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(metadata["resource"], Value::String(world.mcp.clone()));
    world.stop().await;
}

/// RFC 6750 §3.1: "If the request lacks any authentication information (e.g., the
/// client was unaware that authentication is necessary or attempted using an
/// unsupported authentication method), the resource server SHOULD NOT include an
/// error code or other error information." (SHOULD NOT; the `401` itself and its
/// `WWW-Authenticate` are MUSTs of RFC 6750 §3 / RFC 9110 §15.5.2.) Checked for a
/// POST and a GET without `Authorization`, and for the `Basic` scheme.
#[tokio::test]
async fn rfc6750_s3_1_no_credentials_is_401_without_error_attributes() {
    let world = World::start().await;
    let expected = bare_challenge(&world);

    let post = world.post(&tools_list_body(1)).send().await.unwrap();
    assert_eq!(post.status(), 401);
    assert_eq!(www_authenticate(&post), expected);

    let get = world
        .http
        .get(&world.mcp)
        .header("accept", "text/event-stream")
        .send()
        .await
        .unwrap();
    assert_eq!(get.status(), 401);
    assert_eq!(www_authenticate(&get), expected);

    let basic = world
        .initialize_with(&["Basic ZGV2LWFnZW50OmRldi1zZWNyZXQ="])
        .await;
    assert_eq!(basic.status(), 401);
    assert_eq!(www_authenticate(&basic), expected);
    world.stop().await;
}

/// MCP "Protected Resource Metadata Discovery Requirements" (SHOULD): "MCP servers
/// **SHOULD** include a `scope` parameter in the `WWW-Authenticate` header ... to
/// indicate the scopes required for accessing the resource" (used first by the
/// client's "Scope Selection Strategy"). The hint must be a scope the
/// authorization server grants, and a token with exactly it gets in.
#[tokio::test]
async fn should_mcp_scope_selection_401_carries_a_scope_hint_that_works() {
    let world = World::start().await;
    let response = world.initialize_with(&[]).await;
    assert_eq!(response.status(), 401);
    let challenge = parse_challenge(&www_authenticate(&response));
    let hint = challenge.get("scope").expect("scope hint").to_owned();
    assert_eq!(hint, "mcp:read");

    let token = world.token("bob", &hint).await;
    assert_accepted(
        &world,
        &format!("Bearer {token}"),
        "token with the hinted scope",
    )
    .await;
    let session = world.open_session(&token).await;
    assert_eq!(world.list_tools(&token, &session).await, [GET_NOTE]);
    world.stop().await;
}

// ----- Token validation (MCP "Token Handling", RFC 6750 §3.1 invalid_token) -----

/// MCP "Token Handling": "MCP servers ... **MUST** validate access tokens as
/// described in OAuth 2.1 Section 5.2 ... Invalid or expired tokens **MUST**
/// receive a HTTP 401 response"; RFC 6750 §3.1 `invalid_token`: "The access token
/// provided is expired, revoked, malformed, or invalid for other reasons". Here:
/// not a JWT, a genuine token with forged claims (signature no longer matches),
/// and a token signed by another authorization server's key under our issuer.
#[tokio::test]
async fn mcp_token_handling_rfc6750_s3_1_invalid_token_is_401_invalid_token() {
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    let world = World::start().await;
    let genuine = world.token("bob", "mcp:read").await;
    assert_accepted(&world, &format!("Bearer {genuine}"), "genuine token").await;

    let garbage = world.initialize_with(&["Bearer not-a-jwt"]).await;
    assert_invalid_token(&world, &garbage, "not a JWT");

    // bob makes himself a Senior Engineer: same header and signature, new payload.
    let mut parts = genuine.split('.');
    let (header, payload, signature) = (
        parts.next().unwrap(),
        parts.next().unwrap(),
        parts.next().unwrap(),
    );
    let mut claims: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
    claims["groups"] = serde_json::json!(["Senior Engineers"]);
    let forged_payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims).unwrap());
    let forged = format!("{header}.{forged_payload}.{signature}");
    let response = world.initialize_with(&[&format!("Bearer {forged}")]).await;
    assert_invalid_token(&world, &response, "forged claims");

    // Another authorization server (its own keys) claiming to be ours.
    let impostor = OktaSim::builder()
        .auth_server(AuthServer::new("default").audience(mcp_proxy::dev::AUDIENCE))
        .start()
        .await
        .unwrap();
    let foreign_key = impostor
        .mint_access_token(
            "default",
            AccessTokenSpec::for_client(mcp_proxy::dev::CLIENT_ID)
                .issuer(world.issuer())
                .scopes(["mcp:read"]),
        )
        .unwrap();
    let response = world
        .initialize_with(&[&format!("Bearer {foreign_key}")])
        .await;
    assert_invalid_token(&world, &response, "signed by another server's key");
    impostor.shutdown().await;
    world.stop().await;
}

/// MCP "Token Handling": "Invalid or expired tokens **MUST** receive a HTTP 401
/// response"; RFC 6750 §3.1 `invalid_token` ("expired"). Also a token not yet
/// valid (`nbf` an hour ahead).
#[tokio::test]
async fn mcp_token_handling_rfc6750_s3_1_expired_token_is_401_invalid_token() {
    let world = World::start().await;
    let fresh = world.mint(AccessTokenSpec::for_user("alice").scopes(["mcp:read"]));
    assert_accepted(&world, &format!("Bearer {fresh}"), "fresh minted token").await;

    let expired = world.mint(
        AccessTokenSpec::for_user("alice")
            .scopes(["mcp:read"])
            .expired_since(Duration::from_secs(3600)),
    );
    let response = world.initialize_with(&[&format!("Bearer {expired}")]).await;
    assert_invalid_token(&world, &response, "expired an hour ago");

    let early = world.mint(
        AccessTokenSpec::for_user("alice")
            .scopes(["mcp:read"])
            .not_before_in(Duration::from_secs(3600)),
    );
    let response = world.initialize_with(&[&format!("Bearer {early}")]).await;
    assert_invalid_token(&world, &response, "nbf an hour ahead");
    world.stop().await;
}

/// MCP "Token Handling" and "Token Audience Binding and Validation" (RFC 8707 §2):
/// "MCP servers **MUST** validate that access tokens were issued specifically for
/// them as the intended audience"; "MCP servers **MUST** only accept tokens that
/// are valid for use with their own resources." A token for `api://other` or for
/// another MCP server on the same host is refused; one whose audience is the
/// gateway's own resource URL (what RFC 8707 clients get) is accepted.
#[tokio::test]
async fn mcp_audience_binding_rfc8707_token_for_another_audience_is_401() {
    let world = World::start().await;
    let own = world.mint(
        AccessTokenSpec::for_user("alice")
            .scopes(["mcp:read"])
            .audience(world.mcp.clone()),
    );
    assert_accepted(
        &world,
        &format!("Bearer {own}"),
        "aud = the gateway's resource",
    )
    .await;

    for audience in [
        "api://other".to_owned(),
        format!("{}/other-mcp", world.base),
        format!("http://127.0.0.1:1{MCP_PATH}"),
    ] {
        let token = world.mint(
            AccessTokenSpec::for_user("alice")
                .scopes(["mcp:read"])
                .audience(audience.clone()),
        );
        let response = world.initialize_with(&[&format!("Bearer {token}")]).await;
        assert_invalid_token(&world, &response, &format!("aud = {audience}"));
    }
    world.stop().await;
}

/// MCP "Token Handling": "MCP servers **MUST NOT** accept or transit any other
/// tokens" than ones "issued by the MCP server's authorization server" (OAuth 2.1
/// §5.2: the resource server validates the issuer). A token signed with the right
/// key but naming another issuer (another authorization server of the same org)
/// is refused.
#[tokio::test]
async fn mcp_token_handling_token_from_another_issuer_is_401() {
    let world = World::start().await;
    let ours = world.mint(AccessTokenSpec::for_user("alice").scopes(["mcp:read"]));
    assert_accepted(&world, &format!("Bearer {ours}"), "our issuer").await;

    for issuer in [
        format!("{}/oauth2/other", world.sim.base_url()),
        world.sim.org_issuer().to_owned(),
        format!("{}/", world.issuer()),
    ] {
        let token = world.mint(
            AccessTokenSpec::for_user("alice")
                .scopes(["mcp:read"])
                .issuer(issuer.clone()),
        );
        let response = world.initialize_with(&[&format!("Bearer {token}")]).await;
        assert_invalid_token(&world, &response, &format!("iss = {issuer}"));
    }
    world.stop().await;
}

// ----- Access token usage (MCP "Access Token Usage", RFC 6750 §2) -----

/// MCP "Access Token Usage": "Access tokens **MUST NOT** be included in the URI
/// query string"; RFC 6750 §2.3 (the `access_token` query parameter is a method a
/// resource server MAY support; this one must not). A valid token in the query
/// counts as no credentials: `401` with the bare challenge; the same token in
/// the header is accepted.
#[tokio::test]
async fn mcp_access_token_usage_rfc6750_s2_3_token_in_query_string_is_not_accepted() {
    let world = World::start().await;
    let token = world.token("alice", "mcp:read").await;
    assert_accepted(&world, &format!("Bearer {token}"), "token in the header").await;

    let url = format!("{}?access_token={token}", world.mcp);
    let post = world
        .post_to(&url, &support::initialize_body())
        .send()
        .await
        .unwrap();
    assert_eq!(post.status(), 401);
    assert_eq!(www_authenticate(&post), bare_challenge(&world));

    let get = world
        .http
        .get(&url)
        .header("accept", "text/event-stream")
        .send()
        .await
        .unwrap();
    assert_eq!(get.status(), 401);
    assert_eq!(www_authenticate(&get), bare_challenge(&world));
    world.stop().await;
}

/// MCP "Access Token Usage": "authorization **MUST** be included in every HTTP
/// request from client to server, even if they are part of the same logical
/// session." In an open session, a POST, the GET stream and a DELETE without the
/// token are `401`; the unauthenticated DELETE did not end the session.
#[tokio::test]
async fn mcp_access_token_usage_authorization_is_required_on_every_request_of_a_session() {
    let world = World::start().await;
    let token = world.token("alice", "mcp:read").await;
    let session = world.open_session(&token).await;
    let expected = bare_challenge(&world);

    let post = world.rpc(None, &session, &tools_list_body(2)).await;
    assert_eq!(post.status(), 401);
    assert_eq!(www_authenticate(&post), expected);

    let get = world
        .http
        .get(&world.mcp)
        .header("accept", "text/event-stream")
        .header("mcp-session-id", &session)
        .header("mcp-protocol-version", support::PROTOCOL_VERSION)
        .send()
        .await
        .unwrap();
    assert_eq!(get.status(), 401);
    assert_eq!(www_authenticate(&get), expected);

    let delete = world
        .http
        .delete(&world.mcp)
        .header("mcp-session-id", &session)
        .header("mcp-protocol-version", support::PROTOCOL_VERSION)
        .send()
        .await
        .unwrap();
    assert_eq!(delete.status(), 401);
    assert_eq!(www_authenticate(&delete), expected);

    // With the token the session is still there.
    assert_eq!(
        world.list_tools(&token, &session).await,
        [CREATE_NOTE, GET_NOTE]
    );
    world.stop().await;
}

/// MCP "Security Best Practices", "Session Hijacking": "MCP servers that implement
/// authorization **MUST** verify all inbound requests" and "MCP Servers **MUST
/// NOT** use sessions for authentication." A session opened with alice's
/// read-write token grants nothing by itself: the same session used with her
/// read-only token is judged by that token, so a write answers `403
/// insufficient_scope` and never reaches the backend; without a token, `401`.
#[tokio::test]
async fn mcp_security_sessions_are_not_authentication() {
    let world = World::start().await;
    let read_write = world.token("alice", "mcp:read mcp:write").await;
    let read_only = world.token("alice", "mcp:read").await;
    let session = world.open_session(&read_write).await;
    assert_eq!(
        world.list_tools(&read_write, &session).await,
        [CREATE_NOTE, GET_NOTE]
    );

    let response = world
        .rpc(Some(&read_only), &session, &call_body(3, CREATE_NOTE))
        .await;
    assert_eq!(response.status(), 403, "{response:?}");
    let response = world.rpc(None, &session, &call_body(4, GET_NOTE)).await;
    assert_eq!(response.status(), 401, "{response:?}");
    assert_eq!(world.backend.creates.load(Ordering::SeqCst), 0);
    assert_eq!(world.backend.reads.load(Ordering::SeqCst), 0);
    world.stop().await;
}

/// MCP "Security Best Practices", "Session Hijacking": "MCP servers **MUST** use
/// secure, non-deterministic session IDs." (With the transport's "The session ID
/// ... MUST only contain visible ASCII characters".) Session IDs of separate
/// sessions are distinct, long enough to carry 128 random bits as hex, visible
/// ASCII, and not a counter: two IDs differ in most of their characters.
#[tokio::test]
async fn mcp_security_session_ids_are_secure_and_non_deterministic() {
    let world = World::start().await;
    let token = world.token("alice", "mcp:read").await;
    let mut ids = Vec::new();
    for _ in 0..8 {
        ids.push(world.open_session(&token).await);
    }
    for (i, id) in ids.iter().enumerate() {
        assert!(id.len() >= 32, "short session id {id:?}");
        assert!(
            id.bytes().all(|b| (0x21..=0x7e).contains(&b)),
            "session id {id:?} is not visible ASCII"
        );
        for other in &ids[..i] {
            let differing = id
                .chars()
                .zip(other.chars())
                .filter(|(a, b)| a != b)
                .count();
            assert!(
                differing >= 16,
                "session ids {other:?} and {id:?} look sequential"
            );
        }
    }
    world.stop().await;
}

/// MCP "Security Best Practices", "Session Hijacking" (SHOULD): "MCP servers
/// **SHOULD** bind session IDs to user-specific information ... even if an attacker
/// guesses a session ID, they cannot impersonate another user". Bob, with a valid
/// token of his own, cannot use alice's session, end it, nor listen on its
/// stream: each answers `404`, as for a session that does not exist.
#[tokio::test]
async fn should_mcp_security_session_ids_are_bound_to_the_user() {
    let world = World::start().await;
    let alice = world.token("alice", "mcp:read").await;
    let bob = world.token("bob", "mcp:read").await;
    let session = world.open_session(&alice).await;

    let stream = world
        .http
        .get(&world.mcp)
        .bearer_auth(&bob)
        .header("accept", "text/event-stream")
        .header("mcp-session-id", &session)
        .header("mcp-protocol-version", support::PROTOCOL_VERSION)
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), 404, "bob may listen on alice's session");
    drop(stream);

    let delete = world
        .http
        .delete(&world.mcp)
        .bearer_auth(&bob)
        .header("mcp-session-id", &session)
        .header("mcp-protocol-version", support::PROTOCOL_VERSION)
        .send()
        .await
        .unwrap();
    assert_eq!(delete.status(), 404, "bob may end alice's session");
    let call = world
        .rpc(Some(&bob), &session, &call_body(5, GET_NOTE))
        .await;
    assert_eq!(call.status(), 404, "bob may use alice's session");
    assert_eq!(world.backend.reads.load(Ordering::SeqCst), 0);
    // Alice's session is untouched (both tools listed: her group allows them,
    // and lists do not hide what a scope step-up would allow).
    assert_eq!(
        world.list_tools(&alice, &session).await,
        [CREATE_NOTE, GET_NOTE]
    );
    world.stop().await;
}

/// MCP "Token Handling" ("MCP servers **MUST NOT** accept or transit any other
/// tokens") and "Security Best Practices", "Token Passthrough": "The MCP server
/// **MUST NOT** pass through the token it received from the MCP client." The
/// recording backend served the calls but never saw an `Authorization` header,
/// nor the caller's token (or its signature) in any header or URL.
#[tokio::test]
async fn mcp_token_passthrough_backend_never_sees_the_callers_token() {
    let world = World::start().await;
    let token = world.token("alice", "mcp:read mcp:write").await;
    let session = world.open_session(&token).await;
    for (id, tool) in [(3, GET_NOTE), (4, CREATE_NOTE)] {
        let response = world
            .rpc(Some(&token), &session, &call_body(id, tool))
            .await;
        assert_eq!(response.status(), 200, "{tool}: {response:?}");
        let answer = json_rpc(response).await;
        assert_eq!(answer["result"]["isError"], false, "{tool}: {answer}");
    }
    assert_eq!(world.backend.reads.load(Ordering::SeqCst), 1);
    assert_eq!(world.backend.creates.load(Ordering::SeqCst), 1);

    let seen = world.backend.seen();
    assert!(
        seen.iter().filter(|s| s.method == "POST").count() >= 3,
        "initialize and two calls at least: {seen:?}"
    );
    let signature = token.rsplit('.').next().unwrap();
    for request in &seen {
        assert_eq!(request.header("authorization"), None, "{request:?}");
        assert!(!request.uri.contains(signature), "{request:?}");
        for (name, value) in &request.headers {
            assert!(
                !value.contains(signature),
                "caller's token in {name}: {request:?}"
            );
        }
    }
    world.stop().await;
}

// ----- Scope challenges (MCP "Scope Challenge Handling", RFC 6750 §3.1 insufficient_scope) -----

/// MCP "Scope Challenge Handling" (SHOULD: "the server **SHOULD** respond with
/// `HTTP 403 Forbidden` ... `error="insufficient_scope"` ... `scope` ...
/// `resource_metadata`"), RFC 6750 §3.1 `insufficient_scope`: "The request
/// requires higher privileges than provided by the access token. The resource
/// server SHOULD respond with the HTTP 403 (Forbidden) status code and MAY
/// include the "scope" attribute with the scope necessary to access the protected
/// resource." The denied call does not reach the backend; a token with the
/// challenged scopes (step-up) gets it through.
#[tokio::test]
async fn should_mcp_scope_challenge_rfc6750_s3_1_insufficient_scope_is_403_with_scope() {
    let world = World::start().await;
    let read_only = world.token("alice", "mcp:read").await;
    let session = world.open_session(&read_only).await;
    let response = world
        .rpc(Some(&read_only), &session, &call_body(7, CREATE_NOTE))
        .await;
    assert_eq!(response.status(), 403, "{response:?}");
    let header = www_authenticate(&response);
    assert_eq!(
        header,
        format!(
            "Bearer error=\"insufficient_scope\", scope=\"mcp:read mcp:write\", \
             error_description=\"mcp:write is required\", resource_metadata=\"{}\"",
            world.metadata_url()
        )
    );
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["id"], 7, "{body}");
    assert_eq!(world.backend.creates.load(Ordering::SeqCst), 0);

    // Step up with exactly the challenged scopes and retry.
    let challenged = parse_challenge(&header).get("scope").unwrap().to_owned();
    let stepped_up = world.token("alice", &challenged).await;
    let session = world.open_session(&stepped_up).await;
    let response = world
        .rpc(Some(&stepped_up), &session, &call_body(8, CREATE_NOTE))
        .await;
    assert_eq!(response.status(), 200, "{response:?}");
    let answer = json_rpc(response).await;
    assert_eq!(answer["result"]["isError"], false, "{answer}");
    assert_eq!(world.backend.creates.load(Ordering::SeqCst), 1);
    world.stop().await;
}

// ----- Authorization header syntax (RFC 6750 §2.1, §3) -----

/// RFC 6750 §2.1 ("Resource servers MUST support this method": `Authorization:
/// Bearer`) with RFC 9110 §11.1 / RFC 7235 §2.1: "It uses a case-insensitive token
/// as a means to identify the authentication scheme". `bearer`, `BEARER` and
/// `BeArEr` are accepted like `Bearer`.
#[tokio::test]
async fn rfc6750_s2_1_rfc7235_s2_1_bearer_scheme_is_case_insensitive() {
    let world = World::start().await;
    let token = world.token("alice", "mcp:read").await;
    for scheme in ["Bearer", "bearer", "BEARER", "BeArEr"] {
        assert_accepted(&world, &format!("{scheme} {token}"), scheme).await;
    }
    world.stop().await;
}

/// RFC 6750 §3.1 `invalid_request`: "The request is missing a required parameter,
/// includes an unsupported parameter or parameter value, repeats the same
/// parameter, uses more than one method for including an access token, or is
/// otherwise malformed. The resource server SHOULD respond with the HTTP 400 (Bad
/// Request) status code." MCP "Error Handling": 400 for a "Malformed authorization
/// request". Two `Authorization` headers (both valid) and `Bearer` without a
/// token are `400 invalid_request`.
#[tokio::test]
async fn rfc6750_s3_1_two_authorization_headers_are_400_invalid_request() {
    let world = World::start().await;
    let token = world.token("alice", "mcp:read").await;
    let header = format!("Bearer {token}");
    assert_accepted(&world, &header, "one header").await;

    let twice = world.initialize_with(&[&header, &header]).await;
    assert_eq!(twice.status(), 400, "{twice:?}");
    assert_eq!(
        www_authenticate(&twice),
        format!(
            "Bearer realm=\"mcp-proxy\", error=\"invalid_request\", \
             error_description=\"more than one Authorization header\", resource_metadata=\"{}\"",
            world.metadata_url()
        )
    );

    let empty = world.initialize_with(&["Bearer"]).await;
    assert_eq!(empty.status(), 400, "{empty:?}");
    assert_eq!(
        www_authenticate(&empty),
        format!(
            "Bearer realm=\"mcp-proxy\", error=\"invalid_request\", \
             error_description=\"empty bearer token\", resource_metadata=\"{}\"",
            world.metadata_url()
        )
    );
    world.stop().await;
}

/// RFC 6750 §3: "All challenges defined by this specification MUST use the
/// auth-scheme value "Bearer". This scheme MUST be followed by one or more
/// auth-param values. ... The "scope" attribute ... MUST NOT appear more than
/// once" (likewise realm, error, error_description); "Values for the "error" and
/// "error_description" attributes MUST NOT include characters outside the set
/// %x20-21 / %x23-5B / %x5D-7E"; scope-tokens are `%x21 / %x23-5B / %x5D-7E`
/// separated by single spaces. And RFC 9110 §15.5.2: a 401 "MUST send a
/// WWW-Authenticate header field". Checked on every kind of rejection.
#[tokio::test]
async fn rfc6750_s3_every_challenge_is_well_formed() {
    let world = World::start().await;
    let read_only = world.token("alice", "mcp:read").await;
    let session = world.open_session(&read_only).await;
    let expired =
        world.mint(AccessTokenSpec::for_user("alice").expired_since(Duration::from_secs(3600)));
    let tricky = "Bearer a\"b\\c";
    let responses = vec![
        ("no token", world.initialize_with(&[]).await),
        ("garbage", world.initialize_with(&["Bearer x.y.z"]).await),
        (
            "quote and backslash",
            world.initialize_with(&[tricky]).await,
        ),
        (
            "expired",
            world.initialize_with(&[&format!("Bearer {expired}")]).await,
        ),
        (
            "two headers",
            world.initialize_with(&["Bearer a", "Bearer b"]).await,
        ),
        (
            "insufficient scope",
            world
                .rpc(Some(&read_only), &session, &call_body(9, CREATE_NOTE))
                .await,
        ),
    ];
    let nqschar = |c: char| matches!(c, '\x20'..='\x21' | '\x23'..='\x5b' | '\x5d'..='\x7e');
    let scope_char = |c: char| matches!(c, '\x21' | '\x23'..='\x5b' | '\x5d'..='\x7e');
    for (what, response) in &responses {
        assert!(
            [400, 401, 403].contains(&response.status().as_u16()),
            "{what}: {response:?}"
        );
        let challenge = parse_challenge(&www_authenticate(response));
        assert_eq!(challenge.scheme, "Bearer", "{what}");
        assert!(!challenge.params.is_empty(), "{what}");
        for (i, (name, _)) in challenge.params.iter().enumerate() {
            assert!(
                !challenge.params[..i]
                    .iter()
                    .any(|(n, _)| n.eq_ignore_ascii_case(name)),
                "{what}: {name} repeated in {challenge:?}"
            );
        }
        for attribute in ["error", "error_description"] {
            if let Some(value) = challenge.get(attribute) {
                assert!(
                    value.chars().all(nqschar),
                    "{what}: {attribute} = {value:?}"
                );
            }
        }
        if let Some(scope) = challenge.get("scope") {
            assert!(
                scope
                    .split(' ')
                    .all(|t| !t.is_empty() && t.chars().all(scope_char)),
                "{what}: scope = {scope:?}"
            );
        }
    }
    world.stop().await;
}
