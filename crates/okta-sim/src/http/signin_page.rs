//! The HTML of `/v1/authorize`: a sign-in page listing the dev users, and an error page for
//! requests that cannot be redirected. No JavaScript, no external assets, a strict CSP.

use std::fmt::Write as _;

use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use http::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, PRAGMA, REFERRER_POLICY,
    X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS,
};
use http::{HeaderValue, StatusCode};
use sha2::{Digest, Sha256};

use crate::config::SimUser;

/// The only styles of both pages (allowed by hash in the CSP).
const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:0;background:#f4f5f7;color:#1d1d21}\
main{max-width:32rem;margin:3rem auto;background:#fff;padding:2rem;border-radius:.5rem;\
box-shadow:0 1px 4px rgba(0,0,0,.15)}h1{font-size:1.5rem;margin-top:0}\
fieldset{border:0;padding:0;margin:1.5rem 0 0}legend{font-weight:600;margin-bottom:.5rem}\
button{display:block;width:100%;text-align:left;font:inherit;padding:.75rem 1rem;margin:.5rem 0;\
border:1px solid #1662dd;border-radius:.375rem;background:#fff;color:#1662dd;cursor:pointer}\
button:hover,button:focus{background:#1662dd;color:#fff;outline:3px solid #9bbcf4}\
.login{display:block;font-size:.875rem}.note{font-size:.875rem;color:#4b4b55}\
.alert{border-left:4px solid #c22;padding:.5rem 1rem;background:#fdecec}code{word-break:break-all}";

/// What the sign-in page shows and carries.
#[derive(Debug)]
pub(crate) struct SignInPage<'a> {
    pub(crate) server_id: &'a str,
    pub(crate) client_name: &'a str,
    pub(crate) scopes: &'a [String],
    pub(crate) users: Vec<&'a SimUser>,
    /// The authorization request parameters, posted back as hidden fields.
    pub(crate) hidden: Vec<(&'a str, &'a str)>,
    /// An error to show above the form (e.g. an inactive user was chosen).
    pub(crate) notice: Option<&'a str>,
    /// A CSP source for the redirect URI (the browser follows the post's redirect there).
    pub(crate) redirect_source: String,
}

/// Renders the sign-in page (200).
pub(crate) fn sign_in(page: &SignInPage<'_>) -> Response {
    let mut html = String::with_capacity(4096);
    head(&mut html, "Sign in");
    let _ = write!(
        html,
        "<main><h1>Sign in</h1><p><strong>{}</strong> asks to access authorization server \
         <code>{}</code>",
        escape(page.client_name),
        escape(page.server_id)
    );
    if page.scopes.is_empty() {
        html.push_str(".</p>");
    } else {
        html.push_str(" with the scopes:</p><ul>");
        for scope in page.scopes {
            let _ = write!(html, "<li><code>{}</code></li>", escape(scope));
        }
        html.push_str("</ul>");
    }
    if let Some(notice) = page.notice {
        let _ = write!(
            html,
            "<p class=\"alert\" role=\"alert\">{}</p>",
            escape(notice)
        );
    }
    html.push_str("<form method=\"post\" action=\"authorize\">");
    for (name, value) in &page.hidden {
        let _ = write!(
            html,
            "<input type=\"hidden\" name=\"{}\" value=\"{}\">",
            escape(name),
            escape(value)
        );
    }
    html.push_str("<fieldset><legend id=\"users\">Choose a user to sign in as</legend>");
    if page.users.is_empty() {
        html.push_str("<p class=\"alert\" role=\"alert\">No active users are configured.</p>");
    }
    for user in &page.users {
        let groups = if user.group_names().is_empty() {
            "no groups".to_owned()
        } else {
            format!("groups: {}", user.group_names().join(", "))
        };
        let _ = write!(
            html,
            "<button type=\"submit\" name=\"login\" value=\"{login}\">Sign in as {name}\
             <span class=\"login\">{login} · {groups}</span></button>",
            login = escape(user.login()),
            name = escape(user.display_name()),
            groups = escape(&groups),
        );
    }
    html.push_str(
        "</fieldset></form><p class=\"note\">okta-sim development sign-in: no password is \
         asked and consent is skipped.</p></main></body></html>",
    );
    let csp = format!(
        "default-src 'none'; style-src '{}'; form-action 'self' {}; frame-ancestors 'none'; \
         base-uri 'none'",
        style_hash(),
        page.redirect_source
    );
    respond(StatusCode::OK, html, &csp)
}

/// Renders an error page for a request that must not be redirected (RFC 6749 §4.1.2.1:
/// unknown client, missing or unregistered `redirect_uri`).
pub(crate) fn error(status: StatusCode, code: &str, description: &str) -> Response {
    let mut html = String::with_capacity(1024);
    head(&mut html, "Sign-in error");
    let _ = write!(
        html,
        "<main><h1>Sign-in error</h1><p class=\"alert\" role=\"alert\"><strong>{}</strong>: \
         {}</p><p class=\"note\">The request cannot be sent back to the application.</p>\
         </main></body></html>",
        escape(code),
        escape(description)
    );
    let csp = format!(
        "default-src 'none'; style-src '{}'; form-action 'none'; frame-ancestors 'none'; \
         base-uri 'none'",
        style_hash()
    );
    respond(status, html, &csp)
}

fn head(html: &mut String, title: &str) {
    let _ = write!(
        html,
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title} · okta-sim</title><style>{STYLE}</style></head><body>"
    );
}

fn respond(status: StatusCode, html: String, csp: &str) -> Response {
    let mut response = (status, html).into_response();
    let headers = response.headers_mut();
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    if let Ok(value) = HeaderValue::from_str(csp) {
        headers.insert(CONTENT_SECURITY_POLICY, value);
    }
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(PRAGMA, HeaderValue::from_static("no-cache"));
    headers.insert(X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    response
}

/// `sha256-…` of the style block, for the CSP.
fn style_hash() -> String {
    format!(
        "sha256-{}",
        STANDARD.encode(Sha256::digest(STYLE.as_bytes()))
    )
}

/// Escapes text for HTML element content and double-quoted attribute values.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn escapes_markup() {
        assert_eq!(
            escape("<a href=\"x\">'&'</a>"),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
    }
}
