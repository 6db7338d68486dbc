//! Filtering `*/list` results inside JSON-RPC responses.

use serde_json::Value;

use crate::authorizer::Authorizer;
use crate::identity::Identity;
use crate::request::{PROMPTS_GET, RESOURCES_READ, Request, TOOLS_CALL};

/// Which list a response answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ListKind {
    Tools,
    Prompts,
    Resources,
}

impl ListKind {
    pub(crate) fn from_method(method: &str) -> Option<Self> {
        match method {
            "tools/list" => Some(Self::Tools),
            "prompts/list" => Some(Self::Prompts),
            "resources/list" => Some(Self::Resources),
            _ => None,
        }
    }

    fn key(self) -> &'static str {
        match self {
            Self::Tools => "tools",
            Self::Prompts => "prompts",
            Self::Resources => "resources",
        }
    }

    fn item_method(self) -> &'static str {
        match self {
            Self::Tools => TOOLS_CALL,
            Self::Prompts => PROMPTS_GET,
            Self::Resources => RESOURCES_READ,
        }
    }

    fn item_name(self, item: &Value) -> Option<&str> {
        let key = if self == Self::Resources {
            "uri"
        } else {
            "name"
        };
        item.get(key).and_then(Value::as_str)
    }
}

/// Which responses of a body to filter.
#[derive(Debug, Clone)]
pub(crate) enum Expect {
    /// The response to this request id, which asked for this list.
    Id(Value, ListKind),
    /// Any response whose result looks like a list result (a `tools`,
    /// `prompts` or `resources` array): used where the request is unknown,
    /// as on a GET stream that resumes an earlier POST's stream.
    Shape,
}

/// Filters for one caller.
pub(crate) struct Filterer {
    pub(crate) authz: Authorizer,
    pub(crate) identity: Identity,
    pub(crate) server: Option<String>,
}

impl Filterer {
    /// Filters a message or a batch array in place; true if anything changed.
    pub(crate) fn filter_message(&self, msg: &mut Value, expect: &Expect) -> bool {
        match msg {
            Value::Array(items) => {
                let mut changed = false;
                for m in items {
                    changed |= self.filter_one(m, expect);
                }
                changed
            }
            other => self.filter_one(other, expect),
        }
    }

    fn filter_one(&self, msg: &mut Value, expect: &Expect) -> bool {
        let Some(obj) = msg.as_object_mut() else {
            return false;
        };
        if obj.contains_key("method") {
            return false;
        }
        let kind = match expect {
            Expect::Id(id, kind) => {
                if obj.get("id") != Some(id) {
                    return false;
                }
                *kind
            }
            Expect::Shape => {
                let Some(result) = obj.get("result") else {
                    return false;
                };
                match [ListKind::Tools, ListKind::Prompts, ListKind::Resources]
                    .into_iter()
                    .find(|k| result.get(k.key()).is_some_and(Value::is_array))
                {
                    Some(k) => k,
                    None => return false,
                }
            }
        };
        let Some(Value::Array(items)) = obj
            .get_mut("result")
            .and_then(|r| r.as_object_mut())
            .and_then(|r| r.get_mut(kind.key()))
        else {
            return false;
        };
        let before = items.len();
        let mut list = self.authz.list_filter(&self.identity);
        items.retain(|item| {
            kind.item_name(item).is_some_and(|name| {
                let mut req = Request::new(kind.item_method(), name);
                req.server = self.server.as_deref();
                list.visible(&req)
            })
        });
        items.len() != before
    }
}
