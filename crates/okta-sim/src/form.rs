//! Parsing of `application/x-www-form-urlencoded` token request bodies.

use std::collections::HashMap;

/// The one parameter a token request may repeat: RFC 8707 §2 `resource` ("Multiple resource
/// parameters MAY be used to indicate that the requested token is intended to be used at
/// multiple resources").
pub(crate) const RESOURCE: &str = "resource";

/// Request parameters (RFC 6749 §3.1/§3.2: no parameter may appear twice, and a parameter
/// sent without a value is treated as omitted) — except that a token request may repeat
/// [`RESOURCE`] when parsed with [`TokenForm::parse_token_request`].
///
/// Which grants accept several resources is decided per grant in `grants::dispatch`: only the
/// token exchange does (each becomes part of the ID-JAG's `resource` claim). Every other grant
/// takes at most one `resource` (an authorization code or refresh token is bound to a single
/// resource, which becomes the access token's `aud`), and the authorization endpoint, parsed
/// with [`TokenForm::parse`], takes one too.
#[derive(Debug, Default)]
pub(crate) struct TokenForm {
    params: HashMap<String, String>,
    /// Every non-empty `resource` value, in request order (the first is also in `params`).
    resources: Vec<String>,
}

/// At most this many parameters are accepted in one request (repeated ones count each time).
const MAX_PARAMS: usize = 64;

/// The error text for a parameter sent more than once.
pub(crate) fn repeated(name: &str) -> String {
    let shown: String = name.chars().take(64).collect();
    format!("The parameter '{shown}' is included more than once.")
}

impl TokenForm {
    /// Parses a body in which no parameter may repeat (the authorization endpoint's query or
    /// form); the error says what is wrong with it.
    pub(crate) fn parse(body: &[u8]) -> Result<Self, String> {
        Self::parse_allowing(body, false)
    }

    /// Parses a token request body: like [`TokenForm::parse`], but [`RESOURCE`] may repeat.
    /// Grants other than the token exchange refuse several resources (`grants::dispatch`).
    pub(crate) fn parse_token_request(body: &[u8]) -> Result<Self, String> {
        Self::parse_allowing(body, true)
    }

    fn parse_allowing(body: &[u8], repeatable_resource: bool) -> Result<Self, String> {
        let mut form = Self::default();
        let mut stored = 0usize;
        for (name, value) in url::form_urlencoded::parse(body) {
            if stored >= MAX_PARAMS {
                return Err(format!(
                    "The request has more than {MAX_PARAMS} parameters."
                ));
            }
            if value.is_empty() {
                continue;
            }
            stored += 1;
            if name == RESOURCE {
                if !form.resources.is_empty() && !repeatable_resource {
                    return Err(repeated(&name));
                }
                form.resources.push(value.clone().into_owned());
                if form.resources.len() > 1 {
                    continue;
                }
            }
            if form
                .params
                .insert(name.clone().into_owned(), value.into_owned())
                .is_some()
            {
                return Err(repeated(&name));
            }
        }
        Ok(form)
    }

    /// A parameter's value (`None` if absent or empty). For a repeated `resource` this is the
    /// first one; see [`TokenForm::resources`].
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.params.get(name).map(String::as_str)
    }

    /// Every `resource` value, in request order (several only for
    /// [`TokenForm::parse_token_request`]).
    pub(crate) fn resources(&self) -> &[String] {
        &self.resources
    }
}

/// Decodes one `application/x-www-form-urlencoded` component (`+` is a space, `%XX` a byte),
/// as RFC 6749 §2.3.1 requires for client ids and secrets inside HTTP Basic credentials.
pub(crate) fn decode_component(input: &str) -> Option<String> {
    let bytes = input.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b'%' => {
                let hex = bytes.get(i + 1..i + 3)?;
                let hex = std::str::from_utf8(hex).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 3;
            }
            other => {
                out.push(other);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::{TokenForm, decode_component};

    #[test]
    fn parses_and_rejects_duplicates() {
        let form = TokenForm::parse(b"grant_type=password&username=a%40b&scope=a+b&x=").unwrap();
        assert_eq!(form.get("grant_type"), Some("password"));
        assert_eq!(form.get("username"), Some("a@b"));
        assert_eq!(form.get("scope"), Some("a b"));
        assert_eq!(form.get("x"), None, "empty values are omitted");
        let err = TokenForm::parse(b"scope=a&scope=b").unwrap_err();
        assert!(err.contains("'scope' is included more than once"), "{err}");
        let many: String = (0..70).map(|i| format!("p{i}=v&")).collect();
        assert!(TokenForm::parse(many.as_bytes()).is_err());
        let err =
            TokenForm::parse(b"resource=https://a.example&resource=https://b.example").unwrap_err();
        assert!(
            err.contains("'resource' is included more than once"),
            "{err}"
        );
    }

    #[test]
    fn token_requests_may_repeat_resource_only() {
        let form = TokenForm::parse_token_request(
            b"resource=https%3A%2F%2Fa.example&scope=s&resource=&resource=https://b.example",
        )
        .unwrap();
        assert_eq!(form.resources(), ["https://a.example", "https://b.example"]);
        assert_eq!(form.get("resource"), Some("https://a.example"));
        assert_eq!(form.get("scope"), Some("s"));
        let single = TokenForm::parse_token_request(b"resource=https://a.example").unwrap();
        assert_eq!(single.resources(), ["https://a.example"]);
        assert!(
            TokenForm::parse_token_request(b"a=1")
                .unwrap()
                .resources()
                .is_empty()
        );
        let err = TokenForm::parse_token_request(b"resource=r&scope=a&scope=b").unwrap_err();
        assert!(err.contains("'scope' is included more than once"), "{err}");
        // Repeated resources count against the parameter limit.
        let many: String = (0..70)
            .map(|i| format!("resource=https://r{i}.example&"))
            .collect();
        assert!(TokenForm::parse_token_request(many.as_bytes()).is_err());
    }

    #[test]
    fn decodes_basic_components() {
        assert_eq!(decode_component("a%3Ab+c").as_deref(), Some("a:b c"));
        assert_eq!(decode_component("plain-id").as_deref(), Some("plain-id"));
        assert_eq!(decode_component("bad%zz"), None);
        assert_eq!(decode_component("trunc%4"), None);
        assert_eq!(decode_component("%ff"), None, "not UTF-8");
    }
}
