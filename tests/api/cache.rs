//! The auth cache of a node: the writes on that node that empty it, and those that must not.

use reqwest::{Response, StatusCode};

use crate::browser::{Browser, Pkce, authorize_url, code_client, sign_in_and_approve};
use crate::helpers::{Account, TestApp};

/// `POST /oauth/v2/revoke` of `token`, as the client it was issued to.
async fn revoke(app: &TestApp, account: &Account, token: &str) -> Response {
    app.http
        .post(app.url("/oauth/v2/revoke"))
        .basic_auth(&account.client_id, Some(&account.client_secret))
        .form(&[("token", token)])
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_sign_in_and_a_consent_keep_the_token_cache_and_a_revocation_empties_it() {
    // Node A keeps token lookups for an hour, so that only its own writes can end them;
    // node B shares its database.
    let a = TestApp::spawn_with(|c| c.auth_cache_ms = 3_600_000).await;
    let b = a.spawn_on(|_| {}).await;
    let alice = a.account("alice").await;
    let bob = code_client(&a, "bob", false).await;
    let kept = a.access_token(&alice).await;
    let spare = a.access_token(&alice).await;
    assert_eq!(a.get_user(&kept).await.status(), StatusCode::OK);

    // Revoked through B: the database says so at once, A's cache does not know yet.
    assert_eq!(revoke(&b, &alice, &kept).await.status(), StatusCode::OK);
    assert_eq!(b.get_user(&kept).await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(a.get_user(&kept).await.status(), StatusCode::OK);

    // A sign-in, a consent and a code on A change what no cached token means: A still
    // answers from its cache.
    let browser = Browser::new();
    let url = authorize_url(&a, &bob.client_id, &Pkce::new(), &[]);
    let approved = sign_in_and_approve(&browser, &url, &bob).await;
    assert_eq!(approved.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        a.get_user(&kept).await.status(),
        StatusCode::OK,
        "a session or consent write emptied the token cache"
    );

    // A revocation on A empties it: the next request reads the token again.
    assert_eq!(revoke(&a, &alice, &spare).await.status(), StatusCode::OK);
    assert_eq!(a.get_user(&kept).await.status(), StatusCode::UNAUTHORIZED);
}
