//! Parsing of `application/x-www-form-urlencoded` token request bodies.

use std::collections::HashMap;

/// Token request parameters (RFC 6749 §3.2: no parameter may appear twice; §3.1: a
/// parameter sent without a value is treated as omitted).
#[derive(Debug, Default)]
pub(crate) struct TokenForm {
    params: HashMap<String, String>,
}

/// At most this many parameters are accepted in one request.
const MAX_PARAMS: usize = 64;

impl TokenForm {
    /// Parses a body; the error says what is wrong with it.
    pub(crate) fn parse(body: &[u8]) -> Result<Self, String> {
        let mut params = HashMap::new();
        for (name, value) in url::form_urlencoded::parse(body) {
            if params.len() >= MAX_PARAMS {
                return Err(format!(
                    "The request has more than {MAX_PARAMS} parameters."
                ));
            }
            if value.is_empty() {
                continue;
            }
            if params
                .insert(name.clone().into_owned(), value.into_owned())
                .is_some()
            {
                let shown: String = name.chars().take(64).collect();
                return Err(format!(
                    "The parameter '{shown}' is included more than once."
                ));
            }
        }
        Ok(Self { params })
    }

    /// A parameter's value (`None` if absent or empty).
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.params.get(name).map(String::as_str)
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
