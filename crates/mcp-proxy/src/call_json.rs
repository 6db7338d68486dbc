//! One parse of a client's `tools/call`, `prompts/get` or `resources/read`
//! body, shared by the step-up decision and the calls served in place.
//!
//! rmcp's `ClientJsonRpcMessage` deserializer buffers a message into serde's
//! generic `Content` tree three times over (an untagged enum, two flattened
//! shape checks, the method-tagged request, the `_meta` split), which `perf`
//! showed at about 6 % of the gateway's CPU per call. The common shape of
//! these three requests is parsed here straight into rmcp's own types: the
//! envelope with the params left raw, then the params into their struct.
//! Anything else (a `_meta` object, an unknown envelope key, any other
//! method, any failure) goes through rmcp's parser, so the result is always
//! the request rmcp itself would have produced, or none.

use std::borrow::Cow;

use rmcp::model::{
    CallToolRequest, CallToolRequestParams, ClientJsonRpcMessage, ClientRequest, GetPromptRequest,
    GetPromptRequestParams, JsonRpcRequest, JsonRpcVersion2_0, ReadResourceRequest,
    ReadResourceRequestParams, RequestId,
};
use serde::Deserialize;
use serde_json::value::RawValue;

use mcp_authz::{PROMPTS_GET, RESOURCES_READ, TOOLS_CALL};

/// A client's request, parsed once (see the module docs).
pub(crate) type ClientCall = JsonRpcRequest<ClientRequest>;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Envelope<'a> {
    jsonrpc: JsonRpcVersion2_0,
    id: RequestId,
    #[serde(borrow)]
    method: Cow<'a, str>,
    #[serde(borrow)]
    params: &'a RawValue,
}

/// Whether `body` may be a request of one of the three governed methods (a
/// cheap check before parsing: it names one).
pub(crate) fn governed(body: &[u8]) -> bool {
    std::str::from_utf8(body).is_ok_and(|text| {
        [TOOLS_CALL, PROMPTS_GET, RESOURCES_READ]
            .iter()
            .any(|m| text.contains(m))
    })
}

/// The JSON-RPC request in `body`, if it is one (a notification, a response
/// or a batch is not).
pub(crate) fn parse(body: &[u8]) -> Option<ClientCall> {
    fast(body).or_else(
        || match serde_json::from_slice::<ClientJsonRpcMessage>(body) {
            Ok(ClientJsonRpcMessage::Request(request)) => Some(request),
            _ => None,
        },
    )
}

/// The common shape of the three governed requests, without `_meta`.
fn fast(body: &[u8]) -> Option<ClientCall> {
    let envelope: Envelope = serde_json::from_slice(body).ok()?;
    let _: JsonRpcVersion2_0 = envelope.jsonrpc;
    let params = envelope.params.get();
    let request = match &*envelope.method {
        TOOLS_CALL => {
            let params: CallToolRequestParams = serde_json::from_str(params).ok()?;
            if params.meta.is_some() {
                return None;
            }
            ClientRequest::CallToolRequest(CallToolRequest::new(params))
        }
        PROMPTS_GET => {
            let params: GetPromptRequestParams = serde_json::from_str(params).ok()?;
            if params.meta.is_some() {
                return None;
            }
            ClientRequest::GetPromptRequest(GetPromptRequest::new(params))
        }
        RESOURCES_READ => {
            let params: ReadResourceRequestParams = serde_json::from_str(params).ok()?;
            if params.meta.is_some() {
                return None;
            }
            ClientRequest::ReadResourceRequest(ReadResourceRequest::new(params))
        }
        _ => return None,
    };
    Some(JsonRpcRequest::new(envelope.id, request))
}

#[cfg(test)]
mod tests {
    use rmcp::model::ClientJsonRpcMessage;

    use super::{fast, parse};

    /// What rmcp's own parser makes of `body`, as JSON (rmcp's types have no
    /// `PartialEq` over extensions; their serialization shows every field).
    fn by_rmcp(body: &str) -> Option<serde_json::Value> {
        match serde_json::from_str::<ClientJsonRpcMessage>(body).ok()? {
            ClientJsonRpcMessage::Request(request) => serde_json::to_value(request).ok(),
            _ => None,
        }
    }

    #[test]
    fn the_fast_parse_is_rmcps_parse() {
        for body in [
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"jira_get_issue","arguments":{"key":"OPS-1","n":[1,2.5,null,{"a":"\u00e9"}]}}}"#,
            r#"{"jsonrpc":"2.0","id":"a-1","method":"tools/call","params":{"name":"x"}}"#,
            r#"{"id":7,"params":{"arguments":{},"name":"x","extra":true},"method":"tools/call","jsonrpc":"2.0"}"#,
            r#"{"jsonrpc":"2.0","id":2,"method":"prompts/get","params":{"name":"p","arguments":{"k":"v"}}}"#,
            r#"{"jsonrpc":"2.0","id":3,"method":"resources/read","params":{"uri":"file:///a"}}"#,
            r#"{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"x","requestState":"s","inputResponses":{}}}"#,
        ] {
            let fast = fast(body.as_bytes()).expect(body);
            assert_eq!(serde_json::to_value(fast).ok(), by_rmcp(body), "{body}");
        }
    }

    #[test]
    fn anything_else_gets_rmcps_answer() {
        for body in [
            // `_meta` (progress tokens among others) is split off by rmcp.
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"x","_meta":{"progressToken":5}}}"#,
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{}}"#,
            r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#,
            // Params rmcp cannot type become its `CustomRequest`.
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"arguments":{}}}"#,
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"x","arguments":[1]}}"#,
        ] {
            assert!(fast(body.as_bytes()).is_none(), "{body}");
            let parsed = parse(body.as_bytes()).map(|r| serde_json::to_value(r).unwrap());
            assert!(parsed.is_some(), "{body}");
            assert_eq!(parsed, by_rmcp(body), "{body}");
        }
        for body in [
            r#"{"jsonrpc":"1.0","id":1,"method":"tools/call","params":{"name":"x"}}"#,
            r#"{"jsonrpc":"2.0","method":"tools/call","params":{"name":"x"}}"#,
            r#"{"jsonrpc":"2.0","id":1,"result":{},"method":"tools/call","params":{"name":"x"}}"#,
            r#"{"jsonrpc":"2.0","id":null,"method":"tools/call","params":{"name":"x"}}"#,
            r#"[{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"x"}}]"#,
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"x"}"#,
        ] {
            assert!(parse(body.as_bytes()).is_none(), "{body}");
            assert!(by_rmcp(body).is_none(), "rmcp agrees: {body}");
        }
    }
}
