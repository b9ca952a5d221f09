//! OAuth clients owned by an organization: its owners manage them under
//! `/orgs/{org}/clients` with the operations of `/user/clients`; its other members get 403,
//! anyone else 404, checked on every request; the client JSON names its owner; the consent
//! page names the organization; the code flow works as for any client.

use harmony::service::clients::ClientSpec;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::browser::{
    Browser, Pkce, REDIRECT, authorize_url, consent_page, exchange, param, redirect_params,
};
use crate::helpers::{Account, TestApp, field_message, header, invalid_fields, refusal};

/// `alice` owns the organization `acme`; her token.
async fn org_of_alice(app: &TestApp) -> (Account, String) {
    let alice = app.account("alice").await;
    let token = app.access_token(&alice).await;
    let r = app
        .post_json("/orgs", &token, json!({"name": "acme"}))
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    (alice, token)
}

/// An account with a token, made a member of `acme` with `role` by `owner_token`.
async fn member(app: &TestApp, owner_token: &str, name: &str, role: &str) -> String {
    let account = app.account(name).await;
    let r = app
        .put_json(
            &format!("/orgs/acme/members/{name}"),
            owner_token,
            json!({"role": role}),
        )
        .await;
    assert!(r.status().is_success(), "{}", r.status());
    app.access_token(&account).await
}

async fn register(app: &TestApp, token: &str, body: Value) -> Value {
    let r = app.post_json("/orgs/acme/clients", token, body).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    assert_eq!(header(&r, "cache-control"), "no-store");
    let client: Value = r.json().await.unwrap();
    assert!(
        client["id"].is_string() && client["secret"].is_string(),
        "{client}"
    );
    client
}

fn ids(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_owned())
        .collect()
}

/// The statuses of every operation on `acme`'s clients for `token`, with `id` an existing
/// client: list, create, get, patch, rotate, delete.
async fn statuses(app: &TestApp, token: &str, id: &str) -> Vec<u16> {
    let one = format!("/orgs/acme/clients/{id}");
    vec![
        app.get_with_token("/orgs/acme/clients", token).await,
        app.post_json("/orgs/acme/clients", token, json!({"name": "x"}))
            .await,
        app.get_with_token(&one, token).await,
        app.patch_json(&one, token, json!({"name": "y"})).await,
        app.post_json(&format!("{one}/secret"), token, json!({}))
            .await,
        app.delete(&one, token).await,
    ]
    .into_iter()
    .map(|r| r.status().as_u16())
    .collect()
}

#[tokio::test]
async fn an_owner_registers_lists_edits_rotates_and_deletes_the_organizations_clients() {
    let app = TestApp::spawn().await;
    let (alice, token) = org_of_alice(&app).await;

    let r = app
        .post_json("/orgs/acme/clients", &token, json!({"name": "Acme CI"}))
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let location = header(&r, "location");
    let client: Value = r.json().await.unwrap();
    let id = client["id"].as_str().unwrap().to_owned();
    assert!(
        location.ends_with(&format!("/orgs/acme/clients/{id}")),
        "{location}"
    );
    assert_eq!(client["owner"], json!({"type": "org", "name": "acme"}));
    assert_eq!(client["name"], "Acme CI");
    assert!(client["secret"].as_str().unwrap().starts_with("hcs_"));

    // Listed with the organization's clients, shown by id, never with the account's own.
    let list = app.json_as("/orgs/acme/clients", Some(&token), 200).await;
    assert_eq!(ids(&list), vec![id.clone()]);
    assert_eq!(list[0]["owner"], json!({"type": "org", "name": "acme"}));
    assert!(list[0].get("secret").is_none());
    let one = app
        .json_as(&format!("/orgs/acme/clients/{id}"), Some(&token), 200)
        .await;
    assert_eq!(one["owner"]["type"], "org");
    let own = app.json_as("/user/clients", Some(&token), 200).await;
    assert!(!ids(&own).contains(&id), "{own}");
    assert_eq!(own[0]["owner"], json!({"type": "user", "name": "alice"}));
    assert_eq!(own[0]["id"], alice.client_id.as_str());
    let r = app
        .get_with_token(&format!("/user/clients/{id}"), &token)
        .await;
    refusal(r, StatusCode::NOT_FOUND, "not_found").await;
    // Nor is the account's client one of the organization's.
    let r = app
        .get_with_token(&format!("/orgs/acme/clients/{}", alice.client_id), &token)
        .await;
    refusal(r, StatusCode::NOT_FOUND, "not_found").await;

    // Edited as a whole registration.
    let r = app
        .patch_json(
            &format!("/orgs/acme/clients/{id}"),
            &token,
            json!({"name": "Acme deploys"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let changed: Value = r.json().await.unwrap();
    assert_eq!(changed["name"], "Acme deploys");
    assert_eq!(changed["owner"]["name"], "acme");

    // An organization is no administrator: no admin scope, even for an admin's request.
    let r = app
        .patch_json(
            &format!("/orgs/acme/clients/{id}"),
            &token,
            json!({"scopes": ["read", "admin"]}),
        )
        .await;
    let fields = invalid_fields(r).await;
    assert!(field_message(&fields, "scopes").contains("admin"));

    // Rotation with a grace period: the old secret keeps working beside the new one.
    let old = client["secret"].as_str().unwrap().to_owned();
    let r = app
        .post_json(
            &format!("/orgs/acme/clients/{id}/secret"),
            &token,
            json!({"keepOldForSeconds": 600}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(header(&r, "cache-control"), "no-store");
    let rotated: Value = r.json().await.unwrap();
    let new = rotated["secret"].as_str().unwrap().to_owned();
    assert_ne!(new, old);
    assert!(rotated["oldSecretExpiresAt"].is_string());
    for secret in [&old, &new] {
        let r = app
            .post_token(&[
                ("grant_type", "client_credentials"),
                ("client_id", &id),
                ("client_secret", secret),
            ])
            .await;
        assert_eq!(r.status(), StatusCode::OK);
    }

    let r = app
        .delete(&format!("/orgs/acme/clients/{id}"), &token)
        .await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let r = app
        .get_with_token(&format!("/orgs/acme/clients/{id}"), &token)
        .await;
    refusal(r, StatusCode::NOT_FOUND, "not_found").await;
    let list = app.json_as("/orgs/acme/clients", Some(&token), 200).await;
    assert_eq!(list, json!([]));
}

#[tokio::test]
async fn the_organizations_clients_are_paged_as_the_other_lists() {
    let app = TestApp::spawn().await;
    let (_, token) = org_of_alice(&app).await;
    for n in 0..3 {
        register(&app, &token, json!({"name": format!("app {n}")})).await;
    }
    let r = app
        .get_with_token("/orgs/acme/clients?per_page=2", &token)
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let link = header(&r, "link");
    assert!(
        link.contains("/orgs/acme/clients?") && link.contains("rel=\"next\""),
        "{link}"
    );
    let first: Value = r.json().await.unwrap();
    assert_eq!(first.as_array().unwrap().len(), 2);
    let second = app
        .json_as("/orgs/acme/clients?per_page=2&page=2", Some(&token), 200)
        .await;
    assert_eq!(second.as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn maintainers_and_readers_get_403_and_anyone_else_404() {
    let app = TestApp::spawn().await;
    let (_, token) = org_of_alice(&app).await;
    let id = register(&app, &token, json!({"name": "Acme CI"})).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let maintainer = member(&app, &token, "bob", "maintainer").await;
    let reader = member(&app, &token, "carol", "reader").await;
    let outsider = app.access_token(&app.account("dave").await).await;

    assert_eq!(statuses(&app, &maintainer, &id).await, vec![403; 6]);
    assert_eq!(statuses(&app, &reader, &id).await, vec![403; 6]);
    assert_eq!(statuses(&app, &outsider, &id).await, vec![404; 6]);
    let r = app.get_with_token("/orgs/acme/clients", &reader).await;
    refusal(r, StatusCode::FORBIDDEN, "forbidden").await;
    let r = app.get_with_token("/orgs/nowhere/clients", &token).await;
    refusal(r, StatusCode::NOT_FOUND, "not_found").await;

    // Nothing changed: the client is as it was, and still the only one.
    let list = app.json_as("/orgs/acme/clients", Some(&token), 200).await;
    assert_eq!(ids(&list), vec![id]);
    assert_eq!(list[0]["name"], "Acme CI");
}

#[tokio::test]
async fn a_demoted_or_removed_owner_loses_access_at_once() {
    let app = TestApp::spawn().await;
    let (_, token) = org_of_alice(&app).await;
    let bob = member(&app, &token, "bob", "owner").await;
    let id = register(&app, &bob, json!({"name": "Bob's app for acme"})).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let one = format!("/orgs/acme/clients/{id}");
    assert_eq!(
        app.get_with_token(&one, &bob).await.status(),
        StatusCode::OK
    );

    let demote =
        |role: &'static str| app.put_json("/orgs/acme/members/bob", &token, json!({"role": role}));
    assert!(demote("maintainer").await.status().is_success());
    refusal(
        app.get_with_token(&one, &bob).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    assert!(demote("owner").await.status().is_success());
    assert_eq!(
        app.get_with_token(&one, &bob).await.status(),
        StatusCode::OK
    );

    let r = app.delete("/orgs/acme/members/bob", &token).await;
    assert!(r.status().is_success(), "{}", r.status());
    refusal(
        app.get_with_token(&one, &bob).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    // The client stays the organization's: the remaining owner manages it.
    assert_eq!(
        app.get_with_token(&one, &token).await.status(),
        StatusCode::OK
    );
    let bobs_own = app.json_as("/user/clients", Some(&bob), 200).await;
    assert!(!ids(&bobs_own).contains(&id));
}

#[tokio::test]
async fn the_organizations_client_completes_the_code_flow_and_the_consent_page_names_it() {
    let app = TestApp::spawn().await;
    let (_, token) = org_of_alice(&app).await;
    let client = register(
        &app,
        &token,
        json!({
            "name": "Acme Portal",
            "redirectUris": [REDIRECT],
            "grantTypes": ["authorization_code", "refresh_token"],
        }),
    )
    .await;
    let dave = app.account("dave").await;
    let dave = Account {
        client_id: client["id"].as_str().unwrap().to_owned(),
        client_secret: client["secret"].as_str().unwrap().to_owned(),
        ..dave
    };

    let browser = Browser::new();
    let pkce = Pkce::new();
    let url = authorize_url(&app, &dave.client_id, &pkce, &[("state", "s")]);
    let consent = consent_page(&browser, &url, &dave).await;
    assert!(
        consent.contains("is an application of the organization")
            && consent.contains(r#"<strong id="owner">acme</strong>"#),
        "{consent}"
    );
    assert!(!consent.contains(r#"<strong id="owner">alice</strong>"#));
    let approved = browser.submit(&consent, &[("action", "approve")]).await;
    let code = param(&redirect_params(&approved), "code").expect("a code");
    let r = exchange(&app, &dave, &code, &pkce.verifier).await;
    assert_eq!(r.status(), StatusCode::OK);
    let tokens: Value = r.json().await.unwrap();
    let me: Value = app
        .get_user(tokens["access_token"].as_str().unwrap())
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me["username"], "dave");
}

#[tokio::test]
async fn the_password_grant_of_an_organizations_client_signs_in_no_one() {
    let app = TestApp::spawn().await;
    let (alice, token) = org_of_alice(&app).await;
    let client = register(&app, &token, json!({"name": "Acme CLI"})).await;
    // Not even the member who registered it: the client is the organization's.
    let r = app
        .post_token(&[
            ("grant_type", "password"),
            ("username", "alice"),
            ("password", &alice.password),
            ("client_id", client["id"].as_str().unwrap()),
            ("client_secret", client["secret"].as_str().unwrap()),
        ])
        .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"], "unauthorized_client");
}

#[tokio::test]
async fn deleting_the_account_that_registered_it_leaves_the_client_to_the_organization() {
    let app = TestApp::spawn().await;
    let (_, token) = org_of_alice(&app).await;
    let bob_account = app.account("bob").await;
    let r = app
        .put_json("/orgs/acme/members/bob", &token, json!({"role": "owner"}))
        .await;
    assert!(r.status().is_success());
    let bob = app.access_token(&bob_account).await;
    let client = register(&app, &bob, json!({"name": "Bob's app for acme"})).await;
    let id = client["id"].as_str().unwrap();
    let root = app
        .account_with(
            "root",
            true,
            ClientSpec {
                scopes: vec!["read".into(), "write".into(), "admin".into()],
                ..ClientSpec::default()
            },
        )
        .await;
    let admin = app.scoped_token(&root, "read write admin").await;
    let r = app
        .delete(&format!("/admin/users/{}", bob_account.user.id), &admin)
        .await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);

    let list = app.json_as("/orgs/acme/clients", Some(&token), 200).await;
    assert_eq!(ids(&list), vec![id.to_owned()]);
    let r = app
        .post_token(&[
            ("grant_type", "client_credentials"),
            ("client_id", id),
            ("client_secret", client["secret"].as_str().unwrap()),
        ])
        .await;
    assert_eq!(r.status(), StatusCode::OK);
}

#[tokio::test]
async fn an_administrator_manages_them_with_an_admin_token_only() {
    let app = TestApp::spawn().await;
    let (_, token) = org_of_alice(&app).await;
    let id = register(&app, &token, json!({"name": "Acme CI"})).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let root = app
        .account_with(
            "root",
            true,
            ClientSpec {
                scopes: vec!["read".into(), "write".into(), "admin".into()],
                ..ClientSpec::default()
            },
        )
        .await;
    let plain = app.scoped_token(&root, "read write").await;
    let r = app.get_with_token("/orgs/acme/clients", &plain).await;
    refusal(r, StatusCode::NOT_FOUND, "not_found").await;

    let admin = app.scoped_token(&root, "read write admin").await;
    let list = app.json_as("/orgs/acme/clients", Some(&admin), 200).await;
    assert_eq!(ids(&list), vec![id.clone()]);
    // Even an administrator's organization client has no admin scope.
    let r = app
        .post_json(
            "/orgs/acme/clients",
            &admin,
            json!({"name": "Ops", "scopes": "read admin"}),
        )
        .await;
    let fields = invalid_fields(r).await;
    assert!(field_message(&fields, "scopes").contains("admin"));
    let r = app
        .delete(&format!("/orgs/acme/clients/{id}"), &admin)
        .await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
}
