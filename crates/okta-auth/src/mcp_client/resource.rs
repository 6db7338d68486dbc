//! Comparing an RFC 9728 `resource` with the URL being called.
//!
//! Both are parsed as URLs, which normalises what RFC 3986 §6.2.2–6.2.3 says is equivalent:
//! scheme and host are lowercased, a default port (`:443`, `:80`) is dropped and `.`/`..`
//! segments are resolved (percent-encoded characters are compared as written). A trailing `/` on the path is
//! ignored (`https://h/mcp/` ≡ `https://h/mcp`). Then the metadata's resource must be either
//! the same URL or a *parent* of it on a path-segment boundary with the same origin:
//! `https://h/mcp` covers `https://h/mcp` and `https://h/mcp/sub`, never `https://h/mcp2`,
//! `https://h/` covers everything on `h`, and another scheme, host or port never matches. A
//! query on the resource must equal the called URL's query; a resource with a fragment is
//! invalid (RFC 9728 §2).

use url::Url;

/// The URL without fragment, with a trailing `/` removed from its path.
pub(crate) fn normalize(url: &str) -> Result<Url, String> {
    let mut parsed = Url::parse(url).map_err(|e| format!("{url:?} is not a valid URL: {e}"))?;
    if parsed.cannot_be_a_base() || parsed.host().is_none() {
        return Err(format!("{url:?} is not an http(s) URL with a host"));
    }
    parsed.set_fragment(None);
    let trimmed = parsed.path().trim_end_matches('/').to_owned();
    parsed.set_path(&trimmed);
    Ok(parsed)
}

/// Whether the metadata's `resource` covers `called` (see the module docs).
pub(crate) fn covers(resource: &str, called: &str) -> bool {
    if resource.contains('#') {
        return false;
    }
    let (Ok(resource), Ok(called)) = (normalize(resource), normalize(called)) else {
        return false;
    };
    if resource.origin() != called.origin() {
        return false;
    }
    if resource.query().is_some() && resource.query() != called.query() {
        return false;
    }
    let (rp, cp) = (
        resource.path().trim_end_matches('/'),
        called.path().trim_end_matches('/'),
    );
    rp == cp
        || rp.is_empty()
        || cp
            .strip_prefix(rp)
            .is_some_and(|rest| rest.starts_with('/'))
}

#[cfg(test)]
mod tests {
    use super::covers;

    #[test]
    fn equal_and_equivalent_urls_match() {
        assert!(covers("https://h/mcp", "https://h/mcp"));
        assert!(covers("https://h/mcp/", "https://h/mcp"));
        assert!(covers("https://h/mcp", "https://h/mcp/"));
        assert!(covers("HTTPS://H:443/mcp", "https://h/mcp"));
        assert!(covers("http://127.0.0.1:80/mcp", "http://127.0.0.1/mcp"));
        assert!(covers("https://h/a/../mcp", "https://h/mcp"));
    }

    #[test]
    fn parents_cover_children_on_segment_boundaries() {
        assert!(covers("https://h", "https://h/mcp"));
        assert!(covers("https://h/", "https://h/mcp"));
        assert!(covers("https://h/api", "https://h/api/mcp"));
        assert!(!covers("https://h/mcp", "https://h/mcp2"));
        assert!(!covers("https://h/api/mcp", "https://h/api"));
    }

    #[test]
    fn other_origins_never_match() {
        assert!(!covers(
            "https://evil.example.com/mcp",
            "http://127.0.0.1:3000/mcp"
        ));
        assert!(!covers("http://h/mcp", "https://h/mcp"));
        assert!(!covers("https://h:8443/mcp", "https://h/mcp"));
        assert!(!covers("https://h.evil/mcp", "https://h/mcp"));
        assert!(!covers("https://h/mcp#x", "https://h/mcp"));
        assert!(!covers("not a url", "https://h/mcp"));
        assert!(!covers("https://h/mcp?t=1", "https://h/mcp?t=2"));
        assert!(covers("https://h/mcp?t=1", "https://h/mcp?t=1"));
    }
}
