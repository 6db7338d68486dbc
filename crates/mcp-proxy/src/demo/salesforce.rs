//! Demo Salesforce: read accounts, update records, create opportunities,
//! bulk export, delete records.

use serde_json::{Map, Value, json};

use super::server::DemoTool;
use super::stable_hash;

fn arg<'a>(args: &'a Map<String, Value>, name: &str) -> &'a str {
    args.get(name).and_then(Value::as_str).unwrap_or_default()
}

fn account(id: &str) -> Value {
    let n = stable_hash(id);
    json!({ "id": id, "name": format!("Account {id}"), "annual_revenue": 100_000 + (n % 900) * 1000 })
}

fn get_account(args: &Map<String, Value>) -> Result<Value, String> {
    Ok(account(arg(args, "id")))
}

fn search_accounts(args: &Map<String, Value>) -> Result<Value, String> {
    let accounts: Vec<Value> = ["001A", "001B", "001C"]
        .iter()
        .map(|id| account(id))
        .collect();
    Ok(json!({ "query": arg(args, "query"), "accounts": accounts }))
}

fn update_record(args: &Map<String, Value>) -> Result<Value, String> {
    Ok(
        json!({ "id": arg(args, "id"), "field": arg(args, "field"), "value": arg(args, "value"), "updated": true }),
    )
}

fn create_opportunity(args: &Map<String, Value>) -> Result<Value, String> {
    let name = arg(args, "name");
    Ok(
        json!({ "id": format!("006{:06}", stable_hash(name) % 1_000_000), "account_id": arg(args, "account_id"), "name": name, "stage": "Prospecting" }),
    )
}

fn bulk_export(args: &Map<String, Value>) -> Result<Value, String> {
    let object = match arg(args, "object") {
        "" => "Account",
        o => o,
    };
    Ok(json!({ "object": object, "records": 50_000, "download": "demo://exports/all.csv" }))
}

fn delete_record(args: &Map<String, Value>) -> Result<Value, String> {
    Ok(json!({ "deleted": arg(args, "id") }))
}

pub(super) const TOOLS: &[DemoTool] = &[
    DemoTool {
        name: "get_account",
        description: "Reads one account record.",
        args: &[("id", "account id", true)],
        run: get_account,
    },
    DemoTool {
        name: "search_accounts",
        description: "Searches account records (read).",
        args: &[("query", "text to search", false)],
        run: search_accounts,
    },
    DemoTool {
        name: "update_record",
        description: "Updates one field of a record.",
        args: &[
            ("id", "record id", true),
            ("field", "field name", true),
            ("value", "new value", true),
        ],
        run: update_record,
    },
    DemoTool {
        name: "create_opportunity",
        description: "Creates an opportunity.",
        args: &[
            ("account_id", "account id", true),
            ("name", "opportunity name", true),
        ],
        run: create_opportunity,
    },
    DemoTool {
        name: "bulk_export",
        description: "Exports every record of an object.",
        args: &[("object", "object type (default Account)", false)],
        run: bulk_export,
    },
    DemoTool {
        name: "delete_record",
        description: "Deletes a record.",
        args: &[("id", "record id", true)],
        run: delete_record,
    },
];
