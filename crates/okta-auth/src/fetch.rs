//! Small HTTP helpers shared by discovery and the JWKS cache: bounded body
//! reads, `Cache-Control: max-age` parsing and the https-or-loopback rule.

use std::time::Duration;

use url::Url;

/// Largest discovery or JWKS document we accept (1 MiB); a real Okta key set is
/// a few KiB, so anything bigger is a misconfiguration or an attack.
pub(crate) const MAX_DOCUMENT_BYTES: usize = 1024 * 1024;

/// A fetched JSON document and the freshness lifetime its server announced.
pub(crate) struct Fetched {
    pub(crate) body: Vec<u8>,
    pub(crate) max_age: Option<Duration>,
}

/// Outcome of one GET that did not yield a document.
pub(crate) enum FetchFailure {
    /// The server answered with this non-success status.
    Status(u16),
    /// Transport failure, oversized body or similar; the text says which.
    Other(String),
}

impl std::fmt::Display for FetchFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Status(code) => write!(f, "HTTP status {code}"),
            Self::Other(reason) => f.write_str(reason),
        }
    }
}

/// GET `url` expecting JSON, reading at most [`MAX_DOCUMENT_BYTES`].
pub(crate) async fn get_document(
    http: &reqwest::Client,
    url: &str,
) -> Result<Fetched, FetchFailure> {
    let mut response = http
        .get(url)
        .header(http::header::ACCEPT, "application/json")
        .send()
        .await
        .map_err(|e| FetchFailure::Other(describe_reqwest_error(&e)))?;
    let status = response.status();
    if !status.is_success() {
        return Err(FetchFailure::Status(status.as_u16()));
    }
    let max_age = response
        .headers()
        .get(http::header::CACHE_CONTROL)
        .and_then(|v| v.to_str().ok())
        .and_then(parse_max_age);
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| FetchFailure::Other(describe_reqwest_error(&e)))?
    {
        if body.len() + chunk.len() > MAX_DOCUMENT_BYTES {
            return Err(FetchFailure::Other(format!(
                "response larger than {MAX_DOCUMENT_BYTES} bytes"
            )));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Fetched { body, max_age })
}

fn describe_reqwest_error(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "request timed out".to_owned()
    } else if e.is_connect() {
        "could not connect".to_owned()
    } else {
        // reqwest errors carry the URL, which is public configuration, never a token.
        let mut text = e.to_string();
        let mut source = std::error::Error::source(e);
        while let Some(s) = source {
            text.push_str(": ");
            text.push_str(&s.to_string());
            source = s.source();
        }
        text
    }
}

/// Parses `max-age=N` out of a Cache-Control value. `no-store`/`no-cache`
/// count as zero (the caller clamps to its minimum refresh interval).
pub(crate) fn parse_max_age(value: &str) -> Option<Duration> {
    let mut result = None;
    for directive in value.split(',') {
        let directive = directive.trim();
        let (name, arg) = match directive.split_once('=') {
            Some((n, a)) => (n.trim(), Some(a.trim().trim_matches('"'))),
            None => (directive, None),
        };
        if name.eq_ignore_ascii_case("no-store") || name.eq_ignore_ascii_case("no-cache") {
            return Some(Duration::ZERO);
        }
        if name.eq_ignore_ascii_case("max-age") {
            result = arg
                .and_then(|a| a.parse::<u64>().ok())
                .map(Duration::from_secs);
        }
    }
    result
}

/// Parses `url` and requires `https`, except for loopback hosts (local
/// development and tests against okta-sim), so keys and metadata are never
/// fetched over plain HTTP from the network.
pub(crate) fn parse_secure_url(url: &str) -> Result<Url, String> {
    let parsed = Url::parse(url).map_err(|e| format!("{url:?} is not a valid URL: {e}"))?;
    if is_https_or_loopback(&parsed) {
        Ok(parsed)
    } else {
        Err(format!(
            "{url:?} uses scheme {:?}; only https (or http on a loopback host) is allowed",
            parsed.scheme()
        ))
    }
}

/// Whether secrets, keys or metadata may travel to `url`: `https`, or plain
/// `http` only to a loopback host (`localhost`, `127.0.0.0/8`, `::1`) for local
/// development and tests. The rule okta-auth applies to every URL it fetches
/// from or sends client credentials to.
///
/// ```
/// use okta_auth::is_https_or_loopback;
/// let ok = |u: &str| is_https_or_loopback(&url::Url::parse(u).unwrap());
/// assert!(ok("https://example.okta.com/oauth2/default"));
/// assert!(ok("http://127.0.0.1:8081/oauth2/default"));
/// assert!(!ok("http://example.okta.com/oauth2/default"));
/// ```
pub fn is_https_or_loopback(url: &Url) -> bool {
    let loopback = match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    };
    match url.scheme() {
        "https" => true,
        "http" => loopback,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::{parse_max_age, parse_secure_url};
    use std::time::Duration;

    #[test]
    fn max_age_parsing() {
        assert_eq!(
            parse_max_age("public, max-age=300"),
            Some(Duration::from_secs(300))
        );
        assert_eq!(
            parse_max_age("max-age=\"60\", must-revalidate"),
            Some(Duration::from_secs(60))
        );
        assert_eq!(parse_max_age("no-store"), Some(Duration::ZERO));
        assert_eq!(parse_max_age("public"), None);
        assert_eq!(parse_max_age("max-age=abc"), None);
    }

    #[test]
    fn only_https_or_loopback() {
        assert!(parse_secure_url("https://example.okta.com/oauth2/default").is_ok());
        assert!(parse_secure_url("http://127.0.0.1:8080/x").is_ok());
        assert!(parse_secure_url("http://localhost/x").is_ok());
        assert!(parse_secure_url("http://[::1]/x").is_ok());
        assert!(parse_secure_url("http://example.okta.com/x").is_err());
        assert!(parse_secure_url("file:///etc/passwd").is_err());
        assert!(parse_secure_url("not a url").is_err());
    }
}
