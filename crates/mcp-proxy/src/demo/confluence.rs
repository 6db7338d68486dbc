//! Demo Confluence: read docs, create pages, delete pages.

use serde_json::{Map, Value, json};

use super::server::DemoTool;
use super::stable_hash;

fn arg<'a>(args: &'a Map<String, Value>, name: &str) -> &'a str {
    args.get(name).and_then(Value::as_str).unwrap_or_default()
}

fn search_pages(args: &Map<String, Value>) -> Result<Value, String> {
    let query = arg(args, "query");
    Ok(json!({ "query": query, "pages": [
        { "id": "1001", "title": "Onboarding", "space": "ENG" },
        { "id": "1002", "title": "Release process", "space": "ENG" },
    ]}))
}

fn get_page(args: &Map<String, Value>) -> Result<Value, String> {
    let id = arg(args, "id");
    Ok(
        json!({ "id": id, "title": format!("Page {id}"), "body": format!("Demo content of page {id}.") }),
    )
}

fn create_page(args: &Map<String, Value>) -> Result<Value, String> {
    let title = arg(args, "title");
    let id = 2000 + stable_hash(title) % 8000;
    Ok(json!({ "id": id.to_string(), "space": arg(args, "space"), "title": title }))
}

fn delete_page(args: &Map<String, Value>) -> Result<Value, String> {
    Ok(json!({ "deleted": arg(args, "id") }))
}

pub(super) const TOOLS: &[DemoTool] = &[
    DemoTool {
        name: "search_pages",
        description: "Searches documentation pages (read).",
        args: &[("query", "text to search", false)],
        run: search_pages,
    },
    DemoTool {
        name: "get_page",
        description: "Reads one page.",
        args: &[("id", "page id", true)],
        run: get_page,
    },
    DemoTool {
        name: "create_page",
        description: "Creates a page.",
        args: &[
            ("space", "space key, e.g. ENG", true),
            ("title", "page title", true),
            ("body", "page text", false),
        ],
        run: create_page,
    },
    DemoTool {
        name: "delete_page",
        description: "Deletes a page.",
        args: &[("id", "page id", true)],
        run: delete_page,
    },
];
