//! Malformed requests: wrong content type, oversized and garbage bodies, duplicates.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{assert_oauth_error, http, standard_sim};
use serde_json::Value;

async fn send(
    request: reqwest::RequestBuilder,
) -> (reqwest::StatusCode, reqwest::header::HeaderMap, Value) {
    let response = request.send().await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let body = response.json::<Value>().await.unwrap();
    (status, headers, body)
}

#[tokio::test]
async fn wrong_content_type_is_invalid_request() {
    let sim = standard_sim().await;
    let url = sim.token_endpoint("default");
    let json_body = send(
        http()
            .post(&url)
            .json(&serde_json::json!({"grant_type": "client_credentials"})),
    )
    .await;
    assert_oauth_error(&json_body, 400, "invalid_request");
    assert!(
        json_body.2["error_description"]
            .as_str()
            .unwrap()
            .contains("x-www-form-urlencoded")
    );
    let none = send(http().post(&url).body("grant_type=client_credentials")).await;
    assert_oauth_error(&none, 400, "invalid_request");
    let with_charset = send(
        http()
            .post(&url)
            .header(
                "content-type",
                "application/x-www-form-urlencoded; charset=UTF-8",
            )
            .header(
                "authorization",
                common::basic_header("agent", "agent-secret"),
            )
            .body("grant_type=client_credentials&scope=mcp%3Aread"),
    )
    .await;
    assert_eq!(with_charset.0, 200, "{}", with_charset.2);
}

#[tokio::test]
async fn oversized_bodies_are_refused_with_413() {
    let sim = standard_sim().await;
    let body = format!(
        "grant_type=client_credentials&scope={}",
        "a".repeat(100 * 1024)
    );
    let response = send(
        http()
            .post(sim.token_endpoint("default"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body),
    )
    .await;
    assert_oauth_error(&response, 413, "invalid_request");
}

#[tokio::test]
async fn duplicate_parameters_and_garbage_bodies_are_invalid_request() {
    let sim = standard_sim().await;
    let url = sim.token_endpoint("default");
    let form = |body: &'static [u8]| {
        http()
            .post(&url)
            .header("content-type", "application/x-www-form-urlencoded")
            .header(
                "authorization",
                common::basic_header("agent", "agent-secret"),
            )
            .body(body)
    };
    let duplicate = send(form(b"grant_type=client_credentials&scope=a&scope=b")).await;
    assert_oauth_error(&duplicate, 400, "invalid_request");
    assert!(
        duplicate.2["error_description"]
            .as_str()
            .unwrap()
            .contains("more than once")
    );
    for garbage in [&b"\xff\xfe\x00=%%%&&=="[..], b"", b"=", b"&&&"] {
        let response = send(form(garbage)).await;
        assert_oauth_error(&response, 400, "invalid_request");
    }
}

#[tokio::test]
async fn two_authorization_headers_are_invalid_request() {
    let sim = standard_sim().await;
    let response = send(
        http()
            .post(sim.token_endpoint("default"))
            .header(
                "authorization",
                common::basic_header("agent", "agent-secret"),
            )
            .header(
                "authorization",
                common::basic_header("reader", "reader-secret"),
            )
            .form(&[("grant_type", "client_credentials"), ("scope", "mcp:read")]),
    )
    .await;
    assert_oauth_error(&response, 400, "invalid_request");
}

#[tokio::test]
async fn get_on_token_endpoint_is_405_json() {
    let sim = standard_sim().await;
    let response = http()
        .get(sim.token_endpoint("default"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 405);
    let body: Value = response.json().await.unwrap();
    assert!(body["errorSummary"].is_string());
}
