//! `validator_validate` against `raw_rs256_signature_check`, measured in the same run.
//!
//! - `raw_rs256_signature_check`: baseline, only the RSA-2048 signature check of a prepared
//!   ID-JAG with a pre-parsed aws-lc-rs key.
//! - `validator_validate`: `IdJagValidator::validate` on a fresh ID-JAG (every `jti` is new,
//!   as in real use; minting happens in criterion's untimed setup): issuer lookup, header and
//!   claim checks, signature, `client_id`, and the replay store insert.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::hint::black_box;
use std::time::{SystemTime, UNIX_EPOCH};

use aws_lc_rs::signature::{ParsedPublicKey, RSA_PKCS1_2048_8192_SHA256, RsaPublicKeyComponents};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use futures::FutureExt;
use id_jag::IdJagValidator;
use jsonwebtoken::jwk::JwkSet;
use okta_auth::{JwksCache, SigningKey};
use serde_json::json;

const IDP: &str = "https://example.okta.com";
const AS: &str = "https://example.okta.com/oauth2/aus-mcp";

fn mint(key: &SigningKey, n: u64) -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let claims = json!({
        "iss": IDP, "sub": "alice@example.com", "aud": AS, "client_id": "agent",
        "jti": format!("bench-{n}"), "iat": now, "exp": now + 300,
        "scope": "mcp:connect mcp:tools:read", "resource": "https://mcp.example.com/mcp",
    });
    key.sign_jwt("oauth-id-jag+jwt", claims.as_object().unwrap())
        .unwrap()
}

fn benches(c: &mut Criterion) {
    let key = SigningKey::generate_rs256().unwrap().with_kid("org-1");
    let jwk = key.public_jwk();
    let set: JwkSet = serde_json::from_value(json!({ "keys": [jwk.clone()] })).unwrap();
    let validator = IdJagValidator::builder(AS)
        .trust(IDP, JwksCache::from_jwks(&set).unwrap())
        .replay_capacity(10_000_000)
        .build()
        .unwrap();

    let n = URL_SAFE_NO_PAD.decode(jwk["n"].as_str().unwrap()).unwrap();
    let e = URL_SAFE_NO_PAD.decode(jwk["e"].as_str().unwrap()).unwrap();
    let parsed: ParsedPublicKey = RsaPublicKeyComponents {
        n: &n[..],
        e: &e[..],
    }
    .to_parsed_public_key(&RSA_PKCS1_2048_8192_SHA256)
    .unwrap();
    let sample = mint(&key, u64::MAX);
    let (message, signature) = sample.rsplit_once('.').unwrap();
    let signature = URL_SAFE_NO_PAD.decode(signature).unwrap();
    c.bench_function("raw_rs256_signature_check", |b| {
        b.iter(|| {
            parsed
                .verify_sig(black_box(message.as_bytes()), black_box(&signature))
                .unwrap()
        });
    });

    let mut counter = 0u64;
    c.bench_function("validator_validate", |b| {
        b.iter_batched(
            || {
                counter += 1;
                mint(&key, counter)
            },
            |token| {
                // Static keys: validate never awaits, so it completes on first poll.
                validator
                    .validate(black_box(&token), "agent")
                    .now_or_never()
                    .unwrap()
                    .unwrap()
            },
            BatchSize::SmallInput,
        );
    });
}

criterion_group!(group, benches);
criterion_main!(group);
