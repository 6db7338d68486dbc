//! `JwksCache` and `Verifier` against okta-sim over real HTTP: discovery,
//! refetch storms, outages at start and later, rotation, refresh, shutdown.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use okta_auth::{Error, JwksCache, StartupMode, Verifier, discover};
use okta_sim::{AccessTokenSpec, AuthServer, KeyRotation, OktaSim, SimUser};

const KEYS: &str = "/oauth2/default/v1/keys";

async fn sim(max_age: Duration) -> OktaSim {
    OktaSim::builder()
        .user(SimUser::new("alice", "pw-alice").groups(["mcp-developers"]))
        .auth_server(
            AuthServer::new("default")
                .audience("api://default")
                .scopes(["mcp:read"]),
        )
        .jwks_max_age(max_age)
        .start()
        .await
        .unwrap()
}

fn token(sim: &OktaSim) -> String {
    sim.mint_access_token(
        "default",
        AccessTokenSpec::for_user("alice").scopes(["mcp:read"]),
    )
    .unwrap()
}

fn verifier(cache: JwksCache, sim: &OktaSim) -> Verifier {
    Verifier::builder(cache)
        .issuer(sim.issuer("default"))
        .audience("api://default")
        .cache_capacity(0) // every call goes to the key cache
        .build()
        .unwrap()
}

/// Polls `check` until it is true or 10 s pass (never asserts a duration).
async fn eventually(mut check: impl AsyncFnMut() -> bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if check().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

#[tokio::test]
async fn discovery_finds_keys_and_checks_the_issuer_exactly() {
    let sim = sim(Duration::from_secs(300)).await;
    let http = reqwest::Client::new();
    let meta = discover(&http, &sim.issuer("default")).await.unwrap();
    assert_eq!(
        meta.jwks_uri.as_deref(),
        Some(sim.jwks_uri("default").as_str())
    );
    assert_eq!(
        meta.token_endpoint.as_deref(),
        Some(sim.token_endpoint("default").as_str())
    );

    let err = discover(&http, &format!("{}/", sim.issuer("default")))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::IssuerMismatch { .. }), "{err}");

    let cache = JwksCache::builder()
        .issuer(sim.issuer("default"))
        .build()
        .await
        .unwrap();
    assert_eq!(cache.kids(), vec![sim.current_kid("default").unwrap()]);
    assert_eq!(cache.jwks_uri(), Some(sim.jwks_uri("default")));
    // The verifier takes the issuer from the cache.
    let v = Verifier::builder(cache)
        .audience("api://default")
        .build()
        .unwrap();
    assert_eq!(
        v.verify(&token(&sim)).await.unwrap().sub.as_deref(),
        Some("alice")
    );
}

#[tokio::test]
async fn a_thousand_unknown_kids_cause_at_most_one_fetch_per_cooldown() {
    let sim = sim(Duration::from_secs(300)).await;
    let cache = JwksCache::builder()
        .jwks_uri(sim.jwks_uri("default"))
        .build()
        .await
        .unwrap();
    let v = verifier(cache, &sim);
    sim.reset_counters();
    let tokens: Vec<String> = (0..1000)
        .map(|i| {
            sim.mint_access_token(
                "default",
                AccessTokenSpec::for_user("alice").kid(format!("nope-{i}")),
            )
            .unwrap()
        })
        .collect();
    let results = futures::future::join_all(tokens.iter().map(|t| v.verify(t))).await;
    for r in &results {
        assert_eq!(
            r.as_ref().unwrap_err().to_string(),
            "unknown kid (no such signing key)"
        );
    }
    assert_eq!(sim.request_count(KEYS), 1);
    // A second wave inside the cooldown fetches nothing.
    for t in &tokens[..100] {
        assert!(matches!(v.verify(t).await, Err(Error::UnknownKid)));
    }
    assert_eq!(sim.request_count(KEYS), 1);
    // Known keys keep working meanwhile.
    assert!(v.verify(&token(&sim)).await.is_ok());
}

#[tokio::test]
async fn concurrent_misses_share_one_request() {
    let sim = sim(Duration::from_secs(300)).await;
    let cache = JwksCache::builder()
        .jwks_uri(sim.jwks_uri("default"))
        .build()
        .await
        .unwrap();
    let v = verifier(cache, &sim);
    sim.rotate_signing_key("default", KeyRotation::KeepOldFor(Duration::from_secs(60)))
        .unwrap();
    let fresh = token(&sim);
    sim.reset_counters();
    sim.set_latency(Duration::from_millis(200));
    let results = futures::future::join_all((0..20).map(|_| v.verify(&fresh))).await;
    assert!(
        results.iter().all(Result::is_ok),
        "{:?}",
        results.iter().find(|r| r.is_err())
    );
    assert_eq!(sim.request_count(KEYS), 1);
}

#[tokio::test]
async fn key_rotation_is_picked_up_without_restart() {
    let sim = sim(Duration::from_secs(300)).await;
    let cache = JwksCache::builder()
        .jwks_uri(sim.jwks_uri("default"))
        .unknown_kid_cooldown(Duration::ZERO)
        .build()
        .await
        .unwrap();
    let v = verifier(cache.clone(), &sim);
    let old = token(&sim);
    assert!(v.verify(&old).await.is_ok());

    let new_kid = sim
        .rotate_signing_key("default", KeyRotation::KeepOldFor(Duration::from_secs(60)))
        .unwrap();
    let new = token(&sim);
    assert!(v.verify(&new).await.is_ok(), "new kid fetched on miss");
    assert!(cache.kids().contains(&new_kid));
    assert!(
        v.verify(&old).await.is_ok(),
        "old key kept for its grace period"
    );

    // Emergency rotation: the old key disappears on the next fetch.
    sim.rotate_signing_key("default", KeyRotation::DropOld)
        .unwrap();
    let newest = token(&sim);
    assert!(v.verify(&newest).await.is_ok());
    assert!(!cache.kids().contains(&new_kid));
    assert!(matches!(v.verify(&new).await, Err(Error::UnknownKid)));
}

#[tokio::test]
async fn jwks_down_at_start_eager_is_an_error() {
    let sim = sim(Duration::from_secs(300)).await;
    sim.set_outage(true);
    let err = JwksCache::builder()
        .jwks_uri(sim.jwks_uri("default"))
        .build()
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "fetching signing keys from {} failed: HTTP status 503",
            sim.jwks_uri("default")
        )
    );
    let err = JwksCache::builder()
        .issuer(sim.issuer("default"))
        .build()
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Discovery { .. }), "{err}");
    assert!(err.to_string().contains("HTTP 503"), "{err}");
}

#[tokio::test]
async fn jwks_down_at_start_lazy_recovers() {
    let sim = sim(Duration::from_secs(300)).await;
    sim.set_outage(true);
    let cache = JwksCache::builder()
        .issuer(sim.issuer("default"))
        .startup(StartupMode::Lazy)
        .retry_interval(Duration::from_millis(100))
        .build()
        .await
        .unwrap();
    let v = verifier(cache, &sim);
    let t = token(&sim);
    let err = v.verify(&t).await.unwrap_err();
    assert!(matches!(err, Error::KeysUnavailable { .. }), "{err}");
    assert!(
        err.to_string()
            .starts_with("no signing keys available: keys never loaded"),
        "{err}"
    );
    sim.set_outage(false);
    assert!(
        eventually(async || v.verify(&t).await.is_ok()).await,
        "lazy cache recovered"
    );
}

#[tokio::test]
async fn jwks_down_later_stale_keys_work_for_a_bounded_time() {
    let sim = sim(Duration::from_secs(1)).await;
    let cache = JwksCache::builder()
        .jwks_uri(sim.jwks_uri("default"))
        .refresh_bounds(Duration::from_millis(100), Duration::from_secs(1))
        .stale_if_error(Duration::from_secs(3))
        .retry_interval(Duration::from_millis(100))
        .unknown_kid_cooldown(Duration::from_secs(30))
        .build()
        .await
        .unwrap();
    let v = verifier(cache, &sim);
    let t = token(&sim);
    assert!(v.verify(&t).await.is_ok());
    sim.set_outage(true);
    // Keys stay usable past their refresh time (max-age 1 s; background
    // refreshes now fail) while inside the stale window (3 s more)...
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(
        sim.request_count(KEYS) >= 2,
        "a refresh was attempted and failed"
    );
    assert!(v.verify(&t).await.is_ok());
    // ...and stop working once the bound has passed.
    assert!(
        eventually(async || matches!(v.verify(&t).await, Err(Error::KeysUnavailable { .. }))).await
    );
    let err = v.verify(&t).await.unwrap_err().to_string();
    assert!(
        err.contains("stale beyond the stale_if_error bound"),
        "{err}"
    );
    sim.set_outage(false);
    assert!(
        eventually(async || v.verify(&t).await.is_ok()).await,
        "recovered after outage"
    );
}

#[tokio::test]
async fn background_refresh_honours_max_age_and_stops_on_drop() {
    let sim = sim(Duration::from_secs(1)).await;
    let cache = JwksCache::builder()
        .jwks_uri(sim.jwks_uri("default"))
        .refresh_bounds(Duration::from_millis(100), Duration::from_secs(3600))
        .build()
        .await
        .unwrap();
    sim.reset_counters();
    assert!(
        eventually(async || sim.request_count(KEYS) >= 2).await,
        "refreshed in the background"
    );
    drop(cache);
    tokio::time::sleep(Duration::from_millis(100)).await;
    sim.reset_counters();
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(
        sim.request_count(KEYS),
        0,
        "refresh task stopped with the cache"
    );
}

#[tokio::test]
async fn builder_errors_are_clear() {
    let err = JwksCache::builder().build().await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid configuration: JwksCache needs .issuer(...) or .jwks_uri(...)"
    );
    let err = JwksCache::builder()
        .jwks_uri("http://example.com/keys")
        .build()
        .await
        .unwrap_err();
    assert!(err.to_string().contains("only https"), "{err}");
}
