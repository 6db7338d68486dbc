//! Turning JWKs into ready-to-use verification keys.
//!
//! The algorithms a key may verify are derived from the key itself (its `kty`
//! and curve), narrowed by the JWK's own `alg` when present; the token header
//! only selects among them. HMAC (`oct`) keys are never loaded, so `alg: none`
//! and HS256-with-the-public-key confusion are impossible by construction.

use aws_lc_rs::signature::{self as sig, ParsedPublicKey, RsaPublicKeyComponents};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::Algorithm;
use jsonwebtoken::jwk::{
    AlgorithmParameters, EllipticCurve, Jwk, KeyAlgorithm, KeyOperations, PublicKeyUse,
};

/// A public key from a JWK set, parsed once for every algorithm it may verify.
pub(crate) struct VerifyingKey {
    kid: String,
    verifiers: Vec<(Algorithm, ParsedPublicKey)>,
}

impl std::fmt::Debug for VerifyingKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let algs: Vec<Algorithm> = self.algorithms().collect();
        f.debug_struct("VerifyingKey")
            .field("kid", &self.kid)
            .field("algorithms", &algs)
            .finish()
    }
}

impl VerifyingKey {
    /// The key id.
    pub(crate) fn kid(&self) -> &str {
        &self.kid
    }

    /// The algorithms this key accepts.
    pub(crate) fn algorithms(&self) -> impl Iterator<Item = Algorithm> + '_ {
        self.verifiers.iter().map(|(a, _)| *a)
    }

    /// The parsed key for `alg`, or `None` when the key does not allow `alg`.
    pub(crate) fn for_algorithm(&self, alg: Algorithm) -> Option<&ParsedPublicKey> {
        self.verifiers
            .iter()
            .find(|(a, _)| *a == alg)
            .map(|(_, k)| k)
    }

    /// Builds the key from one JWK, or says why the JWK is not usable for
    /// verifying signatures (callers skip such keys).
    pub(crate) fn from_jwk(jwk: &Jwk) -> Result<Self, String> {
        let kid = jwk
            .common
            .key_id
            .clone()
            .ok_or_else(|| "key has no kid".to_owned())?;
        if jwk
            .common
            .public_key_use
            .as_ref()
            .is_some_and(|usage| *usage != PublicKeyUse::Signature)
        {
            return Err(format!("key {kid:?} is not a signature key (use)"));
        }
        if jwk
            .common
            .key_operations
            .as_ref()
            .is_some_and(|ops| !ops.contains(&KeyOperations::Verify))
        {
            return Err(format!("key {kid:?} does not allow verify (key_ops)"));
        }
        let candidates: Vec<(Algorithm, ParsedPublicKey)> = match &jwk.algorithm {
            AlgorithmParameters::RSA(rsa) => {
                let n = decode_component(&rsa.n, &kid, "n")?;
                let e = decode_component(&rsa.e, &kid, "e")?;
                let components = RsaPublicKeyComponents {
                    n: strip_leading_zeros(&n),
                    e: strip_leading_zeros(&e),
                };
                let mut out = Vec::with_capacity(6);
                for (alg, params) in [
                    (Algorithm::RS256, &sig::RSA_PKCS1_2048_8192_SHA256),
                    (Algorithm::RS384, &sig::RSA_PKCS1_2048_8192_SHA384),
                    (Algorithm::RS512, &sig::RSA_PKCS1_2048_8192_SHA512),
                    (Algorithm::PS256, &sig::RSA_PSS_2048_8192_SHA256),
                    (Algorithm::PS384, &sig::RSA_PSS_2048_8192_SHA384),
                    (Algorithm::PS512, &sig::RSA_PSS_2048_8192_SHA512),
                ] {
                    if !jwk_alg_allows(jwk, alg) {
                        continue;
                    }
                    let parsed = components
                        .to_parsed_public_key(params)
                        .map_err(|e| format!("key {kid:?} is not a valid RSA key: {e}"))?;
                    out.push((alg, parsed));
                }
                out
            }
            AlgorithmParameters::EllipticCurve(ec) => {
                let (alg, params): (Algorithm, &'static sig::EcdsaVerificationAlgorithm) =
                    match ec.curve {
                        EllipticCurve::P256 => (Algorithm::ES256, &sig::ECDSA_P256_SHA256_FIXED),
                        EllipticCurve::P384 => (Algorithm::ES384, &sig::ECDSA_P384_SHA384_FIXED),
                        ref other => {
                            return Err(format!("key {kid:?} uses unsupported curve {other:?}"));
                        }
                    };
                let x = decode_component(&ec.x, &kid, "x")?;
                let y = decode_component(&ec.y, &kid, "y")?;
                let mut point = Vec::with_capacity(1 + x.len() + y.len());
                point.push(0x04);
                point.extend_from_slice(&x);
                point.extend_from_slice(&y);
                if jwk_alg_allows(jwk, alg) {
                    let parsed = ParsedPublicKey::new(params, &point)
                        .map_err(|e| format!("key {kid:?} is not a valid EC key: {e}"))?;
                    vec![(alg, parsed)]
                } else {
                    Vec::new()
                }
            }
            AlgorithmParameters::OctetKeyPair(okp) => {
                if okp.curve != EllipticCurve::Ed25519 {
                    return Err(format!(
                        "key {kid:?} uses unsupported OKP curve {:?}",
                        okp.curve
                    ));
                }
                let x = decode_component(&okp.x, &kid, "x")?;
                if jwk_alg_allows(jwk, Algorithm::EdDSA) {
                    let parsed = ParsedPublicKey::new(&sig::ED25519, &x)
                        .map_err(|e| format!("key {kid:?} is not a valid Ed25519 key: {e}"))?;
                    vec![(Algorithm::EdDSA, parsed)]
                } else {
                    Vec::new()
                }
            }
            AlgorithmParameters::OctetKey(_) => {
                return Err(format!(
                    "key {kid:?} is a symmetric (oct) key; HMAC is never accepted"
                ));
            }
            _ => {
                return Err(format!("key {kid:?} has an unsupported key type"));
            }
        };
        if candidates.is_empty() {
            return Err(format!(
                "key {kid:?}: its alg {:?} does not fit its key type",
                jwk.common.key_algorithm
            ));
        }
        Ok(Self {
            kid,
            verifiers: candidates,
        })
    }
}

/// Whether the JWK's own `alg` (if any) allows `alg`.
fn jwk_alg_allows(jwk: &Jwk, alg: Algorithm) -> bool {
    let Some(declared) = jwk.common.key_algorithm else {
        return true;
    };
    let as_alg = match declared {
        KeyAlgorithm::RS256 => Algorithm::RS256,
        KeyAlgorithm::RS384 => Algorithm::RS384,
        KeyAlgorithm::RS512 => Algorithm::RS512,
        KeyAlgorithm::PS256 => Algorithm::PS256,
        KeyAlgorithm::PS384 => Algorithm::PS384,
        KeyAlgorithm::PS512 => Algorithm::PS512,
        KeyAlgorithm::ES256 => Algorithm::ES256,
        KeyAlgorithm::ES384 => Algorithm::ES384,
        KeyAlgorithm::EdDSA => Algorithm::EdDSA,
        _ => return false,
    };
    as_alg == alg
}

fn decode_component(value: &str, kid: &str, name: &str) -> Result<Vec<u8>, String> {
    URL_SAFE_NO_PAD
        .decode(value.trim_end_matches('='))
        .map_err(|_| format!("key {kid:?}: {name} is not base64url"))
}

fn strip_leading_zeros(bytes: &[u8]) -> &[u8] {
    let first = bytes.iter().position(|b| *b != 0).unwrap_or(bytes.len());
    &bytes[first..]
}

/// Parses the `keys` of a JWK set document one by one, so one odd key (an
/// encryption key, an unknown `kty`) does not take the others down.
pub(crate) fn parse_key_set(document: &[u8]) -> Result<(Vec<VerifyingKey>, Vec<String>), String> {
    #[derive(serde::Deserialize)]
    struct RawSet {
        keys: Vec<serde_json::Value>,
    }
    let raw: RawSet = serde_json::from_slice(document)
        .map_err(|e| format!("not a JWK set (expected {{\"keys\": [...]}}): {e}"))?;
    let mut keys = Vec::with_capacity(raw.keys.len());
    let mut skipped = Vec::new();
    for value in raw.keys {
        match serde_json::from_value::<Jwk>(value) {
            Ok(jwk) => match VerifyingKey::from_jwk(&jwk) {
                Ok(key) => keys.push(key),
                Err(reason) => skipped.push(reason),
            },
            Err(e) => skipped.push(format!("unparsable JWK: {e}")),
        }
    }
    Ok((keys, skipped))
}

#[cfg(test)]
mod tests {
    use super::{VerifyingKey, parse_key_set};
    use jsonwebtoken::Algorithm;
    use jsonwebtoken::jwk::Jwk;

    fn ec_jwk(extra: serde_json::Value) -> Jwk {
        let mut v = serde_json::json!({
            "kty": "EC", "crv": "P-256", "kid": "ec1",
            "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
            "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"
        });
        for (k, val) in extra.as_object().unwrap() {
            v[k] = val.clone();
        }
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn ec_key_allows_only_es256() {
        let key = VerifyingKey::from_jwk(&ec_jwk(serde_json::json!({}))).unwrap();
        assert_eq!(key.algorithms().collect::<Vec<_>>(), vec![Algorithm::ES256]);
        assert!(key.for_algorithm(Algorithm::RS256).is_none());
        assert!(key.for_algorithm(Algorithm::HS256).is_none());
    }

    #[test]
    fn jwk_alg_must_fit_key_type() {
        let err = VerifyingKey::from_jwk(&ec_jwk(serde_json::json!({"alg": "RS256"}))).unwrap_err();
        assert!(err.contains("does not fit"), "{err}");
        let err = VerifyingKey::from_jwk(&ec_jwk(serde_json::json!({"use": "enc"}))).unwrap_err();
        assert!(err.contains("not a signature key"), "{err}");
    }

    #[test]
    fn oct_keys_are_never_loaded() {
        let doc = br#"{"keys":[{"kty":"oct","kid":"h","k":"c2VjcmV0"},{"kty":"XYZ","kid":"u"}]}"#;
        let (keys, skipped) = parse_key_set(doc).unwrap();
        assert!(keys.is_empty());
        assert_eq!(skipped.len(), 2);
        assert!(skipped[0].contains("HMAC is never accepted"), "{skipped:?}");
    }
}
