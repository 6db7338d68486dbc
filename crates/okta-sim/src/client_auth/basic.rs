//! HTTP Basic client credentials (RFC 6749 §2.3.1, RFC 7617).

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use http::HeaderValue;

use crate::form::decode_component;

/// Extracts `(client_id, client_secret)` from an `Authorization: Basic …` header. Both parts
/// are form-urlencoded inside the Basic credentials (RFC 6749 §2.3.1) and decoded here.
pub(crate) fn parse(header: &HeaderValue) -> Result<(String, String), &'static str> {
    let value = header
        .to_str()
        .map_err(|_| "The Authorization header is not valid ASCII.")?;
    let (scheme, credentials) = value
        .trim()
        .split_once(' ')
        .ok_or("The Authorization header must be 'Basic <base64(client_id:client_secret)>'.")?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(
            "Only the Basic scheme is accepted in the Authorization header of a token request.",
        );
    }
    let credentials = credentials.trim();
    let decoded = STANDARD
        .decode(credentials)
        .or_else(|_| STANDARD_NO_PAD.decode(credentials))
        .map_err(|_| "The Basic credentials are not valid base64.")?;
    let decoded = String::from_utf8(decoded).map_err(|_| "The Basic credentials are not UTF-8.")?;
    let (id, secret) = decoded
        .split_once(':')
        .ok_or("The Basic credentials must be client_id:client_secret.")?;
    let id = decode_component(id)
        .ok_or("The client_id in the Basic credentials is not form-urlencoded.")?;
    let secret = decode_component(secret)
        .ok_or("The client_secret in the Basic credentials is not form-urlencoded.")?;
    if id.is_empty() {
        return Err("The Basic credentials have an empty client_id.");
    }
    Ok((id, secret))
}

#[cfg(test)]
mod tests {
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD;
    use http::HeaderValue;

    use super::parse;

    fn header(raw: &str) -> HeaderValue {
        HeaderValue::from_str(&format!("Basic {}", STANDARD.encode(raw))).unwrap()
    }

    #[test]
    fn decodes_form_encoded_parts() {
        assert_eq!(
            parse(&header("agent:s%3Acret+x")).unwrap(),
            ("agent".into(), "s:cret x".into())
        );
        assert_eq!(parse(&header("a:b:c")).unwrap(), ("a".into(), "b:c".into()));
        let lower = HeaderValue::from_str(&format!("basic {}", STANDARD.encode("a:b"))).unwrap();
        assert!(parse(&lower).is_ok(), "scheme is case-insensitive");
    }

    #[test]
    fn rejects_malformed_credentials() {
        assert!(parse(&HeaderValue::from_static("Bearer abc")).is_err());
        assert!(parse(&HeaderValue::from_static("Basic")).is_err());
        assert!(parse(&HeaderValue::from_static("Basic !!!")).is_err());
        assert!(parse(&header("no-colon")).is_err());
        assert!(parse(&header(":secret")).is_err());
        assert!(parse(&header("a:%zz")).is_err());
    }
}
