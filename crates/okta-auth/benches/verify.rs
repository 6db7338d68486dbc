//! Verification benchmarks. No server needed: keys come from a static JWK set.
//!
//! - `raw_rs256_signature_check`: baseline, only the RSA-2048 signature check
//!   on a prepared message with a pre-parsed aws-lc-rs key (the same backend
//!   and key form the verifier uses).
//! - `verify_rs256_uncached` / `verify_es256_uncached`: full `Verifier::verify`
//!   with the token cache disabled.
//! - `verify_cached_hit`: `Verifier::verify` on a token already in the cache.
//! - `authlayer_request`: one request through `AuthLayer` (cached token) to an
//!   inner `service_fn`, via `tower::ServiceExt::oneshot`.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::convert::Infallible;
use std::hint::black_box;
use std::time::{SystemTime, UNIX_EPOCH};

use aws_lc_rs::signature::{ParsedPublicKey, RSA_PKCS1_2048_8192_SHA256, RsaPublicKeyComponents};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use criterion::{Criterion, criterion_group, criterion_main};
use futures::executor::block_on;
use http::{Request, Response};
use http_body_util::Empty;
use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use okta_auth::{AuthLayer, JwksCache, Verifier};
use serde_json::{Value, json};
use tower::{ServiceBuilder, ServiceExt, service_fn};

const RSA_PRIVATE: &[u8] = include_bytes!("../tests/fixtures/verify_rsa_private.pem");
const EC_PRIVATE: &[u8] = include_bytes!("../tests/fixtures/verify_ec_private.pem");
const ISSUER: &str = "https://example.okta.com/oauth2/default";

fn jwk(key: &EncodingKey, alg: Algorithm, kid: &str) -> Value {
    let mut v = serde_json::to_value(Jwk::from_encoding_key(key, alg).unwrap()).unwrap();
    v["kid"] = json!(kid);
    v
}

fn token(alg: Algorithm, kid: &str, key: &EncodingKey) -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let claims = json!({
        "ver": 1, "jti": "AT.bench", "iss": ISSUER, "aud": "api://default",
        "iat": now, "exp": now + 3600, "cid": "0oaclient", "uid": "00ualice",
        "sub": "alice@example.com", "scp": ["mcp:read", "openid"], "groups": ["mcp-developers"]
    });
    let mut header = Header::new(alg);
    header.kid = Some(kid.to_owned());
    jsonwebtoken::encode(&header, &claims, key).unwrap()
}

fn verifier(set: &JwkSet, cache: usize) -> Verifier {
    Verifier::builder(JwksCache::from_jwks(set).unwrap())
        .issuer(ISSUER)
        .audience("api://default")
        .cache_capacity(cache)
        .build()
        .unwrap()
}

fn benches(c: &mut Criterion) {
    let rsa = EncodingKey::from_rsa_pem(RSA_PRIVATE).unwrap();
    let ec = EncodingKey::from_ec_pem(EC_PRIVATE).unwrap();
    let rsa_jwk = jwk(&rsa, Algorithm::RS256, "rsa-1");
    let set: JwkSet = serde_json::from_value(
        json!({"keys": [rsa_jwk.clone(), jwk(&ec, Algorithm::ES256, "ec-1")]}),
    )
    .unwrap();
    let rs_token = token(Algorithm::RS256, "rsa-1", &rsa);
    let es_token = token(Algorithm::ES256, "ec-1", &ec);

    // Baseline: the signature check alone, message and signature prepared.
    let n = URL_SAFE_NO_PAD
        .decode(rsa_jwk["n"].as_str().unwrap())
        .unwrap();
    let e = URL_SAFE_NO_PAD
        .decode(rsa_jwk["e"].as_str().unwrap())
        .unwrap();
    let key: ParsedPublicKey = RsaPublicKeyComponents {
        n: &n[..],
        e: &e[..],
    }
    .to_parsed_public_key(&RSA_PKCS1_2048_8192_SHA256)
    .unwrap();
    let (message, signature) = rs_token.rsplit_once('.').unwrap();
    let signature = URL_SAFE_NO_PAD.decode(signature).unwrap();
    c.bench_function("raw_rs256_signature_check", |b| {
        b.iter(|| {
            key.verify_sig(black_box(message.as_bytes()), black_box(&signature))
                .unwrap()
        });
    });

    let uncached = verifier(&set, 0);
    c.bench_function("verify_rs256_uncached", |b| {
        b.iter(|| block_on(uncached.verify(black_box(&rs_token))).unwrap());
    });
    c.bench_function("verify_es256_uncached", |b| {
        b.iter(|| block_on(uncached.verify(black_box(&es_token))).unwrap());
    });

    let cached = verifier(&set, 1000);
    block_on(cached.verify(&rs_token)).unwrap();
    c.bench_function("verify_cached_hit", |b| {
        b.iter(|| block_on(cached.verify(black_box(&rs_token))).unwrap());
    });

    let service = ServiceBuilder::new()
        .layer(AuthLayer::new(cached.clone()))
        .service(service_fn(|_req: Request<Empty<bytes::Bytes>>| async {
            Ok::<_, Infallible>(Response::new(Empty::<bytes::Bytes>::new()))
        }));
    let authorization = format!("Bearer {rs_token}");
    c.bench_function("authlayer_request", |b| {
        b.iter(|| {
            let request = Request::builder()
                .uri("/api")
                .header("authorization", authorization.as_str())
                .body(Empty::new())
                .unwrap();
            let response = block_on(service.clone().oneshot(request)).unwrap();
            assert_eq!(response.status(), 200);
        });
    });
}

criterion_group!(verify, benches);
criterion_main!(verify);
