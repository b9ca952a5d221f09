//! The refresh grant: rotation, reuse detection that revokes the family, the concurrent
//! race, the grace window for re-presenting a just-rotated token, scope narrowing, and
//! client binding.

use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{Account, TestApp, error_code, oauth_error};

/// A server without the grace window: every reuse of a rotated refresh token is a replay
/// (the behaviour before the window, and with `HARMONY_REFRESH_REUSE_GRACE=0`).
async fn strict() -> TestApp {
    TestApp::spawn_with(|c| c.oauth.refresh_reuse_grace = 0).await
}

fn field(body: &Value, key: &str) -> String {
    body[key]
        .as_str()
        .unwrap_or_else(|| panic!("{key} in {body}"))
        .to_owned()
}

#[tokio::test]
async fn a_refresh_rotates_and_the_used_refresh_token_stops_working() {
    let app = TestApp::spawn().await;
    let alice = app.account("alice").await;
    let first = app.token_json(&alice).await;
    let response = app.refresh(&alice, &field(&first, "refresh_token")).await;
    assert_eq!(response.status(), StatusCode::OK);
    let second: Value = response.json().await.unwrap();
    assert_ne!(second["refresh_token"], first["refresh_token"]);
    assert_eq!(second["scope"], Value::Null);
    assert_eq!(
        app.get_user(&field(&second, "access_token")).await.status(),
        StatusCode::OK
    );
    // The new refresh token works once more.
    let third = app.refresh(&alice, &field(&second, "refresh_token")).await;
    assert_eq!(third.status(), StatusCode::OK);
}

#[tokio::test]
async fn without_a_grace_window_reusing_a_rotated_refresh_token_revokes_the_grant() {
    let app = strict().await;
    let alice = app.account("alice").await;
    let first = app.token_json(&alice).await;
    let second: Value = app
        .refresh(&alice, &field(&first, "refresh_token"))
        .await
        .json()
        .await
        .unwrap();
    let other_grant = app.access_token(&alice).await;

    let replay = app.refresh(&alice, &field(&first, "refresh_token")).await;
    assert_eq!(replay.status(), StatusCode::BAD_REQUEST);
    assert_eq!(oauth_error(replay).await, "invalid_grant");

    for token in [
        field(&first, "access_token"),
        field(&second, "access_token"),
    ] {
        assert_eq!(
            app.get_user(&token).await.status(),
            StatusCode::UNAUTHORIZED
        );
    }
    let refresh = app.refresh(&alice, &field(&second, "refresh_token")).await;
    assert_eq!(oauth_error(refresh).await, "invalid_grant");
    // Another grant of the same account is untouched.
    assert_eq!(app.get_user(&other_grant).await.status(), StatusCode::OK);
}

/// `n` refreshes with one refresh token at once: their statuses and bodies.
async fn refresh_at_once(
    app: &TestApp,
    alice: &Account,
    refresh_token: &str,
    n: usize,
) -> Vec<(StatusCode, String)> {
    let attempts = (0..n).map(|_| {
        let (http, url) = (app.http.clone(), app.url("/oauth/v2/token"));
        let form = vec![
            ("grant_type", "refresh_token".to_owned()),
            ("refresh_token", refresh_token.to_owned()),
            ("client_id", alice.client_id.clone()),
            ("client_secret", alice.client_secret.clone()),
        ];
        tokio::spawn(async move {
            let response = http.post(url).form(&form).send().await.unwrap();
            (response.status(), response.text().await.unwrap())
        })
    });
    let mut answers = Vec::new();
    for attempt in attempts {
        answers.push(attempt.await.unwrap());
    }
    answers
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn without_a_grace_window_concurrent_uses_of_one_refresh_token_have_exactly_one_winner() {
    let app = strict().await;
    let alice = app.account("alice").await;
    let first = app.token_json(&alice).await;
    let answers = refresh_at_once(&app, &alice, &field(&first, "refresh_token"), 10).await;
    let statuses: Vec<StatusCode> = answers.iter().map(|(s, _)| *s).collect();
    let wins = statuses.iter().filter(|s| **s == StatusCode::OK).count();
    assert_eq!(wins, 1, "{statuses:?}");
    for (status, body) in &answers {
        if *status != StatusCode::OK {
            assert_eq!(*status, StatusCode::BAD_REQUEST, "{body}");
            let error: Value = serde_json::from_str(body).unwrap();
            assert_eq!(error["error"], "invalid_grant", "{body}");
        }
    }
    // The losers count as replays: the winner's new tokens are revoked with the family.
    let (_, body) = answers.iter().find(|(s, _)| *s == StatusCode::OK).unwrap();
    let winner: Value = serde_json::from_str(body).unwrap();
    assert_eq!(
        app.get_user(&field(&winner, "access_token")).await.status(),
        StatusCode::UNAUTHORIZED
    );
    let again = app.refresh(&alice, &field(&winner, "refresh_token")).await;
    assert_eq!(oauth_error(again).await, "invalid_grant");
}

#[tokio::test]
async fn a_refresh_may_narrow_the_scope_but_never_widen_it() {
    let app = TestApp::spawn().await;
    let alice = app.account("alice").await;
    let first = app.token_json(&alice).await;
    let narrow = app
        .post_token(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", &field(&first, "refresh_token")),
            ("scope", "read"),
            ("client_id", &alice.client_id),
            ("client_secret", &alice.client_secret),
        ])
        .await;
    assert_eq!(narrow.status(), StatusCode::OK);
    let narrow: Value = narrow.json().await.unwrap();
    assert_eq!(narrow["scope"], "read");
    let response = app
        .http
        .patch(app.url("/user"))
        .bearer_auth(field(&narrow, "access_token"))
        .json(&serde_json::json!({"name": "A"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(error_code(response).await, "insufficient_scope");

    // The rotated refresh token keeps the original grant's scope (RFC 6749 §6)…
    let again: Value = app
        .refresh(&alice, &field(&narrow, "refresh_token"))
        .await
        .json()
        .await
        .unwrap();
    let status: Value = app
        .get(&format!(
            "/token/status?token={}",
            field(&again, "access_token")
        ))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(status["scope"], "read write");
    // …and cannot be widened beyond it.
    let wide = app
        .post_token(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", &field(&again, "refresh_token")),
            ("scope", "read write admin"),
            ("client_id", &alice.client_id),
            ("client_secret", &alice.client_secret),
        ])
        .await;
    assert_eq!(oauth_error(wide).await, "invalid_scope");
}

#[tokio::test]
async fn a_refresh_token_works_only_for_the_client_it_was_issued_to() {
    let app = TestApp::spawn().await;
    let alice = app.account("alice").await;
    let bob = app.account("bob").await;
    let first = app.token_json(&alice).await;
    let response = app.refresh(&bob, &field(&first, "refresh_token")).await;
    assert_eq!(oauth_error(response).await, "invalid_grant");
    // The failed attempt by another client did not burn it.
    assert_eq!(
        app.refresh(&alice, &field(&first, "refresh_token"))
            .await
            .status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn unknown_refresh_tokens_are_invalid_grant() {
    let app = TestApp::spawn().await;
    let alice = app.account("alice").await;
    let response = app.refresh(&alice, "hrt_unknown").await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(oauth_error(response).await, "invalid_grant");
}

#[tokio::test]
async fn tokens_issued_before_order_bytes_keep_working_and_rotate_into_ordered_ones() {
    use harmony::domain::{GrantType, PlainSecret, Scope, ScopeSet};
    use harmony::store::{NewRefreshToken, NewTokens};

    let app = strict().await;
    let alice = app.account("alice").await;
    // Tokens of the earlier form: 32 random bytes, stored under their plain SHA-256.
    let (access, refresh) = (
        PlainSecret::generate("hat_", 32),
        PlainSecret::generate("hrt_", 32),
    );
    assert_eq!(access.digest().as_bytes().len(), 32);
    let now = harmony::store::now();
    let scope = ScopeSet::of(&[Scope::Read]);
    app.state
        .services
        .store()
        .insert_tokens(&NewTokens {
            access_id: uuid::Uuid::now_v7(),
            access_digest: access.digest(),
            family_id: uuid::Uuid::now_v7(),
            client_id: alice.client_id.clone(),
            user_id: Some(alice.user.id),
            grant_type: GrantType::Password,
            scope,
            created_at: now,
            expires_at: now + 3600,
            refresh: Some(NewRefreshToken {
                id: uuid::Uuid::now_v7(),
                digest: refresh.digest(),
                scope,
                expires_at: now + 86_400,
                began_with: Some(GrantType::Password),
                jkt: None,
            }),
            jkt: None,
        })
        .await
        .unwrap();

    assert_eq!(app.get_user(access.expose()).await.status(), StatusCode::OK);
    let response = app.refresh(&alice, refresh.expose()).await;
    assert_eq!(response.status(), StatusCode::OK);
    let rotated: Value = response.json().await.unwrap();
    // The new pair is of the ordered form (40 bytes after the prefix) and works.
    for (key, prefix) in [("access_token", "hat_"), ("refresh_token", "hrt_")] {
        let token = field(&rotated, key);
        assert_eq!(
            token.strip_prefix(prefix).map(str::len),
            Some(54),
            "{token}"
        );
        assert_eq!(PlainSecret::new(token).digest().as_bytes().len(), 40);
    }
    let new_access = field(&rotated, "access_token");
    assert_eq!(app.get_user(&new_access).await.status(), StatusCode::OK);
    // The old refresh token is spent, as any other.
    let replay = app.refresh(&alice, refresh.expose()).await;
    assert_eq!(replay.status(), StatusCode::BAD_REQUEST);
    assert_eq!(oauth_error(replay).await, "invalid_grant");
    assert_eq!(
        app.get_user(&new_access).await.status(),
        StatusCode::UNAUTHORIZED,
        "a replay revokes the family"
    );
}

/// The access token and refresh token of a token answer.
fn pair(body: &Value) -> (String, String) {
    (field(body, "access_token"), field(body, "refresh_token"))
}

#[tokio::test]
async fn within_the_grace_window_the_same_client_gets_a_new_pair_of_the_same_grant_a_few_times() {
    let app = TestApp::spawn().await; // the default window: 10 s
    let alice = app.account("alice").await;
    let other_grant = app.access_token(&alice).await;
    let first = app.token_json(&alice).await;
    let (_, old_refresh) = pair(&first);
    let rotated: Value = app
        .refresh(&alice, &old_refresh)
        .await
        .json()
        .await
        .unwrap();

    // A retry whose answer was lost, or a second tab: the rotated token works again, three
    // times, each time with a new pair; every pair of the grant keeps working.
    let mut pairs = vec![pair(&rotated)];
    for _ in 0..3 {
        let again = app.refresh(&alice, &old_refresh).await;
        assert_eq!(again.status(), StatusCode::OK);
        let again: Value = again.json().await.unwrap();
        assert_eq!(again["token_type"], "bearer");
        assert_eq!(again["scope"], Value::Null);
        pairs.push(pair(&again));
    }
    let distinct: std::collections::HashSet<_> = pairs.iter().collect();
    assert_eq!(distinct.len(), pairs.len(), "every answer is a new pair");
    for (access, _) in &pairs {
        assert_eq!(app.get_user(access).await.status(), StatusCode::OK);
    }
    // Each new refresh token rotates on its own.
    let next = app.refresh(&alice, &pairs[2].1).await;
    assert_eq!(next.status(), StatusCode::OK);
    let next: Value = next.json().await.unwrap();

    // A fourth reuse is past the cap: a replay, which revokes the whole grant.
    let replay = app.refresh(&alice, &old_refresh).await;
    assert_eq!(oauth_error(replay).await, "invalid_grant");
    for (access, _) in pairs.iter().chain([&pair(&next)]) {
        assert_eq!(
            app.get_user(access).await.status(),
            StatusCode::UNAUTHORIZED
        );
    }
    let refresh = app.refresh(&alice, &pairs[1].1).await;
    assert_eq!(oauth_error(refresh).await, "invalid_grant");
    assert_eq!(app.get_user(&other_grant).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn after_the_grace_window_a_reuse_revokes_the_grant() {
    let app = TestApp::spawn().await;
    let alice = app.account("alice").await;
    let first = app.token_json(&alice).await;
    let (_, old_refresh) = pair(&first);
    let rotated: Value = app
        .refresh(&alice, &old_refresh)
        .await
        .json()
        .await
        .unwrap();
    // The rotation happened a minute ago (the window is 10 s).
    let moved = app
        .execute("UPDATE refresh_tokens SET used_at = used_at - 60 WHERE used_at IS NOT NULL")
        .await;
    assert_eq!(moved, 1);

    let replay = app.refresh(&alice, &old_refresh).await;
    assert_eq!(oauth_error(replay).await, "invalid_grant");
    assert_eq!(
        app.get_user(&field(&rotated, "access_token"))
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );
    let refresh = app.refresh(&alice, &field(&rotated, "refresh_token")).await;
    assert_eq!(oauth_error(refresh).await, "invalid_grant");
}

#[tokio::test]
async fn within_the_grace_window_another_client_gets_nothing_and_burns_nothing() {
    let app = TestApp::spawn().await;
    let alice = app.account("alice").await;
    let mallory = app.account("mallory").await;
    let first = app.token_json(&alice).await;
    let (_, old_refresh) = pair(&first);
    let rotated: Value = app
        .refresh(&alice, &old_refresh)
        .await
        .json()
        .await
        .unwrap();

    let stolen = app.refresh(&mallory, &old_refresh).await;
    assert_eq!(oauth_error(stolen).await, "invalid_grant");
    assert_eq!(
        app.get_user(&field(&rotated, "access_token"))
            .await
            .status(),
        StatusCode::OK
    );
    // Nor did it use up one of the client's own re-presentations.
    for _ in 0..3 {
        assert_eq!(
            app.refresh(&alice, &old_refresh).await.status(),
            StatusCode::OK
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn within_the_grace_window_concurrent_uses_all_win_up_to_the_cap() {
    let app = TestApp::spawn().await;
    let alice = app.account("alice").await;

    // Two tabs and a retry at once: all three get a pair, and the grant lives on.
    let first = app.token_json(&alice).await;
    let answers = refresh_at_once(&app, &alice, &field(&first, "refresh_token"), 3).await;
    for (status, body) in &answers {
        assert_eq!(*status, StatusCode::OK, "{body}");
        let winner: Value = serde_json::from_str(body).unwrap();
        assert_eq!(
            app.get_user(&field(&winner, "access_token")).await.status(),
            StatusCode::OK
        );
    }

    // Ten at once: one rotation and three re-presentations win; the rest are replays
    // that revoke the grant, winners included.
    let first = app.token_json(&alice).await;
    let answers = refresh_at_once(&app, &alice, &field(&first, "refresh_token"), 10).await;
    let wins: Vec<Value> = answers
        .iter()
        .filter(|(s, _)| *s == StatusCode::OK)
        .map(|(_, body)| serde_json::from_str(body).unwrap())
        .collect();
    assert_eq!(wins.len(), 4, "{answers:?}");
    for (status, body) in &answers {
        if *status != StatusCode::OK {
            assert_eq!(*status, StatusCode::BAD_REQUEST, "{body}");
            let error: Value = serde_json::from_str(body).unwrap();
            assert_eq!(error["error"], "invalid_grant", "{body}");
        }
    }
    for winner in &wins {
        assert_eq!(
            app.get_user(&field(winner, "access_token")).await.status(),
            StatusCode::UNAUTHORIZED
        );
    }
}

/// Two grants as the schema before refresh tokens recorded their family's first grant
/// held them: one begun by an authorization code (already refreshed once), one by the
/// password grant. Answers the client's secret and the two refresh tokens.
async fn seed_before_began_with(url: String) -> (String, String, String) {
    use harmony::domain::PlainSecret;
    let (user, family_code, family_password) = (
        uuid::Uuid::new_v4().to_string(),
        uuid::Uuid::new_v4().to_string(),
        uuid::Uuid::new_v4().to_string(),
    );
    let secret = PlainSecret::generate("hcs_", 32);
    let (code_refresh, password_refresh) = (
        PlainSecret::generate_token("hrt_"),
        PlainSecret::generate_token("hrt_"),
    );
    let now = harmony::store::now();
    macro_rules! seed {
        ($pool:expr, $dir:literal) => {{
            let pool = $pool;
            let migrator = sqlx::migrate::Migrator::new(std::path::Path::new($dir))
                .await
                .unwrap();
            migrator.run_to(6, &pool).await.unwrap();
            sqlx::query(
                "INSERT INTO users (id, username, email, password_hash, created_at, \
                 updated_at) VALUES ($1, 'old', 'old@example.com', 'x', 1, 1)",
            )
            .bind(&user)
            .execute(&pool)
            .await
            .unwrap();
            sqlx::query(
                "INSERT INTO clients (id, owner_id, name, secret_digest, redirect_uris, \
                 grant_types, scopes, created_at, updated_at) VALUES ('old-client', $1, \
                 'Old', $2, '[\"https://app.example/cb\"]', \
                 'authorization_code password refresh_token', 'read write', 1, 1)",
            )
            .bind(&user)
            .bind(secret.digest().as_bytes().to_vec())
            .execute(&pool)
            .await
            .unwrap();
            // The code grant's first access token, then the one its first refresh issued.
            let tokens = [
                (&family_code, "authorization_code", now - 100),
                (&family_code, "refresh_token", now - 50),
                (&family_password, "password", now - 100),
            ];
            for (family, grant, at) in tokens {
                sqlx::query(
                    "INSERT INTO access_tokens (id, digest, family_id, client_id, user_id, \
                     grant_type, scope, created_at, expires_at) \
                     VALUES ($1, $2, $3, 'old-client', $4, $5, 'read write', $6, $7)",
                )
                .bind(uuid::Uuid::now_v7().to_string())
                .bind(
                    PlainSecret::generate_token("hat_")
                        .digest()
                        .as_bytes()
                        .to_vec(),
                )
                .bind(family)
                .bind(&user)
                .bind(grant)
                .bind(at)
                .bind(at + 3600)
                .execute(&pool)
                .await
                .unwrap();
            }
            for (family, refresh) in [
                (&family_code, &code_refresh),
                (&family_password, &password_refresh),
            ] {
                sqlx::query(
                    "INSERT INTO refresh_tokens (id, digest, family_id, access_token_id, \
                     client_id, user_id, scope, created_at, expires_at) \
                     VALUES ($1, $2, $3, 'unused', 'old-client', $4, 'read write', $5, $6)",
                )
                .bind(uuid::Uuid::now_v7().to_string())
                .bind(refresh.digest().as_bytes().to_vec())
                .bind(family)
                .bind(&user)
                .bind(now - 50)
                .bind(now + 86_400)
                .execute(&pool)
                .await
                .unwrap();
            }
            pool.close().await;
        }};
    }
    if url.starts_with("sqlite:") {
        let options: sqlx::sqlite::SqliteConnectOptions = url.parse().unwrap();
        let pool = sqlx::SqlitePool::connect_with(options.create_if_missing(true))
            .await
            .unwrap();
        seed!(pool, "migrations/sqlite");
    } else {
        let pool = sqlx::PgPool::connect(&url).await.unwrap();
        seed!(pool, "migrations/postgres");
    }
    (
        secret.expose().to_owned(),
        code_refresh.expose().to_owned(),
        password_refresh.expose().to_owned(),
    )
}

#[tokio::test]
async fn refresh_tokens_issued_before_the_upgrade_learn_which_grant_began_their_family() {
    let seeded = std::sync::Arc::new(std::sync::Mutex::new(None));
    let app = TestApp::spawn_over({
        let seeded = seeded.clone();
        |url| async move {
            let values = seed_before_began_with(url).await;
            *seeded.lock().unwrap() = Some(values);
        }
    })
    .await;
    let (secret, code_refresh, password_refresh) = seeded.lock().unwrap().take().unwrap();
    let refresh = |token: String| {
        let form = [
            ("grant_type", "refresh_token".to_owned()),
            ("refresh_token", token),
            ("client_id", "old-client".to_owned()),
            ("client_secret", secret.clone()),
        ];
        let request = app.http.post(app.url("/oauth/v2/token")).form(&form);
        async move {
            let response = request.send().await.unwrap();
            assert_eq!(response.status(), StatusCode::OK);
            response.json::<Value>().await.unwrap()
        }
    };
    // Begun by a code: the scope as a string, now and after the next rotation.
    let first = refresh(code_refresh).await;
    assert_eq!(first["scope"], "read write");
    let second = refresh(field(&first, "refresh_token")).await;
    assert_eq!(second["scope"], "read write");
    // Begun by the password grant: the documented null.
    let password = refresh(password_refresh).await;
    assert_eq!(password["scope"], Value::Null);
}
