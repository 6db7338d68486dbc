//! `flow_cached_hit` against a plain `HashMap` lookup, measured in the same run.
//!
//! - `hashmap_lookup_baseline`: `HashMap<String, AccessToken>::get` keyed by a realistic
//!   (~900-byte) ID token, cloning the token out.
//! - `flow_cached_hit`: `IdJagFlow::access_token` for an ID token and scope set already
//!   cached (scope normalization, lock, a lookup keyed by the exact ID token — hashing its
//!   length and last 64 bytes, then comparing it byte for byte — freshness check, clone).
//!
//! The flow is warmed against a tiny local IdP/authorization server on 127.0.0.1.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::collections::HashMap;
use std::hint::black_box;

use axum::Router;
use axum::routing::post;
use criterion::{Criterion, criterion_group, criterion_main};
use futures::FutureExt;
use id_jag::IdJagFlow;
use okta_auth::{AccessToken, ClientAuth};
use serde_json::json;

fn local_servers(rt: &tokio::runtime::Runtime) -> String {
    rt.block_on(async {
        let app = Router::new()
            .route(
                "/idp",
                post(|| async {
                    axum::Json(json!({"access_token": "jag", "token_type": "N_A",
                        "issued_token_type": id_jag::TOKEN_TYPE_ID_JAG, "expires_in": 300}))
                }),
            )
            .route(
                "/as",
                post(|| async {
                    axum::Json(json!({"access_token": "at", "token_type": "Bearer",
                        "expires_in": 3600, "scope": "mcp:connect mcp:tools:read"}))
                }),
            );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        base
    })
}

fn benches(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let base = local_servers(&rt);
    let flow = IdJagFlow::builder()
        .idp_token_endpoint(format!("{base}/idp"))
        .resource_token_endpoint(format!("{base}/as"))
        .audience("https://as.example.com")
        .client_auth(ClientAuth::client_secret_basic("agent", "agent-secret"))
        .build()
        .unwrap();
    let id_token = format!(
        "eyJhbGciOiJSUzI1NiJ9.{}.{}",
        "a".repeat(600),
        "s".repeat(342)
    );
    let scopes = ["mcp:connect", "mcp:tools:read"];
    let token: AccessToken = rt.block_on(flow.access_token(&id_token, &scopes)).unwrap();

    let mut map: HashMap<String, AccessToken> = HashMap::new();
    for i in 0..100 {
        map.insert(format!("{id_token}{i}"), token.clone());
    }
    map.insert(id_token.clone(), token);
    c.bench_function("hashmap_lookup_baseline", |b| {
        b.iter(|| map.get(black_box(id_token.as_str())).cloned().unwrap());
    });

    c.bench_function("flow_cached_hit", |b| {
        b.iter(|| {
            // A cache hit never awaits, so it completes on the first poll.
            flow.access_token(black_box(&id_token), black_box(&scopes))
                .now_or_never()
                .unwrap()
                .unwrap()
        });
    });
}

criterion_group!(group, benches);
criterion_main!(group);
