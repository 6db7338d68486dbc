//! The ID-JAG flow over real HTTP against okta-sim: the org server exchanges ID tokens for
//! ID-JAGs (managed connections, consent), the custom server validates them with
//! `IdJagValidator` and issues access tokens.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use id_jag::{
    Error, ID_JAG_TYP, IdJagFlow, IdJagValidator, JwtBearerClient, Rejection, Step,
    TOKEN_TYPE_ACCESS_TOKEN, TOKEN_TYPE_ID_JAG, TOKEN_TYPE_ID_TOKEN, TokenExchangeClient,
    TokenExchangeRequest, TokenExchangeResponse,
};
use okta_auth::{ClientAuth, JwksCache, OAuthErrorCode, SigningKey, TokenEndpointClient, Verifier};
use okta_sim::{AccessTokenSpec, AuthServer, AuthServerId, GrantType, OktaSim, SimClient, SimUser};
use serde_json::{Map, Value, json};

const EXCHANGE_PATH: &str = "/oauth2/v1/token";
const BEARER_PATH: &str = "/oauth2/mcp/v1/token";
const READ: [&str; 2] = ["mcp:connect", "mcp:tools:read"];
const MCP_RESOURCE: &str = "http://127.0.0.1:9/mcp";
const FILES_RESOURCE: &str = "https://files.example.com/api";

struct Fixture {
    sim: OktaSim,
    id_token: String,
    agent_key: SigningKey,
}

fn mcp_server() -> AuthServer {
    AuthServer::new("mcp").audience("api://mcp").scopes([
        "mcp:connect",
        "mcp:tools:read",
        "mcp:tools:manage",
    ])
}

async fn start() -> Fixture {
    start_with(mcp_server()).await
}

async fn start_with(mcp: AuthServer) -> Fixture {
    let agent_key = SigningKey::generate_es256().unwrap().with_kid("agent-key");
    let grants = [
        GrantType::Password,
        GrantType::TokenExchange,
        GrantType::JwtBearer,
    ];
    let scopes = [
        "openid",
        "mcp:connect",
        "mcp:tools:read",
        "mcp:tools:manage",
    ];
    let sim = OktaSim::builder()
        .user(SimUser::new("alice", "pw-alice").groups(["mcp-developers"]))
        .client(
            SimClient::secret("agent", "agent-secret")
                .grants(grants)
                .scopes(scopes),
        )
        .client(
            SimClient::secret("other", "other-secret")
                .grants(grants)
                .scopes(scopes),
        )
        .client(
            SimClient::private_key_jwt("agent-jwt", agent_key.public_jwk())
                .grants(grants)
                .scopes(scopes),
        )
        // Managed connections, but each lacks one of the two grants.
        .client(
            SimClient::secret("no-exchange", "no-exchange-secret")
                .grants([GrantType::Password, GrantType::JwtBearer])
                .scopes(scopes),
        )
        .client(
            SimClient::secret("no-bearer", "no-bearer-secret")
                .grants([GrantType::Password, GrantType::TokenExchange])
                .scopes(scopes),
        )
        .auth_server(mcp)
        .start()
        .await
        .unwrap();
    for client in ["agent", "other", "agent-jwt", "no-exchange", "no-bearer"] {
        sim.add_managed_connection(client, "mcp");
    }
    // The user signs in (password grant at the org server) and the app gets an ID token.
    let org = TokenEndpointClient::new(
        sim.org_token_endpoint(),
        ClientAuth::client_secret_basic("agent", "agent-secret"),
    )
    .unwrap();
    let signed_in = org
        .request(vec![
            ("grant_type".into(), "password".into()),
            ("username".into(), "alice".into()),
            ("password".into(), "pw-alice".into()),
            ("scope".into(), "openid".into()),
        ])
        .await
        .unwrap();
    let id_token = signed_in.id_token().unwrap().to_owned();
    sim.reset_counters();
    Fixture {
        sim,
        id_token,
        agent_key,
    }
}

fn flow_for(sim: &OktaSim, auth: ClientAuth) -> IdJagFlow {
    IdJagFlow::builder()
        .idp_token_endpoint(sim.org_token_endpoint())
        .resource_token_endpoint(sim.token_endpoint("mcp"))
        .audience(sim.issuer("mcp"))
        .resource(MCP_RESOURCE)
        .client_auth(auth)
        .build()
        .unwrap()
}

fn flow(sim: &OktaSim) -> IdJagFlow {
    flow_for(
        sim,
        ClientAuth::client_secret_basic("agent", "agent-secret"),
    )
}

async fn verifier(sim: &OktaSim) -> Verifier {
    let jwks = JwksCache::builder()
        .jwks_uri(sim.jwks_uri("mcp"))
        .build()
        .await
        .unwrap();
    Verifier::builder(jwks)
        .issuer(sim.issuer("mcp"))
        .audience("api://mcp")
        .build()
        .unwrap()
}

#[tokio::test]
async fn id_token_becomes_an_mcp_access_token_for_the_user() {
    let f = start().await;
    for auth in [
        ClientAuth::client_secret_basic("agent", "agent-secret"),
        ClientAuth::private_key_jwt("agent-jwt", f.agent_key.clone()),
    ] {
        let client_id = auth.client_id().to_owned();
        // The ID token must have been issued to the client that exchanges it.
        let id_token = if client_id == "agent" {
            f.id_token.clone()
        } else {
            f.sim
                .mint_org_id_token("alice", &client_id, Duration::from_secs(600), false)
                .unwrap()
        };
        let token = flow_for(&f.sim, auth)
            .access_token(&id_token, &READ)
            .await
            .unwrap();
        assert_eq!(token.scopes(), READ);
        let claims = verifier(&f.sim).await.verify(token.secret()).await.unwrap();
        assert_eq!(claims.sub.as_deref(), Some("alice"));
        assert_eq!(claims.cid.as_deref(), Some(client_id.as_str()));
        assert_eq!(claims.scp, READ);
        assert!(claims.uid.is_some());
    }
}

#[tokio::test]
async fn cached_until_expiry_and_keyed_by_scope_set() {
    let f = start().await;
    let flow = flow(&f.sim);
    let first = flow.access_token(&f.id_token, &READ).await.unwrap();
    for _ in 0..10 {
        // Same set in another order and with duplicates: same cache entry.
        let again = flow
            .access_token(
                &f.id_token,
                &["mcp:tools:read", "mcp:connect", "mcp:connect"],
            )
            .await
            .unwrap();
        assert_eq!(again.secret(), first.secret());
    }
    assert_eq!(f.sim.request_count(EXCHANGE_PATH), 1);
    assert_eq!(f.sim.request_count(BEARER_PATH), 1);
    flow.access_token(&f.id_token, &["mcp:connect"])
        .await
        .unwrap();
    assert_eq!(f.sim.request_count(EXCHANGE_PATH), 2);
}

#[tokio::test]
async fn fifty_concurrent_callers_share_one_flow() {
    let f = start().await;
    f.sim.set_latency(Duration::from_millis(50));
    let flow = flow(&f.sim);
    let calls = (0..50).map(|_| {
        let (flow, id_token) = (flow.clone(), f.id_token.clone());
        tokio::spawn(async move {
            flow.access_token(&id_token, &READ)
                .await
                .map(|t| t.secret().to_owned())
        })
    });
    let secrets: Vec<String> = futures::future::join_all(calls)
        .await
        .into_iter()
        .map(|r| r.unwrap().unwrap())
        .collect();
    assert!(secrets.iter().all(|s| s == &secrets[0]));
    assert_eq!(f.sim.request_count(EXCHANGE_PATH), 1);
    assert_eq!(f.sim.request_count(BEARER_PATH), 1);
}

#[tokio::test]
async fn step_up_adds_the_missing_scope() {
    let f = start().await;
    let flow = flow(&f.sim);
    let token = flow.access_token(&f.id_token, &READ).await.unwrap();
    let challenge = r#"Bearer error="insufficient_scope", scope="mcp:tools:manage""#;
    let more = id_jag::insufficient_scope(challenge).unwrap();
    let wider = flow.step_up(&f.id_token, &token, &more).await.unwrap();
    assert_eq!(
        wider.scopes(),
        ["mcp:connect", "mcp:tools:manage", "mcp:tools:read"]
    );
    let claims = verifier(&f.sim).await.verify(wider.secret()).await.unwrap();
    assert!(claims.has_scope("mcp:tools:manage"));
    assert_eq!(f.sim.request_count(EXCHANGE_PATH), 2);
}

#[tokio::test]
async fn interaction_required_carries_the_consent_url_until_consent() {
    let f = start().await;
    let flow = flow(&f.sim);
    f.sim
        .set_consent_required("mcp", Some("https://sim.example/consent/mcp".into()));
    match flow.access_token(&f.id_token, &READ).await.unwrap_err() {
        Error::InteractionRequired {
            step,
            interaction_uri,
            error,
            ..
        } => {
            assert_eq!(step, Step::TokenExchange);
            assert_eq!(error, OAuthErrorCode::InteractionRequired);
            assert_eq!(
                interaction_uri.as_deref(),
                Some("https://sim.example/consent/mcp")
            );
        }
        other => panic!("unexpected {other:?}"),
    }
    f.sim.set_consent_required("mcp", None);
    flow.access_token(&f.id_token, &READ).await.unwrap();
}

#[tokio::test]
async fn no_managed_connection_is_invalid_target() {
    let f = start().await;
    f.sim.remove_managed_connection("agent", "mcp");
    let err = flow(&f.sim)
        .access_token(&f.id_token, &READ)
        .await
        .unwrap_err();
    assert_eq!(err.oauth_error(), Some(&OAuthErrorCode::InvalidTarget));
    assert_eq!(err.step(), Some(Step::TokenExchange));
}

#[tokio::test]
async fn expired_id_token_is_invalid_grant() {
    let f = start().await;
    let expired = f
        .sim
        .mint_org_id_token("alice", "agent", Duration::from_secs(600), true)
        .unwrap();
    let err = flow(&f.sim)
        .access_token(&expired, &READ)
        .await
        .unwrap_err();
    assert_oauth(
        &err,
        Step::TokenExchange,
        OAuthErrorCode::InvalidGrant,
        None,
        Some("The subject token is expired."),
    );
    // A fresh minted one works, proving the failure was the expiry.
    let fresh = f
        .sim
        .mint_org_id_token("alice", "agent", Duration::from_secs(600), false)
        .unwrap();
    flow(&f.sim).access_token(&fresh, &READ).await.unwrap();
}

#[tokio::test]
async fn scope_unknown_to_the_resource_server_is_invalid_scope() {
    let f = start().await;
    let err = flow(&f.sim)
        .access_token(&f.id_token, &["mcp:admin"])
        .await
        .unwrap_err();
    assert_eq!(err.oauth_error(), Some(&OAuthErrorCode::InvalidScope));
}

fn exchange_client(f: &Fixture) -> TokenExchangeClient {
    TokenExchangeClient::new(
        TokenEndpointClient::new(
            f.sim.org_token_endpoint(),
            ClientAuth::client_secret_post("agent", "agent-secret"),
        )
        .unwrap(),
    )
}

/// The ID-JAG request of the flow (ID token → ID-JAG for the `mcp` server), without resources.
fn id_jag_request(f: &Fixture, scopes: &[&str]) -> TokenExchangeRequest {
    TokenExchangeRequest::new(f.id_token.clone(), TOKEN_TYPE_ID_TOKEN)
        .requested_token_type(TOKEN_TYPE_ID_JAG)
        .audience(f.sim.issuer("mcp"))
        .scopes(scopes.iter().copied())
}

/// Exchanges the user's ID token for an ID-JAG with `READ` and these RFC 8707 resources.
async fn exchange_answer(f: &Fixture, resources: &[&str]) -> TokenExchangeResponse {
    let mut request = id_jag_request(f, &READ);
    for resource in resources {
        request = request.resource(*resource);
    }
    let answer = exchange_client(f).exchange(&request).await.unwrap();
    assert_eq!(answer.issued_token_type, TOKEN_TYPE_ID_JAG);
    assert_eq!(answer.token_type, "N_A");
    answer
}

async fn exchange(f: &Fixture) -> String {
    exchange_answer(f, &[]).await.access_token().to_owned()
}

/// The JOSE header and claims of a compact JWS, decoded without verification.
fn decode(jwt: &str) -> (Map<String, Value>, Map<String, Value>) {
    let mut parts = jwt.split('.');
    let mut part = || -> Map<String, Value> {
        let bytes = URL_SAFE_NO_PAD.decode(parts.next().unwrap()).unwrap();
        serde_json::from_slice(&bytes).unwrap()
    };
    let header = part();
    let claims = part();
    assert_eq!(jwt.split('.').count(), 3);
    (header, claims)
}

fn now_secs() -> i64 {
    i64::try_from(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs(),
    )
    .unwrap()
}

/// A validator like the `mcp` server's, trusting the org through its published JWKS.
async fn mcp_validator(f: &Fixture) -> IdJagValidator {
    let org_keys = JwksCache::builder()
        .jwks_uri(f.sim.org_jwks_uri())
        .build()
        .await
        .unwrap();
    IdJagValidator::builder(f.sim.issuer("mcp"))
        .trust(f.sim.org_issuer(), org_keys)
        .build()
        .unwrap()
}

fn bearer(f: &Fixture, client: &str, secret: &str) -> JwtBearerClient {
    JwtBearerClient::new(
        TokenEndpointClient::new(
            f.sim.token_endpoint("mcp"),
            ClientAuth::client_secret_basic(client, secret),
        )
        .unwrap(),
    )
}

#[tokio::test]
async fn a_replayed_id_jag_is_refused_by_the_resource_server() {
    let f = start().await;
    let id_jag = exchange(&f).await;
    let bearer = bearer(&f, "agent", "agent-secret");
    bearer.grant(&id_jag, &[]).await.unwrap();
    let err = bearer.grant(&id_jag, &[]).await.unwrap_err();
    match &err {
        Error::OAuth {
            step: Step::JwtBearer,
            error: OAuthErrorCode::InvalidGrant,
            description,
            ..
        } => assert!(
            description.as_deref().unwrap().contains("already used"),
            "{err}"
        ),
        other => panic!("unexpected {other:?}"),
    }
}

#[tokio::test]
async fn an_id_jag_presented_by_another_client_is_refused() {
    let f = start().await;
    let id_jag = exchange(&f).await;
    let err = bearer(&f, "other", "other-secret")
        .grant(&id_jag, &[])
        .await
        .unwrap_err();
    match &err {
        Error::OAuth {
            error: OAuthErrorCode::InvalidGrant,
            description,
            ..
        } => assert!(
            description.as_deref().unwrap().contains("client_id"),
            "{err}"
        ),
        other => panic!("unexpected {other:?}"),
    }
}

#[tokio::test]
async fn asking_for_more_than_the_id_jag_grants_is_invalid_scope() {
    let f = start().await;
    let id_jag = exchange(&f).await;
    let err = bearer(&f, "agent", "agent-secret")
        .grant(&id_jag, &["mcp:tools:manage".to_owned()])
        .await
        .unwrap_err();
    assert_eq!(err.oauth_error(), Some(&OAuthErrorCode::InvalidScope));
}

#[tokio::test]
async fn idp_outage_is_a_typed_step_one_error_then_recovers() {
    let f = start().await;
    let flow = flow(&f.sim);
    f.sim.set_outage(true);
    let err = flow.access_token(&f.id_token, &READ).await.unwrap_err();
    assert_eq!(err.step(), Some(Step::TokenExchange));
    assert_eq!(
        err.oauth_error(),
        Some(&OAuthErrorCode::TemporarilyUnavailable)
    );
    f.sim.set_outage(false);
    flow.access_token(&f.id_token, &READ).await.unwrap();
}

#[tokio::test]
async fn the_id_jag_has_the_drafts_header_and_claims() {
    let f = start().await;
    let before = now_secs();
    let answer = exchange_answer(&f, &[MCP_RESOURCE]).await;
    let after = now_secs();
    let (header, claims) = decode(answer.access_token());
    // Header: typed (draft §3.1), RS256 by the org's current key.
    assert_eq!(header["typ"], ID_JAG_TYP);
    assert_eq!(header["alg"], "RS256");
    assert_eq!(header["kid"], json!(f.sim.current_org_kid()));
    // Claims (draft §3.1).
    assert_eq!(claims["iss"], json!(f.sim.org_issuer()));
    assert_eq!(claims["sub"], json!(f.sim.user("alice").unwrap().user_id()));
    assert_eq!(claims["aud"], json!(f.sim.issuer("mcp")));
    assert_eq!(claims["client_id"], "agent");
    let jti = claims["jti"].as_str().unwrap();
    assert!(!jti.is_empty());
    let iat = claims["iat"].as_i64().unwrap();
    assert!(
        (before..=after).contains(&iat),
        "{iat} not in {before}..={after}"
    );
    assert_eq!(claims["exp"].as_i64().unwrap(), iat + 300);
    assert_eq!(claims["scope"], "mcp:connect mcp:tools:read");
    assert_eq!(claims["resource"], MCP_RESOURCE);
    // The signature verifies with the org's published keys, as the draft's `typ`.
    let org_keys = JwksCache::builder()
        .jwks_uri(f.sim.org_jwks_uri())
        .build()
        .await
        .unwrap();
    let verified = Verifier::builder(org_keys)
        .issuer(f.sim.org_issuer())
        .audience(f.sim.issuer("mcp"))
        .require_type([ID_JAG_TYP])
        .build()
        .unwrap()
        .verify(answer.access_token())
        .await
        .unwrap();
    assert_eq!(verified.jti.as_deref(), Some(jti));
    // Without `resource` in the request there is no `resource` claim; each ID-JAG has its
    // own `jti`.
    let (_, plain) = decode(&exchange(&f).await);
    assert!(!plain.contains_key("resource"), "{plain:?}");
    assert_ne!(plain["jti"].as_str().unwrap(), jti);
}

#[tokio::test]
async fn exchange_answer_has_expires_in_and_the_granted_scope() {
    let f = start().await;
    let answer = exchange_answer(&f, &[]).await;
    assert_eq!(answer.expires_in, Some(300));
    assert_eq!(answer.scope.as_deref(), Some("mcp:connect mcp:tools:read"));
    assert_eq!(
        answer.scopes(),
        Some(vec!["mcp:connect".to_owned(), "mcp:tools:read".to_owned()])
    );
    // The answer's scope is the one granted for this request, not a constant.
    let narrow = exchange_client(&f)
        .exchange(&id_jag_request(&f, &["mcp:connect"]))
        .await
        .unwrap();
    assert_eq!(narrow.scope.as_deref(), Some("mcp:connect"));
    assert_eq!(narrow.expires_in, Some(300));
    let (_, claims) = decode(narrow.access_token());
    assert_eq!(claims["scope"], "mcp:connect");
}

#[tokio::test]
async fn resource_claim_is_a_string_for_one_and_an_array_for_several() {
    let f = start().await;
    let validator = mcp_validator(&f).await;
    let cases: [(&[&str], Value); 3] = [
        (&[MCP_RESOURCE], json!(MCP_RESOURCE)),
        (
            &[MCP_RESOURCE, FILES_RESOURCE],
            json!([MCP_RESOURCE, FILES_RESOURCE]),
        ),
        (
            &[FILES_RESOURCE, MCP_RESOURCE],
            json!([FILES_RESOURCE, MCP_RESOURCE]),
        ),
    ];
    for (sent, claim) in cases {
        let answer = exchange_answer(&f, sent).await;
        let (_, claims) = decode(answer.access_token());
        assert_eq!(claims["resource"], claim, "{sent:?}");
        // The validator accepts both forms and exposes the resources in order.
        let validated = validator
            .validate(answer.access_token(), "agent")
            .await
            .unwrap();
        assert_eq!(validated.resources, sent);
    }
}

#[tokio::test]
async fn a_flow_with_two_resources_gets_its_token() {
    let f = start().await;
    let flow = IdJagFlow::builder()
        .idp_token_endpoint(f.sim.org_token_endpoint())
        .resource_token_endpoint(f.sim.token_endpoint("mcp"))
        .audience(f.sim.issuer("mcp"))
        .resource(MCP_RESOURCE)
        .resource(FILES_RESOURCE)
        .client_auth(ClientAuth::client_secret_basic("agent", "agent-secret"))
        .build()
        .unwrap();
    let token = flow.access_token(&f.id_token, &READ).await.unwrap();
    assert_eq!(token.scopes(), READ);
    let claims = verifier(&f.sim).await.verify(token.secret()).await.unwrap();
    assert_eq!(claims.sub.as_deref(), Some("alice"));
    assert_eq!(f.sim.request_count(EXCHANGE_PATH), 1);
    assert_eq!(f.sim.request_count(BEARER_PATH), 1);
    // An invalid resource among them is the IdP's `invalid_target`, at step 1.
    let err = IdJagFlow::builder()
        .idp_token_endpoint(f.sim.org_token_endpoint())
        .resource_token_endpoint(f.sim.token_endpoint("mcp"))
        .audience(f.sim.issuer("mcp"))
        .resource(MCP_RESOURCE)
        .resource("/relative")
        .client_auth(ClientAuth::client_secret_basic("agent", "agent-secret"))
        .build()
        .unwrap()
        .access_token(&f.id_token, &READ)
        .await
        .unwrap_err();
    assert_eq!(err.step(), Some(Step::TokenExchange));
    assert_eq!(err.oauth_error(), Some(&OAuthErrorCode::InvalidTarget));
    assert_eq!(f.sim.request_count(BEARER_PATH), 1, "step 2 never ran");
}

/// An ID-JAG-shaped token minted and signed by the org server itself, for `alice` and
/// `agent` at the `mcp` server, without a `typ` header (add one with `.typ(..)`).
fn org_signed(f: &Fixture) -> AccessTokenSpec {
    AccessTokenSpec::for_user("alice")
        .client_id("agent")
        .audience(f.sim.issuer("mcp"))
        .claim("sub", json!(f.sim.user("alice").unwrap().user_id()))
        .claim("client_id", json!("agent"))
        .claim("scope", json!("mcp:connect mcp:tools:read"))
        .remove_claim("scp")
}

/// Presents `assertion` at the `mcp` server as `agent` and asserts `invalid_grant` with the
/// validator's reason.
async fn assert_refused(f: &Fixture, assertion: &str, reason: Rejection) {
    let err = bearer(f, "agent", "agent-secret")
        .grant(assertion, &[])
        .await
        .unwrap_err();
    match &err {
        Error::OAuth {
            step: Step::JwtBearer,
            status: 400,
            error: OAuthErrorCode::InvalidGrant,
            description,
            ..
        } => assert_eq!(
            description.as_deref(),
            Some(format!("The assertion is invalid: ID-JAG rejected: {reason}.").as_str()),
        ),
        other => panic!("unexpected {other:?}"),
    }
}

#[tokio::test]
async fn bad_id_jags_signed_by_the_org_are_refused_over_http_with_the_reason() {
    let f = start().await;
    let mint = |spec: AccessTokenSpec| f.sim.mint_access_token(AuthServerId::Org, spec).unwrap();
    // Control: the minted shape with the right `typ` is accepted, so each refusal below is
    // caused by its one defect.
    let good = bearer(&f, "agent", "agent-secret")
        .grant(&mint(org_signed(&f).typ(ID_JAG_TYP)), &[])
        .await
        .unwrap();
    assert_eq!(good.scopes(), READ);

    // Wrong `typ` (none, plain JWT, an access token's).
    assert_refused(&f, &mint(org_signed(&f)), Rejection::WrongType).await;
    for typ in ["JWT", "at+jwt"] {
        assert_refused(&f, &mint(org_signed(&f).typ(typ)), Rejection::WrongType).await;
    }
    // Wrong `aud`: the server's access-token audience, another server's issuer, the org.
    for aud in [
        "api://mcp".to_owned(),
        f.sim.issuer("default"),
        f.sim.org_issuer().to_owned(),
    ] {
        let token = mint(org_signed(&f).typ(ID_JAG_TYP).audience(aud));
        assert_refused(&f, &token, Rejection::WrongAudience).await;
    }
    // Expired.
    let token = mint(
        org_signed(&f)
            .typ(ID_JAG_TYP)
            .expired_since(Duration::from_secs(120)),
    );
    assert_refused(&f, &token, Rejection::Expired).await;
    // Signed by the org but naming another issuer.
    let token = mint(
        org_signed(&f)
            .typ(ID_JAG_TYP)
            .issuer("https://evil.example.com"),
    );
    assert_refused(
        &f,
        &token,
        Rejection::UntrustedIssuer("https://evil.example.com".into()),
    )
    .await;
}

#[tokio::test]
async fn id_jags_signed_by_a_random_key_are_refused_over_http() {
    let f = start().await;
    let now = now_secs();
    let claims = |iss: &str| {
        json!({
            "iss": iss, "sub": f.sim.user("alice").unwrap().user_id(),
            "aud": f.sim.issuer("mcp"), "client_id": "agent",
            "jti": format!("JAG.forged-{iss}"), "iat": now, "exp": now + 300,
            "scope": "mcp:connect mcp:tools:read",
        })
        .as_object()
        .unwrap()
        .clone()
    };
    // An issuer the server does not trust.
    let stranger = SigningKey::generate_rs256().unwrap().with_kid("evil-1");
    let token = stranger
        .sign_jwt(ID_JAG_TYP, &claims("https://evil.example.com"))
        .unwrap();
    assert_refused(
        &f,
        &token,
        Rejection::UntrustedIssuer("https://evil.example.com".into()),
    )
    .await;
    // The trusted org's issuer and current `kid`, but not its key.
    let forger = SigningKey::generate_rs256()
        .unwrap()
        .with_kid(f.sim.current_org_kid());
    let token = forger
        .sign_jwt(ID_JAG_TYP, &claims(f.sim.org_issuer()))
        .unwrap();
    assert_refused(&f, &token, Rejection::BadSignature).await;
}

#[tokio::test]
async fn a_cached_token_is_replaced_once_expiry_minus_the_buffer_passes() {
    // The `mcp` server issues 3-second tokens; the flow replaces them 1 s before expiry.
    let f = start_with(mcp_server().access_token_ttl(Duration::from_secs(3))).await;
    let buffer = Duration::from_secs(1);
    let flow = IdJagFlow::builder()
        .idp_token_endpoint(f.sim.org_token_endpoint())
        .resource_token_endpoint(f.sim.token_endpoint("mcp"))
        .audience(f.sim.issuer("mcp"))
        .client_auth(ClientAuth::client_secret_basic("agent", "agent-secret"))
        .refresh_buffer(buffer)
        .build()
        .unwrap();
    let first = flow.access_token(&f.id_token, &READ).await.unwrap();
    let refresh_at = first.expires_at().unwrap() - buffer;
    assert_eq!(f.sim.request_count(BEARER_PATH), 1);
    // Before the refresh point every call is a cache hit: no second flight. (A call that
    // returns past the refresh point proves nothing either way, so it ends the loop.)
    let mut hits = 0;
    while Instant::now() + Duration::from_millis(200) < refresh_at {
        let again = flow.access_token(&f.id_token, &READ).await.unwrap();
        if Instant::now() >= refresh_at {
            break;
        }
        assert_eq!(again.secret(), first.secret());
        assert_eq!(f.sim.request_count(EXCHANGE_PATH), 1);
        assert_eq!(f.sim.request_count(BEARER_PATH), 1);
        hits += 1;
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert!(hits >= 1, "no call completed before the refresh point");
    // Past it (the token itself is still valid for about a second): a new flight.
    tokio::time::sleep_until((refresh_at + Duration::from_millis(50)).into()).await;
    let second = flow.access_token(&f.id_token, &READ).await.unwrap();
    assert_ne!(second.secret(), first.secret());
    assert_eq!(f.sim.request_count(EXCHANGE_PATH), 2);
    assert_eq!(f.sim.request_count(BEARER_PATH), 2);
    // And the new token is cached in turn.
    let third = flow.access_token(&f.id_token, &READ).await.unwrap();
    assert_eq!(third.secret(), second.secret());
    assert_eq!(f.sim.request_count(BEARER_PATH), 2);
}

#[tokio::test]
async fn a_token_shorter_lived_than_the_buffer_is_replaced_at_half_its_lifetime() {
    // 4-second tokens against the default 5-minute buffer: replaced after about 2 s rather
    // than fetched again on every call (which `expiry - buffer`, already past, would do).
    let f = start_with(mcp_server().access_token_ttl(Duration::from_secs(4))).await;
    let flow = flow(&f.sim);
    let first = flow.access_token(&f.id_token, &READ).await.unwrap();
    let expires_at = first.expires_at().unwrap();
    let again = flow.access_token(&f.id_token, &READ).await.unwrap();
    // Half the lifetime (2 s) has not passed yet: a hit.
    assert_eq!(again.secret(), first.secret());
    assert_eq!(f.sim.request_count(BEARER_PATH), 1);
    tokio::time::sleep_until(expires_at.into()).await;
    let second = flow.access_token(&f.id_token, &READ).await.unwrap();
    assert_ne!(second.secret(), first.secret());
    assert_eq!(f.sim.request_count(EXCHANGE_PATH), 2);
    assert_eq!(f.sim.request_count(BEARER_PATH), 2);
}

#[tokio::test]
async fn a_wrong_client_secret_is_invalid_client_at_the_step_that_sent_it() {
    let f = start().await;
    // Step 1: the flow's client authentication fails at the IdP; step 2 never runs.
    let err = flow_for(
        &f.sim,
        ClientAuth::client_secret_basic("agent", "wrong-secret"),
    )
    .access_token(&f.id_token, &READ)
    .await
    .unwrap_err();
    assert_oauth(
        &err,
        Step::TokenExchange,
        OAuthErrorCode::InvalidClient,
        Some(401),
        None,
    );
    assert_eq!(f.sim.request_count(EXCHANGE_PATH), 1);
    assert_eq!(f.sim.request_count(BEARER_PATH), 0);
    // Step 2: a good ID-JAG presented with a wrong secret.
    let id_jag = exchange(&f).await;
    let err = bearer(&f, "agent", "wrong-secret")
        .grant(&id_jag, &[])
        .await
        .unwrap_err();
    assert_oauth(
        &err,
        Step::JwtBearer,
        OAuthErrorCode::InvalidClient,
        Some(401),
        None,
    );
    // Refused before the assertion was looked at: its `jti` is unused.
    bearer(&f, "agent", "agent-secret")
        .grant(&id_jag, &[])
        .await
        .unwrap();
}

#[tokio::test]
async fn a_client_without_the_grant_is_unauthorized_client_at_that_step() {
    let f = start().await;
    let flow_as = |client: &str, secret: &str| {
        flow_for(&f.sim, ClientAuth::client_secret_basic(client, secret))
    };
    // No token exchange grant: step 1.
    let id_token = f
        .sim
        .mint_org_id_token("alice", "no-exchange", Duration::from_secs(600), false)
        .unwrap();
    let err = flow_as("no-exchange", "no-exchange-secret")
        .access_token(&id_token, &READ)
        .await
        .unwrap_err();
    assert_oauth(
        &err,
        Step::TokenExchange,
        OAuthErrorCode::UnauthorizedClient,
        Some(400),
        None,
    );
    assert_eq!(f.sim.request_count(BEARER_PATH), 0);
    // The exchange allowed, the JWT-bearer grant not: step 2.
    let id_token = f
        .sim
        .mint_org_id_token("alice", "no-bearer", Duration::from_secs(600), false)
        .unwrap();
    let err = flow_as("no-bearer", "no-bearer-secret")
        .access_token(&id_token, &READ)
        .await
        .unwrap_err();
    assert_oauth(
        &err,
        Step::JwtBearer,
        OAuthErrorCode::UnauthorizedClient,
        Some(400),
        None,
    );
    assert_eq!(f.sim.request_count(EXCHANGE_PATH), 2);
    assert_eq!(f.sim.request_count(BEARER_PATH), 1);
}

/// Asserts `invalid_request` (HTTP 400) at `step` with exactly `description`.
#[track_caller]
fn assert_invalid_request(err: &Error, step: Step, description: &str) {
    assert_oauth(
        err,
        step,
        OAuthErrorCode::InvalidRequest,
        Some(400),
        Some(description),
    );
}

/// Asserts an OAuth error `code` at `step`, and the HTTP status and description
/// when given.
#[track_caller]
fn assert_oauth(
    err: &Error,
    step: Step,
    code: OAuthErrorCode,
    status: Option<u16>,
    description: Option<&str>,
) {
    match err {
        Error::OAuth {
            step: got_step,
            status: got_status,
            error,
            description: got_description,
            ..
        } => {
            assert_eq!(*got_step, step, "{err:?}");
            assert_eq!(*error, code, "{err:?}");
            if let Some(status) = status {
                assert_eq!(*got_status, status, "{err:?}");
            }
            if let Some(description) = description {
                assert_eq!(got_description.as_deref(), Some(description), "{err:?}");
            }
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[tokio::test]
async fn malformed_requests_are_invalid_request_at_their_step() {
    let f = start().await;
    // Step 1: a subject token type the ID-JAG exchange does not take.
    let err = exchange_client(&f)
        .exchange(
            &TokenExchangeRequest::new(f.id_token.clone(), TOKEN_TYPE_ACCESS_TOKEN)
                .requested_token_type(TOKEN_TYPE_ID_JAG)
                .audience(f.sim.issuer("mcp"))
                .scopes(READ),
        )
        .await
        .unwrap_err();
    assert_invalid_request(
        &err,
        Step::TokenExchange,
        "'subject_token_type' must be 'urn:ietf:params:oauth:token-type:id_token'.",
    );
    // Step 2: no assertion (an empty parameter counts as omitted, RFC 6749 §3.1).
    let err = bearer(&f, "agent", "agent-secret")
        .grant("", &[])
        .await
        .unwrap_err();
    assert_invalid_request(
        &err,
        Step::JwtBearer,
        "The JWT-bearer grant requires 'assertion'.",
    );
}

#[tokio::test]
async fn an_actor_token_is_refused_as_the_draft_does_not_use_it() {
    let f = start().await;
    let actor = f
        .sim
        .mint_access_token(AuthServerId::Org, AccessTokenSpec::for_client("agent"))
        .unwrap();
    let request = id_jag_request(&f, &READ).actor_token(actor, TOKEN_TYPE_ACCESS_TOKEN);
    let err = exchange_client(&f).exchange(&request).await.unwrap_err();
    assert_invalid_request(
        &err,
        Step::TokenExchange,
        "The ID-JAG token exchange does not use 'actor_token'.",
    );
    // The same request without the actor token succeeds.
    exchange_client(&f)
        .exchange(&id_jag_request(&f, &READ))
        .await
        .unwrap();
}

/// ID-JAG draft §4.3: an app cannot exchange an ID token the IdP issued to another app.
#[tokio::test]
async fn an_id_token_issued_to_another_client_is_invalid_grant() {
    let f = start().await;
    let err = flow_for(
        &f.sim,
        ClientAuth::client_secret_basic("other", "other-secret"),
    )
    .access_token(&f.id_token, &READ)
    .await
    .unwrap_err();
    assert_oauth(
        &err,
        Step::TokenExchange,
        OAuthErrorCode::InvalidGrant,
        None,
        Some("The subject token was not issued to this client."),
    );
    assert_eq!(f.sim.request_count("/oauth2/mcp/v1/token"), 0);
}
