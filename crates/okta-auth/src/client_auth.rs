//! OAuth client authentication at a token endpoint: `client_secret_basic` (RFC 6749 §2.3.1),
//! `client_secret_post` and `private_key_jwt` (RFC 7523 §2.2, OpenID Connect Core §9).

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use http::HeaderValue;
use serde_json::{Map, Value, json};

use crate::{Error, SigningKey};

/// The `client_assertion_type` of a JWT client assertion (RFC 7523 §2.2).
pub const CLIENT_ASSERTION_TYPE_JWT_BEARER: &str =
    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// The longest lifetime of a `private_key_jwt` assertion (Okta rejects longer ones).
pub const MAX_ASSERTION_LIFETIME: Duration = Duration::from_secs(300);

/// How an OAuth client proves its identity to a token endpoint.
///
/// Build one with [`ClientAuth::client_secret_basic`], [`ClientAuth::client_secret_post`] or
/// [`ClientAuth::private_key_jwt`], then let [`ClientAuth::apply`] add what the method needs to
/// a token request. `Debug` output never shows the secret or key.
///
/// ```
/// use okta_auth::ClientAuth;
///
/// let auth = ClientAuth::client_secret_basic("my client", "s3cr:et");
/// let mut form = vec![("grant_type".to_owned(), "client_credentials".to_owned())];
/// let header = auth.apply("https://example.okta.com/oauth2/default/v1/token", &mut form)?;
/// // RFC 6749 §2.3.1: id and secret are form-urlencoded before Base64.
/// assert_eq!(header.unwrap(), "Basic bXkrY2xpZW50OnMzY3IlM0FldA==");
/// assert_eq!(form.len(), 1); // nothing added to the body
/// assert!(!format!("{auth:?}").contains("s3cr"));
/// # Ok::<(), okta_auth::Error>(())
/// ```
#[derive(Clone)]
pub struct ClientAuth {
    client_id: String,
    method: Method,
}

#[derive(Clone)]
enum Method {
    None,
    Basic {
        secret: String,
    },
    Post {
        secret: String,
    },
    PrivateKeyJwt {
        key: SigningKey,
        lifetime: Duration,
        audience: Option<String>,
    },
}

impl ClientAuth {
    /// HTTP Basic authentication with the client id and secret (Okta's default).
    pub fn client_secret_basic(client_id: impl Into<String>, secret: impl Into<String>) -> Self {
        Self {
            client_id: client_id.into(),
            method: Method::Basic {
                secret: secret.into(),
            },
        }
    }

    /// A public client (`token_endpoint_auth_method` `none`, RFC 7591 §2): only `client_id`
    /// in the form body, no secret. For IdPs that let a native agent exchange tokens without
    /// a client secret.
    pub fn none(client_id: impl Into<String>) -> Self {
        Self {
            client_id: client_id.into(),
            method: Method::None,
        }
    }

    /// `client_id` and `client_secret` in the form body.
    pub fn client_secret_post(client_id: impl Into<String>, secret: impl Into<String>) -> Self {
        Self {
            client_id: client_id.into(),
            method: Method::Post {
                secret: secret.into(),
            },
        }
    }

    /// A JWT assertion signed with the client's private key, fresh for every request:
    /// `iss` = `sub` = client id, `aud` = the token endpoint, a random `jti` (UUID v4), `iat`,
    /// and `exp` 5 minutes later (see [`ClientAuth::with_assertion_lifetime`]). The key's
    /// `kid`, if set, goes into the header so Okta can pick the right registered key.
    pub fn private_key_jwt(client_id: impl Into<String>, key: SigningKey) -> Self {
        Self {
            client_id: client_id.into(),
            method: Method::PrivateKeyJwt {
                key,
                lifetime: MAX_ASSERTION_LIFETIME,
                audience: None,
            },
        }
    }

    /// Shortens the lifetime of `private_key_jwt` assertions (capped at 5 minutes, at least
    /// 1 second). No effect on the secret methods.
    #[must_use]
    pub fn with_assertion_lifetime(mut self, lifetime: Duration) -> Self {
        if let Method::PrivateKeyJwt { lifetime: l, .. } = &mut self.method {
            *l = lifetime.clamp(Duration::from_secs(1), MAX_ASSERTION_LIFETIME);
        }
        self
    }

    /// Sets the `aud` of `private_key_jwt` assertions to `audience` instead of the token
    /// endpoint URL (Okta's rule). RFC 7523bis and the MCP authorization spec (SEP-1046) want
    /// the authorization server's issuer identifier here; the MCP client
    /// ([`crate::mcp_client`]) sets it per server. No effect on the secret methods.
    #[must_use]
    pub fn with_assertion_audience(mut self, audience: impl Into<String>) -> Self {
        if let Method::PrivateKeyJwt { audience: a, .. } = &mut self.method {
            *a = Some(audience.into());
        }
        self
    }

    /// The signing algorithm of a `private_key_jwt` client (`RS256`, `ES256`, ...), `None`
    /// for the secret methods.
    pub fn signing_algorithm(&self) -> Option<&'static str> {
        match &self.method {
            Method::PrivateKeyJwt { key, .. } => Some(key.algorithm()),
            Method::None | Method::Basic { .. } | Method::Post { .. } => None,
        }
    }

    /// The client id.
    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    /// The method's registered name: `none`, `client_secret_basic`, `client_secret_post` or
    /// `private_key_jwt` (as in `token_endpoint_auth_method`).
    pub fn method_name(&self) -> &'static str {
        match self.method {
            Method::None => "none",
            Method::Basic { .. } => "client_secret_basic",
            Method::Post { .. } => "client_secret_post",
            Method::PrivateKeyJwt { .. } => "private_key_jwt",
        }
    }

    /// Authenticates one token request to `token_endpoint`: adds form fields to `form`
    /// (`client_secret_post`, `private_key_jwt`) and returns the `Authorization` header value
    /// to send, if the method uses one (`client_secret_basic`; the value is marked sensitive).
    ///
    /// Call it once per request: `private_key_jwt` assertions are single-use.
    pub fn apply(
        &self,
        token_endpoint: &str,
        form: &mut Vec<(String, String)>,
    ) -> Result<Option<HeaderValue>, Error> {
        match &self.method {
            Method::None => {
                form.push(("client_id".into(), self.client_id.clone()));
                Ok(None)
            }
            Method::Basic { secret } => {
                let credentials = format!(
                    "{}:{}",
                    form_urlencode(&self.client_id),
                    form_urlencode(secret)
                );
                let mut value =
                    HeaderValue::try_from(format!("Basic {}", STANDARD.encode(credentials)))
                        .map_err(|_| Error::InvalidClientConfig {
                            reason: "the client credentials cannot form an HTTP header".into(),
                        })?;
                value.set_sensitive(true);
                Ok(Some(value))
            }
            Method::Post { secret } => {
                form.push(("client_id".into(), self.client_id.clone()));
                form.push(("client_secret".into(), secret.clone()));
                Ok(None)
            }
            Method::PrivateKeyJwt {
                key,
                lifetime,
                audience,
            } => {
                let audience = audience.as_deref().unwrap_or(token_endpoint);
                let assertion = self.assertion(key, *lifetime, audience)?;
                form.push((
                    "client_assertion_type".into(),
                    CLIENT_ASSERTION_TYPE_JWT_BEARER.into(),
                ));
                form.push(("client_assertion".into(), assertion));
                Ok(None)
            }
        }
    }

    fn assertion(
        &self,
        key: &SigningKey,
        lifetime: Duration,
        audience: &str,
    ) -> Result<String, Error> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_err(|_| Error::InvalidClientConfig {
                reason: "the system clock is before 1970; fix the clock".into(),
            })?
            .as_secs();
        let mut claims = Map::new();
        claims.insert("iss".into(), json!(self.client_id));
        claims.insert("sub".into(), json!(self.client_id));
        claims.insert("aud".into(), json!(audience));
        claims.insert("jti".into(), json!(uuid::Uuid::new_v4().to_string()));
        claims.insert("iat".into(), Value::from(now));
        claims.insert("exp".into(), Value::from(now + lifetime.as_secs()));
        key.sign_jwt("JWT", &claims)
    }
}

fn form_urlencode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

impl fmt::Debug for ClientAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = f.debug_struct("ClientAuth");
        s.field("client_id", &self.client_id)
            .field("method", &self.method_name());
        match &self.method {
            Method::None => &mut s,
            Method::Basic { .. } | Method::Post { .. } => s.field("secret", &"<redacted>"),
            Method::PrivateKeyJwt {
                key,
                lifetime,
                audience,
            } => s
                .field("key", key)
                .field("assertion_lifetime", lifetime)
                .field("assertion_audience", audience),
        };
        s.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    fn claims_of(jwt: &str) -> (Value, Value) {
        let mut parts = jwt.split('.');
        let mut next = || -> Value {
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts.next().unwrap()).unwrap()).unwrap()
        };
        (next(), next())
    }

    #[test]
    fn basic_encodes_per_rfc6749() {
        let auth = ClientAuth::client_secret_basic("a b", "p&w=+%");
        let mut form = Vec::new();
        let header = auth.apply("https://x/token", &mut form).unwrap().unwrap();
        assert!(header.is_sensitive());
        let decoded = STANDARD
            .decode(header.to_str().unwrap().strip_prefix("Basic ").unwrap())
            .unwrap();
        assert_eq!(decoded, b"a+b:p%26w%3D%2B%25");
        assert!(form.is_empty());
        assert_eq!(auth.method_name(), "client_secret_basic");
    }

    #[test]
    fn post_adds_form_fields() {
        let auth = ClientAuth::client_secret_post("id", "secret");
        let mut form = Vec::new();
        assert!(auth.apply("https://x/token", &mut form).unwrap().is_none());
        assert_eq!(
            form,
            vec![
                ("client_id".to_owned(), "id".to_owned()),
                ("client_secret".to_owned(), "secret".to_owned())
            ]
        );
        assert!(!format!("{auth:?}").contains("secret\""));
    }

    #[test]
    fn private_key_jwt_assertions_are_fresh_and_well_formed() {
        let key = SigningKey::generate_es256().unwrap().with_kid("k9");
        let auth = ClientAuth::private_key_jwt("svc", key);
        let endpoint = "https://org.okta.com/oauth2/default/v1/token";
        let mut seen = std::collections::HashSet::new();
        for _ in 0..20 {
            let mut form = Vec::new();
            assert!(auth.apply(endpoint, &mut form).unwrap().is_none());
            assert_eq!(form[0].1, CLIENT_ASSERTION_TYPE_JWT_BEARER);
            let (header, claims) = claims_of(&form[1].1);
            assert_eq!(header["alg"], "ES256");
            assert_eq!(header["kid"], "k9");
            assert_eq!(claims["iss"], "svc");
            assert_eq!(claims["sub"], "svc");
            assert_eq!(claims["aud"], endpoint);
            let lifetime = claims["exp"].as_u64().unwrap() - claims["iat"].as_u64().unwrap();
            assert_eq!(lifetime, 300);
            assert!(seen.insert(claims["jti"].as_str().unwrap().to_owned()));
        }
    }

    #[test]
    fn assertion_lifetime_is_capped() {
        let key = SigningKey::generate_es256().unwrap();
        let auth = ClientAuth::private_key_jwt("svc", key.clone())
            .with_assertion_lifetime(Duration::from_secs(3600));
        let mut form = Vec::new();
        auth.apply("https://x", &mut form).unwrap();
        let (_, claims) = claims_of(&form[1].1);
        assert_eq!(
            claims["exp"].as_u64().unwrap() - claims["iat"].as_u64().unwrap(),
            300
        );
        let auth = ClientAuth::private_key_jwt("svc", key)
            .with_assertion_lifetime(Duration::from_secs(60));
        let mut form = Vec::new();
        auth.apply("https://x", &mut form).unwrap();
        let (_, claims) = claims_of(&form[1].1);
        assert_eq!(
            claims["exp"].as_u64().unwrap() - claims["iat"].as_u64().unwrap(),
            60
        );
    }
}
