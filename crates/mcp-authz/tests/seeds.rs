//! The seeds' policies as fixtures: every expression and table verbatim.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use mcp_authz::{Authorizer, AuthzError, Identity, Policy, Request};
use serde_json::{Value, json};

fn fixture(name: &str) -> Authorizer {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    Authorizer::from_file(path).unwrap()
}

fn claims(v: Value) -> Identity {
    Identity::from_claims(v.as_object().unwrap().clone())
}

fn member(groups: &[&str]) -> Identity {
    Identity::new("user", Vec::<String>::new(), groups.iter().copied())
}

fn call<'a>(
    server: &'a str,
    tool: &'a str,
    args: &'a serde_json::Map<String, Value>,
) -> Request<'a> {
    Request::call_tool(tool).server(server).arguments(args)
}

const GITHUB: [&str; 8] = [
    "list_repositories",
    "get_file_contents",
    "create_pull_request",
    "create_branch",
    "delete_branch",
    "push_to_branch",
    "get_repository_secrets",
    "update_webhook",
];
const JIRA: [&str; 5] = [
    "get_issue",
    "search_issues",
    "update_issue_status",
    "create_issue",
    "delete_issue",
];
const CONFLUENCE: [&str; 4] = ["get_page", "search_pages", "create_page", "delete_page"];
const SALESFORCE: [&str; 6] = [
    "get_account",
    "query_records",
    "update_record",
    "create_opportunity",
    "bulk_export",
    "delete_record",
];

/// The allowed set for a role, per server; everything else must be denied.
fn allowed_for(role: &str) -> Vec<(&'static str, &'static str)> {
    let gh_core = [
        "list_repositories",
        "get_file_contents",
        "create_pull_request",
        "create_branch",
    ];
    let jira_core = [
        "get_issue",
        "search_issues",
        "update_issue_status",
        "create_issue",
    ];
    let mut out = Vec::new();
    match role {
        "Senior Engineers" => {
            out.extend(gh_core.map(|t| ("github", t)));
            out.push(("github", "push_to_branch")); // to a feature branch
            out.extend(jira_core.map(|t| ("jira", t)));
            out.extend(["get_page", "search_pages", "create_page"].map(|t| ("confluence", t)));
        }
        "Junior Engineers" => {
            out.extend(gh_core.map(|t| ("github", t)));
            out.extend(jira_core.map(|t| ("jira", t)));
            out.extend(["get_page", "search_pages"].map(|t| ("confluence", t)));
        }
        "Sales" => {
            out.extend(
                [
                    "get_account",
                    "query_records",
                    "update_record",
                    "create_opportunity",
                ]
                .map(|t| ("salesforce", t)),
            );
        }
        _ => {}
    }
    out
}

fn all_tools() -> Vec<(&'static str, &'static str)> {
    let mut v: Vec<(&str, &str)> = GITHUB.iter().map(|t| ("github", *t)).collect();
    v.extend(JIRA.iter().map(|t| ("jira", *t)));
    v.extend(CONFLUENCE.iter().map(|t| ("confluence", *t)));
    v.extend(SALESFORCE.iter().map(|t| ("salesforce", *t)));
    v
}

#[test]
fn seed001_full_matrix_per_role() {
    let authz = fixture("seed001_group_tables.yaml");
    let feature = json!({"branch": "feature/login", "message": "wip"});
    let feature = feature.as_object().unwrap();
    for role in [
        "Senior Engineers",
        "Junior Engineers",
        "Sales",
        "Contractors",
    ] {
        let id = member(&[role]);
        let allowed = allowed_for(role);
        for (server, tool) in all_tools() {
            let d = authz.decide(&id, &call(server, tool, feature));
            let expected = allowed.contains(&(server, tool));
            assert_eq!(d.allowed, expected, "{role} {server}:{tool}: {d:?}");
        }
    }
}

#[test]
fn seed001_same_tool_name_on_another_server_is_not_granted() {
    let authz = fixture("seed001_group_tables.yaml");
    let args = serde_json::Map::new();
    let d = authz.decide(&member(&["Sales"]), &call("github", "get_account", &args));
    assert!(!d.allowed);
    let d = authz.decide(
        &member(&["Sales"]),
        &Request::call_tool("get_account").arguments(&args),
    );
    assert!(
        !d.allowed,
        "no server given: server-scoped patterns do not match"
    );
}

#[test]
fn seed001_seniors_push_anywhere_but_main_juniors_not_at_all() {
    let authz = fixture("seed001_group_tables.yaml");
    let senior = member(&["Senior Engineers"]);
    let junior = member(&["Junior Engineers"]);
    for (branch, senior_ok) in [
        (json!("feature/x"), true),
        (json!("main"), false),
        (json!("refs/heads/main"), false),
        (json!("mainline"), true),
    ] {
        let args = json!({ "branch": branch });
        let args = args.as_object().unwrap();
        let d = authz.decide(&senior, &call("github", "push_to_branch", args));
        assert_eq!(d.allowed, senior_ok, "senior push {branch}: {d:?}");
        if !senior_ok {
            assert_eq!(d.rule.as_deref(), Some("no-push-to-main"));
            assert!(d.reason.contains("Nobody pushes to main"), "{}", d.reason);
        }
        let d = authz.decide(&junior, &call("github", "push_to_branch", args));
        assert!(!d.allowed);
        if senior_ok {
            assert_eq!(d.rule.as_deref(), Some("group:Junior Engineers"));
        }
    }
    // No branch argument: the deny rule cannot rule out main, so it denies,
    // also when the caller of `decide` forgot to pass arguments at all.
    let none = serde_json::Map::new();
    let d = authz.decide(&senior, &call("github", "push_to_branch", &none));
    assert!(!d.allowed, "{d:?}");
    let d = authz.decide(
        &senior,
        &Request::call_tool("push_to_branch").server("github"),
    );
    assert!(!d.allowed, "{d:?}");
}

#[test]
fn seed001_deny_wins_across_groups_and_lists_hide_blocked_tools() {
    let authz = fixture("seed001_group_tables.yaml");
    let both = member(&["Senior Engineers", "Junior Engineers"]);
    let args = json!({"branch": "feature"});
    let d = authz.decide(
        &both,
        &call("github", "push_to_branch", args.as_object().unwrap()),
    );
    assert!(!d.allowed, "a junior block beats a senior allow");

    let names: Vec<String> = GITHUB.iter().map(|s| (*s).to_owned()).collect();
    let senior = authz.filter(
        &member(&["Senior Engineers"]),
        "tools/call",
        Some("github"),
        names.clone(),
    );
    assert_eq!(
        senior,
        [
            "list_repositories",
            "get_file_contents",
            "create_pull_request",
            "create_branch",
            "push_to_branch"
        ],
        "push_to_branch is listed for seniors: its branch rule is checked at call time"
    );
    let junior = authz.filter(
        &member(&["Junior Engineers"]),
        "tools/call",
        Some("github"),
        names,
    );
    assert_eq!(
        junior,
        [
            "list_repositories",
            "get_file_contents",
            "create_pull_request",
            "create_branch"
        ]
    );
}

#[test]
fn seed004_scope_rules_and_deny_rule() {
    for file in ["seed004_agentcore.yaml", "seed004_scopes.yaml"] {
        let authz = fixture(file);
        let read = claims(json!({"sub": "0oa1", "scp": ["mcp:read"]}));
        let write = claims(json!({"sub": "0oa1", "scp": ["mcp:read", "mcp:write"]}));
        let admin_only = claims(json!({"sub": "0oa1", "scp": ["mcp:admin"]}));
        let cases: &[(&Identity, &str, bool)] = &[
            (&read, "list_channels", true),
            (&read, "get_issue", true),
            (&read, "search_code", false),
            (&read, "post_message", false),
            (&read, "create_issue", false),
            (&write, "post_message", true),
            (&write, "create_issue", true),
            (&write, "list_channels", true),
            (&write, "delete_channel", false),
            (&write, "create_and_delete", false),
            (&write, "get_deleted_messages", false),
            (&write, "merge_pull_request", false),
            (&admin_only, "list_channels", false),
            (&admin_only, "delete_everything", false),
        ];
        for (id, tool, expected) in cases {
            let d = authz.decide(id, &Request::call_tool(tool));
            assert_eq!(
                d.allowed,
                *expected,
                "{file}: {tool} for {:?}: {d:?}",
                id.scopes()
            );
            if tool.contains("delete") || tool.contains("merge_pull_request") {
                assert_eq!(d.rule.as_deref(), Some("no-destructive"), "{file} {tool}");
                assert_eq!(
                    d.missing_scope, None,
                    "deny rules are not fixed by a step-up"
                );
            }
        }
    }
}

#[test]
fn list_filtering_agrees_with_decide() {
    let names: Vec<String> = [
        "list_a",
        "get_b",
        "post_c",
        "create_d",
        "delete_e",
        "get_deleted",
        "merge_pull_request",
        "x",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    for file in [
        "seed004_agentcore.yaml",
        "seed004_scopes.yaml",
        "seed000_agentgateway.yaml",
    ] {
        let authz = fixture(file);
        for c in [
            json!({"scp": ["mcp:read"], "groups": ["AI-Users"]}),
            json!({"scp": ["mcp:write"]}),
            json!({"scp": []}),
        ] {
            let id = claims(c);
            let listed = authz.filter_tools(&id, names.clone());
            let args = serde_json::Map::new();
            let decided: Vec<String> = names
                .iter()
                .filter(|n| {
                    authz
                        .decide(&id, &Request::call_tool(n).arguments(&args))
                        .allowed
                })
                .cloned()
                .collect();
            assert_eq!(listed, decided, "{file} {id:?}");
        }
    }
}

#[test]
fn seed004_scope_table_names_the_scope_to_step_up_to() {
    let authz = fixture("seed004_scopes.yaml");
    let read = claims(json!({"sub": "0oa1", "scp": "mcp:read"}));
    let d = authz.decide(&read, &Request::call_tool("post_message"));
    assert!(!d.allowed);
    assert_eq!(d.missing_scope.as_deref(), Some("mcp:write"));
    assert_eq!(d.rule.as_deref(), Some("scope:mcp:write"));
    let none = claims(json!({"sub": "0oa1"}));
    let d = authz.decide(&none, &Request::call_tool("get_issue"));
    assert_eq!(d.missing_scope.as_deref(), Some("mcp:read"));
    // A tool no scope covers: plain default deny, nothing to step up to.
    let d = authz.decide(&read, &Request::call_tool("search_code"));
    assert_eq!((d.allowed, d.missing_scope, d.rule), (false, None, None));
}

#[test]
fn seed000_group_rule() {
    let authz = fixture("seed000_agentgateway.yaml");
    let ai = claims(json!({"sub": "a", "groups": ["Everyone", "AI-Users"]}));
    let other = claims(json!({"sub": "b", "groups": ["Everyone"]}));
    let no_groups = claims(json!({"sub": "c"}));
    for req in [
        Request::call_tool("echo"),
        Request::get_prompt("simple_prompt"),
        Request::read_resource("test://static/resource/1"),
    ] {
        assert!(authz.decide(&ai, &req).allowed, "{req:?}");
        assert!(!authz.decide(&other, &req).allowed, "{req:?}");
        let d = authz.decide(&no_groups, &req);
        assert!(!d.allowed);
        assert!(
            !d.errors.is_empty(),
            "a missing groups claim is an evaluation error, reported"
        );
    }
}

#[cfg(feature = "cedar")]
#[test]
fn seed003_cedar_policies_with_groups_as_parents() {
    let from_yaml = fixture("seed003_toolhive.yaml");
    let text = std::fs::read_to_string(format!(
        "{}/tests/fixtures/seed003_toolhive.cedar",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    let from_text = Authorizer::new(
        Policy::builder()
            .cedar(mcp_authz::CedarSpec::new(text))
            .build(),
    )
    .unwrap();
    let dev = claims(json!({"sub": "alice", "groups": ["mcp-developers"]}));
    let platform = claims(json!({"sub": "bob", "groups": ["mcp-platform"]}));
    let admin = claims(json!({"sub": "root", "groups": ["mcp-admin"]}));
    let both = claims(json!({"sub": "carol", "groups": ["mcp-developers", "mcp-platform"]}));
    let outsider = claims(json!({"sub": "eve", "groups": ["developers"]}));
    for authz in [&from_yaml, &from_text] {
        let check = |id: &Identity, req: Request<'_>, expected: bool| {
            let d = authz.decide(id, &req);
            assert_eq!(d.allowed, expected, "{id:?} {req:?}: {d:?}");
            d
        };
        check(&dev, Request::call_tool("list_pods"), true);
        check(&dev, Request::get_prompt("triage"), true);
        let d = check(&dev, Request::call_tool("delete_namespace"), false);
        assert_eq!(d.rule.as_deref(), Some("cedar:policy1"));
        check(&platform, Request::call_tool("delete_namespace"), true);
        check(&admin, Request::call_tool("delete_namespace"), true);
        check(&both, Request::call_tool("delete_namespace"), false);
        check(&outsider, Request::call_tool("list_pods"), false);
        check(
            &outsider,
            Request::read_resource("file:///etc/passwd"),
            false,
        );
        // The `forbid` names `Action::"call_tool"`: a prompt of that name is permitted.
        let d = check(&dev, Request::get_prompt("delete_namespace"), true);
        assert_eq!(d.rule.as_deref(), Some("cedar:policy0"));
    }
}

#[test]
fn seed003_as_a_group_table() {
    let authz = fixture("seed003_groups.yaml");
    let dev = member(&["mcp-developers"]);
    let platform = member(&["mcp-platform"]);
    let admin = member(&["mcp-admin"]);
    let both = member(&["mcp-developers", "mcp-platform"]);
    let outsider = member(&["developers"]);
    let check = |id: &Identity, req: Request<'_>, expected: bool| {
        let d = authz.decide(id, &req);
        assert_eq!(d.allowed, expected, "{id:?} {req:?}: {d:?}");
        d
    };
    // The same decisions as the Cedar policies for tool calls...
    check(&dev, Request::call_tool("list_pods"), true);
    check(&dev, Request::get_prompt("triage"), true);
    let d = check(&dev, Request::call_tool("delete_namespace"), false);
    assert_eq!(d.rule.as_deref(), Some("group:mcp-developers"));
    check(&platform, Request::call_tool("delete_namespace"), true);
    check(&admin, Request::call_tool("delete_namespace"), true);
    let d = check(&both, Request::call_tool("delete_namespace"), false);
    assert_eq!(
        d.rule.as_deref(),
        Some("group:mcp-developers"),
        "a group deny beats another group's allow"
    );
    check(&outsider, Request::call_tool("list_pods"), false);
    check(
        &outsider,
        Request::read_resource("file:///etc/passwd"),
        false,
    );
    // ...the one difference: patterns apply to every item method.
    check(&dev, Request::get_prompt("delete_namespace"), false);
    check(&dev, Request::read_resource("delete_namespace"), false);
    check(&platform, Request::get_prompt("delete_namespace"), true);
}

#[cfg(not(feature = "cedar"))]
#[test]
fn cedar_policy_without_the_feature_is_a_load_error() {
    let path = format!(
        "{}/tests/fixtures/seed003_toolhive.yaml",
        env!("CARGO_MANIFEST_DIR")
    );
    let err = Authorizer::from_file(path).unwrap_err();
    assert!(err.to_string().contains("cedar"), "{err}");
}

#[test]
fn broken_policies_are_load_errors_naming_the_rule() {
    // Positions are within the rule's expression (`|-` blocks keep its lines).
    let positioned: &[(&str, &str, &str)] = &[
        (
            "rules:\n  - name: r\n    allow: \"tool.name ==\"\n",
            "rule 'r' does not compile",
            "at line 1, column 13",
        ),
        (
            "rules:\n  - name: r\n    allow: |-\n      tool.name == 'a' &&\n        tool.name == 'b')\n",
            "rule 'r' does not compile",
            "at line 2, column 19",
        ),
        (
            "rules:\n  - name: r\n    allow: \"usr.admin\"\n",
            "rule 'r' references unknown variable 'usr'",
            "at line 1, column 1",
        ),
        (
            "rules:\n  - allow: \"tool.name\"\n",
            "rule 'rules[0]' does not produce a bool (it evaluates to a string)",
            "at line 1, column 5",
        ),
        (
            "rules:\n  - name: n\n    allow: |-\n      'a'\n        + 'b'\n",
            "rule 'n' does not produce a bool (the expression is arithmetic)",
            "at line 2, column 3",
        ),
    ];
    for (doc, what, position) in positioned {
        let err = Policy::from_yaml(doc)
            .and_then(Authorizer::new)
            .unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains(what) && msg.contains(position),
            "{doc}\n=> {msg}\nwanted {what:?} and {position:?}"
        );
    }
    let cases: &[(&str, &str)] = &[
        (
            "rules:\n  - name: r\n    allow: \"true\"\n    deny: \"false\"\n",
            "exactly one",
        ),
        (
            "rules:\n  - name: r\n    allow: \"true\"\n  - name: r\n    deny: \"true\"\n",
            "used twice",
        ),
        ("rules:\n  - allow: \"true\"\n    methods: []\n", "methods"),
        (
            "groups:\n  G:\n    allow: [\"\"]\n",
            "groups.\"G\".allow[0]",
        ),
        ("scopes:\n  s: [\"srv:\"]\n", "scopes.\"s\"[0]"),
        (
            "rules:\n  - allow: \"true\"\n    when: x\n",
            "unknown field",
        ),
    ];
    for (doc, needle) in cases {
        let err = Policy::from_yaml(doc)
            .and_then(Authorizer::new)
            .unwrap_err();
        assert!(err.to_string().contains(needle), "{doc}\n=> {err}");
    }
    let err = Authorizer::from_file("/nonexistent/policy.yaml").unwrap_err();
    assert!(matches!(err, AuthzError::Io { .. }));
}

#[test]
fn tool_names_with_odd_content_are_matched_literally() {
    let authz = fixture("seed004_scopes.yaml");
    let read = claims(json!({"sub": "a", "scp": ["mcp:read"]}));
    let long = format!("list_{}", "a".repeat(100_000));
    let cases: &[(&str, bool)] = &[
        ("list_../../admin/delete", false), // deny rule sees `delete`
        ("../list_x", false),
        ("list_\u{0000}x", true), // still a list_ tool, and deny rules see all of it
        ("lіst_users", false),    // Cyrillic і
        ("LIST_USERS", false),
        ("list_😀", true),
        (&long, true),
        ("", false),
    ];
    for (name, expected) in cases {
        let d = authz.decide(&read, &Request::call_tool(name));
        assert_eq!(
            d.allowed,
            *expected,
            "{:?}",
            name.chars().take(40).collect::<String>()
        );
    }
}

/// Every policy in docs/policies.md (YAML blocks starting with `# mcp-authz`)
/// compiles, and the CEL variable reference there lists what the code knows.
#[test]
fn docs_policies_compile_and_list_every_variable() {
    let doc = std::fs::read_to_string(format!(
        "{}/../../docs/policies.md",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    let mut compiled = 0;
    for block in doc.split("```yaml\n").skip(1) {
        let block = block.split("```").next().unwrap();
        if !block.starts_with("# mcp-authz") {
            continue;
        }
        let policy = Policy::from_yaml(block).unwrap();
        if policy.cedar.is_some() && cfg!(not(feature = "cedar")) {
            continue;
        }
        Authorizer::new(policy).unwrap_or_else(|e| panic!("{e}\n{block}"));
        compiled += 1;
    }
    assert!(compiled >= 5, "{compiled}");
    for var in mcp_authz::known_variables().split(", ") {
        assert!(doc.contains(&format!("`{var}")), "{var} missing from docs");
    }
}

/// Cedar text without whitespace: the docs show the seed's one-line layout,
/// the fixtures one clause per line.
fn cedar_tokens(text: &str) -> String {
    text.chars().filter(|c| !c.is_whitespace()).collect()
}

/// The side-by-side policies of docs/policies.md are the fixtures: every
/// `# mcp-authz` block whose introduction names a fixture file parses to the
/// same policy as that file, and every YAML fixture is shown.
#[test]
fn docs_side_by_side_policies_are_the_fixtures() {
    let dir = format!("{}/tests/fixtures", env!("CARGO_MANIFEST_DIR"));
    let doc = std::fs::read_to_string(format!(
        "{}/../../docs/policies.md",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    let normalise = |mut p: Policy| {
        if let Some(c) = &mut p.cedar {
            c.policies = cedar_tokens(&c.policies);
        }
        p
    };
    // Between fences: even parts are prose, odd parts are code blocks.
    let parts: Vec<&str> = doc.split("```").collect();
    let mut shown = Vec::new();
    for i in (1..parts.len()).step_by(2) {
        let Some(block) = parts[i].strip_prefix("yaml\n") else {
            continue;
        };
        if !block.starts_with("# mcp-authz") {
            continue;
        }
        // The last `seedNNN_….yaml` the paragraph before the block names.
        let intro = parts[i - 1];
        let Some(file) = intro
            .rsplit('`')
            .find(|w| w.starts_with("seed") && w.ends_with(".yaml"))
        else {
            continue;
        };
        let fixture = Policy::from_file(format!("{dir}/{file}")).unwrap();
        let documented = Policy::from_yaml(block).unwrap();
        assert_eq!(
            normalise(documented),
            normalise(fixture),
            "docs/policies.md shows {file} differently:\n{block}"
        );
        shown.push(file.to_owned());
    }
    let mut fixtures: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|f| f.ends_with(".yaml"))
        .collect();
    fixtures.sort();
    shown.sort();
    assert_eq!(
        shown, fixtures,
        "every YAML fixture is shown once in the docs"
    );

    // The seed 003 original in the docs is the Cedar fixture.
    let original = parts
        .iter()
        .find_map(|p| p.strip_prefix("cedar\n"))
        .unwrap();
    let cedar = std::fs::read_to_string(format!("{dir}/seed003_toolhive.cedar")).unwrap();
    assert_eq!(cedar_tokens(original), cedar_tokens(&cedar));
}
