//! The account, tokens and secrets of `auth`, over an in-memory store.

use super::*;

/// Settings with the lowest bcrypt cost the tests use, so hashing stays fast.
fn fast() -> AuthSettings {
    AuthSettings {
        bcrypt_cost: 10,
        ..Default::default()
    }
}

/// An empty in-memory meta store.
fn memory() -> Arc<dyn MetaStore> {
    Arc::new(kxy_id::MemoryMetaStore::new())
}

async fn auth_with(meta: Arc<dyn MetaStore>, settings: AuthSettings) -> Auth {
    Auth::new(meta, settings).await.unwrap()
}

/// `Authorization: Bearer {token}`.
fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

#[test]
fn des_round_trips_like_the_old_service() {
    let hex = des_encrypt_hex("admin123", "f87e43f9");
    assert_eq!(hex.len() % 16, 0);
    assert_eq!(
        des_decrypt_hex(&hex, "f87e43f9").as_deref(),
        Some("admin123")
    );
    assert_eq!(des_decrypt_hex(&hex, "00000000"), None);
    assert_eq!(des_decrypt_hex("zz", "f87e43f9"), None);
}

#[tokio::test]
async fn tokens_verify_and_bad_headers_say_why() {
    let meta = memory();
    let auth = auth_with(meta.clone(), fast()).await;
    let token = auth.issue("admin").unwrap();
    assert_eq!(auth.verify_header(Some(&bearer(&token))).unwrap(), "admin");
    let detail = |h: Option<&str>| match auth.verify_header(h) {
        Err(ApiError::Unauthorized(d)) => d,
        other => panic!("{other:?}"),
    };
    assert_eq!(detail(None), "Authorization header missing");
    assert_eq!(
        detail(Some(&format!("Basic {token}"))),
        "Invalid authentication scheme"
    );
    assert_eq!(
        detail(Some("Bearer")),
        "Invalid authorization header format"
    );
    assert_eq!(detail(Some("Bearer not.a.jwt")), "Invalid or expired token");
    // Another server over the same store shares the generated secret.
    let other = auth_with(meta, fast()).await;
    assert_eq!(other.verify_header(Some(&bearer(&token))).unwrap(), "admin");
    // A different secret rejects it.
    let stranger = auth_with(
        memory(),
        AuthSettings {
            jwt_secret: Some("another-secret-of-at-least-32-bytes!".into()),
            ..fast()
        },
    )
    .await;
    assert!(stranger.verify_header(Some(&bearer(&token))).is_err());
}

#[tokio::test]
async fn repeated_failures_refuse_logins_even_with_the_right_password() {
    let auth = auth_with(memory(), fast()).await;
    auth.init_user("admin", "secret123").await.unwrap();
    let ip = Some(IpAddr::from([192, 0, 2, 7]));
    for _ in 0..5 {
        let e = auth.login("admin", "wrong-pw", ip).await.unwrap_err();
        assert!(matches!(e, ApiError::Handled { .. }), "{e:?}");
    }
    let e = auth.login("admin", "secret123", ip).await.unwrap_err();
    assert!(matches!(e, ApiError::TooManyRequests { .. }), "{e:?}");
    let e = auth.login("admin", "secret123", None).await.unwrap_err();
    assert!(
        matches!(e, ApiError::TooManyRequests { .. }),
        "per user name too: {e:?}"
    );
}

#[tokio::test]
async fn published_default_and_short_jwt_secrets_are_refused() {
    for secret in ["your-secret-key-change-in-production", "short"] {
        let settings = AuthSettings {
            jwt_secret: Some(secret.into()),
            ..fast()
        };
        let e = Auth::new(memory(), settings).await.unwrap_err().to_string();
        assert!(e.contains("openssl rand -base64 48"), "{e}");
        assert!(!e.contains(secret), "the secret is not repeated: {e}");
    }
    let debug = format!(
        "{:?}",
        AuthSettings {
            jwt_secret: Some("a-long-enough-secret-for-signing-tokens".into()),
            ..fast()
        }
    );
    assert!(
        !debug.contains("a-long-enough") && !debug.contains("f87e43f9"),
        "{debug}"
    );
}

#[tokio::test]
async fn expired_tokens_are_refused() {
    let auth = auth_with(
        memory(),
        AuthSettings {
            jwt_expiry: Duration::ZERO,
            ..fast()
        },
    )
    .await;
    let token = auth.issue("admin").unwrap();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert!(auth.verify_header(Some(&bearer(&token))).is_err());
}
