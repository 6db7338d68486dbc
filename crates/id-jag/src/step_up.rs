//! Reading a resource server's `403 insufficient_scope` challenge (RFC 6750 §3.1).

/// The scopes a `WWW-Authenticate: Bearer error="insufficient_scope", scope="…"` challenge
/// asks for, or `None` when the header is not an `insufficient_scope` Bearer challenge.
/// A challenge without `scope` yields an empty list.
///
/// ```
/// let header = r#"Bearer realm="mcp", error="insufficient_scope", scope="mcp:tools:manage mcp:connect""#;
/// assert_eq!(
///     id_jag::insufficient_scope(header),
///     Some(vec!["mcp:tools:manage".to_owned(), "mcp:connect".to_owned()])
/// );
/// assert_eq!(id_jag::insufficient_scope(r#"Bearer error="invalid_token""#), None);
/// ```
pub fn insufficient_scope(www_authenticate: &str) -> Option<Vec<String>> {
    let params = bearer_params(www_authenticate)?;
    let error = params.iter().find(|(k, _)| k == "error")?;
    if error.1 != "insufficient_scope" {
        return None;
    }
    Some(
        params
            .iter()
            .find(|(k, _)| k == "scope")
            .map(|(_, v)| v.split_ascii_whitespace().map(str::to_owned).collect())
            .unwrap_or_default(),
    )
}

/// The auth-params of the first `Bearer` challenge (scheme case-insensitive, RFC 7235).
fn bearer_params(header: &str) -> Option<Vec<(String, String)>> {
    let trimmed = header.trim_start();
    let (scheme, rest) =
        trimmed.split_at(trimmed.find(char::is_whitespace).unwrap_or(trimmed.len()));
    if !scheme.eq_ignore_ascii_case("bearer") {
        return None;
    }
    let mut params = Vec::new();
    let mut chars = rest.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace() || *c == ',') {
            chars.next();
        }
        let name: String =
            std::iter::from_fn(|| chars.next_if(|c| *c != '=' && *c != ',' && !c.is_whitespace()))
                .collect();
        if name.is_empty() {
            break;
        }
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        if chars.next_if_eq(&'=').is_none() {
            // Another challenge (a new scheme) starts here: stop.
            break;
        }
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        let mut value = String::new();
        if chars.next_if_eq(&'"').is_some() {
            while let Some(c) = chars.next() {
                match c {
                    '\\' => {
                        if let Some(escaped) = chars.next() {
                            value.push(escaped);
                        }
                    }
                    '"' => break,
                    other => value.push(other),
                }
            }
        } else {
            value =
                std::iter::from_fn(|| chars.next_if(|c| *c != ',' && !c.is_whitespace())).collect();
        }
        params.push((name.to_ascii_lowercase(), value));
    }
    Some(params)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_variants() {
        assert_eq!(
            insufficient_scope(r#"bearer error="insufficient_scope",scope="a b""#),
            Some(vec!["a".to_owned(), "b".to_owned()])
        );
        assert_eq!(
            insufficient_scope(r#"Bearer error=insufficient_scope, scope="x\"y""#),
            Some(vec!["x\"y".to_owned()])
        );
        assert_eq!(
            insufficient_scope(r#"Bearer error="insufficient_scope""#),
            Some(vec![])
        );
        assert_eq!(insufficient_scope(r#"Basic realm="x""#), None);
        assert_eq!(insufficient_scope("Bearer"), None);
        assert_eq!(insufficient_scope(""), None);
        assert_eq!(
            insufficient_scope(
                r#"Bearer resource_metadata="https://x/.well-known/y", error="insufficient_scope", scope="mcp:tools:manage""#
            ),
            Some(vec!["mcp:tools:manage".to_owned()])
        );
    }
}
