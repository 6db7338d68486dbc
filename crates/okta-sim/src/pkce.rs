//! PKCE (RFC 7636) with the `S256` method only: `plain` and a missing method are refused.

use aws_lc_rs::constant_time::verify_slices_are_equal;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

/// RFC 7636 §4.1: a verifier (and so a challenge) is 43 to 128 characters.
const MIN_CHARS: usize = 43;
const MAX_CHARS: usize = 128;

/// Whether every character is an RFC 3986 unreserved character (RFC 7636 §4.1).
fn unreserved(value: &str) -> bool {
    value
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

/// Checks the `code_challenge` / `code_challenge_method` of an authorization request; the
/// error is an `invalid_request` description.
pub(crate) fn check_challenge(
    challenge: Option<&str>,
    method: Option<&str>,
) -> Result<String, String> {
    let challenge = challenge.ok_or_else(|| {
        "PKCE is required: send code_challenge with code_challenge_method=S256 (RFC 7636)."
            .to_owned()
    })?;
    match method {
        Some("S256") => {}
        None => {
            return Err(
                "code_challenge_method is missing (it would default to 'plain'); only S256 is supported."
                    .to_owned(),
            );
        }
        Some(_) => {
            return Err(
                "code_challenge_method must be S256; 'plain' and other methods are not supported."
                    .to_owned(),
            );
        }
    }
    // An S256 challenge is BASE64URL(SHA-256(verifier)): exactly 43 characters.
    if challenge.len() != MIN_CHARS || !unreserved(challenge) {
        return Err(
            "code_challenge must be the 43-character base64url SHA-256 of the code_verifier."
                .to_owned(),
        );
    }
    Ok(challenge.to_owned())
}

/// Whether `verifier` matches the stored S256 `challenge` (constant-time comparison).
pub(crate) fn verify(challenge: &str, verifier: &str) -> bool {
    if verifier.len() < MIN_CHARS || verifier.len() > MAX_CHARS || !unreserved(verifier) {
        return false;
    }
    let computed = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    verify_slices_are_equal(computed.as_bytes(), challenge.as_bytes()).is_ok()
}

#[cfg(test)]
mod tests {
    use super::{check_challenge, verify};

    // RFC 7636 Appendix B.
    const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    #[test]
    fn rfc7636_example_verifies() {
        assert!(verify(CHALLENGE, VERIFIER));
        assert!(!verify(CHALLENGE, &VERIFIER.replace('d', "e")));
        assert!(!verify(CHALLENGE, "short"));
        assert!(!verify(CHALLENGE, &format!("{VERIFIER} ")));
    }

    #[test]
    fn only_s256_challenges_are_accepted() {
        assert_eq!(
            check_challenge(Some(CHALLENGE), Some("S256")).unwrap(),
            CHALLENGE
        );
        assert!(check_challenge(None, Some("S256")).is_err());
        assert!(
            check_challenge(Some(CHALLENGE), None)
                .unwrap_err()
                .contains("plain")
        );
        assert!(check_challenge(Some(CHALLENGE), Some("plain")).is_err());
        assert!(check_challenge(Some("abc"), Some("S256")).is_err());
        assert!(check_challenge(Some(&"a".repeat(43).replace('a', "+")), Some("S256")).is_err());
    }
}
