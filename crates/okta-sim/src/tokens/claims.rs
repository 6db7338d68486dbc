//! Okta-shaped access and ID token claims for the token endpoint.

use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::{KidHeader, encode_jwt, random_id, unix_now};
use crate::config::SimUser;
use crate::error::Error;
use crate::state::{ServerState, read};

/// The `idp` claim of ID tokens: users live in the simulated org's own directory.
const ORG_IDP: &str = "00o0kta5im0rg1d00000";

/// What a grant decided to issue.
#[derive(Debug)]
pub(crate) struct IssueRequest<'a> {
    pub(crate) server: &'a ServerState,
    pub(crate) client_id: &'a str,
    /// `None` for client-credentials tokens.
    pub(crate) user: Option<&'a SimUser>,
    pub(crate) scopes: &'a [String],
    /// When the user authenticated (Unix seconds).
    pub(crate) auth_time: i64,
    pub(crate) nonce: Option<&'a str>,
}

/// Signed tokens for a token response.
#[derive(Debug)]
pub(crate) struct IssuedTokens {
    pub(crate) access_token: String,
    pub(crate) expires_in: u64,
    pub(crate) id_token: Option<String>,
}

/// Mints the access token and, for a user grant with `openid`, the ID token.
pub(crate) fn issue_tokens(request: &IssueRequest<'_>) -> Result<IssuedTokens, Error> {
    issue_tokens_for(request, None)
}

/// [`issue_tokens`] with the access token's `aud` set to `audience` (an RFC 8707 resource)
/// instead of the server's audience when given.
pub(crate) fn issue_tokens_for(
    request: &IssueRequest<'_>,
    audience: Option<&str>,
) -> Result<IssuedTokens, Error> {
    let server = request.server;
    let key = read(&server.keys).current();
    let now = unix_now();
    let mut access_claims = access_token_claims(request, now)?;
    if let Some(audience) = audience {
        access_claims.insert("aud".into(), json!(audience));
    }
    let access_token = encode_jwt(&key, &KidHeader::Signing, None, &access_claims)?;
    let id_token = match request.user {
        Some(user) if request.scopes.iter().any(|s| s == "openid") => {
            let claims = id_token_claims(request, user, &access_token, now)?;
            Some(encode_jwt(&key, &KidHeader::Signing, None, &claims)?)
        }
        _ => None,
    };
    Ok(IssuedTokens {
        access_token,
        expires_in: server.access_token_ttl.as_secs(),
        id_token,
    })
}

/// Access token claims as Okta issues them (`ver`, `jti`, `iss`, `aud`, `iat`, `exp`, `cid`,
/// `uid`, `scp`, `auth_time`, `sub`, and `groups` when a custom server has a groups claim).
pub(crate) fn access_token_claims(
    request: &IssueRequest<'_>,
    now: i64,
) -> Result<Map<String, Value>, Error> {
    let server = request.server;
    let mut claims = Map::new();
    claims.insert("ver".into(), json!(1));
    claims.insert("jti".into(), json!(format!("AT.{}", random_id(24)?)));
    claims.insert("iss".into(), json!(server.issuer));
    claims.insert("aud".into(), json!(server.audience));
    claims.insert("iat".into(), json!(now));
    claims.insert(
        "exp".into(),
        json!(now.saturating_add(secs(server.access_token_ttl))),
    );
    claims.insert("cid".into(), json!(request.client_id));
    match request.user {
        Some(user) => {
            claims.insert("uid".into(), json!(user.id));
            claims.insert("scp".into(), json!(request.scopes));
            claims.insert("auth_time".into(), json!(request.auth_time));
            claims.insert("sub".into(), json!(user.login));
            if !server.is_org() {
                insert_groups(&mut claims, server, user);
            }
        }
        None => {
            claims.insert("scp".into(), json!(request.scopes));
            claims.insert("sub".into(), json!(request.client_id));
        }
    }
    Ok(claims)
}

fn id_token_claims(
    request: &IssueRequest<'_>,
    user: &SimUser,
    access_token: &str,
    now: i64,
) -> Result<Map<String, Value>, Error> {
    let server = request.server;
    let mut claims = Map::new();
    claims.insert("sub".into(), json!(user.id));
    claims.insert("name".into(), json!(user.display_name()));
    claims.insert("email".into(), json!(user.email_address()));
    claims.insert("ver".into(), json!(1));
    claims.insert("iss".into(), json!(server.issuer));
    claims.insert("aud".into(), json!(request.client_id));
    claims.insert("iat".into(), json!(now));
    claims.insert(
        "exp".into(),
        json!(now.saturating_add(secs(server.id_token_ttl))),
    );
    claims.insert("jti".into(), json!(format!("ID.{}", random_id(24)?)));
    claims.insert("amr".into(), json!(["pwd"]));
    claims.insert("idp".into(), json!(ORG_IDP));
    if let Some(nonce) = request.nonce {
        claims.insert("nonce".into(), json!(nonce));
    }
    claims.insert("preferred_username".into(), json!(user.login));
    claims.insert("auth_time".into(), json!(request.auth_time));
    claims.insert("at_hash".into(), json!(at_hash(access_token)));
    if server.is_org() {
        insert_groups(&mut claims, server, user);
    }
    Ok(claims)
}

/// Adds the server's groups claim if it has one and it matches at least one group.
pub(crate) fn insert_groups(claims: &mut Map<String, Value>, server: &ServerState, user: &SimUser) {
    if let Some(rule) = &server.groups_claim {
        let groups = rule.filter(&user.groups);
        if !groups.is_empty() {
            claims.insert(rule.claim_name.clone(), json!(groups));
        }
    }
}

/// OIDC Core §3.1.3.6: base64url of the left half of SHA-256 of the access token.
fn at_hash(access_token: &str) -> String {
    let digest = Sha256::digest(access_token.as_bytes());
    URL_SAFE_NO_PAD.encode(&digest[..16])
}

pub(crate) fn secs(duration: std::time::Duration) -> i64 {
    i64::try_from(duration.as_secs()).unwrap_or(i64::MAX)
}
