//! Graceful shutdown with a call in flight: the gateway stops accepting, lets
//! the call finish and answers it, then closes the sessions and the backends.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::Duration;

use rmcp::model::CallToolRequestParams;
use serde_json::json;
use support::{Running, args, installed_peer};

#[tokio::test]
async fn a_call_in_flight_finishes_before_the_gateway_stops() {
    let everything = installed_peer("npm/node_modules/.bin/mcp-server-everything");
    let yaml = format!(
        "backends:\n  - name: everything\n    stdio:\n      command: \"{}\"\n      args: [stdio]\n",
        everything.display()
    );
    let gw = Running::start(&yaml).await;
    let client = gw.client().await;
    let call = tokio::spawn(async move {
        let result = client
            .call_tool(
                CallToolRequestParams::new("everything_trigger-long-running-operation")
                    .with_arguments(args(json!({"duration": 2, "steps": 2}))),
            )
            .await;
        (result, client)
    });
    // Shut down only once the call is in flight at the gateway.
    for _ in 0..400 {
        if gw.gateway.in_flight() > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(gw.gateway.in_flight(), 1, "the call reached the gateway");
    let gateway = gw.gateway.clone();
    gw.stop().await;
    // Bounded: a gateway that cut the call off would leave the client waiting.
    let (result, _client) = tokio::time::timeout(Duration::from_secs(60), call)
        .await
        .expect("the call in flight was answered")
        .unwrap();
    let result = result.expect("the call in flight was answered, not cut off");
    assert_ne!(result.is_error, Some(true), "{result:?}");
    assert!(
        format!("{:?}", result.content).contains("completed"),
        "{result:?}"
    );
    assert_eq!(gateway.in_flight(), 0);
    assert!(
        gateway
            .backend_status()
            .iter()
            .all(|b| b.state == "stopped"),
        "backends stopped after the drain: {:?}",
        gateway.backend_status()
    );
}
