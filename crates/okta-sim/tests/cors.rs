//! Browser-based MCP clients (MCP Inspector) fetch discovery, keys, the token
//! endpoint and registration from another origin: those answer CORS preflights
//! and carry `Access-Control-Allow-Origin`; the authorization endpoint, which a
//! browser navigates to, does not.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use okta_sim::OktaSim;

const ORIGIN: &str = "http://localhost:6274";

async fn preflight(url: &str, method: &str) -> reqwest::Response {
    reqwest::Client::new()
        .request(reqwest::Method::OPTIONS, url)
        .header("origin", ORIGIN)
        .header("access-control-request-method", method)
        .header("access-control-request-headers", "content-type")
        .send()
        .await
        .unwrap()
}

fn allow_origin(response: &reqwest::Response) -> Option<String> {
    response
        .headers()
        .get("access-control-allow-origin")
        .map(|v| v.to_str().unwrap().to_owned())
}

#[tokio::test]
async fn fetched_endpoints_allow_cross_origin_reads_and_posts() {
    let sim = OktaSim::builder().start().await.unwrap();
    let base = sim.base_url().to_owned();
    for (url, method) in [
        (format!("{base}/.well-known/openid-configuration"), "GET"),
        (
            format!("{base}/oauth2/default/.well-known/oauth-authorization-server"),
            "GET",
        ),
        (sim.jwks_uri("default"), "GET"),
        (sim.token_endpoint("default"), "POST"),
        (sim.org_token_endpoint(), "POST"),
        (sim.registration_endpoint(), "POST"),
    ] {
        let answer = preflight(&url, method).await;
        assert!(answer.status().is_success(), "{url}: {}", answer.status());
        assert_eq!(allow_origin(&answer).as_deref(), Some("*"), "{url}");
        let methods = answer.headers()["access-control-allow-methods"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(methods.contains(method), "{url}: {methods}");
    }
    let metadata = reqwest::Client::new()
        .get(format!(
            "{base}/oauth2/default/.well-known/oauth-authorization-server"
        ))
        .header("origin", ORIGIN)
        .send()
        .await
        .unwrap();
    assert_eq!(metadata.status(), 200);
    assert_eq!(allow_origin(&metadata).as_deref(), Some("*"));
    // A token error is readable cross-origin too (the client must see invalid_grant).
    let token = reqwest::Client::new()
        .post(sim.token_endpoint("default"))
        .header("origin", ORIGIN)
        .form(&[("grant_type", "authorization_code"), ("code", "nope")])
        .send()
        .await
        .unwrap();
    assert_eq!(token.status(), 401, "no client authentication");
    assert_eq!(allow_origin(&token).as_deref(), Some("*"));
}

#[tokio::test]
async fn the_authorization_endpoint_is_not_fetchable_cross_origin() {
    let sim = OktaSim::builder().start().await.unwrap();
    let answer = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(sim.authorization_endpoint("default"))
        .header("origin", ORIGIN)
        .send()
        .await
        .unwrap();
    assert_eq!(allow_origin(&answer), None);
}
