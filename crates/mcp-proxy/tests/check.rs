//! `mcp-proxy check --config …` finds what would otherwise stop a start:
//! credential files, header values, PEM keys, the audit file, `stdio.cwd`,
//! `audit.redact_patterns`, `auth.resource`; and every relative path in a
//! config file is relative to that file's directory.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use mcp_proxy::check::check_config;

/// A fresh directory holding `gw.yaml` with `yaml`; returns (dir, config path).
fn config_in_dir(yaml: &str) -> (PathBuf, PathBuf) {
    let dir = std::env::temp_dir().join(format!("mcp-proxy-check-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("gw.yaml");
    std::fs::write(&file, yaml).unwrap();
    (dir, file)
}

fn check_error(yaml: &str, setup: impl FnOnce(&Path)) -> (String, PathBuf, PathBuf) {
    let (dir, file) = config_in_dir(yaml);
    setup(&dir);
    let err = check_config(&file).unwrap_err().to_string();
    (err, dir, file)
}

fn http_backend(credentials: &str) -> String {
    format!(
        "# gateway\nbackends:\n  - name: api\n    http: {{url: 'http://127.0.0.1:9/mcp'}}\n    credentials:\n{credentials}"
    )
}

fn ec_key() -> String {
    std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../okta-auth/tests/fixtures/ec_pkcs8.pem"),
    )
    .unwrap()
}

#[test]
fn credential_files_must_exist_and_parse() {
    let yaml = http_backend("      type: header\n      value_file: secrets/api-key\n");
    let (err, dir, file) = check_error(&yaml, |_| {});
    assert_eq!(
        err,
        format!(
            "{}:7: backends[0].credentials.value_file: {}: No such file or directory (os error 2)",
            file.display(),
            dir.join("secrets/api-key").display()
        )
    );

    // A value the gateway could not send as a header (a control character).
    let (err, dir, file) = check_error(&yaml, |dir| {
        std::fs::create_dir_all(dir.join("secrets")).unwrap();
        std::fs::write(dir.join("secrets/api-key"), "abc\u{7}def\n").unwrap();
    });
    assert_eq!(
        err,
        format!(
            "{}:7: backends[0].credentials.value_file: {}: the content is not a valid HTTP header value (it must not contain a newline or another control character)",
            file.display(),
            dir.join("secrets/api-key").display()
        )
    );

    let yaml = http_backend(
        "      type: oauth_client_credentials\n      client_id: gw\n      private_key_file: key.pem\n",
    );
    let (err, dir, file) = check_error(&yaml, |dir| {
        std::fs::write(dir.join("key.pem"), "not a key\n").unwrap();
    });
    assert_eq!(
        err,
        format!(
            "{}:8: backends[0].credentials.private_key_file: {}: invalid OAuth client configuration: the signing key is not valid PEM (malformedframing); expected a `-----BEGIN PRIVATE KEY-----` block",
            file.display(),
            dir.join("key.pem").display()
        )
    );

    let yaml = http_backend(
        "      type: okta_client_credentials\n      issuer: https://example.okta.com/oauth2/default\n      client_id: gw\n      private_key_file: ../missing.pem\n",
    );
    let (err, dir, file) = check_error(&yaml, |_| {});
    assert_eq!(
        err,
        format!(
            "{}:9: backends[0].credentials.private_key_file: {}: No such file or directory (os error 2)",
            file.display(),
            dir.join("../missing.pem").display()
        )
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_audit_file_must_be_creatable_or_appendable() {
    let demo = "backends:\n  - {name: a, demo: github}\n";
    let (err, dir, file) =
        check_error(&format!("audit:\n  file: logs/audit.jsonl\n{demo}"), |_| {});
    assert_eq!(
        err,
        format!(
            "{}:2: audit.file: cannot create {}: the directory {} does not exist",
            file.display(),
            dir.join("logs/audit.jsonl").display(),
            dir.join("logs").display()
        )
    );

    let (err, dir, file) = check_error(&format!("audit:\n  file: logs\n{demo}"), |dir| {
        std::fs::create_dir_all(dir.join("logs")).unwrap();
    });
    assert_eq!(
        err,
        format!(
            "{}:2: audit.file: {} is a directory",
            file.display(),
            dir.join("logs").display()
        )
    );

    // Creatable: passes, and check leaves nothing behind (no audit file, no probe).
    let (dir, file) = config_in_dir(&format!("audit:\n  file: audit.jsonl\n{demo}"));
    let lines = check_config(&file).unwrap();
    assert!(
        lines.contains(&format!(
            "audit: {} is writable",
            dir.join("audit.jsonl").display()
        )),
        "{lines:?}"
    );
    let mut left: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    assert_eq!(left, ["gw.yaml"]);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn stdio_cwd_must_be_a_directory() {
    let (err, dir, file) = check_error(
        "backends:\n  - name: local\n    stdio:\n      command: sh\n      cwd: work\n",
        |_| {},
    );
    assert_eq!(
        err,
        format!(
            "{}:5: backends[0].stdio.cwd: {} is not a directory",
            file.display(),
            dir.join("work").display()
        )
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// Everything relative in the file is found next to it, whatever the
/// working directory of `mcp-proxy check` is.
#[test]
fn relative_paths_are_found_next_to_the_config_file() {
    let (dir, file) = config_in_dir(
        "audit: {file: audit.jsonl}\npolicy_file: policy.yaml\nbackends:\n  - name: local\n    stdio: {command: ./bin/server, cwd: .}\n  - name: api\n    http: {url: 'http://127.0.0.1:9/mcp'}\n    credentials: {type: header, value_file: secrets/key}\n  - name: svc\n    http: {url: 'http://127.0.0.1:9/mcp'}\n    credentials: {type: oauth_client_credentials, client_id: gw, private_key_file: secrets/gw.pem}\n",
    );
    std::fs::create_dir_all(dir.join("secrets")).unwrap();
    std::fs::create_dir_all(dir.join("bin")).unwrap();
    std::fs::write(dir.join("bin/server"), "#!/bin/sh\n").unwrap();
    std::fs::write(dir.join("secrets/key"), "Bearer abc\n").unwrap();
    std::fs::write(dir.join("secrets/gw.pem"), ec_key()).unwrap();
    std::fs::write(
        dir.join("policy.yaml"),
        "groups:\n  Everyone:\n    allow: ['*']\n",
    )
    .unwrap();
    // Another working directory than the config's.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_mcp-proxy"))
        .current_dir(std::env::temp_dir())
        .args(["check", "--config"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let d = dir.display();
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        format!(
            "  policy: compiles\n  audit: {d}/audit.jsonl is writable\n  local: stdio {d}/bin/server\n  api: http http://127.0.0.1:9/mcp (header value file {d}/secrets/key read)\n  svc: http http://127.0.0.1:9/mcp (private key {d}/secrets/gw.pem parses)\n{}: OK\n",
            file.display()
        )
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// Problems that used to pass `check` and stop the start, through the binary.
#[test]
fn check_refuses_bad_redact_patterns_and_resources() {
    let demo = "backends:\n  - {name: a, demo: github}\n";
    let cases = [
        (
            format!("audit:\n  stdout: true\n  redact_patterns: ['[a-']\n{demo}"),
            "3: audit.redact_patterns[0]: `[a-` is not a regular expression: unclosed character class",
        ),
        (
            format!(
                "auth:\n  issuer: https://example.okta.com/oauth2/default\n  audiences: [api://default]\n  resource: not-a-url\n{demo}"
            ),
            "4: auth.resource: `not-a-url` is not an absolute http(s) URL; write the public URL of the MCP endpoint, e.g. `https://mcp.example.com/mcp`",
        ),
    ];
    for (yaml, expected) in cases {
        let (dir, file) = config_in_dir(&yaml);
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_mcp-proxy"))
            .args(["check", "--config"])
            .arg(&file)
            .output()
            .unwrap();
        assert!(!out.status.success());
        assert_eq!(
            String::from_utf8(out.stderr).unwrap(),
            format!("mcp-proxy: {}:{expected}\n", file.display())
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
