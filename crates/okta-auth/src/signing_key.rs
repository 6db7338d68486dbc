//! Private keys that sign JWTs: `private_key_jwt` client assertions (RFC 7523 §2.2) and,
//! for tests and simulators, any other compact JWS.

use std::fmt;
use std::sync::Arc;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::{KeyPairComponents, PublicKeyComponents};
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, ECDSA_P384_SHA384_FIXED_SIGNING, EcdsaKeyPair,
    EcdsaSigningAlgorithm, KeyPair, RSA_PKCS1_SHA256, RsaKeyPair,
};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value, json};

use crate::Error;

/// A private key that signs JWTs with RS256 (RSA, 2048 to 8192 bits), ES256 (P-256) or
/// ES384 (P-384).
///
/// Load it from PEM (`RSA PRIVATE KEY` = PKCS#1, `EC PRIVATE KEY` = SEC1, `PRIVATE KEY` =
/// PKCS#8) or from a private JWK (what Okta's admin console generates for `private_key_jwt`
/// apps). The key material never appears in `Debug` output; [`SigningKey::public_jwk`] gives
/// the public half to register with the authorization server.
///
/// ```
/// use okta_auth::SigningKey;
///
/// let key = SigningKey::generate_es256()?.with_kid("key-1");
/// assert_eq!(key.algorithm(), "ES256");
/// let jwk = key.public_jwk();
/// assert_eq!(jwk["kid"], "key-1");
/// assert!(jwk.get("d").is_none()); // public half only
/// # Ok::<(), okta_auth::Error>(())
/// ```
#[derive(Clone)]
pub struct SigningKey {
    inner: Arc<KeyInner>,
    kid: Option<String>,
}

enum KeyInner {
    Rsa(RsaKeyPair),
    Ec {
        pair: EcdsaKeyPair,
        alg: &'static str,
        crv: &'static str,
    },
}

fn bad_key(reason: impl Into<String>) -> Error {
    Error::InvalidClientConfig {
        reason: reason.into(),
    }
}

const EC_CURVES: [(&EcdsaSigningAlgorithm, &str, &str); 2] = [
    (&ECDSA_P256_SHA256_FIXED_SIGNING, "ES256", "P-256"),
    (&ECDSA_P384_SHA384_FIXED_SIGNING, "ES384", "P-384"),
];

impl SigningKey {
    /// Loads a private key from PEM: `RSA PRIVATE KEY` (PKCS#1), `EC PRIVATE KEY` (SEC1,
    /// P-256 or P-384) or `PRIVATE KEY` (PKCS#8, RSA or EC). Encrypted PEM is not supported.
    pub fn from_pem(pem_text: &str) -> Result<Self, Error> {
        let block = pem::parse(pem_text.trim()).map_err(|e| {
            bad_key(format!(
                "the signing key is not valid PEM ({e}); expected a `-----BEGIN PRIVATE KEY-----` block"
            ))
        })?;
        let der = block.contents();
        let inner = match block.tag() {
            "RSA PRIVATE KEY" => KeyInner::Rsa(
                RsaKeyPair::from_der(der)
                    .map_err(|e| bad_key(format!("the PKCS#1 RSA key was rejected: {e}")))?,
            ),
            "EC PRIVATE KEY" => ec_from_der(der)?,
            "PRIVATE KEY" => match RsaKeyPair::from_pkcs8(der) {
                Ok(pair) => KeyInner::Rsa(pair),
                Err(_) => ec_from_der(der).map_err(|_| {
                    bad_key(
                        "the PKCS#8 key is neither an RSA (2048+ bits) nor a P-256/P-384 EC key",
                    )
                })?,
            },
            "ENCRYPTED PRIVATE KEY" => {
                return Err(bad_key(
                    "encrypted PEM keys are not supported; decrypt the key (e.g. `openssl pkcs8 -nocrypt`) and keep it in a secret store",
                ));
            }
            other => {
                return Err(bad_key(format!(
                    "PEM block `{other}` is not a private key; expected `PRIVATE KEY`, `RSA PRIVATE KEY` or `EC PRIVATE KEY`"
                )));
            }
        };
        Ok(Self {
            inner: Arc::new(inner),
            kid: None,
        })
    }

    /// Loads a private JWK (`kty` `RSA` with `n e d p q dp dq qi`, or `kty` `EC` with `crv`
    /// `P-256`/`P-384` and `x y d`). Its `kid`, if any, becomes the key's `kid`.
    pub fn from_jwk(jwk: &Value) -> Result<Self, Error> {
        let field = |name: &str| -> Result<Vec<u8>, Error> {
            let text = jwk.get(name).and_then(Value::as_str).ok_or_else(|| {
                bad_key(format!(
                    "the private JWK lacks `{name}`; export the full private key"
                ))
            })?;
            URL_SAFE_NO_PAD
                .decode(text.trim_end_matches('='))
                .map_err(|_| bad_key(format!("the JWK member `{name}` is not base64url")))
        };
        let inner = match jwk.get("kty").and_then(Value::as_str) {
            Some("RSA") => {
                let components = KeyPairComponents {
                    public_key: PublicKeyComponents {
                        n: strip_leading_zeros(field("n")?),
                        e: strip_leading_zeros(field("e")?),
                    },
                    d: field("d")?,
                    p: field("p")?,
                    q: field("q")?,
                    dP: field("dp")?,
                    dQ: field("dq")?,
                    qInv: field("qi")?,
                };
                KeyInner::Rsa(
                    RsaKeyPair::from_components(&components)
                        .map_err(|e| bad_key(format!("the RSA JWK was rejected: {e}")))?,
                )
            }
            Some("EC") => {
                let crv = jwk.get("crv").and_then(Value::as_str).unwrap_or_default();
                let (alg, alg_name, crv_name) = EC_CURVES
                    .iter()
                    .find(|(_, _, c)| *c == crv)
                    .copied()
                    .ok_or_else(|| {
                        bad_key(format!(
                            "EC JWK curve `{crv}` is not supported; use P-256 or P-384"
                        ))
                    })?;
                let mut point = vec![0x04];
                point.extend(field("x")?);
                point.extend(field("y")?);
                let pair = EcdsaKeyPair::from_private_key_and_public_key(alg, &field("d")?, &point)
                    .map_err(|e| bad_key(format!("the EC JWK was rejected: {e}")))?;
                KeyInner::Ec {
                    pair,
                    alg: alg_name,
                    crv: crv_name,
                }
            }
            other => {
                return Err(bad_key(format!(
                    "JWK `kty` {other:?} is not supported; use RSA or EC"
                )));
            }
        };
        Ok(Self {
            inner: Arc::new(inner),
            kid: jwk.get("kid").and_then(Value::as_str).map(str::to_owned),
        })
    }

    /// Generates a fresh P-256 key (ES256). Handy for tests and first-time setup.
    pub fn generate_es256() -> Result<Self, Error> {
        let pair = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING)
            .map_err(|_| bad_key("could not generate a P-256 key"))?;
        Ok(Self {
            inner: Arc::new(KeyInner::Ec {
                pair,
                alg: "ES256",
                crv: "P-256",
            }),
            kid: None,
        })
    }

    /// Generates a fresh 2048-bit RSA key (RS256). Slow-ish (tens of milliseconds).
    pub fn generate_rs256() -> Result<Self, Error> {
        let pair = RsaKeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048)
            .map_err(|_| bad_key("could not generate an RSA key"))?;
        Ok(Self {
            inner: Arc::new(KeyInner::Rsa(pair)),
            kid: None,
        })
    }

    /// Sets the `kid` put into the JWS header (and into [`SigningKey::public_jwk`]).
    #[must_use]
    pub fn with_kid(mut self, kid: impl Into<String>) -> Self {
        self.kid = Some(kid.into());
        self
    }

    /// The `kid`, if set.
    pub fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    /// The JWS algorithm this key signs with: `RS256`, `ES256` or `ES384`.
    pub fn algorithm(&self) -> &'static str {
        match &*self.inner {
            KeyInner::Rsa(_) => "RS256",
            KeyInner::Ec { alg, .. } => alg,
        }
    }

    /// The public half as a JWK (`kty`, `use: sig`, `alg`, `kid` if set, and `n e` or
    /// `crv x y`), ready to register with Okta or okta-sim.
    pub fn public_jwk(&self) -> Value {
        let mut jwk = match &*self.inner {
            KeyInner::Rsa(pair) => {
                let public = pair.public_key();
                json!({
                    "kty": "RSA",
                    "n": URL_SAFE_NO_PAD.encode(public.modulus().big_endian_without_leading_zero()),
                    "e": URL_SAFE_NO_PAD.encode(public.exponent().big_endian_without_leading_zero()),
                })
            }
            KeyInner::Ec { pair, crv, .. } => {
                let point = pair.public_key().as_ref();
                let coords = point.get(1..).unwrap_or_default();
                let (x, y) = coords.split_at(coords.len() / 2);
                json!({
                    "kty": "EC",
                    "crv": crv,
                    "x": URL_SAFE_NO_PAD.encode(x),
                    "y": URL_SAFE_NO_PAD.encode(y),
                })
            }
        };
        jwk["use"] = json!("sig");
        jwk["alg"] = json!(self.algorithm());
        if let Some(kid) = &self.kid {
            jwk["kid"] = json!(kid);
        }
        jwk
    }

    /// Signs `claims` as a compact JWS. The header holds `alg`, `typ` and `kid` (if set).
    ///
    /// ```
    /// use okta_auth::SigningKey;
    ///
    /// let key = SigningKey::generate_es256()?;
    /// let mut claims = serde_json::Map::new();
    /// claims.insert("sub".into(), "alice".into());
    /// let jwt = key.sign_jwt("JWT", &claims)?;
    /// assert_eq!(jwt.split('.').count(), 3);
    /// # Ok::<(), okta_auth::Error>(())
    /// ```
    pub fn sign_jwt(&self, typ: &str, claims: &Map<String, Value>) -> Result<String, Error> {
        let mut header = json!({ "alg": self.algorithm(), "typ": typ });
        if let Some(kid) = &self.kid {
            header["kid"] = json!(kid);
        }
        let mut message = b64_json(&header)?;
        message.push('.');
        message.push_str(&b64_json(claims)?);
        let signature = self.sign(message.as_bytes())?;
        message.push('.');
        message.push_str(&URL_SAFE_NO_PAD.encode(signature));
        Ok(message)
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, Error> {
        let rng = SystemRandom::new();
        match &*self.inner {
            KeyInner::Rsa(pair) => {
                let mut signature = vec![0; pair.public_modulus_len()];
                pair.sign(&RSA_PKCS1_SHA256, &rng, message, &mut signature)
                    .map_err(|_| bad_key("RSA signing failed"))?;
                Ok(signature)
            }
            KeyInner::Ec { pair, .. } => pair
                .sign(&rng, message)
                .map(|sig| sig.as_ref().to_vec())
                .map_err(|_| bad_key("ECDSA signing failed")),
        }
    }
}

fn b64_json<T: serde::Serialize>(value: &T) -> Result<String, Error> {
    serde_json::to_vec(value)
        .map(|bytes| URL_SAFE_NO_PAD.encode(bytes))
        .map_err(|_| bad_key("could not serialize the JWT"))
}

fn ec_from_der(der: &[u8]) -> Result<KeyInner, Error> {
    for (alg, alg_name, crv) in EC_CURVES {
        if let Ok(pair) = EcdsaKeyPair::from_private_key_der(alg, der) {
            return Ok(KeyInner::Ec {
                pair,
                alg: alg_name,
                crv,
            });
        }
    }
    Err(bad_key(
        "the EC key was rejected; only P-256 (ES256) and P-384 (ES384) keys are supported",
    ))
}

fn strip_leading_zeros(mut bytes: Vec<u8>) -> Vec<u8> {
    let zeros = bytes.iter().take_while(|b| **b == 0).count();
    bytes.drain(..zeros);
    bytes
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("alg", &self.algorithm())
            .field("kid", &self.kid)
            .field("private_key", &"<redacted>")
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_lc_rs::encoding::AsDer;
    use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED, RSA_PKCS1_2048_8192_SHA256};
    use aws_lc_rs::signature::{UnparsedPublicKey, VerificationAlgorithm};

    fn verify(key: &SigningKey, jwt: &str, alg: &'static dyn VerificationAlgorithm) {
        let (message, sig) = jwt.rsplit_once('.').unwrap();
        let sig = URL_SAFE_NO_PAD.decode(sig).unwrap();
        let public = match &*key.inner {
            KeyInner::Rsa(p) => p.public_key().as_der().unwrap().as_ref().to_vec(),
            KeyInner::Ec { pair, .. } => pair.public_key().as_ref().to_vec(),
        };
        UnparsedPublicKey::new(alg, public)
            .verify(message.as_bytes(), &sig)
            .unwrap();
    }

    #[test]
    fn generated_keys_sign_verifiable_jwts() {
        let mut claims = Map::new();
        claims.insert("sub".into(), json!("x"));
        let ec = SigningKey::generate_es256().unwrap().with_kid("k1");
        let jwt = ec.sign_jwt("JWT", &claims).unwrap();
        verify(&ec, &jwt, &ECDSA_P256_SHA256_FIXED);
        let header: Value = serde_json::from_slice(
            &URL_SAFE_NO_PAD
                .decode(jwt.split('.').next().unwrap())
                .unwrap(),
        )
        .unwrap();
        assert_eq!(header, json!({"alg":"ES256","typ":"JWT","kid":"k1"}));

        let rsa = SigningKey::generate_rs256().unwrap();
        let jwt = rsa.sign_jwt("JWT", &claims).unwrap();
        verify(&rsa, &jwt, &RSA_PKCS1_2048_8192_SHA256);
    }

    #[test]
    fn debug_is_redacted() {
        let key = SigningKey::generate_es256().unwrap();
        let dbg = format!("{key:?}");
        assert!(dbg.contains("<redacted>") && dbg.contains("ES256"));
    }

    #[test]
    fn pem_rejections_say_why() {
        let err = SigningKey::from_pem("not pem").unwrap_err().to_string();
        assert!(err.contains("not valid PEM"), "{err}");
        let cert = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
        let err = SigningKey::from_pem(cert).unwrap_err().to_string();
        assert!(err.contains("not a private key"), "{err}");
        let enc =
            "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n";
        let err = SigningKey::from_pem(enc).unwrap_err().to_string();
        assert!(err.contains("encrypted"), "{err}");
        let junk = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n";
        let err = SigningKey::from_pem(junk).unwrap_err().to_string();
        assert!(err.contains("neither an RSA"), "{err}");
    }

    #[test]
    fn jwk_rejections_say_why() {
        let err = SigningKey::from_jwk(&json!({"kty":"oct","k":"AA"}))
            .unwrap_err()
            .to_string();
        assert!(err.contains("not supported"), "{err}");
        let public_only = SigningKey::generate_es256().unwrap().public_jwk();
        let err = SigningKey::from_jwk(&public_only).unwrap_err().to_string();
        assert!(err.contains("lacks `d`"), "{err}");
        let err = SigningKey::from_jwk(&json!({"kty":"EC","crv":"P-521"}))
            .unwrap_err()
            .to_string();
        assert!(err.contains("P-521"), "{err}");
    }
}
