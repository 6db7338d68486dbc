//! RFC 9728 protected resource metadata: well-known paths and the JSON shape.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use okta_auth::{ProtectedResourceMetadata, metadata_url, well_known_path};
use serde_json::json;

#[test]
fn well_known_path_is_inserted_between_host_and_path() {
    assert_eq!(
        well_known_path("https://h/mcp").unwrap(),
        "/.well-known/oauth-protected-resource/mcp"
    );
    assert_eq!(
        well_known_path("https://h").unwrap(),
        "/.well-known/oauth-protected-resource"
    );
    assert_eq!(
        metadata_url("https://h:8443/tenant/mcp").unwrap(),
        "https://h:8443/.well-known/oauth-protected-resource/tenant/mcp"
    );
    let err = metadata_url("https://h/mcp#x").unwrap_err();
    assert!(err.to_string().contains("fragment"), "{err}");
}

#[test]
fn json_shape_and_defaults() {
    let meta = ProtectedResourceMetadata::new("https://h/mcp")
        .authorization_server("https://example.okta.com/oauth2/default")
        .scopes(["mcp:read"])
        .resource_name("MCP");
    assert_eq!(
        serde_json::to_value(&meta).unwrap(),
        json!({
            "resource": "https://h/mcp",
            "authorization_servers": ["https://example.okta.com/oauth2/default"],
            "scopes_supported": ["mcp:read"],
            "bearer_methods_supported": ["header"],
            "resource_name": "MCP",
        })
    );
    // Parsing another server's document keeps unknown fields.
    let parsed: ProtectedResourceMetadata = serde_json::from_value(json!({
        "resource": "https://h/mcp", "dpop_bound_access_tokens_required": false
    }))
    .unwrap();
    assert_eq!(parsed.bearer_methods_supported, vec!["header"]);
    assert_eq!(
        parsed.extra["dpop_bound_access_tokens_required"],
        json!(false)
    );
}
