//! `Authorizer::filter_*` on rmcp's own model types, with the seed 004 policies:
//! what an rmcp handler does without the layer.
#![cfg(feature = "rmcp")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use mcp_authz::{Authorizer, Identity, Policy};
use rmcp::model::{Prompt, Resource, Tool};
use serde_json::json;

fn fixture(name: &str) -> Authorizer {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    Authorizer::from_file(path).unwrap()
}

fn scopes(scp: &[&str]) -> Identity {
    Identity::from_claims(
        json!({"sub": "0oa1", "scp": scp})
            .as_object()
            .unwrap()
            .clone(),
    )
}

fn tools() -> Vec<Tool> {
    let schema = Arc::new(
        json!({"type": "object", "properties": {}})
            .as_object()
            .unwrap()
            .clone(),
    );
    [
        "list_channels",
        "get_issue",
        "post_message",
        "create_issue",
        "delete_channel",
        "get_deleted_messages",
        "merge_pull_request",
        "search_code",
    ]
    .into_iter()
    .map(|n| Tool::new(n, format!("the {n} tool"), Arc::clone(&schema)))
    .collect()
}

fn names<'a>(items: impl IntoIterator<Item = &'a str>) -> Vec<&'a str> {
    items.into_iter().collect()
}

#[test]
fn tools_are_filtered_whole_by_name_with_both_seed004_policies() {
    for file in ["seed004_agentcore.yaml", "seed004_scopes.yaml"] {
        let authz = fixture(file);
        let all = tools();
        let read = authz.filter_tools(&scopes(&["mcp:read"]), all.clone());
        assert_eq!(
            names(read.iter().map(|t| t.name.as_ref())),
            ["list_channels", "get_issue"],
            "{file}: get_deleted_messages is a get_ tool, but the deny rule hides it"
        );
        // The kept values are the originals, untouched (description, schema).
        assert_eq!(read[0], all[0], "{file}");
        assert_eq!(read[1], all[1], "{file}");
        let write = authz.filter_tools(&scopes(&["mcp:read", "mcp:write"]), all.clone());
        assert_eq!(
            names(write.iter().map(|t| t.name.as_ref())),
            ["list_channels", "get_issue", "post_message", "create_issue"],
            "{file}"
        );
        assert!(
            authz.filter_tools(&scopes(&[]), all).is_empty(),
            "{file}: no scope, no tools"
        );
    }
}

#[test]
fn prompts_follow_the_scope_table_but_not_tool_call_rules() {
    let prompts: Vec<Prompt> = ["get_summary", "get_deleted_items", "post_digest", "triage"]
        .into_iter()
        .map(|n| Prompt::new(n, Some(format!("the {n} prompt")), None))
        .collect();
    // The scope table covers every item method; `no-destructive` only tools/call,
    // so a get_ prompt about deleted items stays visible.
    let authz = fixture("seed004_scopes.yaml");
    let read = authz.filter_prompts(&scopes(&["mcp:read"]), prompts.clone());
    assert_eq!(
        names(read.iter().map(|p| p.name.as_str())),
        ["get_summary", "get_deleted_items"]
    );
    assert_eq!(read[0], prompts[0]);
    let write = authz.filter_prompts(&scopes(&["mcp:write"]), prompts.clone());
    assert_eq!(
        names(write.iter().map(|p| p.name.as_str())),
        ["post_digest"]
    );
    // The CEL version's rules are all tools/call rules: prompts fall to the default deny.
    let authz = fixture("seed004_agentcore.yaml");
    assert!(
        authz
            .filter_prompts(&scopes(&["mcp:read", "mcp:write"]), prompts)
            .is_empty()
    );
}

#[test]
fn resources_are_matched_by_uri_not_by_name() {
    let resources = vec![
        // Listed by URI: a get_ URI with an unrelated name is kept...
        Resource::new("get_report://weekly", "weekly report"),
        // ...a name that looks granted does not help a URI that is not.
        Resource::new("file:///secrets/token", "get_token"),
        Resource::new("list_files://home", "home"),
        Resource::new("post_box://outgoing", "get_outgoing"),
    ];
    let authz = fixture("seed004_scopes.yaml");
    let read = authz.filter_resources(&scopes(&["mcp:read"]), resources.clone());
    assert_eq!(
        names(read.iter().map(|r| r.uri.as_str())),
        ["get_report://weekly", "list_files://home"]
    );
    assert_eq!(read[0], resources[0], "kept whole");
    let write = authz.filter_resources(&scopes(&["mcp:write"]), resources.clone());
    assert_eq!(
        names(write.iter().map(|r| r.uri.as_str())),
        ["post_box://outgoing"]
    );
    assert!(
        fixture("seed004_agentcore.yaml")
            .filter_resources(&scopes(&["mcp:read"]), resources)
            .is_empty(),
        "tools/call rules do not grant resources"
    );
}

#[test]
fn uri_patterns_in_tables_split_at_the_first_colon() {
    let resources = vec![
        Resource::new("file:///public/readme", "readme"),
        Resource::new("file:///private/keys", "keys"),
    ];
    let visible = |pattern: &str| {
        let policy = Policy::from_yaml(&format!("scopes:\n  files:read: [{pattern:?}]\n")).unwrap();
        let authz = Authorizer::new(policy).unwrap();
        let kept = authz.filter_resources(&scopes(&["files:read"]), resources.clone());
        kept.into_iter().map(|r| r.uri).collect::<Vec<_>>()
    };
    // Read as server `file`, name `///public/*`: matches no URI (the request has no server).
    assert!(visible("file:///public/*").is_empty());
    // Any server (also none), then the URI glob.
    assert_eq!(visible("*:file:///public/*"), ["file:///public/readme"]);
    // A pattern without a `:` is matched against the whole URI.
    assert_eq!(visible("*readme"), ["file:///public/readme"]);
}
