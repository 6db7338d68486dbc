//! Public keys registered for `private_key_jwt` clients, parsed once at start.

use std::fmt;

use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, JwkSet};
use jsonwebtoken::{Algorithm, DecodingKey};
use serde_json::Value;

use crate::error::Error;

/// One usable public key of a client.
pub(crate) struct ClientKey {
    pub(crate) kid: Option<String>,
    pub(crate) key: DecodingKey,
    /// Signature algorithms this key may verify (from its type, narrowed by its `alg`).
    pub(crate) algorithms: Vec<Algorithm>,
}

impl fmt::Debug for ClientKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientKey")
            .field("kid", &self.kid)
            .field("algorithms", &self.algorithms)
            .finish_non_exhaustive()
    }
}

/// All public keys of one client.
#[derive(Debug)]
pub(crate) struct ClientKeys {
    pub(crate) keys: Vec<ClientKey>,
}

impl ClientKeys {
    /// Parses a JWK or a JWK Set. Only RSA and EC P-256/P-384 public keys are accepted;
    /// private keys, symmetric keys and unknown key types are configuration errors.
    pub(crate) fn parse(client_id: &str, value: &Value) -> Result<Self, Error> {
        let bad = |why: String| Error::Config(format!("client `{client_id}`: {why}"));
        let jwks: Vec<&Value> = match value.get("keys") {
            Some(Value::Array(keys)) => keys.iter().collect(),
            Some(_) => return Err(bad("`keys` of the JWK Set must be an array".to_owned())),
            None => vec![value],
        };
        if jwks.is_empty() {
            return Err(bad("the JWK Set has no keys".to_owned()));
        }
        // Validate the whole set shape too (kty/params), so errors name the real problem.
        if value.get("keys").is_some() {
            serde_json::from_value::<JwkSet>(value.clone())
                .map_err(|e| bad(format!("not a valid JWK Set: {e}")))?;
        }
        let mut keys = Vec::with_capacity(jwks.len());
        for raw in jwks {
            if raw.get("d").is_some() || raw.get("p").is_some() {
                return Err(bad(
                    "the JWK contains private key material; register only the public key"
                        .to_owned(),
                ));
            }
            let jwk: Jwk = serde_json::from_value(raw.clone())
                .map_err(|e| bad(format!("not a valid public JWK: {e}")))?;
            let by_type = match &jwk.algorithm {
                AlgorithmParameters::RSA(_) => {
                    vec![Algorithm::RS256, Algorithm::RS384, Algorithm::RS512]
                }
                AlgorithmParameters::EllipticCurve(ec) => match ec.curve {
                    EllipticCurve::P256 => vec![Algorithm::ES256],
                    EllipticCurve::P384 => vec![Algorithm::ES384],
                    _ => return Err(bad("EC keys must use curve P-256 or P-384".to_owned())),
                },
                _ => {
                    return Err(bad(
                        "only RSA and EC (P-256, P-384) keys are supported for private_key_jwt"
                            .to_owned(),
                    ));
                }
            };
            let algorithms = match jwk.common.key_algorithm {
                None => by_type,
                Some(declared) => {
                    let declared = declared.to_string();
                    let matching: Vec<Algorithm> = by_type
                        .into_iter()
                        .filter(|a| format!("{a:?}") == declared)
                        .collect();
                    if matching.is_empty() {
                        return Err(bad(format!(
                            "the JWK's alg `{declared}` does not fit its key type"
                        )));
                    }
                    matching
                }
            };
            let key = DecodingKey::from_jwk(&jwk)
                .map_err(|e| bad(format!("the JWK cannot be used as a verification key: {e}")))?;
            keys.push(ClientKey {
                kid: jwk.common.key_id.clone(),
                key,
                algorithms,
            });
        }
        Ok(Self { keys })
    }

    /// Keys that may verify a token with this header `kid` and `alg`.
    pub(crate) fn candidates<'a>(
        &'a self,
        kid: Option<&'a str>,
        alg: Algorithm,
    ) -> impl Iterator<Item = &'a ClientKey> + 'a {
        self.keys.iter().filter(move |k| {
            k.algorithms.contains(&alg)
                && match (kid, k.kid.as_deref()) {
                    (Some(wanted), Some(have)) => wanted == have,
                    _ => true,
                }
        })
    }
}

#[cfg(test)]
mod tests {
    use jsonwebtoken::Algorithm;
    use serde_json::json;

    use super::ClientKeys;

    const RSA_N: &str = "sXchDaQebHnPiGvyDOAT4saGEUetSyo9MKLOoWFsueri23bOdgWp4Dy1WlUzewbgBHod5pcM9H95GQRV3JDXboIRROSBigeC5yjU1hGzHHyXss8UDprecbAYxknTcQkhslANGRUZmdTOQ5qTRsLAt6BTYuyvVRdhS8exSZEy_c4gs_7svlJJQ4H9_NxsiIoLwAEk7-Q3UXERGYw_75IDrGA84-lA_-Ct4eTlXHBIY2EaV7t7LjJaynVJCpkv4LKjTTAumiGUIuQhrNhZLuF_RJLqHpM2kgWFLU7-VTdL1VbC2tejvcI2BlMkEpk1BzBZI0KQB0GaDWFLN-aEAw3vRw";

    #[test]
    fn rsa_jwk_allows_rs_family_narrowed_by_alg() {
        let keys = ClientKeys::parse("c", &json!({"kty": "RSA", "n": RSA_N, "e": "AQAB"})).unwrap();
        assert_eq!(keys.keys[0].algorithms.len(), 3);
        let keys = ClientKeys::parse(
            "c",
            &json!({"keys": [{"kty": "RSA", "n": RSA_N, "e": "AQAB", "alg": "RS384", "kid": "k"}]}),
        )
        .unwrap();
        assert_eq!(keys.keys[0].algorithms, vec![Algorithm::RS384]);
        assert_eq!(keys.candidates(Some("k"), Algorithm::RS384).count(), 1);
        assert_eq!(keys.candidates(Some("other"), Algorithm::RS384).count(), 0);
        assert_eq!(keys.candidates(None, Algorithm::RS256).count(), 0);
    }

    #[test]
    fn private_symmetric_and_mismatched_keys_are_refused() {
        let private = json!({"kty": "RSA", "n": RSA_N, "e": "AQAB", "d": "AQAB"});
        assert!(
            ClientKeys::parse("c", &private)
                .unwrap_err()
                .to_string()
                .contains("private")
        );
        let oct = json!({"kty": "oct", "k": "c2VjcmV0"});
        assert!(ClientKeys::parse("c", &oct).is_err());
        let wrong_alg = json!({"kty": "RSA", "n": RSA_N, "e": "AQAB", "alg": "ES256"});
        assert!(ClientKeys::parse("c", &wrong_alg).is_err());
        assert!(ClientKeys::parse("c", &json!({"keys": []})).is_err());
        assert!(ClientKeys::parse("c", &json!("nope")).is_err());
    }
}
