//! The store on its own, on the engine the suite runs on (a SQLite file, or PostgreSQL with
//! `HARMONY_TEST_DATABASE=postgres`): properties that answers over HTTP do not show.

use std::future::Future;
use std::sync::Arc;

use harmony::config::ServeConfig;
use harmony::domain::client::{ClientName, RedirectUri};
use harmony::domain::jose::SigningAlg;
use harmony::domain::package::PackageType;
use harmony::domain::project::ProjectName;
use harmony::domain::user::{DisplayName, Email, Username};
use harmony::domain::{GrantType, PlainSecret, ScopeSet, TokenDigest};
use harmony::store::attempts::Counter;
use harmony::store::oauth::{AccountChanges, ClientChanges, NewAuthorizationCode};
use harmony::store::packages::{NewVersion, PackageVersion, PublishOutcome};
use harmony::store::projects::NewProject;
use harmony::store::{
    self, ExchangeOutcome, NewClient, NewRefreshToken, NewTokens, NewUser, Page, RefreshDecider,
    RefreshDecision, Store, StoreResult, UserChanges,
};
use uuid::Uuid;

use crate::helpers::{Account, TestApp};

/// A store of its own on the app's database (which the app has migrated), so that its
/// generation moves only with what the test does.
async fn store_of(app: &TestApp) -> Arc<dyn Store> {
    let config = ServeConfig::for_database(&app.database_url).database;
    store::connect(&config).await.expect("connect")
}

/// Runs `write` and tells whether the store's generation moved meanwhile (the future does
/// nothing until awaited, so the generation is read before it starts).
async fn moves<T>(store: &dyn Store, write: impl Future<Output = StoreResult<T>>) -> bool {
    let before = store.generation();
    write.await.expect("the write succeeds");
    store.generation() != before
}

fn new_tokens(account: &Account, refresh: Option<TokenDigest>) -> NewTokens {
    let scope = ScopeSet::parse("read").unwrap();
    NewTokens {
        access_id: Uuid::now_v7(),
        access_digest: PlainSecret::generate_token("hat_").digest(),
        family_id: Uuid::now_v7(),
        client_id: account.client_id.clone(),
        user_id: Some(account.user.id),
        grant_type: GrantType::Password,
        scope,
        created_at: store::now(),
        expires_at: store::now() + 3600,
        refresh: refresh.map(|digest| NewRefreshToken {
            id: Uuid::now_v7(),
            digest,
            scope,
            expires_at: store::now() + 3600,
            began_with: Some(GrantType::Password),
            jkt: None,
        }),
        jkt: None,
    }
}

/// Rotates an unused refresh token into fresh tokens of `account`, revokes on reuse.
fn rotate_once(account: &Account) -> RefreshDecider {
    let account = account.clone();
    Arc::new(move |stored| match stored {
        Some(t) if t.used_at.is_some() => RefreshDecision::RevokeFamily,
        Some(_) => RefreshDecision::Rotate(Box::new(new_tokens(&account, None))),
        None => RefreshDecision::Refuse,
    })
}

#[tokio::test]
async fn sessions_consents_and_other_writes_no_cached_lookup_depends_on_keep_the_generation() {
    let app = TestApp::spawn().await;
    let alice = app.account("alice").await;
    let store = store_of(&app).await;
    let s = store.as_ref();
    let user = alice.user.id;
    let client = alice.client_id.as_str();
    let now = store::now();

    // The authorization endpoint's writes: a browser session, consent, a code.
    let session = PlainSecret::generate_token("hss_").digest();
    assert!(!moves(s, s.create_session(&session, user, now, now + 60)).await);
    assert!(!moves(s, s.session_user(&session, now)).await);
    let read = ScopeSet::parse("read").unwrap();
    assert!(!moves(s, s.save_consent(user, client, read, now)).await);
    assert!(!moves(s, s.consent(user, client)).await);
    let code = PlainSecret::generate_token("hac_").digest();
    let new_code = NewAuthorizationCode {
        digest: code,
        family_id: Uuid::now_v7(),
        client_id: client.to_owned(),
        user_id: user,
        redirect_uri: RedirectUri::parse("https://example.com/cb").unwrap(),
        scope: read,
        scope_named: false,
        code_challenge: "x".repeat(43),
        nonce: Some("n-0S6_WzA2Mj".into()),
        auth_time: Some(now - 5),
        created_at: now,
        expires_at: now + 60,
    };
    assert!(!moves(s, s.insert_code(&new_code)).await);
    let stored = s.authorization_code(&code).await.unwrap().unwrap();
    assert_eq!(
        (stored.nonce.as_deref(), stored.auth_time),
        (Some("n-0S6_WzA2Mj"), Some(now - 5))
    );
    let redeemed = new_tokens(&alice, None);
    assert!(!moves(s, s.redeem_code(&code, now, &redeemed)).await);
    assert!(!moves(s, s.delete_consents(user, Some(client))).await);
    assert!(!moves(s, s.delete_session(&session)).await);

    // Issuing, using and rotating tokens, and reading what the cache reads.
    let refresh = PlainSecret::generate_token("hrt_").digest();
    let tokens = new_tokens(&alice, Some(refresh));
    assert!(!moves(s, s.insert_tokens(&tokens)).await);
    assert!(!moves(s, s.access_token(&tokens.access_digest)).await);
    assert!(!moves(s, s.client_with_owner(client)).await);
    assert!(!moves(s, s.touch_access_token(tokens.access_id, now)).await);
    let exchange = s.exchange_refresh_token(&refresh, now, rotate_once(&alice));
    let before = s.generation();
    assert_eq!(exchange.await.unwrap().outcome, ExchangeOutcome::Rotated);
    assert_eq!(s.generation(), before, "a rotation");

    // New accounts, projects, counters, housekeeping.
    let bob = NewUser {
        username: Username::parse("bob").unwrap(),
        email: Email::parse("bob@example.com").unwrap(),
        name: None,
        password_hash: "x".into(),
        is_admin: false,
    };
    assert!(!moves(s, s.create_user(&bob)).await);
    let project = NewProject {
        owner_id: user,
        name: ProjectName::parse("Site").unwrap(),
        slug: "site".into(),
        description: None,
        url: None,
        databases: vec![],
    };
    assert!(!moves(s, s.create_project(&project)).await);
    let key = [7u8; 32];
    let counter = Counter {
        key: &key,
        limit: 5,
    };
    assert!(!moves(s, s.reserve_attempts(&[counter], 60, now)).await);
    assert!(!moves(s, s.record_delivery("delivery-1", now)).await);
    assert!(!moves(s, s.purge_tokens(now - 3600)).await);
    assert!(!moves(s, s.purge_oauth(now - 3600)).await);
}

#[tokio::test]
async fn revocations_and_account_and_client_changes_move_the_generation() {
    let app = TestApp::spawn().await;
    let alice = app.account("alice").await;
    let carol = app.account("carol").await;
    let store = store_of(&app).await;
    let s = store.as_ref();
    let user = alice.user.id;
    let client = alice.client_id.as_str();
    let now = store::now();

    // Revocations: of a user's tokens, of a family, of a family by a replayed refresh.
    let tokens = new_tokens(&alice, None);
    s.insert_tokens(&tokens).await.unwrap();
    assert!(moves(s, s.revoke_user_tokens(user, now)).await);
    assert!(moves(s, s.revoke_family(tokens.family_id, now)).await);
    let refresh = PlainSecret::generate_token("hrt_").digest();
    s.insert_tokens(&new_tokens(&alice, Some(refresh)))
        .await
        .unwrap();
    let first = s.exchange_refresh_token(&refresh, now, rotate_once(&alice));
    assert_eq!(first.await.unwrap().outcome, ExchangeOutcome::Rotated);
    let replay = s.exchange_refresh_token(&refresh, now, rotate_once(&alice));
    let before = s.generation();
    assert_eq!(
        replay.await.unwrap().outcome,
        ExchangeOutcome::FamilyRevoked
    );
    assert_ne!(s.generation(), before, "a replay revokes the family");

    // What a cached token says about its user, and a cached client about itself.
    let rename = UserChanges {
        name: Some(Some(DisplayName::parse("Alice").unwrap())),
        email: None,
    };
    assert!(moves(s, s.update_user(user, &rename)).await);
    let disable = AccountChanges {
        disabled: Some(true),
        ..AccountChanges::default()
    };
    assert!(moves(s, s.change_account(user, &disable)).await);
    let narrow = ClientChanges {
        scopes: Some(ScopeSet::parse("read").unwrap()),
        ..ClientChanges::default()
    };
    assert!(moves(s, s.update_client(client, &narrow)).await);
    let secret = PlainSecret::generate_token("hcs_").digest();
    assert!(moves(s, s.set_client_secret(client, &secret, None)).await);
    let registered = NewClient {
        id: "fresh-client".into(),
        owner_id: user,
        name: ClientName::parse("fresh").unwrap(),
        secret_digest: None,
        redirect_uris: vec![],
        grant_types: vec![GrantType::Password],
        scopes: ScopeSet::parse("read").unwrap(),
        trusted: false,
        id_token_alg: SigningAlg::Es256,
        post_logout_redirect_uris: vec![],
        require_par: false,
        org: None,
    };
    assert!(moves(s, s.create_client(&registered)).await);
    assert!(moves(s, s.delete_client("fresh-client")).await);
    assert!(moves(s, s.delete_client(&carol.client_id)).await);
    assert!(moves(s, s.delete_user(carol.user.id)).await);

    // Reading never moves it.
    let before = s.generation();
    s.list_user_tokens(
        user,
        Page {
            number: 1,
            size: 10,
        },
    )
    .await
    .unwrap();
    s.user_by_id(user).await.unwrap();
    assert_eq!(s.generation(), before);
}

/// Counting the statements sqlx runs for a piece of work: sqlx reports each one as a
/// `sqlx::query` event, in the span of the code that asked for it (on the SQLite
/// connection's own thread too, which enters that span). A global subscriber counts those
/// events inside spans named [`SPAN`], per span, so that tests running at the same time do
/// not count each other's statements.
mod statements {
    use std::collections::HashMap;
    use std::future::Future;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::{Mutex, OnceLock};

    use tracing::field::{Field, Visit};
    use tracing::subscriber::Interest;
    use tracing::{Event, Instrument, Metadata, Subscriber, span};
    use tracing_subscriber::Registry;
    use tracing_subscriber::layer::{Context, Layer, SubscriberExt};
    use tracing_subscriber::registry::LookupSpan;

    const SPAN: &str = "counted_statements";
    const TARGET: &str = "sqlx::query";

    static COUNTS: Mutex<Option<HashMap<u64, usize>>> = Mutex::new(None);
    static NEXT: AtomicU64 = AtomicU64::new(1);
    static INSTALLED: OnceLock<bool> = OnceLock::new();

    /// The key of a counted span, kept in its extensions.
    struct Key(u64);

    struct KeyVisitor(Option<u64>);

    impl Visit for KeyVisitor {
        fn record_u64(&mut self, field: &Field, value: u64) {
            if field.name() == "key" {
                self.0 = Some(value);
            }
        }

        fn record_debug(&mut self, _: &Field, _: &dyn std::fmt::Debug) {}
    }

    struct Counter;

    impl<S: Subscriber + for<'a> LookupSpan<'a>> Layer<S> for Counter {
        fn register_callsite(&self, meta: &'static Metadata<'static>) -> Interest {
            if meta.name() == SPAN || meta.target() == TARGET {
                Interest::sometimes()
            } else {
                Interest::never()
            }
        }

        fn enabled(&self, meta: &Metadata<'_>, ctx: Context<'_, S>) -> bool {
            // sqlx builds its event only when it is enabled: only inside a counted span.
            meta.name() == SPAN
                || (meta.target() == TARGET
                    && ctx
                        .lookup_current()
                        .is_some_and(|s| s.scope().any(|s| s.name() == SPAN)))
        }

        fn on_new_span(&self, attrs: &span::Attributes<'_>, id: &span::Id, ctx: Context<'_, S>) {
            let mut key = KeyVisitor(None);
            attrs.record(&mut key);
            if let (Some(key), Some(span)) = (key.0, ctx.span(id)) {
                span.extensions_mut().insert(Key(key));
            }
        }

        fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
            let Some(scope) = ctx.event_scope(event) else {
                return;
            };
            for span in scope {
                if let Some(Key(key)) = span.extensions().get::<Key>() {
                    let mut counts = COUNTS.lock().unwrap();
                    *counts
                        .get_or_insert_with(HashMap::new)
                        .entry(*key)
                        .or_default() += 1;
                    return;
                }
            }
        }
    }

    /// Awaits `work` and counts the statements it ran.
    pub async fn counted<F: Future>(work: F) -> (F::Output, usize) {
        let installed = *INSTALLED.get_or_init(|| {
            tracing::subscriber::set_global_default(Registry::default().with(Counter)).is_ok()
        });
        assert!(
            installed,
            "another global tracing subscriber was installed first"
        );
        let key = NEXT.fetch_add(1, Ordering::Relaxed);
        let output = work
            .instrument(tracing::info_span!("counted_statements", key))
            .await;
        let count = COUNTS
            .lock()
            .unwrap()
            .as_mut()
            .and_then(|counts| counts.remove(&key))
            .unwrap_or(0);
        (output, count)
    }
}

/// Publishes version 1.0.0 of an add-on, as a row (no dist file: the store does not read it).
async fn publish(store: &dyn Store, owner: Uuid, name: &str) {
    let version = PackageVersion {
        package: name.into(),
        version: "1.0.0".into(),
        version_normalized: "1.0.0.0".into(),
        manifest: "{}".into(),
        sha256: "0".repeat(64),
        shasum: "0".repeat(40),
        size: 1,
        dist_path: format!("{name}/1.0.0.zip"),
        created_at: store::now(),
        yanked: None,
        provenance: None,
    };
    let new = NewVersion {
        owner_id: owner,
        visibility: None,
        package_type: PackageType::Extension,
        description: None,
        version,
    };
    let outcome = store.publish_version(&new).await.unwrap();
    assert!(
        matches!(outcome, PublishOutcome::Published(..)),
        "{outcome:?}"
    );
}

#[tokio::test]
async fn a_page_of_projects_costs_the_same_statements_whatever_its_size() {
    let app = TestApp::spawn().await;
    let alice = app.account("alice").await;
    // One connection per pool, opened by a first call before any counting: opening a
    // connection runs statements of its own.
    let mut config = ServeConfig::for_database(&app.database_url).database;
    config.db_max_connections = Some(1);
    let store = store::connect(&config).await.unwrap();
    let owner = alice.user.id;
    publish(store.as_ref(), owner, "acme/seo").await;
    publish(store.as_ref(), owner, "acme/forms").await;
    // Twelve projects; each has acme/seo, every other one acme/forms as well.
    for i in 0..12_usize {
        let project = NewProject {
            owner_id: owner,
            name: ProjectName::parse(&format!("Site {i}")).unwrap(),
            slug: format!("site-{i}"),
            description: None,
            url: None,
            databases: vec![],
        };
        let id = store.create_project(&project).await.unwrap().id;
        store
            .bind_addon(owner, id, "acme/seo", "^1.0")
            .await
            .unwrap();
        if i.is_multiple_of(2) {
            store
                .bind_addon(owner, id, "acme/forms", "*")
                .await
                .unwrap();
        }
    }

    let page = |size| Page { number: 1, size };
    store.list_projects(owner, page(50)).await.unwrap();
    let (first, small) = statements::counted(store.list_projects(owner, page(1))).await;
    let (every, large) = statements::counted(store.list_projects(owner, page(50))).await;
    let (first, total) = first.unwrap();
    let (every, _) = every.unwrap();
    assert_eq!((first.len(), every.len(), total), (1, 12, 12));
    assert!(small > 0, "the counter sees sqlx's statements");
    assert_eq!(small, large, "a page of 1 and a page of 12 projects");

    // Each project came with its own add-ons, by name.
    for project in &every {
        let i: usize = project.slug["site-".len()..].parse().unwrap();
        let addons: Vec<(&str, &str, &str)> = project
            .addons
            .iter()
            .map(|a| {
                (
                    a.package.as_str(),
                    a.package_type.as_str(),
                    a.constraint.as_str(),
                )
            })
            .collect();
        let mut expected = vec![];
        if i.is_multiple_of(2) {
            expected.push(("acme/forms", "harmony-extension", "*"));
        }
        expected.push(("acme/seo", "harmony-extension", "^1.0"));
        assert_eq!(addons, expected, "{}", project.slug);
    }
    assert_eq!(first[0].slug, every[0].slug);
    assert_eq!(first[0].addons, every[0].addons);
}

#[tokio::test]
async fn a_token_write_that_fails_in_a_burst_fails_alone() {
    let app = TestApp::spawn().await;
    let alice = app.account("alice").await;
    let store = store_of(&app).await;

    // Writes sent together are applied as one group; one of them names a client that does
    // not exist, which the database refuses.
    let mut writes = Vec::new();
    for i in 0..24 {
        let mut tokens = new_tokens(&alice, Some(PlainSecret::generate_token("hrt_").digest()));
        if i == 11 {
            tokens.client_id = "no-such-client".into();
        }
        let store = store.clone();
        writes.push((
            tokens.clone(),
            tokio::spawn(async move { store.insert_tokens(&tokens).await }),
        ));
    }
    for (i, (tokens, write)) in writes.into_iter().enumerate() {
        let outcome = write.await.unwrap();
        let stored = store.access_token(&tokens.access_digest).await.unwrap();
        if i == 11 {
            assert!(outcome.is_err(), "the write naming no client was refused");
            assert!(stored.is_none());
        } else {
            outcome.unwrap_or_else(|e| panic!("write {i} failed with the bad one: {e}"));
            assert!(stored.is_some(), "write {i} was answered but not stored");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_exchanges_of_one_refresh_token_on_two_nodes_rotate_it_once() {
    let app = TestApp::spawn().await;
    let alice = app.account("alice").await;
    // Two stores of their own: two nodes, each with its own grouping of token writes.
    let nodes = [store_of(&app).await, store_of(&app).await];
    for round in 0..40 {
        let refresh = PlainSecret::generate_token("hrt_").digest();
        let issued = new_tokens(&alice, Some(refresh));
        nodes[0].insert_tokens(&issued).await.unwrap();
        let exchanges: Vec<_> = (0..8)
            .map(|i| {
                let (node, decide) = (nodes[i % 2].clone(), rotate_once(&alice));
                tokio::spawn(async move {
                    node.exchange_refresh_token(&refresh, store::now(), decide)
                        .await
                })
            })
            .collect();
        let mut outcomes = Vec::new();
        for exchange in exchanges {
            outcomes.push(exchange.await.unwrap().unwrap().outcome);
        }
        let rotated = outcomes
            .iter()
            .filter(|o| **o == ExchangeOutcome::Rotated)
            .count();
        assert_eq!(rotated, 1, "round {round}: {outcomes:?}");
        assert!(
            outcomes
                .iter()
                .all(|o| matches!(o, ExchangeOutcome::Rotated | ExchangeOutcome::FamilyRevoked)),
            "round {round}: {outcomes:?}"
        );
        // The losers revoked the family: the token issued with the refresh token is dead.
        let access = nodes[1]
            .access_token(&issued.access_digest)
            .await
            .unwrap()
            .unwrap();
        assert!(access.revoked_at.is_some(), "round {round}");
    }
}

/// A replay that revokes a family on one node while another node rotates a newer token of
/// that family: the other node's commit lands while the revocation waits for its lock, and
/// what it issued must be revoked too (a statement under READ COMMITTED does not see rows
/// committed after it began). The other node is played here by a transaction of the test's
/// own, which holds the newer token's lock until the revocation is seen waiting for it.
#[tokio::test]
async fn a_family_revoked_while_another_node_rotates_in_it_loses_the_new_tokens_too() {
    let app = TestApp::spawn().await;
    if app.database_url.starts_with("sqlite:") {
        // One writer: groups never overlap.
        return;
    }
    let alice = app.account("alice").await;
    let store = store_of(&app).await;
    let family = Uuid::now_v7();
    let in_family = |refresh: Option<TokenDigest>| NewTokens {
        family_id: family,
        ..new_tokens(&alice, refresh)
    };
    let (older, newer) = (
        PlainSecret::generate_token("hrt_").digest(),
        PlainSecret::generate_token("hrt_").digest(),
    );
    store.insert_tokens(&in_family(Some(older))).await.unwrap();
    store.insert_tokens(&in_family(Some(newer))).await.unwrap();
    let successor = in_family(None);
    let rotate: RefreshDecider = Arc::new(move |stored| match stored {
        Some(t) if t.used_at.is_some() => RefreshDecision::RevokeFamily,
        Some(_) => RefreshDecision::Rotate(Box::new(successor.clone())),
        None => RefreshDecision::Refuse,
    });
    let first = store
        .exchange_refresh_token(&older, store::now(), rotate.clone())
        .await
        .unwrap();
    assert_eq!(first.outcome, ExchangeOutcome::Rotated);

    // The other node locks the newer token, as its group's first statement does.
    let pool = sqlx::PgPool::connect(&app.database_url).await.unwrap();
    let mut other = pool.begin().await.unwrap();
    sqlx::query("SELECT id FROM refresh_tokens WHERE digest = $1 FOR UPDATE")
        .bind(newer.as_bytes().to_vec())
        .fetch_one(&mut *other)
        .await
        .unwrap();

    // The older token again: a replay, which revokes the family and waits for that lock.
    let replay = {
        let (store, rotate) = (store.clone(), rotate.clone());
        tokio::spawn(async move {
            store
                .exchange_refresh_token(&older, store::now(), rotate)
                .await
        })
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let waiting: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM pg_stat_activity \
             WHERE datname = current_database() AND wait_event_type = 'Lock' \
             AND query LIKE 'UPDATE refresh_tokens SET revoked_at%'",
        )
        .fetch_one(&pool)
        .await
        .unwrap();
        if waiting > 0 {
            break;
        }
        assert!(
            !replay.is_finished(),
            "the replay did not wait for the lock"
        );
        assert!(std::time::Instant::now() < deadline, "no statement waited");
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }

    // The other node rotates the newer token in that family and commits.
    let (access_id, refresh_id) = (Uuid::now_v7().to_string(), Uuid::now_v7().to_string());
    let digest = |prefix| {
        PlainSecret::generate_token(prefix)
            .digest()
            .as_bytes()
            .to_vec()
    };
    sqlx::query(
        "WITH access AS (INSERT INTO access_tokens (id, digest, family_id, client_id, \
         user_id, grant_type, scope, created_at, expires_at) \
         VALUES ($1, $2, $4, $5, $6, 'refresh_token', 'read', $7, $7 + 3600)) \
         INSERT INTO refresh_tokens (id, digest, family_id, access_token_id, client_id, \
         user_id, scope, created_at, expires_at) \
         VALUES ($3, $8, $4, $1, $5, $6, 'read', $7, $7 + 3600)",
    )
    .bind(&access_id)
    .bind(digest("hat_"))
    .bind(&refresh_id)
    .bind(family.to_string())
    .bind(&alice.client_id)
    .bind(alice.user.id.to_string())
    .bind(store::now())
    .bind(digest("hrt_"))
    .execute(&mut *other)
    .await
    .unwrap();
    sqlx::query("UPDATE refresh_tokens SET used_at = $2 WHERE digest = $1")
        .bind(newer.as_bytes().to_vec())
        .bind(store::now())
        .execute(&mut *other)
        .await
        .unwrap();
    other.commit().await.unwrap();

    let replayed = replay.await.unwrap().unwrap();
    assert_eq!(replayed.outcome, ExchangeOutcome::FamilyRevoked);
    for (table, id) in [
        ("access_tokens", &access_id),
        ("refresh_tokens", &refresh_id),
    ] {
        let revoked: Option<i64> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT revoked_at FROM {table} WHERE id = $1"
        )))
        .bind(id)
        .fetch_one(&pool)
        .await
        .unwrap();
        assert!(
            revoked.is_some(),
            "the other node's new row in {table} survived"
        );
    }
    pool.close().await;
}

/// A connection that PostgreSQL ended while it sat idle in the pool (a restart, a failover,
/// an idle timeout on the way) is found out and replaced before a request is given it.
/// Connections used within the last second are lent out without that check; these have
/// been idle for longer, so the wait below is the condition itself, not a guess at one.
#[tokio::test]
async fn connections_the_database_ended_while_idle_are_replaced_before_use() {
    let app = TestApp::spawn().await;
    if app.database_url.starts_with("sqlite:") {
        // No server to end a connection.
        return;
    }
    let (a, b, c) = tokio::join!(
        app.get("/packages"),
        app.get("/packages"),
        app.get("/packages")
    );
    for r in [a, b, c] {
        assert_eq!(r.status(), 200);
    }
    let ended = app
        .execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE datname = current_database() AND pid <> pg_backend_pid()",
        )
        .await;
    assert!(ended > 0);
    tokio::time::sleep(std::time::Duration::from_millis(1_200)).await;
    for _ in 0..6 {
        assert_eq!(app.get("/packages").await.status(), 200);
    }
}
