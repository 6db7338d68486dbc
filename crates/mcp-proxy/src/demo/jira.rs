//! Demo Jira: read tickets, update status, create issues, delete issues.

use serde_json::{Map, Value, json};

use super::server::DemoTool;
use super::stable_hash;

fn arg<'a>(args: &'a Map<String, Value>, name: &str) -> &'a str {
    args.get(name).and_then(Value::as_str).unwrap_or_default()
}

fn issue(key: &str) -> Value {
    let n = stable_hash(key);
    let status = ["To Do", "In Progress", "Done"][(n % 3) as usize];
    json!({ "key": key, "summary": format!("Demo issue {key}"), "status": status, "assignee": "alice" })
}

fn search_issues(args: &Map<String, Value>) -> Result<Value, String> {
    let query = arg(args, "query");
    let issues: Vec<Value> = ["OPS-1", "OPS-2", "WEB-7"]
        .iter()
        .map(|k| issue(k))
        .collect();
    Ok(json!({ "query": query, "issues": issues }))
}

fn get_issue(args: &Map<String, Value>) -> Result<Value, String> {
    Ok(issue(arg(args, "key")))
}

fn update_issue_status(args: &Map<String, Value>) -> Result<Value, String> {
    let status = arg(args, "status");
    if !["To Do", "In Progress", "Done"].contains(&status) {
        return Err(format!(
            "unknown status `{status}`; use To Do, In Progress or Done"
        ));
    }
    Ok(json!({ "key": arg(args, "key"), "status": status }))
}

fn create_issue(args: &Map<String, Value>) -> Result<Value, String> {
    let project = arg(args, "project");
    let summary = arg(args, "summary");
    let key = format!("{project}-{}", 10 + stable_hash(summary) % 990);
    Ok(json!({ "key": key, "summary": summary, "status": "To Do" }))
}

fn delete_issue(args: &Map<String, Value>) -> Result<Value, String> {
    Ok(json!({ "deleted": arg(args, "key") }))
}

pub(super) const TOOLS: &[DemoTool] = &[
    DemoTool {
        name: "search_issues",
        description: "Searches tickets (read).",
        args: &[("query", "JQL or text", false)],
        run: search_issues,
    },
    DemoTool {
        name: "get_issue",
        description: "Reads one ticket.",
        args: &[("key", "issue key, e.g. OPS-1", true)],
        run: get_issue,
    },
    DemoTool {
        name: "update_issue_status",
        description: "Moves a ticket to another status.",
        args: &[
            ("key", "issue key", true),
            ("status", "To Do, In Progress or Done", true),
        ],
        run: update_issue_status,
    },
    DemoTool {
        name: "create_issue",
        description: "Creates a ticket.",
        args: &[
            ("project", "project key, e.g. OPS", true),
            ("summary", "title", true),
        ],
        run: create_issue,
    },
    DemoTool {
        name: "delete_issue",
        description: "Deletes a ticket.",
        args: &[("key", "issue key", true)],
        run: delete_issue,
    },
];
