//! Demo GitHub: the eight tools of seed 001's table.

use serde_json::{Map, Value, json};

use super::server::DemoTool;
use super::stable_hash;

const REPOS: &[(&str, &str)] = &[
    ("acme/web", "The storefront"),
    ("acme/api", "Public REST API"),
    ("acme/infra", "Terraform and deployment"),
];

fn arg<'a>(args: &'a Map<String, Value>, name: &str) -> &'a str {
    args.get(name).and_then(Value::as_str).unwrap_or_default()
}

fn repo(args: &Map<String, Value>) -> Result<&str, String> {
    let repo = arg(args, "repo");
    if REPOS.iter().any(|(r, _)| *r == repo) {
        Ok(repo)
    } else {
        Err(format!(
            "repository `{repo}` not found; try one of {}",
            REPOS.iter().map(|(r, _)| *r).collect::<Vec<_>>().join(", ")
        ))
    }
}

fn sha(seed: &str) -> String {
    format!(
        "{:08x}{:08x}",
        stable_hash(seed),
        stable_hash(&format!("{seed}#"))
    )
}

fn list_repositories(_: &Map<String, Value>) -> Result<Value, String> {
    let repos: Vec<Value> = REPOS
        .iter()
        .map(|(name, description)| json!({ "name": name, "description": description, "default_branch": "main" }))
        .collect();
    Ok(json!({ "repositories": repos }))
}

fn get_file_contents(args: &Map<String, Value>) -> Result<Value, String> {
    let repo = repo(args)?;
    let path = arg(args, "path");
    let reference = match arg(args, "ref") {
        "" => "main",
        r => r,
    };
    Ok(json!({
        "repo": repo, "path": path, "ref": reference,
        "content": format!("# {path}\n\nDemo file of {repo} at {reference}.\n"),
    }))
}

fn create_pull_request(args: &Map<String, Value>) -> Result<Value, String> {
    let repo = repo(args)?;
    let title = arg(args, "title");
    let head = arg(args, "head");
    let base = match arg(args, "base") {
        "" => "main",
        b => b,
    };
    let number = 100 + stable_hash(&format!("{repo}{title}{head}")) % 900;
    Ok(json!({
        "number": number, "repo": repo, "title": title, "head": head, "base": base,
        "url": format!("https://github.example/{repo}/pull/{number}"), "state": "open",
    }))
}

fn create_branch(args: &Map<String, Value>) -> Result<Value, String> {
    let repo = repo(args)?;
    let branch = arg(args, "branch");
    let from = match arg(args, "from") {
        "" => "main",
        f => f,
    };
    Ok(
        json!({ "repo": repo, "ref": format!("refs/heads/{branch}"), "from": from, "sha": sha(&format!("{repo}{from}")) }),
    )
}

fn delete_branch(args: &Map<String, Value>) -> Result<Value, String> {
    let repo = repo(args)?;
    let branch = arg(args, "branch");
    Ok(json!({ "repo": repo, "deleted": format!("refs/heads/{branch}") }))
}

fn push_to_branch(args: &Map<String, Value>) -> Result<Value, String> {
    let repo = repo(args)?;
    let branch = arg(args, "branch");
    let message = arg(args, "message");
    Ok(json!({
        "repo": repo, "branch": branch, "message": message,
        "commit": sha(&format!("{repo}{branch}{message}")),
    }))
}

fn get_repository_secrets(args: &Map<String, Value>) -> Result<Value, String> {
    let repo = repo(args)?;
    Ok(json!({
        "repo": repo,
        "secrets": [
            { "name": "DEPLOY_KEY", "value": "demo-not-a-real-secret-1" },
            { "name": "NPM_TOKEN", "value": "demo-not-a-real-secret-2" },
        ],
    }))
}

fn update_webhook(args: &Map<String, Value>) -> Result<Value, String> {
    let repo = repo(args)?;
    let hook = arg(args, "hook_id");
    let url = arg(args, "url");
    Ok(json!({ "repo": repo, "hook_id": hook, "url": url, "active": true }))
}

pub(super) const TOOLS: &[DemoTool] = &[
    DemoTool {
        name: "list_repositories",
        description: "Lists repos the user has access to.",
        args: &[],
        run: list_repositories,
    },
    DemoTool {
        name: "get_file_contents",
        description: "Reads a file in a repository.",
        args: &[
            ("repo", "owner/name", true),
            ("path", "file path", true),
            ("ref", "branch or commit (default main)", false),
        ],
        run: get_file_contents,
    },
    DemoTool {
        name: "create_pull_request",
        description: "Opens a pull request.",
        args: &[
            ("repo", "owner/name", true),
            ("title", "PR title", true),
            ("head", "source branch", true),
            ("base", "target branch (default main)", false),
        ],
        run: create_pull_request,
    },
    DemoTool {
        name: "create_branch",
        description: "Creates a new branch.",
        args: &[
            ("repo", "owner/name", true),
            ("branch", "new branch name", true),
            ("from", "branch to start from (default main)", false),
        ],
        run: create_branch,
    },
    DemoTool {
        name: "delete_branch",
        description: "Deletes a branch.",
        args: &[
            ("repo", "owner/name", true),
            ("branch", "branch to delete", true),
        ],
        run: delete_branch,
    },
    DemoTool {
        name: "push_to_branch",
        description: "Pushes a commit to a branch (including main).",
        args: &[
            ("repo", "owner/name", true),
            ("branch", "target branch", true),
            ("message", "commit message", true),
        ],
        run: push_to_branch,
    },
    DemoTool {
        name: "get_repository_secrets",
        description: "Reads the repository's configured secrets.",
        args: &[("repo", "owner/name", true)],
        run: get_repository_secrets,
    },
    DemoTool {
        name: "update_webhook",
        description: "Modifies a repository webhook.",
        args: &[
            ("repo", "owner/name", true),
            ("hook_id", "webhook id", true),
            ("url", "new delivery URL", true),
        ],
        run: update_webhook,
    },
];
