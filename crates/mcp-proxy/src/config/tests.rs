//! Unit tests of config loading: every error carries file, line and field;
//! `${ENV}` reaches every string field; relative paths follow the file.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::{CredentialsConfig, GatewayConfig, TransportConfig};
use crate::error::ProxyError;

fn parse_in(text: &str, dir: Option<&Path>) -> Result<GatewayConfig, ProxyError> {
    let env: HashMap<&str, &str> = [
        ("GH_TOKEN", "t0ken"),
        ("BASE", "http://127.0.0.1:9"),
        ("NEWLINE", "a\nb"),
    ]
    .into_iter()
    .collect();
    let lookup = move |name: &str| env.get(name).map(|v| (*v).to_owned());
    GatewayConfig::parse_with_env(text, "gw.yaml", &lookup, dir)
}

fn parse(text: &str) -> Result<GatewayConfig, ProxyError> {
    parse_in(text, None)
}

fn error(text: &str) -> String {
    parse(text).unwrap_err().to_string()
}

#[test]
fn full_config_with_defaults_and_interpolation() {
    let config = parse(
        r#"
listen: 127.0.0.1:9000
separator: "."
call_timeout: 5s
backends:
  - name: github
    demo: github
    prefix: gh
  - name: local
    stdio:
      command: npx
      args: ["-y", "pkg"]
      env: { TOKEN: "${GH_TOKEN}" }
    timeout: 250ms
  - name: remote
    http:
      url: "${BASE}/mcp"
"#,
    )
    .unwrap();
    assert_eq!(config.listen.port(), 9000);
    assert_eq!(config.path, "/mcp");
    assert_eq!(config.call_timeout.as_secs(), 5);
    assert_eq!(config.backends[0].prefix(), "gh");
    assert_eq!(config.backends[1].prefix(), "local");
    match &config.backends[1].transport {
        TransportConfig::Stdio(s) => assert_eq!(s.env["TOKEN"], "t0ken"),
        other => panic!("{other:?}"),
    }
    match &config.backends[2].transport {
        TransportConfig::Http(h) => assert_eq!(h.url, "http://127.0.0.1:9/mcp"),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        config.backends[1].timeout,
        Some(std::time::Duration::from_millis(250))
    );
}

#[test]
fn unknown_field_names_file_line_and_field() {
    let err = parse("backends:\n  - name: a\n    stdio:\n      comand: x\n").unwrap_err();
    let text = err.to_string();
    assert!(text.starts_with("gw.yaml:4:"), "{text}");
    assert!(text.contains("unknown field `comand`"), "{text}");
    assert!(text.contains("backends[0].stdio"), "{text}");
}

#[test]
fn top_level_typo_is_rejected() {
    let err = parse("listn: 127.0.0.1:1\nbackends: []\n").unwrap_err();
    assert!(err.to_string().contains("unknown field `listn`"), "{err}");
}

#[test]
fn transport_must_be_exactly_one() {
    let err = parse("backends:\n  - name: a\n").unwrap_err();
    assert!(err.to_string().contains("needs one of"), "{err}");
    let err = parse("backends:\n  - name: a\n    demo: github\n    http: {url: 'http://x'}\n")
        .unwrap_err();
    assert!(err.to_string().contains("more than one"), "{err}");
}

#[test]
fn value_errors_name_file_line_and_field() {
    let demo = "backends:\n  - {name: a, demo: github}\n";
    let cases = [
        (
            "backends: []\n".to_owned(),
            "gw.yaml:1: backends: list at least one backend",
        ),
        (
            "backends:\n  - {name: a, demo: github}\n  - {name: a, demo: jira}\n".to_owned(),
            "gw.yaml:3: backends[1].name: backend name `a` is already used by backends[0]; names must be unique",
        ),
        (
            "backends:\n  - name: 'a b'\n    demo: github\n".to_owned(),
            "gw.yaml:2: backends[0].name: `a b` is not a valid backend name; use letters, digits, `_` and `-`",
        ),
        (
            "backends:\n  - name: a\n    demo: gitlab\n".to_owned(),
            "gw.yaml:3: backends[0].demo: unknown demo server `gitlab`; choose one of github, jira, confluence, salesforce",
        ),
        (
            "backends:\n  - name: a\n    demo: github\n  - name: b\n    demo: jira\n  - name: c\n    # the remote one\n    http:\n      url: 'ftp://x'\n".to_owned(),
            "gw.yaml:9: backends[2].http.url: `ftp://x` is not an http(s) URL",
        ),
        (
            "backends:\n  - {name: a, stdio: {command: ''}}\n".to_owned(),
            "gw.yaml:2: backends[0].stdio.command: must name a program",
        ),
        (
            format!("listen: 127.0.0.1:1\npath: mcp\n{demo}"),
            "gw.yaml:2: path: must start with `/`, e.g. `/mcp`",
        ),
        (
            "backends:\n  - name: a\n    stdio:\n      command: x\n      args:\n        - ok\n        - '${NOPE}'\n".to_owned(),
            "gw.yaml:7: backends[0].stdio.args[1]: environment variable `NOPE` is not set (export it, or write `${NOPE:-default}`)",
        ),
        (
            format!("policy: {{}}\npolicy_file: p.yaml\n{demo}"),
            "gw.yaml:2: policy_file: set either `policy` (inline) or `policy_file`, not both",
        ),
        (
            // A field that is not written: the line of its nearest written parent.
            "backends:\n  - name: a\n    http: {url: 'http://x'}\n    credentials:\n      type: header\n".to_owned(),
            "gw.yaml:4: backends[0].credentials.value: set exactly one of `value` and `value_file`",
        ),
        (
            format!("auth:\n  issuer: https://example.okta.com\n  audiences: [api://default]\n  resource: not-a-url\n{demo}"),
            "gw.yaml:4: auth.resource: `not-a-url` is not an absolute http(s) URL; write the public URL of the MCP endpoint, e.g. `https://mcp.example.com/mcp`",
        ),
        (
            format!("auth:\n  issuer: https://example.okta.com\n  audiences: [api://default]\n  resource: 'https://mcp.example.com/mcp#top'\n{demo}"),
            "gw.yaml:4: auth.resource: `https://mcp.example.com/mcp#top` must not have a fragment (`#…`; RFC 9728 §1.2)",
        ),
        (
            format!("auth:\n  issuer: http://example.okta.com\n  audiences: [api://default]\n{demo}"),
            "gw.yaml:2: auth.issuer: `http://example.okta.com` is not an https URL (http only on a loopback host)",
        ),
        (
            format!("audit:\n  file: a.jsonl\n  redact_patterns:\n    - 'ok'\n    - '(unclosed'\n{demo}"),
            "gw.yaml:5: audit.redact_patterns[1]: `(unclosed` is not a regular expression: unclosed group",
        ),
        (
            "backends:\n  - name: a\n    http: {url: 'http://x'}\n    credentials:\n      type: header\n      value: \"${NEWLINE}\"\n".to_owned(),
            "gw.yaml:6: backends[0].credentials.value: not a valid HTTP header value (it must not contain a newline or another control character)",
        ),
        (
            "backends:\n  - name: a\n    http: {url: 'http://x'}\n    credentials: {type: header, name: 'X Key', value: v}\n".to_owned(),
            "gw.yaml:4: backends[0].credentials.name: `X Key` is not a header name",
        ),
    ];
    for (text, expected) in cases {
        assert_eq!(error(&text), expected, "{text}");
    }
}

#[test]
fn duration_errors_name_the_field_and_its_line() {
    assert_eq!(
        error("call_timeout: soon\nbackends:\n  - {name: a, demo: github}\n"),
        "gw.yaml:1:15: call_timeout: `soon` is not a duration; write e.g. `250ms`, `30s`, `5m`"
    );
    assert_eq!(
        error("backends:\n  - name: a\n    demo: github\n    timeout: 3d\n"),
        "gw.yaml:4:14: backends[0].timeout: unknown duration unit `d` in `3d`; use ms, s, m or h"
    );
    assert_eq!(
        error("backends:\n  - name: a\n    demo: github\n    backoff_max: -1\n"),
        "gw.yaml:4:18: backends[0].backoff_max: `-1` is not a duration; durations are not negative"
    );
    assert_eq!(
        error("backends:\n  - name: a\n    demo: github\n    backoff_initial: [1]\n"),
        "gw.yaml:4:22: backends[0].backoff_initial: invalid type: sequence, expected a duration like `250ms`, `30s`, `5m`, `1h` or a number of seconds"
    );
    assert_eq!(
        error("session_idle_timeout: 0s\nbackends:\n  - {name: a, demo: github}\n"),
        "gw.yaml:1:23: session_idle_timeout: must be more than 0, e.g. `5m`"
    );
    let config =
        parse("call_timeout: 90\nbackends:\n  - {name: a, demo: github, timeout: 1m}\n").unwrap();
    assert_eq!(config.call_timeout.as_secs(), 90);
    assert_eq!(config.session_idle_timeout.as_secs(), 300, "the default");
    assert_eq!(config.backends[0].timeout.unwrap().as_secs(), 60);
    let config =
        parse("session_idle_timeout: 30m\nbackends:\n  - {name: a, demo: github}\n").unwrap();
    assert_eq!(config.session_idle_timeout.as_secs(), 1800);
}

#[test]
fn inline_policy_errors_name_the_file_and_the_rule_line() {
    let config = parse(
        "policy:\n  rules:\n    - name: ok\n      allow: \"tool.name == 'x'\"\n    - name: typo\n      deny: \"tool.nmae == 'y'\"\nbackends:\n  - {name: a, demo: github}\n",
    )
    .unwrap();
    let err = config.authorizer().unwrap_err().to_string();
    assert!(
        err.starts_with(
            "gw.yaml:6: policy.rules[1].deny: rule 'typo' references unknown variable 'tool.nmae' at line 1, column 1"
        ),
        "{err}"
    );
    let config = parse(
        "policy:\n  groups:\n    Sales:\n      allow: ['jira:*', '']\nbackends:\n  - {name: a, demo: github}\n",
    )
    .unwrap();
    let err = config.authorizer().unwrap_err().to_string();
    assert!(
        err.starts_with("gw.yaml:4: policy.groups.\"Sales\".allow[1]: invalid policy entry groups.\"Sales\".allow[1]: "),
        "{err}"
    );
}

#[test]
fn policy_file_errors_name_both_files_and_lines() {
    let dir = temp_dir();
    std::fs::write(
        dir.join("p.yaml"),
        "default: deny\nrules:\n  - name: r\n    allow: \"tool.nmae == 'x'\"\n",
    )
    .unwrap();
    let config = parse_in(
        "# the gateway\npolicy_file: p.yaml\nbackends:\n  - {name: a, demo: github}\n",
        Some(&dir),
    )
    .unwrap();
    let err = config.authorizer().unwrap_err().to_string();
    let prefix = format!(
        "gw.yaml:2: policy_file: {}:4: rule 'r' references unknown variable 'tool.nmae' at line 1, column 1",
        dir.join("p.yaml").display()
    );
    assert!(err.starts_with(&prefix), "{err}");

    std::fs::remove_file(dir.join("p.yaml")).unwrap();
    let err = config.authorizer().unwrap_err().to_string();
    assert_eq!(
        err,
        format!(
            "gw.yaml:2: policy_file: cannot read policy file {}: No such file or directory (os error 2)",
            dir.join("p.yaml").display()
        )
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn every_string_field_is_interpolated() {
    // `${V}` expands to `v`; every string field below carries it.
    let text = r#"
path: /mcp${V}
separator: "${V}"
allowed_hosts: ["h${V}"]
allowed_origins: ["https://o${V}"]
auth:
  issuer: https://i${V}
  audiences: ["a${V}"]
  jwks_uri: https://j${V}
  resource: https://r${V}/mcp
  scopes_supported: ["s${V}"]
  challenge_scopes: ["c${V}"]
audit:
  file: /tmp/audit${V}.jsonl
  redact_keys: ["k${V}"]
  redact_patterns: ["p${V}"]
policy_file: /etc/p${V}.yaml
metrics:
  path: /metrics${V}
backends:
  - name: n${V}
    prefix: x${V}
    stdio:
      command: cmd${V}
      args: ["a${V}"]
      env: {E: "e${V}"}
      cwd: /w${V}
  - name: d
    demo: ${DEMO}
  - name: h
    http: {url: "http://u${V}"}
    credentials: {type: header, name: "X-${V}", value: "val${V}"}
  - name: hf
    http: {url: "http://u"}
    credentials: {type: header, value_file: "/f${V}"}
  - name: okta
    http: {url: "http://u"}
    credentials:
      type: okta_client_credentials
      token_endpoint: https://t${V}
      client_id: id${V}
      private_key_file: /k${V}.pem
      scopes: ["sc${V}"]
  - name: oauth
    http: {url: "http://u"}
    credentials:
      type: oauth_client_credentials
      client_id: id${V}
      client_secret: "sec${V}"
      scopes: ["sc${V}"]
      authorization_server: https://as${V}
  - name: okta2
    http: {url: "http://u"}
    credentials:
      type: okta_client_credentials
      issuer: https://is${V}
      client_id: id
      client_secret: "s${V}"
"#;
    let lookup = |name: &str| match name {
        "V" => Some("v".to_owned()),
        "DEMO" => Some("jira".to_owned()),
        _ => None,
    };
    let c = GatewayConfig::parse_with_env(text, "gw.yaml", &lookup, None).unwrap();
    assert_eq!(c.path, "/mcpv");
    assert_eq!(c.metrics.path, "/metricsv");
    assert_eq!(c.separator, "v");
    assert_eq!(c.allowed_hosts.as_deref().unwrap(), ["hv"]);
    assert_eq!(c.allowed_origins, ["https://ov"]);
    let auth = c.auth.as_ref().unwrap();
    assert_eq!(auth.issuer, "https://iv");
    assert_eq!(auth.audiences, ["av"]);
    assert_eq!(auth.jwks_uri.as_deref(), Some("https://jv"));
    assert_eq!(auth.resource.as_deref(), Some("https://rv/mcp"));
    assert_eq!(auth.scopes_supported, ["sv"]);
    assert_eq!(auth.challenge_scopes, ["cv"]);
    assert_eq!(
        c.audit.file.as_deref(),
        Some(Path::new("/tmp/auditv.jsonl"))
    );
    assert_eq!(c.audit.redact_keys.as_deref().unwrap(), ["kv"]);
    assert_eq!(c.audit.redact_patterns.as_deref().unwrap(), ["pv"]);
    assert_eq!(c.policy_file.as_deref(), Some(Path::new("/etc/pv.yaml")));
    let b = &c.backends;
    assert_eq!((b[0].name.as_str(), b[0].prefix()), ("nv", "xv"));
    match &b[0].transport {
        TransportConfig::Stdio(s) => {
            assert_eq!(s.command, "cmdv");
            assert_eq!(s.args, ["av"]);
            assert_eq!(s.env["E"], "ev");
            assert_eq!(s.cwd.as_deref(), Some(Path::new("/wv")));
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(&b[1].transport, TransportConfig::Demo(d) if d == "jira"));
    assert!(matches!(&b[2].transport, TransportConfig::Http(h) if h.url == "http://uv"));
    match &b[2].credentials {
        CredentialsConfig::Header { name, value, .. } => {
            assert_eq!(name, "X-v");
            assert_eq!(value.as_ref().unwrap().expose(), "valv");
        }
        other => panic!("{other:?}"),
    }
    match &b[3].credentials {
        CredentialsConfig::Header { value_file, .. } => {
            assert_eq!(value_file.as_deref(), Some(Path::new("/fv")));
        }
        other => panic!("{other:?}"),
    }
    match &b[4].credentials {
        CredentialsConfig::OktaClientCredentials {
            token_endpoint,
            client_id,
            private_key_file,
            scopes,
            ..
        } => {
            assert_eq!(token_endpoint.as_deref(), Some("https://tv"));
            assert_eq!(client_id, "idv");
            assert_eq!(private_key_file.as_deref(), Some(Path::new("/kv.pem")));
            assert_eq!(scopes, &["scv"]);
        }
        other => panic!("{other:?}"),
    }
    match &b[5].credentials {
        CredentialsConfig::OauthClientCredentials {
            client_id,
            client_secret,
            scopes,
            authorization_server,
            ..
        } => {
            assert_eq!(client_id, "idv");
            assert_eq!(client_secret.as_ref().unwrap().expose(), "secv");
            assert_eq!(scopes, &["scv"]);
            assert_eq!(authorization_server.as_deref(), Some("https://asv"));
        }
        other => panic!("{other:?}"),
    }
    match &b[6].credentials {
        CredentialsConfig::OktaClientCredentials {
            issuer,
            client_secret,
            ..
        } => {
            assert_eq!(issuer.as_deref(), Some("https://isv"));
            assert_eq!(client_secret.as_ref().unwrap().expose(), "sv");
        }
        other => panic!("{other:?}"),
    }
    // An unset variable in one of the newly covered fields names it.
    let err = GatewayConfig::parse_with_env(
        "backends:\n  - name: h\n    http: {url: 'http://u'}\n    credentials:\n      type: oauth_client_credentials\n      client_id: ${CLIENT}\n      client_secret: s\n",
        "gw.yaml",
        &lookup,
        None,
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "gw.yaml:6: backends[0].credentials.client_id: environment variable `CLIENT` is not set (export it, or write `${CLIENT:-default}`)"
    );
}

#[test]
fn relative_paths_are_relative_to_the_config_directory() {
    let dir = PathBuf::from("/srv/gw");
    let c = parse_in(
        r#"
policy_file: policy.yaml
audit: {file: logs/audit.jsonl}
backends:
  - name: local
    stdio: {command: ./bin/server, cwd: work}
  - name: tool
    stdio: {command: bin/tool}
  - name: npx
    stdio: {command: npx, cwd: ./run/.}
  - name: h
    http: {url: "http://u"}
    credentials: {type: header, value_file: secrets/key}
  - name: o
    http: {url: "http://u"}
    credentials: {type: oauth_client_credentials, client_id: c, private_key_file: ../keys/k.pem}
  - name: abs
    http: {url: "http://u"}
    credentials: {type: okta_client_credentials, issuer: "https://i", client_id: c, private_key_file: /etc/k.pem}
"#,
        Some(&dir),
    )
    .unwrap();
    assert_eq!(c.policy_file.unwrap(), dir.join("policy.yaml"));
    assert_eq!(c.audit.file.unwrap(), dir.join("logs/audit.jsonl"));
    let stdio = |i: usize| match &c.backends[i].transport {
        TransportConfig::Stdio(s) => s.clone(),
        other => panic!("{other:?}"),
    };
    assert_eq!(stdio(0).cwd.unwrap(), dir.join("work"));
    assert_eq!(
        stdio(0).command,
        "/srv/gw/work/bin/server",
        "relative to cwd"
    );
    assert_eq!(stdio(1).command, "/srv/gw/bin/tool");
    assert_eq!(stdio(2).command, "npx", "a bare name is looked up on PATH");
    assert_eq!(stdio(2).cwd.unwrap(), dir.join("run"));
    let key_file = |i: usize| match &c.backends[i].credentials {
        CredentialsConfig::Header { value_file, .. } => value_file.clone().unwrap(),
        CredentialsConfig::OktaClientCredentials {
            private_key_file, ..
        }
        | CredentialsConfig::OauthClientCredentials {
            private_key_file, ..
        } => private_key_file.clone().unwrap(),
        other => panic!("{other:?}"),
    };
    assert_eq!(key_file(3), dir.join("secrets/key"));
    assert_eq!(key_file(4), dir.join("../keys/k.pem"));
    assert_eq!(key_file(5), Path::new("/etc/k.pem"));

    // From text (no directory known), paths stay as written.
    let c = parse("audit: {file: logs/a.jsonl}\nbackends:\n  - {name: a, demo: github}\n").unwrap();
    assert_eq!(c.audit.file.unwrap(), Path::new("logs/a.jsonl"));
}

#[test]
fn load_resolves_against_the_file_directory_from_any_working_directory() {
    let dir = temp_dir();
    let file = dir.join("gw.yaml");
    std::fs::write(
        &file,
        "audit: {file: audit.jsonl}\nbackends:\n  - {name: a, demo: github}\n",
    )
    .unwrap();
    let c = GatewayConfig::load(&file).unwrap();
    assert_eq!(c.origin(), file.display().to_string());
    assert_eq!(c.audit.file.unwrap(), dir.join("audit.jsonl"));
    let _ = std::fs::remove_dir_all(&dir);
}

fn temp_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("mcp-proxy-config-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn missing_file_is_a_clear_error() {
    let err = GatewayConfig::load("/nonexistent/gw.yaml".as_ref()).unwrap_err();
    assert!(
        err.to_string()
            .contains("cannot read config file /nonexistent/gw.yaml")
    );
}

#[test]
fn metrics_defaults_unknown_fields_and_path_rules() {
    let backends = "backends:\n  - name: a\n    demo: github\n";
    let config = parse(backends).unwrap();
    assert!(config.metrics.enabled);
    assert_eq!(config.metrics.path, "/metrics");
    let config = parse(&format!("metrics: {{enabled: false}}\n{backends}")).unwrap();
    assert!(!config.metrics.enabled);
    assert_eq!(config.metrics.path, "/metrics");

    let text = error(&format!("metrics:\n  enabeld: false\n{backends}"));
    assert!(text.starts_with("gw.yaml:2:"), "{text}");
    assert!(text.contains("unknown field `enabeld`"), "{text}");
    assert_eq!(
        error(&format!("metrics:\n  path: metrics\n{backends}")),
        "gw.yaml:2: metrics.path: must start with `/`, e.g. `/metrics`"
    );
    for taken in ["/mcp", "/healthz", "/readyz", "/.well-known/x"] {
        let text = error(&format!("metrics:\n  path: {taken}\n{backends}"));
        assert!(
            text.starts_with("gw.yaml:2: metrics.path: `") && text.contains("already a route"),
            "{text}"
        );
    }
    // The MCP endpoint moved: /mcp is free for metrics; disabled, the path is not checked.
    assert!(parse(&format!("path: /rpc\nmetrics: {{path: /mcp}}\n{backends}")).is_ok());
    assert!(
        parse(&format!(
            "metrics: {{enabled: false, path: /mcp}}\n{backends}"
        ))
        .is_ok()
    );
}
