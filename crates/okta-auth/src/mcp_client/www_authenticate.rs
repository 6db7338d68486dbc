//! Reading `WWW-Authenticate` challenges (RFC 9110 §11.6.1, RFC 6750 §3, RFC 9728 §5.1).

use crate::BearerChallenge;

/// Longest header we parse; real challenges are a few hundred bytes.
const MAX_HEADER_LEN: usize = 8 * 1024;

impl BearerChallenge {
    /// Parses the first `Bearer` challenge of a `WWW-Authenticate` header value. Other schemes
    /// before or after it (`Basic realm="x", Bearer ...`, `DPoP ...`) are skipped; the scheme
    /// and parameter names are case-insensitive, values may be quoted strings (with `\`
    /// escapes) or tokens. Unknown parameters are ignored. Returns `None` when there is no
    /// Bearer challenge or the header is longer than 8 KiB.
    ///
    /// ```
    /// use okta_auth::BearerChallenge;
    /// let c = BearerChallenge::parse(
    ///     r#"Basic realm="legacy", Bearer error="insufficient_scope", scope="mcp:write",
    ///        resource_metadata="https://api.example.com/.well-known/oauth-protected-resource/mcp""#,
    /// ).unwrap();
    /// assert_eq!(c.error.as_deref(), Some("insufficient_scope"));
    /// assert_eq!(c.scope.as_deref(), Some("mcp:write"));
    /// assert!(c.resource_metadata.unwrap().ends_with("/mcp"));
    /// assert!(BearerChallenge::parse("Basic realm=\"x\"").is_none());
    /// ```
    pub fn parse(header: &str) -> Option<Self> {
        if header.len() > MAX_HEADER_LEN {
            return None;
        }
        challenges(header)
            .into_iter()
            .find(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, params)| {
                let mut c = BearerChallenge::default();
                for (name, value) in params {
                    let slot = match name.as_str() {
                        "realm" => &mut c.realm,
                        "error" => &mut c.error,
                        "error_description" => &mut c.error_description,
                        "scope" => &mut c.scope,
                        "resource_metadata" => &mut c.resource_metadata,
                        _ => continue,
                    };
                    // The first occurrence wins; a repeated parameter is ignored.
                    if slot.is_none() {
                        *slot = Some(value);
                    }
                }
                c
            })
    }

    /// The scopes of `scope`, split on whitespace (empty when absent).
    pub fn scopes(&self) -> Vec<String> {
        self.scope
            .as_deref()
            .map(|s| s.split_ascii_whitespace().map(str::to_owned).collect())
            .unwrap_or_default()
    }
}

type Challenge = (String, Vec<(String, String)>);

fn is_token_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~/".contains(c)
}

/// Splits a header into challenges: `scheme [param=value, ...]` separated by commas.
fn challenges(header: &str) -> Vec<Challenge> {
    let chars: Vec<char> = header.chars().collect();
    let mut i = 0;
    let mut out: Vec<Challenge> = Vec::new();
    let skip_ws = |i: &mut usize| {
        while *i < chars.len() && (chars[*i] == ' ' || chars[*i] == '\t') {
            *i += 1;
        }
    };
    loop {
        // Skip separators.
        while i < chars.len() && (chars[i] == ',' || chars[i].is_whitespace()) {
            i += 1;
        }
        if i >= chars.len() {
            break;
        }
        let start = i;
        while i < chars.len() && is_token_char(chars[i]) {
            i += 1;
        }
        if i == start {
            // Garbage: skip one character and keep going.
            i += 1;
            continue;
        }
        let word: String = chars[start..i].iter().collect();
        let mut j = i;
        skip_ws(&mut j);
        if j < chars.len() && chars[j] == '=' && !out.is_empty() && !word.ends_with('=') {
            // An auth-param of the current challenge (or a token68 continuation).
            j += 1;
            skip_ws(&mut j);
            let value = if j < chars.len() && chars[j] == '"' {
                j += 1;
                let mut v = String::new();
                while j < chars.len() {
                    match chars[j] {
                        '\\' if j + 1 < chars.len() => {
                            v.push(chars[j + 1]);
                            j += 2;
                        }
                        '"' => {
                            j += 1;
                            break;
                        }
                        c => {
                            v.push(c);
                            j += 1;
                        }
                    }
                }
                v
            } else {
                let vs = j;
                while j < chars.len() && chars[j] != ',' && !chars[j].is_whitespace() {
                    j += 1;
                }
                chars[vs..j].iter().collect()
            };
            if let Some((_, params)) = out.last_mut() {
                params.push((word.to_ascii_lowercase(), value));
            }
            i = j;
        } else {
            // A new challenge's scheme.
            out.push((word, Vec::new()));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use crate::BearerChallenge;

    #[test]
    fn parses_rfc6750_examples() {
        let c = BearerChallenge::parse(
            r#"Bearer realm="example", error="invalid_token", error_description="The access token expired""#,
        )
        .unwrap();
        assert_eq!(c.realm.as_deref(), Some("example"));
        assert_eq!(c.error.as_deref(), Some("invalid_token"));
        assert_eq!(
            c.error_description.as_deref(),
            Some("The access token expired")
        );
        assert_eq!(
            BearerChallenge::parse("Bearer").unwrap(),
            BearerChallenge::default()
        );
        assert_eq!(
            BearerChallenge::parse("bearer scope=a").unwrap().scopes(),
            ["a"]
        );
    }

    #[test]
    fn round_trips_our_own_challenges() {
        let c = BearerChallenge {
            error: Some("insufficient_scope".into()),
            scope: Some("mcp:read mcp:write".into()),
            resource_metadata: Some("https://h/.well-known/oauth-protected-resource/a\"b".into()),
            ..Default::default()
        };
        assert_eq!(BearerChallenge::parse(&c.to_string()).unwrap(), c);
        assert_eq!(c.scopes(), ["mcp:read", "mcp:write"]);
    }

    #[test]
    fn finds_bearer_among_other_schemes() {
        let c = BearerChallenge::parse(r#"DPoP algs="ES256 PS256", Bearer scope="s1""#).unwrap();
        assert_eq!(c.scope.as_deref(), Some("s1"));
        let c = BearerChallenge::parse(r#"Bearer scope="s1", Basic realm="r""#).unwrap();
        assert_eq!(c.scope.as_deref(), Some("s1"));
        assert_eq!(c.realm, None);
        assert!(BearerChallenge::parse(r#"Basic realm="r""#).is_none());
        assert!(BearerChallenge::parse("").is_none());
        assert!(BearerChallenge::parse(&"x".repeat(10_000)).is_none());
    }

    #[test]
    fn tolerates_garbage() {
        for header in [
            "Bearer ===",
            "Bearer error=\"unterminated",
            "Bearer ,,, a=",
            "\"\"\"",
        ] {
            let _ = BearerChallenge::parse(header);
        }
        let c = BearerChallenge::parse("Bearer error=\"unterminated").unwrap();
        assert_eq!(c.error.as_deref(), Some("unterminated"));
    }
}
