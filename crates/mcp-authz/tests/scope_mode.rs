//! `scope_mode: require`: Okta scopes as the client's consent on top of seed 001's
//! group tables. A held scope is necessary, groups still decide; a missing scope
//! answers `missing_scope` (step-up) only when the groups would allow the call,
//! and never hides an item from lists. `grant` (the default) is shown beside it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use mcp_authz::{Authorizer, Identity, Policy, Request, ScopeMode, TOOLS_CALL};

const POLICY: &str = r#"
scope_mode: require
scopes:
  mcp:read: ["github:list_*", "github:get_*"]
  mcp:write: ["github:push_*", "github:create_*"]
groups:
  Senior Engineers:
    allow: ["github:*"]
    deny: ["github:delete_*"]
  Sales:
    allow: ["salesforce:*"]
"#;

fn who(group: &str, scopes: &[&str]) -> Identity {
    Identity::new("u", scopes.iter().copied(), [group])
}

fn decide(authz: &Authorizer, id: &Identity, tool: &str) -> (bool, Option<String>, Option<String>) {
    let d = authz.decide(id, &Request::new(TOOLS_CALL, tool).server("github"));
    (d.allowed, d.rule, d.missing_scope)
}

#[test]
fn require_mode_needs_the_scope_and_the_group() {
    let authz = Authorizer::new(Policy::from_yaml(POLICY).unwrap()).unwrap();
    let senior_read = who("Senior Engineers", &["mcp:read"]);
    let senior_rw = who("Senior Engineers", &["mcp:read", "mcp:write"]);
    let sales_rw = who("Sales", &["mcp:read", "mcp:write"]);
    let sales_none = who("Sales", &[]);
    let group = Some("group:Senior Engineers".to_owned());

    assert_eq!(
        decide(&authz, &senior_read, "list_repositories"),
        (true, group.clone(), None)
    );
    assert_eq!(
        decide(&authz, &senior_read, "push_to_branch"),
        (
            false,
            Some("scope:mcp:write".to_owned()),
            Some("mcp:write".to_owned())
        ),
        "the group allows it, the token lacks the scope: step up"
    );
    assert_eq!(
        decide(&authz, &senior_rw, "push_to_branch"),
        (true, group, None)
    );
    // Holding the scope allows nothing by itself: Sales has no github access.
    assert_eq!(
        decide(&authz, &sales_rw, "list_repositories"),
        (false, None, None)
    );
    // No step-up is offered when the groups would deny anyway.
    assert_eq!(
        decide(&authz, &sales_none, "list_repositories"),
        (false, None, None)
    );
    // Group denies still win for tools no scope covers.
    assert_eq!(
        decide(&authz, &senior_rw, "delete_branch"),
        (false, Some("group:Senior Engineers".to_owned()), None)
    );
}

#[test]
fn require_mode_lists_what_groups_allow_so_clients_can_step_up() {
    let authz = Authorizer::new(Policy::from_yaml(POLICY).unwrap()).unwrap();
    let tools = vec!["list_repositories", "push_to_branch", "delete_branch"];
    let senior_read = who("Senior Engineers", &["mcp:read"]);
    let listed = authz.filter(&senior_read, TOOLS_CALL, Some("github"), tools.clone());
    assert_eq!(listed, ["list_repositories", "push_to_branch"]);
    let sales = who("Sales", &["mcp:read", "mcp:write"]);
    assert!(
        authz
            .filter(&sales, TOOLS_CALL, Some("github"), tools)
            .is_empty()
    );
}

#[test]
fn grant_mode_lets_a_held_scope_decide_alone() {
    let mut policy = Policy::from_yaml(POLICY).unwrap();
    policy.scope_mode = ScopeMode::Grant;
    let authz = Authorizer::new(policy).unwrap();
    let sales_read = who("Sales", &["mcp:read"]);
    assert_eq!(
        decide(&authz, &sales_read, "list_repositories"),
        (true, Some("scope:mcp:read".to_owned()), None)
    );
    assert_eq!(
        decide(&authz, &sales_read, "push_to_branch"),
        (
            false,
            Some("scope:mcp:write".to_owned()),
            Some("mcp:write".to_owned())
        )
    );
    let listed = authz.filter(
        &sales_read,
        TOOLS_CALL,
        Some("github"),
        vec!["list_repositories", "push_to_branch"],
    );
    assert_eq!(
        listed,
        ["list_repositories"],
        "grant mode hides what a scope lacks"
    );
}

#[test]
fn scope_mode_round_trips_and_rejects_unknown_values() {
    let policy = Policy::from_yaml(POLICY).unwrap();
    assert_eq!(policy.scope_mode, ScopeMode::Require);
    let json = serde_json::to_value(&policy).unwrap();
    assert_eq!(json["scope_mode"], "require");
    assert_eq!(Policy::from_json(&json.to_string()).unwrap(), policy);
    let grant = serde_json::to_value(Policy::default()).unwrap();
    assert!(
        grant.get("scope_mode").is_none(),
        "the default is not written"
    );
    assert!(Policy::from_yaml("scope_mode: sometimes\n").is_err());
}
