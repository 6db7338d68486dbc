//! Token minting: Okta-shaped claims, compact JWS encoding, and refresh-token storage.

mod claims;
mod refresh_store;
mod spec;

pub use spec::{AccessTokenSpec, MINTED_CLIENT_ID};

pub(crate) use claims::{IssueRequest, issue_tokens, issue_tokens_for};
pub(crate) use refresh_store::{RefreshRecord, RefreshStore};
pub(crate) use spec::mint_access_token;

use std::time::{SystemTime, UNIX_EPOCH};

use aws_lc_rs::rand::{SecureRandom as _, SystemRandom};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value};

use crate::error::Error;
use crate::keys::SigningKey;

/// Seconds since the Unix epoch (0 if the clock is before 1970).
pub(crate) fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// `bytes` random bytes from the system CSPRNG, base64url without padding.
pub(crate) fn random_id(bytes: usize) -> Result<String, Error> {
    let mut buf = vec![0u8; bytes];
    SystemRandom::new()
        .fill(&mut buf)
        .map_err(|_| Error::Signing("the system random generator failed".to_owned()))?;
    Ok(URL_SAFE_NO_PAD.encode(buf))
}

/// Which `kid` goes in the JWS header.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) enum KidHeader {
    /// The signing key's own kid (what Okta does).
    #[default]
    Signing,
    /// Another value (the token still is signed by the current key).
    Custom(String),
    /// No `kid` header at all.
    Omit,
}

/// Signs `claims` with `key` as a compact RS256 JWS.
pub(crate) fn encode_jwt(
    key: &SigningKey,
    kid: &KidHeader,
    typ: Option<&str>,
    claims: &Map<String, Value>,
) -> Result<String, Error> {
    let mut header = Map::new();
    match kid {
        KidHeader::Signing => {
            header.insert("kid".to_owned(), Value::from(key.kid()));
        }
        KidHeader::Custom(kid) => {
            header.insert("kid".to_owned(), Value::from(kid.as_str()));
        }
        KidHeader::Omit => {}
    }
    header.insert("alg".to_owned(), Value::from("RS256"));
    if let Some(typ) = typ {
        header.insert("typ".to_owned(), Value::from(typ));
    }
    let header_json =
        serde_json::to_vec(&header).map_err(|e| Error::Signing(format!("JWT header: {e}")))?;
    let claims_json =
        serde_json::to_vec(claims).map_err(|e| Error::Signing(format!("JWT claims: {e}")))?;
    let mut token = URL_SAFE_NO_PAD.encode(header_json);
    token.push('.');
    token.push_str(&URL_SAFE_NO_PAD.encode(claims_json));
    let signature = key.sign_rs256(token.as_bytes())?;
    token.push('.');
    token.push_str(&URL_SAFE_NO_PAD.encode(signature));
    Ok(token)
}
