//! `${ENV}` interpolation of every string field of a parsed config.
//!
//! The walk destructures every struct and enum variant without `..`, so a new
//! field does not compile until this file says whether it is interpolated.
//! Only the policy (`policy:`, mcp-authz's document, whose CEL rules are not
//! config values) and the non-string fields (`listen`, durations, numbers,
//! booleans, `auth.mode`) are left alone.

use std::path::PathBuf;

use super::env::{Lookup, expand};
use super::{
    AuthConfig, BackendConfig, CredentialsConfig, GatewayConfig, HttpConfig, MetricsConfig, Secret,
    Source, StdioConfig, TransportConfig,
};
use crate::audit::AuditConfig;
use crate::error::ProxyError;

/// Expands values in place; errors name the field.
struct Expander<'a> {
    env: &'a dyn Lookup,
    source: &'a Source,
}

impl Expander<'_> {
    fn string(&self, value: &mut String, field: &str) -> Result<(), ProxyError> {
        *value = expand(value, self.env).map_err(|message| self.source.error(field, message))?;
        Ok(())
    }

    fn option(&self, value: &mut Option<String>, field: &str) -> Result<(), ProxyError> {
        match value {
            Some(v) => self.string(v, field),
            None => Ok(()),
        }
    }

    fn list(&self, values: &mut [String], field: &str) -> Result<(), ProxyError> {
        for (i, v) in values.iter_mut().enumerate() {
            self.string(v, &format!("{field}[{i}]"))?;
        }
        Ok(())
    }

    fn path(&self, value: &mut Option<PathBuf>, field: &str) -> Result<(), ProxyError> {
        let Some(path) = value else {
            return Ok(());
        };
        // Paths read from YAML are always UTF-8.
        if let Some(text) = path.to_str() {
            let mut text = text.to_owned();
            self.string(&mut text, field)?;
            *path = PathBuf::from(text);
        }
        Ok(())
    }

    fn secret(&self, value: &mut Option<Secret>, field: &str) -> Result<(), ProxyError> {
        match value {
            Some(Secret(v)) => self.string(v, field),
            None => Ok(()),
        }
    }
}

impl GatewayConfig {
    pub(super) fn interpolate(&mut self, env: &dyn Lookup) -> Result<(), ProxyError> {
        let GatewayConfig {
            listen: _,
            path,
            separator,
            call_timeout: _,
            session_idle_timeout: _,
            max_body_bytes: _,
            allowed_hosts,
            allowed_origins,
            auth,
            audit,
            metrics,
            policy: _,
            policy_file,
            backends,
            source,
        } = self;
        let x = Expander { env, source };
        x.string(path, "path")?;
        x.string(separator, "separator")?;
        if let Some(hosts) = allowed_hosts {
            x.list(hosts, "allowed_hosts")?;
        }
        x.list(allowed_origins, "allowed_origins")?;
        if let Some(auth) = auth {
            let AuthConfig {
                issuer,
                audiences,
                jwks_uri,
                mode: _,
                resource,
                scopes_supported,
                challenge_scopes,
            } = auth;
            x.string(issuer, "auth.issuer")?;
            x.list(audiences, "auth.audiences")?;
            x.option(jwks_uri, "auth.jwks_uri")?;
            x.option(resource, "auth.resource")?;
            x.list(scopes_supported, "auth.scopes_supported")?;
            x.list(challenge_scopes, "auth.challenge_scopes")?;
        }
        let AuditConfig {
            stdout: _,
            file,
            redact_keys,
            redact_patterns,
        } = audit;
        x.path(file, "audit.file")?;
        if let Some(keys) = redact_keys {
            x.list(keys, "audit.redact_keys")?;
        }
        if let Some(patterns) = redact_patterns {
            x.list(patterns, "audit.redact_patterns")?;
        }
        let MetricsConfig { enabled: _, path } = metrics;
        x.string(path, "metrics.path")?;
        x.path(policy_file, "policy_file")?;
        for (i, backend) in backends.iter_mut().enumerate() {
            interpolate_backend(&x, backend, &format!("backends[{i}]"))?;
        }
        Ok(())
    }
}

fn interpolate_backend(
    x: &Expander<'_>,
    backend: &mut BackendConfig,
    at: &str,
) -> Result<(), ProxyError> {
    let BackendConfig {
        name,
        prefix,
        timeout: _,
        backoff_initial: _,
        backoff_max: _,
        transport,
        credentials,
    } = backend;
    x.string(name, &format!("{at}.name"))?;
    x.option(prefix, &format!("{at}.prefix"))?;
    match transport {
        TransportConfig::Stdio(StdioConfig {
            command,
            args,
            env,
            cwd,
        }) => {
            x.string(command, &format!("{at}.stdio.command"))?;
            x.list(args, &format!("{at}.stdio.args"))?;
            for (key, value) in env.iter_mut() {
                x.string(value, &format!("{at}.stdio.env.{key}"))?;
            }
            x.path(cwd, &format!("{at}.stdio.cwd"))?;
        }
        TransportConfig::Http(HttpConfig { url }) => x.string(url, &format!("{at}.http.url"))?,
        TransportConfig::Demo(demo) => x.string(demo, &format!("{at}.demo"))?,
    }
    let field = |f: &str| format!("{at}.credentials.{f}");
    match credentials {
        CredentialsConfig::None => {}
        CredentialsConfig::Header {
            name,
            value,
            value_file,
        } => {
            x.string(name, &field("name"))?;
            x.secret(value, &field("value"))?;
            x.path(value_file, &field("value_file"))?;
        }
        CredentialsConfig::OktaClientCredentials {
            issuer,
            token_endpoint,
            client_id,
            client_secret,
            private_key_file,
            scopes,
        } => {
            x.option(issuer, &field("issuer"))?;
            x.option(token_endpoint, &field("token_endpoint"))?;
            x.string(client_id, &field("client_id"))?;
            x.secret(client_secret, &field("client_secret"))?;
            x.path(private_key_file, &field("private_key_file"))?;
            x.list(scopes, &field("scopes"))?;
        }
        CredentialsConfig::OauthClientCredentials {
            client_id,
            client_secret,
            private_key_file,
            scopes,
            authorization_server,
        } => {
            x.string(client_id, &field("client_id"))?;
            x.secret(client_secret, &field("client_secret"))?;
            x.path(private_key_file, &field("private_key_file"))?;
            x.list(scopes, &field("scopes"))?;
            x.option(authorization_server, &field("authorization_server"))?;
        }
        CredentialsConfig::Passthrough => {}
        CredentialsConfig::IdJag {
            idp_token_endpoint,
            resource_token_endpoint,
            audience,
            resource,
            client_id,
            client_secret,
            private_key_file,
            scopes,
            id_token_header,
        } => {
            x.string(idp_token_endpoint, &field("idp_token_endpoint"))?;
            x.string(resource_token_endpoint, &field("resource_token_endpoint"))?;
            x.string(audience, &field("audience"))?;
            x.option(resource, &field("resource"))?;
            x.string(client_id, &field("client_id"))?;
            x.secret(client_secret, &field("client_secret"))?;
            x.path(private_key_file, &field("private_key_file"))?;
            x.list(scopes, &field("scopes"))?;
            x.string(id_token_header, &field("id_token_header"))?;
        }
    }
    Ok(())
}
