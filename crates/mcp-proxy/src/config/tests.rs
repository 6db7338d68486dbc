//! Unit tests of config loading: schema errors carry file, line and field.

use std::collections::HashMap;

use super::{GatewayConfig, TransportConfig};
use crate::error::ProxyError;

fn parse(text: &str) -> Result<GatewayConfig, ProxyError> {
    let env: HashMap<&str, &str> = [("GH_TOKEN", "t0ken"), ("BASE", "http://127.0.0.1:9")]
        .into_iter()
        .collect();
    let lookup = move |name: &str| env.get(name).map(|v| (*v).to_owned());
    GatewayConfig::parse_with_env(text, "gw.yaml", &lookup)
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
fn semantic_errors_name_the_field() {
    let cases = [
        ("backends: []\n", "`backends`"),
        (
            "backends:\n  - {name: a, demo: github}\n  - {name: a, demo: jira}\n",
            "backends[1].name",
        ),
        (
            "backends:\n  - {name: 'a b', demo: github}\n",
            "backends[0].name",
        ),
        (
            "backends:\n  - {name: a, demo: gitlab}\n",
            "backends[0].demo",
        ),
        (
            "backends:\n  - {name: a, http: {url: 'ftp://x'}}\n",
            "backends[0].http.url",
        ),
        (
            "backends:\n  - {name: a, stdio: {command: ''}}\n",
            "backends[0].stdio.command",
        ),
        (
            "path: mcp\nbackends:\n  - {name: a, demo: github}\n",
            "`path`",
        ),
        (
            "backends:\n  - {name: a, stdio: {command: '${NOPE}'}}\n",
            "NOPE",
        ),
        (
            "call_timeout: soon\nbackends:\n  - {name: a, demo: github}\n",
            "not a duration",
        ),
    ];
    for (text, needle) in cases {
        let err = parse(text).unwrap_err().to_string();
        assert!(err.contains(needle), "{text:?} gave {err}");
        assert!(err.starts_with("gw.yaml"), "{err}");
    }
}

#[test]
fn missing_file_is_a_clear_error() {
    let err = GatewayConfig::load("/nonexistent/gw.yaml".as_ref()).unwrap_err();
    assert!(
        err.to_string()
            .contains("cannot read config file /nonexistent/gw.yaml")
    );
}
