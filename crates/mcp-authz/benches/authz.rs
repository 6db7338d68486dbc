//! Policy decision and layer overhead benchmarks.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::convert::Infallible;
use std::hint::black_box;

use bytes::Bytes;
use criterion::{Criterion, criterion_group, criterion_main};
use http_body_util::{BodyExt, Full};
use mcp_authz::{Authorizer, AuthzLayer, Identity, Request};
use serde_json::json;
use tower::{Layer, Service, ServiceExt};

fn fixture(name: &str) -> Authorizer {
    Authorizer::from_file(format!(
        "{}/tests/fixtures/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

fn okta_claims(scopes: &[&str], groups: &[&str]) -> Identity {
    let claims = json!({
        "ver": 1, "jti": "AT.abc", "iss": "https://example.okta.com/oauth2/default",
        "aud": "api://default", "iat": 1_700_000_000, "exp": 1_700_003_600,
        "cid": "0oa-agent", "uid": "00u-alice", "sub": "alice@example.com",
        "scp": scopes, "groups": groups,
    });
    Identity::from_claims(claims.as_object().unwrap().clone())
}

fn decide(c: &mut Criterion) {
    let cel = fixture("seed004_agentcore.yaml");
    let id = okta_claims(&["mcp:read"], &[]);
    // Evaluates the deny rule and the first allow rule.
    c.bench_function("decide_seed004", |b| {
        b.iter(|| black_box(cel.decide(&id, &Request::call_tool(black_box("get_issue")))))
    });
    let table = fixture("seed004_scopes.yaml");
    c.bench_function("decide_seed004_scope_table", |b| {
        b.iter(|| black_box(table.decide(&id, &Request::call_tool(black_box("get_issue")))))
    });

    let groups = fixture("seed001_group_tables.yaml");
    let senior = okta_claims(&[], &["Everyone", "Senior Engineers"]);
    let args = json!({"branch": "feature/x"});
    let args = args.as_object().unwrap();
    c.bench_function("decide_group_table", |b| {
        b.iter(|| {
            let req = Request::call_tool(black_box("create_branch"))
                .server("github")
                .arguments(args);
            black_box(groups.decide(&senior, &req))
        })
    });
    c.bench_function("decide_group_table_with_argument_rule", |b| {
        b.iter(|| {
            let req = Request::call_tool(black_box("push_to_branch"))
                .server("github")
                .arguments(args);
            black_box(groups.decide(&senior, &req))
        })
    });

    let names: Vec<String> = (0..1000)
        .map(|i| match i % 4 {
            0 => format!("list_thing_{i}"),
            1 => format!("post_thing_{i}"),
            2 => format!("delete_thing_{i}"),
            _ => format!("get_thing_{i}"),
        })
        .collect();
    c.bench_function("filter_1000_tools", |b| {
        b.iter(|| {
            // A fresh identity per list, as the layer has per request.
            let id = okta_claims(&["mcp:read"], &[]);
            black_box(cel.filter_tools(&id, names.clone()).len())
        })
    });

    #[cfg(feature = "cedar")]
    {
        let cedar = fixture("seed003_toolhive.yaml");
        let dev = okta_claims(&[], &["mcp-developers"]);
        c.bench_function("decide_cedar", |b| {
            b.iter(|| black_box(cedar.decide(&dev, &Request::call_tool(black_box("list_pods")))))
        });
    }
}

const CALL: &str = r#"{"jsonrpc":"2.0","id":42,"method":"tools/call","params":{"name":"get_issue","arguments":{"key":"MCP-1"}}}"#;
const ANSWER: &str =
    r#"{"jsonrpc":"2.0","id":42,"result":{"content":[{"type":"text","text":"issue 1"}]}}"#;

fn layer(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let bare = tower::service_fn(|req: http::Request<Full<Bytes>>| async move {
        let body = req.into_body().collect().await.unwrap().to_bytes();
        black_box(body);
        Ok::<_, Infallible>(http::Response::new(Full::new(Bytes::from_static(
            ANSWER.as_bytes(),
        ))))
    });
    let id = okta_claims(&["mcp:read"], &[]);
    let request = || {
        let mut req = http::Request::post("/mcp")
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
            .body(Full::new(Bytes::from_static(CALL.as_bytes())))
            .unwrap();
        req.extensions_mut().insert(id.clone());
        req
    };
    let mut group = c.benchmark_group("layer_tools_call");
    group.bench_function("bare_service", |b| {
        b.iter(|| {
            rt.block_on(async {
                let resp = bare.oneshot(request()).await.unwrap();
                black_box(resp.into_body().collect().await.unwrap().to_bytes())
            })
        })
    });
    let mut wrapped = AuthzLayer::new(fixture("seed004_agentcore.yaml")).layer(bare);
    // The benchmarked call is allowed and answered by the inner service.
    let body = rt.block_on(async {
        let svc = ServiceExt::<http::Request<Full<Bytes>>>::ready(&mut wrapped)
            .await
            .unwrap();
        let resp = svc.call(request()).await.unwrap();
        resp.into_body().collect().await.unwrap().to_bytes()
    });
    assert_eq!(body, ANSWER.as_bytes());
    group.bench_function("with_authz_layer", |b| {
        b.iter(|| {
            rt.block_on(async {
                let svc = ServiceExt::<http::Request<Full<Bytes>>>::ready(&mut wrapped)
                    .await
                    .unwrap();
                let resp = svc.call(request()).await.unwrap();
                black_box(resp.into_body().collect().await.unwrap().to_bytes())
            })
        })
    });
    group.finish();
}

criterion_group!(benches, decide, layer);
criterion_main!(benches);
