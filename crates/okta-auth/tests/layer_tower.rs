//! `AuthLayer` on a plain tower service (no axum routing), with a request body
//! type other than axum's.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod verify_support;

use std::convert::Infallible;

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use okta_auth::{AuthLayer, OktaClaims, Verified, require_scopes};
use tower::{ServiceBuilder, ServiceExt, service_fn};
use verify_support::{claims, rs256, verifier};

async fn echo_sub(req: Request<Full<Bytes>>) -> Result<Response<Full<Bytes>>, Infallible> {
    let sub = req
        .extensions()
        .get::<Verified<OktaClaims>>()
        .and_then(|c| c.sub.clone())
        .unwrap_or_default();
    Ok(Response::new(Full::new(Bytes::from(sub))))
}

#[tokio::test]
async fn plain_tower_service_with_custom_body() {
    let svc = ServiceBuilder::new()
        .layer(AuthLayer::new(verifier()))
        .layer(require_scopes(["mcp:read"]))
        .service(service_fn(echo_sub));
    let req = Request::builder()
        .header("authorization", format!("Bearer {}", rs256(&claims())))
        .body(Full::new(Bytes::from_static(b"payload")))
        .unwrap();
    let resp = svc.clone().oneshot(req).await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(&body[..], b"alice@example.com");

    let req = Request::builder().body(Full::new(Bytes::new())).unwrap();
    let resp = svc.oneshot(req).await.unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(resp.headers()["www-authenticate"], "Bearer");
}
