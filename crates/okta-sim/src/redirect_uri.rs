//! Redirect URI and resource indicator rules (RFC 6749 §3.1.2, RFC 8252 §7, RFC 8707 §2).

use url::{Host, Url};

/// Longest redirect URI or resource accepted.
pub(crate) const MAX_URI_CHARS: usize = 2000;

/// Schemes never accepted as redirect URIs (they run code or read local data).
const FORBIDDEN_SCHEMES: [&str; 6] = ["javascript", "data", "file", "vbscript", "about", "blob"];

/// Checks a redirect URI a client registers: absolute, no fragment, `https`, `http` only for
/// a loopback host (RFC 8252 §7.3), or a private-use scheme (RFC 8252 §7.1). The error says
/// what is wrong.
pub(crate) fn check_redirect_uri(uri: &str) -> Result<Url, String> {
    if uri.len() > MAX_URI_CHARS {
        return Err(format!(
            "a redirect URI is longer than {MAX_URI_CHARS} characters"
        ));
    }
    let url = Url::parse(uri)
        .map_err(|e| format!("redirect URI `{}` is not an absolute URI: {e}", shown(uri)))?;
    if url.fragment().is_some() || uri.contains('#') {
        return Err(format!(
            "redirect URI `{}` must not contain a fragment (RFC 6749 §3.1.2)",
            shown(uri)
        ));
    }
    match url.scheme() {
        "https" => {}
        "http" if !is_loopback(&url) => {
            return Err(format!(
                "redirect URI `{}` uses http for a host that is not loopback; use https, or \
                 http://127.0.0.1, http://[::1] or http://localhost",
                shown(uri)
            ));
        }
        "http" => {}
        scheme if FORBIDDEN_SCHEMES.contains(&scheme) => {
            return Err(format!(
                "redirect URI `{}` uses the scheme `{scheme}`, which is never allowed",
                shown(uri)
            ));
        }
        _ => {}
    }
    if url.username() != "" || url.password().is_some() {
        return Err(format!(
            "redirect URI `{}` must not contain user information",
            shown(uri)
        ));
    }
    Ok(url)
}

/// Checks an RFC 8707 resource indicator: an absolute URI without fragment.
pub(crate) fn check_resource(resource: &str) -> Result<(), String> {
    if resource.len() > MAX_URI_CHARS {
        return Err(format!(
            "the resource is longer than {MAX_URI_CHARS} characters"
        ));
    }
    let url = Url::parse(resource)
        .map_err(|_| "the resource must be an absolute URI (RFC 8707 §2)".to_owned())?;
    if url.fragment().is_some() || resource.contains('#') {
        return Err("the resource must not contain a fragment (RFC 8707 §2)".to_owned());
    }
    Ok(())
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
        Some(Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

/// What the sign-in page's CSP `form-action` must allow so that the browser follows the
/// redirect after the form post: the origin for http(s), the scheme for private-use schemes.
pub(crate) fn form_action_source(url: &Url) -> String {
    match url.scheme() {
        "http" | "https" => url.origin().ascii_serialization(),
        scheme => format!("{scheme}:"),
    }
}

fn shown(uri: &str) -> String {
    uri.chars().take(200).collect()
}

#[cfg(test)]
mod tests {
    use super::{check_redirect_uri, check_resource, form_action_source};

    #[test]
    fn accepts_https_loopback_http_and_private_schemes() {
        for ok in [
            "https://app.example.com/cb",
            "http://127.0.0.1:3333/callback",
            "http://localhost/cb?x=1",
            "http://[::1]:8080/cb",
            "com.example.app:/oauth2redirect",
        ] {
            assert!(check_redirect_uri(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn rejects_relative_fragment_remote_http_and_script_schemes() {
        for bad in [
            "/callback",
            "callback",
            "https://app.example.com/cb#frag",
            "https://app.example.com/cb#",
            "http://app.example.com/cb",
            "http://127.0.0.1.evil.com/cb",
            "javascript:alert(1)",
            "data:text/html,hi",
            "https://user:pw@app.example.com/cb",
        ] {
            assert!(check_redirect_uri(bad).is_err(), "{bad}");
        }
        assert!(check_redirect_uri(&format!("https://a.example/{}", "x".repeat(2100))).is_err());
    }

    #[test]
    fn resources_are_absolute_without_fragment() {
        assert!(check_resource("http://127.0.0.1:8080/mcp").is_ok());
        assert!(check_resource("api://default").is_ok());
        assert!(check_resource("/mcp").is_err());
        assert!(check_resource("https://a.example/mcp#x").is_err());
    }

    #[test]
    fn form_action_is_origin_or_scheme() {
        let http = check_redirect_uri("http://127.0.0.1:3333/cb?a=b").unwrap();
        assert_eq!(form_action_source(&http), "http://127.0.0.1:3333");
        let native = check_redirect_uri("com.example.app:/cb").unwrap();
        assert_eq!(form_action_source(&native), "com.example.app:");
    }
}
