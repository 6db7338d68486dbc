//! Every example config in the repository's `examples/` loads, validates and
//! compiles its policy, so the examples cannot rot; the seed 001 example uses
//! exactly the dev policy.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

use mcp_proxy::config::GatewayConfig;

fn examples_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples")
}

#[test]
fn every_example_config_loads_and_its_policy_compiles() {
    let mut seen = Vec::new();
    for entry in std::fs::read_dir(examples_dir()).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if !(name.starts_with("gateway-") && name.ends_with(".yaml"))
            || name.ends_with(".policy.yaml")
        {
            continue;
        }
        let config = GatewayConfig::load(&path).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(!config.backends.is_empty(), "{name}");
        config
            .authorizer()
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        seen.push(name);
    }
    seen.sort();
    assert_eq!(
        seen,
        [
            "gateway-demo.yaml",
            "gateway-seed000.yaml",
            "gateway-seed001.yaml",
            "gateway-seed004.yaml"
        ]
    );
}

#[test]
fn seed_001_example_policy_is_the_dev_policy() {
    let example =
        std::fs::read_to_string(examples_dir().join("gateway-seed001.policy.yaml")).unwrap();
    assert_eq!(example, mcp_proxy::dev::POLICY_YAML);
}

#[test]
fn check_subcommand_accepts_the_demo_example_and_rejects_a_broken_file() {
    let exe = env!("CARGO_BIN_EXE_mcp-proxy");
    let out = std::process::Command::new(exe)
        .args(["check", "--config"])
        .arg(examples_dir().join("gateway-demo.yaml"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        stdout.contains("github: demo-server github") && stdout.ends_with("OK\n"),
        "{stdout}"
    );

    let dir = std::env::temp_dir().join(format!("mcp-proxy-check-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("bad.yaml");
    std::fs::write(
        &bad,
        "backends:\n  - name: x\n    stdio:\n      command: no-such-program-xyz\n",
    )
    .unwrap();
    let out = std::process::Command::new(exe)
        .args(["check", "--config"])
        .arg(&bad)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains("backends[0].stdio.command") && stderr.contains("not found"),
        "{stderr}"
    );

    std::fs::write(
        &bad,
        "backends:\n  - name: x\n    demo: github\n    timout: 5s\n",
    )
    .unwrap();
    let out = std::process::Command::new(exe)
        .args(["check", "--config"])
        .arg(&bad)
        .output()
        .unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains("bad.yaml:4:") && stderr.contains("unknown field `timout`"),
        "{stderr}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
