//! The rules a parsed, interpolated config must follow. Everything here is
//! decided from the config alone (no file system, no network), so loading and
//! `check` refuse the same files; `check` adds what needs the file system.

use std::collections::BTreeMap;

use super::{BackendConfig, CredentialsConfig, GatewayConfig, Source, TransportConfig};
use crate::error::ProxyError;

impl GatewayConfig {
    pub(super) fn validate(&self) -> Result<(), ProxyError> {
        let src = &self.source;
        if !self.path.starts_with('/') {
            return Err(src.error("path", "must start with `/`, e.g. `/mcp`"));
        }
        if self.separator.is_empty() {
            return Err(src.error("separator", "must not be empty, e.g. `_`"));
        }
        if self.metrics.enabled {
            let metrics = &self.metrics.path;
            if !metrics.starts_with('/') {
                return Err(src.error("metrics.path", "must start with `/`, e.g. `/metrics`"));
            }
            let taken = [self.path.as_str(), "/healthz", "/readyz"];
            if taken.contains(&metrics.as_str()) || metrics.starts_with("/.well-known/") {
                return Err(src.error(
                    "metrics.path",
                    format!(
                        "`{metrics}` is already a route of the gateway (the MCP endpoint, /healthz, /readyz, /.well-known/…); pick another, e.g. `/metrics`"
                    ),
                ));
            }
        }
        if self.backends.is_empty() {
            return Err(src.error("backends", "list at least one backend"));
        }
        if self.policy.is_some() && self.policy_file.is_some() {
            return Err(src.error(
                "policy_file",
                "set either `policy` (inline) or `policy_file`, not both",
            ));
        }
        if let Some(auth) = &self.auth {
            if auth.audiences.is_empty() {
                return Err(src.error(
                    "auth.audiences",
                    "list at least one audience, e.g. `[api://default]`",
                ));
            }
            secure_url(src, "auth.issuer", &auth.issuer)?;
            if let Some(uri) = &auth.jwks_uri {
                secure_url(src, "auth.jwks_uri", uri)?;
            }
            if let Some(resource) = &auth.resource {
                resource_url(src, resource)?;
            }
        }
        if let Some(patterns) = &self.audit.redact_patterns {
            for (i, pattern) in patterns.iter().enumerate() {
                crate::audit::compile_pattern(pattern).map_err(|message| {
                    src.error(&format!("audit.redact_patterns[{i}]"), message)
                })?;
            }
        }
        let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
        for (i, backend) in self.backends.iter().enumerate() {
            let field = format!("backends[{i}].name");
            if backend.name.is_empty()
                || !backend
                    .name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
            {
                return Err(src.error(
                    &field,
                    format!(
                        "`{}` is not a valid backend name; use letters, digits, `_` and `-`",
                        backend.name
                    ),
                ));
            }
            if let Some(first) = seen.insert(&backend.name, i) {
                return Err(src.error(
                    &field,
                    format!(
                        "backend name `{}` is already used by backends[{first}]; names must be unique",
                        backend.name
                    ),
                ));
            }
            match &backend.transport {
                TransportConfig::Stdio(stdio) if stdio.command.trim().is_empty() => {
                    return Err(src.error(
                        &format!("backends[{i}].stdio.command"),
                        "must name a program",
                    ));
                }
                TransportConfig::Http(http) => {
                    let ok = url::Url::parse(&http.url)
                        .map(|u| matches!(u.scheme(), "http" | "https"))
                        .unwrap_or(false);
                    if !ok {
                        return Err(src.error(
                            &format!("backends[{i}].http.url"),
                            format!("`{}` is not an http(s) URL", http.url),
                        ));
                    }
                }
                TransportConfig::Demo(name) if !crate::demo::NAMES.contains(&name.as_str()) => {
                    return Err(src.error(
                        &format!("backends[{i}].demo"),
                        format!(
                            "unknown demo server `{name}`; choose one of {}",
                            crate::demo::NAMES.join(", ")
                        ),
                    ));
                }
                _ => {}
            }
            validate_credentials(src, i, backend)?;
        }
        Ok(())
    }
}

/// `auth.resource`: an absolute http(s) URL with a host and no fragment
/// (RFC 9728 §1.2), which is what the protected-resource metadata needs.
fn resource_url(src: &Source, resource: &str) -> Result<(), ProxyError> {
    let field = "auth.resource";
    let url = url::Url::parse(resource)
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
        .ok_or_else(|| {
            src.error(
                field,
                format!(
                    "`{resource}` is not an absolute http(s) URL; write the public URL of the MCP endpoint, e.g. `https://mcp.example.com/mcp`"
                ),
            )
        })?;
    if url.fragment().is_some() {
        return Err(src.error(
            field,
            format!("`{resource}` must not have a fragment (`#…`; RFC 9728 §1.2)"),
        ));
    }
    Ok(())
}

/// A URL the gateway fetches keys or tokens from: https, or http on a
/// loopback host (what okta-auth accepts when the gateway starts).
fn secure_url(src: &Source, field: &str, value: &str) -> Result<(), ProxyError> {
    let ok = url::Url::parse(value).is_ok_and(|u| okta_auth::is_https_or_loopback(&u));
    if ok {
        Ok(())
    } else {
        Err(src.error(
            field,
            format!("`{value}` is not an https URL (http only on a loopback host)"),
        ))
    }
}

fn validate_credentials(src: &Source, i: usize, backend: &BackendConfig) -> Result<(), ProxyError> {
    let field = |f: &str| format!("backends[{i}].credentials{f}");
    let is_http = matches!(backend.transport, TransportConfig::Http(_));
    match &backend.credentials {
        CredentialsConfig::None => Ok(()),
        _ if !is_http => Err(src.error(
            &field(""),
            "credentials apply to http backends; give child processes secrets with stdio.env",
        )),
        CredentialsConfig::Header {
            value,
            value_file,
            name,
        } => {
            if value.is_some() == value_file.is_some() {
                return Err(src.error(
                    &field(".value"),
                    "set exactly one of `value` and `value_file`",
                ));
            }
            if http::HeaderName::from_bytes(name.as_bytes()).is_err() {
                return Err(src.error(&field(".name"), format!("`{name}` is not a header name")));
            }
            if let Some(value) = value
                && http::HeaderValue::from_str(value.expose()).is_err()
            {
                // The value is a secret: say what is wrong, never what it is.
                return Err(src.error(&field(".value"), HEADER_VALUE_RULE));
            }
            Ok(())
        }
        CredentialsConfig::OktaClientCredentials {
            issuer,
            token_endpoint,
            client_secret,
            private_key_file,
            ..
        } => {
            match (issuer, token_endpoint) {
                (Some(issuer), None) => secure_url(src, &field(".issuer"), issuer)?,
                (None, Some(endpoint)) => secure_url(src, &field(".token_endpoint"), endpoint)?,
                _ => {
                    return Err(src.error(
                        &field(".issuer"),
                        "set exactly one of `issuer` and `token_endpoint`",
                    ));
                }
            }
            one_client_credential(src, &field, client_secret, private_key_file)
        }
        CredentialsConfig::OauthClientCredentials {
            client_secret,
            private_key_file,
            ..
        } => one_client_credential(src, &field, client_secret, private_key_file),
        CredentialsConfig::Passthrough => Ok(()),
        CredentialsConfig::IdJag {
            idp_token_endpoint,
            resource_token_endpoint,
            client_secret,
            private_key_file,
            id_token_header,
            ..
        } => {
            secure_url(src, &field(".idp_token_endpoint"), idp_token_endpoint)?;
            secure_url(
                src,
                &field(".resource_token_endpoint"),
                resource_token_endpoint,
            )?;
            if http::HeaderName::from_bytes(id_token_header.as_bytes()).is_err() {
                return Err(src.error(
                    &field(".id_token_header"),
                    format!("`{id_token_header}` is not a header name"),
                ));
            }
            if id_token_header.eq_ignore_ascii_case("authorization") {
                return Err(src.error(
                    &field(".id_token_header"),
                    "the ID token cannot travel in `Authorization` (that is the caller's access token)",
                ));
            }
            one_client_credential(src, &field, client_secret, private_key_file)
        }
    }
}

/// Why a header value is refused (shared with `check`, which reads `value_file`).
pub(crate) const HEADER_VALUE_RULE: &str =
    "not a valid HTTP header value (it must not contain a newline or another control character)";

/// Exactly one of a client secret and a private key file.
fn one_client_credential<S, P>(
    src: &Source,
    field: &impl Fn(&str) -> String,
    client_secret: &Option<S>,
    private_key_file: &Option<P>,
) -> Result<(), ProxyError> {
    if client_secret.is_some() == private_key_file.is_some() {
        return Err(src.error(
            &field(".client_secret"),
            "set exactly one of `client_secret` and `private_key_file`",
        ));
    }
    Ok(())
}
