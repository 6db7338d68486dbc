//! Strict JSON-RPC parsing of request bodies.

use std::collections::HashSet;
use std::fmt;

use serde::Deserialize;
use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

/// JSON-RPC "parse error".
pub const PARSE_ERROR: i64 = -32700;
/// JSON-RPC "invalid request".
pub const INVALID_REQUEST: i64 = -32600;
/// JSON-RPC "invalid params".
pub const INVALID_PARAMS: i64 = -32602;
/// JSON-RPC "internal error" (the layer could not check an upstream answer).
pub const INTERNAL_ERROR: i64 = -32603;
/// The caller is not authenticated (no identity in the request).
pub const UNAUTHENTICATED: i64 = -32001;
/// A policy denied the request. Stable: clients may match on it.
pub const FORBIDDEN: i64 = -32003;

/// A body is one message or a batch.
pub(crate) enum Body<'a> {
    Single(Value),
    /// Each entry, parsed and as written (its exact text in the body).
    Batch(Vec<(Value, &'a [u8])>),
}

/// Parses a body, rejecting repeated object keys anywhere: parsers disagree
/// on which copy wins, and the layer must judge exactly what the server runs.
pub(crate) fn parse(bytes: &[u8]) -> Result<Body<'_>, String> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    NoDuplicates
        .deserialize(&mut de)
        .map_err(|e| e.to_string())?;
    de.end().map_err(|e| e.to_string())?;
    match serde_json::from_slice::<Value>(bytes).map_err(|e| e.to_string())? {
        Value::Array(items) => {
            let raw: Vec<&RawValue> = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
            let raw = raw.into_iter().map(|r| r.get().as_bytes());
            Ok(Body::Batch(items.into_iter().zip(raw).collect()))
        }
        other => Ok(Body::Single(other)),
    }
}

/// A message, classified.
pub(crate) enum Message<'a> {
    Request {
        id: &'a Value,
        method: &'a str,
        params: Option<&'a Value>,
    },
    Notification,
    Response,
    Invalid {
        id: Option<&'a Value>,
        why: &'static str,
    },
}

pub(crate) fn classify(v: &Value) -> Message<'_> {
    let Some(obj) = v.as_object() else {
        return Message::Invalid {
            id: None,
            why: "a JSON-RPC message must be an object",
        };
    };
    let id = obj.get("id");
    if obj.get("jsonrpc").and_then(Value::as_str) != Some("2.0") {
        return Message::Invalid {
            id,
            why: "`jsonrpc` must be \"2.0\"",
        };
    }
    match obj.get("method") {
        Some(Value::String(method)) => match id {
            None => Message::Notification,
            Some(id @ (Value::String(_) | Value::Number(_))) => Message::Request {
                id,
                method,
                params: obj.get("params"),
            },
            Some(_) => Message::Invalid {
                id: None,
                why: "`id` must be a string or a number",
            },
        },
        Some(_) => Message::Invalid {
            id,
            why: "`method` must be a string",
        },
        None if id.is_some() && (obj.contains_key("result") || obj.contains_key("error")) => {
            Message::Response
        }
        None => Message::Invalid {
            id,
            why: "a request needs a `method`",
        },
    }
}

/// What a governed request targets, read from its params.
pub(crate) struct Target<'a> {
    pub(crate) name: &'a str,
    pub(crate) arguments: Option<&'a Map<String, Value>>,
}

static EMPTY: std::sync::LazyLock<Map<String, Value>> = std::sync::LazyLock::new(Map::new);

/// Reads `params.name` (or `params.uri` for `resources/read`) and `params.arguments`.
pub(crate) fn target<'a>(method: &str, params: Option<&'a Value>) -> Result<Target<'a>, String> {
    let params = match params {
        Some(Value::Object(p)) => Some(p),
        None | Some(Value::Null) => None,
        Some(_) => return Err("`params` must be an object".into()),
    };
    let key = if method == crate::request::RESOURCES_READ {
        "uri"
    } else {
        "name"
    };
    let name = match params.and_then(|p| p.get(key)) {
        Some(Value::String(s)) => s.as_str(),
        Some(_) => return Err(format!("`params.{key}` must be a string")),
        None if matches!(
            method,
            crate::request::TOOLS_CALL
                | crate::request::PROMPTS_GET
                | crate::request::RESOURCES_READ
        ) =>
        {
            return Err(format!("`params.{key}` is required"));
        }
        None => "",
    };
    let arguments = match params.and_then(|p| p.get("arguments")) {
        Some(Value::Object(a)) => a,
        None | Some(Value::Null) => &*EMPTY,
        Some(_) => return Err("`params.arguments` must be an object".into()),
    };
    Ok(Target {
        name,
        arguments: Some(arguments),
    })
}

/// Builds a JSON-RPC error response.
pub(crate) fn error(id: Option<&Value>, code: i64, message: &str, data: Option<Value>) -> Value {
    let mut err = Map::new();
    err.insert("code".into(), code.into());
    err.insert("message".into(), message.into());
    if let Some(d) = data {
        err.insert("data".into(), d);
    }
    let mut m = Map::new();
    m.insert("jsonrpc".into(), "2.0".into());
    m.insert("id".into(), id.cloned().unwrap_or(Value::Null));
    m.insert("error".into(), Value::Object(err));
    Value::Object(m)
}

/// Validates any JSON value, failing on a repeated key in any object.
struct NoDuplicates;

impl<'de> DeserializeSeed<'de> for NoDuplicates {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for NoDuplicates {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("JSON")
    }
    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element_seed(NoDuplicates)?.is_some() {}
        Ok(())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut keys: HashSet<KeyString> = HashSet::new();
        while let Some(KeyString(k)) = map.next_key::<KeyString>()? {
            if !keys.insert(KeyString(k.clone())) {
                return Err(serde::de::Error::custom(format_args!(
                    "duplicate key '{k}' in an object"
                )));
            }
            map.next_value_seed(NoDuplicates)?;
        }
        Ok(())
    }
}

#[derive(PartialEq, Eq, Hash, Deserialize)]
#[serde(transparent)]
struct KeyString(String);

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn rejects_duplicate_keys_at_any_depth() {
        assert!(parse(br#"{"a":1,"a":2}"#).is_err());
        assert!(parse(br#"{"params":{"name":"x","name":"y"}}"#).is_err());
        assert!(parse(br#"[{"a":{"b":[{"c":1,"c":1}]}}]"#).is_err());
        assert!(parse(br#"{"a":{"a":1}}"#).is_ok());
        assert!(parse(br#"{"a":"\u0061","b":1}"#).is_ok());
        // Escaped spelling of the same key is still the same key.
        assert!(parse(br#"{"name":1,"n\u0061me":2}"#).is_err());
        assert!(parse(b"{} x").is_err());
    }

    #[test]
    fn batch_entries_keep_their_text() {
        let body = b"[ {\"method\":\"n\",  \"jsonrpc\":\"2.0\"} ,\n1.0e2,\"\\u0061\"]";
        let Ok(Body::Batch(items)) = parse(body) else {
            panic!("a batch");
        };
        let raw: Vec<&[u8]> = items.iter().map(|(_, r)| *r).collect();
        assert_eq!(
            raw,
            [
                &b"{\"method\":\"n\",  \"jsonrpc\":\"2.0\"}"[..],
                b"1.0e2",
                b"\"\\u0061\"",
            ]
        );
        assert_eq!(items[0].0, json!({"jsonrpc": "2.0", "method": "n"}));
        assert_eq!(items[2].0, json!("a"));
    }

    #[test]
    fn classifies() {
        let r = json!({"jsonrpc":"2.0","id":1,"method":"tools/call"});
        assert!(matches!(
            classify(&r),
            Message::Request {
                method: "tools/call",
                ..
            }
        ));
        let n = json!({"jsonrpc":"2.0","method":"notifications/initialized"});
        assert!(matches!(classify(&n), Message::Notification));
        let resp = json!({"jsonrpc":"2.0","id":1,"result":{}});
        assert!(matches!(classify(&resp), Message::Response));
        for bad in [
            json!({"jsonrpc":"2.0","id":1}),
            json!({"jsonrpc":"1.0","id":1,"method":"x"}),
            json!({"jsonrpc":"2.0","id":1,"method":5}),
            json!({"jsonrpc":"2.0","id":{"a":1},"method":"x"}),
            json!("str"),
        ] {
            assert!(matches!(classify(&bad), Message::Invalid { .. }), "{bad}");
        }
    }

    #[test]
    fn targets() {
        let p = json!({"name": "t", "arguments": {"a": 1}});
        let t = target("tools/call", Some(&p)).unwrap();
        assert_eq!(t.name, "t");
        assert_eq!(t.arguments.unwrap()["a"], 1);
        assert!(target("tools/call", Some(&json!({"name": 1}))).is_err());
        assert!(target("tools/call", Some(&json!([1]))).is_err());
        assert!(target("tools/call", None).is_err());
        assert!(target("tools/call", Some(&json!({"name": "t", "arguments": [1]}))).is_err());
        let r = json!({"uri": "file:///x"});
        assert_eq!(
            target("resources/read", Some(&r)).unwrap().name,
            "file:///x"
        );
        assert_eq!(target("resources/subscribe", None).unwrap().name, "");
    }
}
