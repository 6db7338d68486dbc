//! The ID-JAG flow over real HTTP against okta-sim: the org server exchanges ID tokens for
//! ID-JAGs (managed connections, consent), the custom server validates them with
//! `IdJagValidator` and issues access tokens.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use id_jag::{
    Error, IdJagFlow, JwtBearerClient, Step, TOKEN_TYPE_ID_JAG, TOKEN_TYPE_ID_TOKEN,
    TokenExchangeClient, TokenExchangeRequest,
};
use okta_auth::{ClientAuth, JwksCache, OAuthErrorCode, SigningKey, TokenEndpointClient, Verifier};
use okta_sim::{AuthServer, GrantType, OktaSim, SimClient, SimUser};

const EXCHANGE_PATH: &str = "/oauth2/v1/token";
const BEARER_PATH: &str = "/oauth2/mcp/v1/token";
const READ: [&str; 2] = ["mcp:connect", "mcp:tools:read"];

struct Fixture {
    sim: OktaSim,
    id_token: String,
    agent_key: SigningKey,
}

async fn start() -> Fixture {
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
        .auth_server(AuthServer::new("mcp").audience("api://mcp").scopes([
            "mcp:connect",
            "mcp:tools:read",
            "mcp:tools:manage",
        ]))
        .start()
        .await
        .unwrap();
    for client in ["agent", "other", "agent-jwt"] {
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
        .resource("http://127.0.0.1:9/mcp")
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
        let token = flow_for(&f.sim, auth)
            .access_token(&f.id_token, &READ)
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
    match &err {
        Error::OAuth {
            step,
            error,
            description,
            ..
        } => {
            assert_eq!(*step, Step::TokenExchange);
            assert_eq!(*error, OAuthErrorCode::InvalidGrant);
            assert_eq!(
                description.as_deref(),
                Some("The subject token is expired.")
            );
        }
        other => panic!("unexpected {other:?}"),
    }
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

async fn exchange(f: &Fixture) -> String {
    let idp = TokenEndpointClient::new(
        f.sim.org_token_endpoint(),
        ClientAuth::client_secret_post("agent", "agent-secret"),
    )
    .unwrap();
    let answer = TokenExchangeClient::new(idp)
        .exchange(
            &TokenExchangeRequest::new(f.id_token.clone(), TOKEN_TYPE_ID_TOKEN)
                .requested_token_type(TOKEN_TYPE_ID_JAG)
                .audience(f.sim.issuer("mcp"))
                .scopes(READ),
        )
        .await
        .unwrap();
    assert_eq!(answer.issued_token_type, TOKEN_TYPE_ID_JAG);
    assert_eq!(answer.token_type, "N_A");
    answer.access_token().to_owned()
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
