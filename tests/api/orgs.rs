//! Organizations: creating one (its creator is its owner), who sees it (members and
//! administrators; others get 404), who manages its members (owners; members who are not
//! owners get 403), and the rule that an organization keeps at least one owner.

use harmony::service::clients::ClientSpec;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, header, invalid_fields, refusal};

async fn create(app: &TestApp, token: &str, name: &str) -> Value {
    let r = app.post_json("/orgs", token, json!({ "name": name })).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    assert!(header(&r, "location").ends_with(&format!("/orgs/{name}")));
    r.json().await.unwrap()
}

async fn set_role(app: &TestApp, token: &str, org: &str, user: &str, role: &str) -> u16 {
    app.put_json(
        &format!("/orgs/{org}/members/{user}"),
        token,
        json!({ "role": role }),
    )
    .await
    .status()
    .as_u16()
}

/// `(username, role)` of each member, by username.
async fn members(app: &TestApp, token: &str, org: &str) -> Vec<(String, String)> {
    let v = app
        .json_as(&format!("/orgs/{org}/members"), Some(token), 200)
        .await;
    v.as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["username"].as_str().unwrap().to_owned(),
                m["role"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(u, r)| ((*u).to_owned(), (*r).to_owned()))
        .collect()
}

#[tokio::test]
async fn the_creator_owns_a_new_organization_and_lists_it() {
    let app = TestApp::spawn().await;
    let alice = app.account("alice").await;
    let token = app.access_token(&alice).await;
    let org = create(&app, &token, "acme").await;
    assert_eq!(org["name"], "acme");
    assert_eq!(org["role"], "owner");
    assert!(org["createdAt"].as_str().unwrap().ends_with('Z'));

    let mine = app.json_as("/orgs", Some(&token), 200).await;
    assert_eq!(mine.as_array().unwrap().len(), 1);
    assert_eq!(mine[0]["name"], "acme");
    assert_eq!(mine[0]["role"], "owner");
    let one = app.json_as("/orgs/acme", Some(&token), 200).await;
    assert_eq!(one["role"], "owner");
    assert_eq!(
        members(&app, &token, "acme").await,
        pairs(&[("alice", "owner")])
    );

    // The name is taken now, whoever asks.
    let bob = app.account("bob").await;
    let bob_token = app.access_token(&bob).await;
    let r = app
        .post_json("/orgs", &bob_token, json!({"name": "acme"}))
        .await;
    refusal(r, StatusCode::CONFLICT, "conflict").await;
    assert_eq!(app.json_as("/orgs", Some(&bob_token), 200).await, json!([]));
}

#[tokio::test]
async fn organization_names_follow_the_vendor_rules() {
    let app = TestApp::spawn().await;
    let alice = app.account("alice").await;
    let token = app.access_token(&alice).await;
    for bad in ["Acme", "", "a/b", "-acme", "acme inc"] {
        let r = app.post_json("/orgs", &token, json!({ "name": bad })).await;
        let fields = invalid_fields(r).await;
        assert!(fields.contains_key("name"), "{bad:?}");
    }
    let r = app.post_json("/orgs", &token, json!({"name": 7})).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    // An organization may share its name with an account: owners are named with their kind.
    create(&app, &token, "alice").await;
    assert_eq!(app.count_rows("orgs").await, 1);
}

#[tokio::test]
async fn only_members_and_administrators_see_an_organization() {
    let app = TestApp::spawn().await;
    let alice = app.account("alice").await;
    let token = app.access_token(&alice).await;
    create(&app, &token, "acme").await;
    let bob = app.account("bob").await;
    let bob_token = app.access_token(&bob).await;

    // To a non-member it does not exist, exactly like an unknown one.
    for path in [
        "/orgs/acme",
        "/orgs/acme/members",
        "/orgs/nope",
        "/orgs/nope/members",
    ] {
        let r = app.get_with_token(path, &bob_token).await;
        refusal(r, StatusCode::NOT_FOUND, "not_found").await;
    }
    assert_eq!(
        set_role(&app, &bob_token, "acme", "bob", "owner").await,
        404
    );
    let r = app.delete("/orgs/acme/members/alice", &bob_token).await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    // Without a token: 401.
    assert_eq!(
        app.get("/orgs/acme").await.status(),
        StatusCode::UNAUTHORIZED
    );

    // An administrator with an admin token sees it without being a member.
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
    let root_token = app.access_token(&root).await;
    let seen = app.json_as("/orgs/acme", Some(&root_token), 200).await;
    assert_eq!(seen["role"], Value::Null);
    assert_eq!(
        set_role(&app, &root_token, "acme", "bob", "reader").await,
        200
    );
    let bob_sees = app.json_as("/orgs/acme", Some(&bob_token), 200).await;
    assert_eq!(bob_sees["role"], "reader");
}

#[tokio::test]
async fn owners_manage_members_and_other_members_are_refused() {
    let app = TestApp::spawn().await;
    let alice = app.account("alice").await;
    let token = app.access_token(&alice).await;
    create(&app, &token, "acme").await;
    let bob = app.account("bob").await;
    let bob_token = app.access_token(&bob).await;
    let carol = app.account("carol").await;
    let carol_token = app.access_token(&carol).await;

    let r = app
        .put_json(
            "/orgs/acme/members/bob",
            &token,
            json!({"role": "maintainer"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let m: Value = r.json().await.unwrap();
    assert_eq!(m["username"], "bob");
    assert_eq!(m["role"], "maintainer");
    assert_eq!(set_role(&app, &token, "acme", "carol", "reader").await, 200);
    assert_eq!(
        members(&app, &carol_token, "acme").await,
        pairs(&[
            ("alice", "owner"),
            ("bob", "maintainer"),
            ("carol", "reader")
        ])
    );
    let mine = app.json_as("/orgs", Some(&bob_token), 200).await;
    assert_eq!(mine[0]["role"], "maintainer");

    // A maintainer and a reader read the members but do not manage them.
    for t in [&bob_token, &carol_token] {
        let r = app
            .put_json("/orgs/acme/members/carol", t, json!({"role": "owner"}))
            .await;
        refusal(r, StatusCode::FORBIDDEN, "forbidden").await;
        let r = app.delete("/orgs/acme/members/alice", t).await;
        refusal(r, StatusCode::FORBIDDEN, "forbidden").await;
    }

    // Bad roles and unknown accounts.
    let r = app
        .put_json("/orgs/acme/members/bob", &token, json!({"role": "admin"}))
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        set_role(&app, &token, "acme", "nobody", "reader").await,
        404
    );
    assert_eq!(
        set_role(&app, &token, "acme", "Not A Name", "reader").await,
        404
    );

    // Changing a role, then removing a member.
    assert_eq!(set_role(&app, &token, "acme", "bob", "reader").await, 200);
    let r = app.delete("/orgs/acme/members/carol", &token).await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let r = app.delete("/orgs/acme/members/carol", &token).await;
    refusal(r, StatusCode::NOT_FOUND, "not_found").await;
    assert_eq!(
        members(&app, &token, "acme").await,
        pairs(&[("alice", "owner"), ("bob", "reader")])
    );
    // Carol no longer sees it.
    let r = app.get_with_token("/orgs/acme", &carol_token).await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_last_owner_can_be_neither_removed_nor_demoted() {
    let app = TestApp::spawn().await;
    let alice = app.account("alice").await;
    let token = app.access_token(&alice).await;
    create(&app, &token, "acme").await;
    let bob = app.account("bob").await;
    let bob_token = app.access_token(&bob).await;

    let r = app.delete("/orgs/acme/members/alice", &token).await;
    let e = refusal(r, StatusCode::CONFLICT, "conflict").await;
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .contains("at least one owner")
    );
    let r = app
        .put_json(
            "/orgs/acme/members/alice",
            &token,
            json!({"role": "maintainer"}),
        )
        .await;
    refusal(r, StatusCode::CONFLICT, "conflict").await;
    // Confirming the last owner as owner is fine.
    assert_eq!(set_role(&app, &token, "acme", "alice", "owner").await, 200);
    assert_eq!(
        members(&app, &token, "acme").await,
        pairs(&[("alice", "owner")])
    );

    // With a second owner, the first may step down, and then the second is the last.
    assert_eq!(set_role(&app, &token, "acme", "bob", "owner").await, 200);
    assert_eq!(set_role(&app, &token, "acme", "alice", "reader").await, 200);
    let r = app.delete("/orgs/acme/members/bob", &bob_token).await;
    refusal(r, StatusCode::CONFLICT, "conflict").await;
    // Alice, a reader now, manages nothing.
    assert_eq!(set_role(&app, &token, "acme", "alice", "owner").await, 403);
    let r = app.delete("/orgs/acme/members/alice", &bob_token).await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        members(&app, &bob_token, "acme").await,
        pairs(&[("bob", "owner")])
    );
}

#[tokio::test]
async fn concurrent_demotions_keep_an_owner() {
    let app = TestApp::spawn().await;
    let alice = app.account("alice").await;
    let token = app.access_token(&alice).await;
    create(&app, &token, "acme").await;
    let bob = app.account("bob").await;
    let bob_token = app.access_token(&bob).await;
    assert_eq!(set_role(&app, &token, "acme", "bob", "owner").await, 200);
    // Each owner demotes the other at once: one of them must be refused.
    let (a, b) = tokio::join!(
        set_role(&app, &token, "acme", "bob", "reader"),
        set_role(&app, &bob_token, "acme", "alice", "reader"),
    );
    let mut statuses = [a, b];
    statuses.sort_unstable();
    // The second to run finds itself demoted (403) or the other already a reader (409).
    assert_eq!(statuses[0], 200, "{statuses:?}");
    assert!(matches!(statuses[1], 403 | 409), "{statuses:?}");
    let owners = members(&app, &token, "acme")
        .await
        .into_iter()
        .filter(|(_, r)| r == "owner")
        .count();
    assert_eq!(owners, 1);
}

#[tokio::test]
async fn the_root_endpoint_lists_the_organization_family() {
    let app = TestApp::spawn().await;
    let root = app.json_as("/", None, 200).await;
    for (key, path) in [
        ("orgsUrl", "/orgs"),
        ("orgUrl", "/orgs/{org}"),
        ("orgMembersUrl", "/orgs/{org}/members"),
        ("orgMemberUrl", "/orgs/{org}/members/{username}"),
        ("vendorUrl", "/vendors/{vendor}"),
    ] {
        assert_eq!(root[key], format!("{}{path}", app.base), "{key}");
    }
}

async fn admin_token(app: &TestApp) -> String {
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
    app.access_token(&root).await
}

async fn give(
    app: &TestApp,
    token: &str,
    vendor: &str,
    kind: &str,
    name: &str,
) -> reqwest::Response {
    app.patch_json(
        &format!("/vendors/{vendor}"),
        token,
        json!({"owner": {"type": kind, "name": name}}),
    )
    .await
}

#[tokio::test]
async fn a_vendor_is_given_to_an_organization_whose_maintainers_then_publish() {
    let app = TestApp::spawn().await;
    let mut tokens = std::collections::HashMap::new();
    for name in ["alice", "bob", "carol", "dave"] {
        let account = app.account(name).await;
        tokens.insert(name, app.access_token(&account).await);
    }
    let t = |n: &str| tokens[n].clone();
    app.publish_ok(&t("alice"), "acme/lib", "library", "1.0.0")
        .await;
    let v = app.json_as("/vendors/acme", None, 200).await;
    assert_eq!(
        v,
        json!({"name": "acme", "owner": {"type": "user", "name": "alice"}})
    );
    app.json_as("/vendors/nobody", None, 404).await;
    app.json_as("/vendors/Not%20A%20Vendor", None, 404).await;

    create(&app, &t("alice"), "acme-org").await;
    assert_eq!(
        set_role(&app, &t("alice"), "acme-org", "bob", "maintainer").await,
        200
    );
    assert_eq!(
        set_role(&app, &t("alice"), "acme-org", "carol", "reader").await,
        200
    );

    // Before the transfer, only alice publishes under acme.
    let r = app
        .publish(
            &t("bob"),
            "acme/tool",
            "1.0.0",
            crate::market::dist("acme/tool", "library"),
        )
        .await;
    refusal(r, StatusCode::FORBIDDEN, "vendor_owned").await;

    // Nobody but the owner gives it away; the new owner must be an org the giver owns.
    let r = give(&app, &t("dave"), "acme", "org", "acme-org").await;
    refusal(r, StatusCode::FORBIDDEN, "forbidden").await;
    let r = give(&app, &t("alice"), "acme", "team", "acme-org").await;
    assert!(invalid_fields(r).await.contains_key("owner.type"));
    let r = give(&app, &t("alice"), "acme", "org", "nope").await;
    assert!(invalid_fields(r).await.contains_key("owner.name"));
    let r = give(&app, &t("alice"), "acme", "user", "bob").await;
    assert!(invalid_fields(r).await.contains_key("owner.name"));
    let r = give(&app, &t("alice"), "nobody", "org", "acme-org").await;
    refusal(r, StatusCode::NOT_FOUND, "not_found").await;

    let r = give(&app, &t("alice"), "acme", "org", "acme-org").await;
    assert_eq!(r.status(), StatusCode::OK);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["owner"], json!({"type": "org", "name": "acme-org"}));
    assert_eq!(app.json_as("/vendors/acme", None, 200).await, v);

    // Owners and maintainers of the organization publish under it; readers and others not.
    for (who, name, status) in [
        ("bob", "acme/tool", 201),
        ("alice", "acme/other", 201),
        ("carol", "acme/reader", 403),
        ("dave", "acme/outsider", 403),
    ] {
        let r = app
            .publish(&t(who), name, "1.0.0", crate::market::dist(name, "library"))
            .await;
        assert_eq!(r.status().as_u16(), status, "{who}");
    }

    // A maintainer does not give the vendor away; an owner of the organization does.
    let r = give(&app, &t("bob"), "acme", "user", "bob").await;
    refusal(r, StatusCode::FORBIDDEN, "forbidden").await;
    assert_eq!(
        set_role(&app, &t("alice"), "acme-org", "dave", "owner").await,
        200
    );
    let r = give(&app, &t("dave"), "acme", "user", "dave").await;
    assert_eq!(r.status(), StatusCode::OK);
    let v = app.json_as("/vendors/acme", None, 200).await;
    assert_eq!(v["owner"], json!({"type": "user", "name": "dave"}));
    let r = app
        .publish(
            &t("bob"),
            "acme/late",
            "1.0.0",
            crate::market::dist("acme/late", "library"),
        )
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn administrators_give_vendors_to_organizations() {
    let app = TestApp::spawn().await;
    let alice = app.account("alice").await;
    let token = app.access_token(&alice).await;
    app.publish_ok(&token, "acme/lib", "library", "1.0.0").await;
    let bob = app.account("bob").await;
    let bob_token = app.access_token(&bob).await;
    create(&app, &bob_token, "bobs").await;
    // Alice owns the vendor but is no owner of bob's organization (which she cannot see).
    let r = give(&app, &token, "acme", "org", "bobs").await;
    assert!(invalid_fields(r).await.contains_key("owner.name"));
    let admin = admin_token(&app).await;
    let r = give(&app, &admin, "acme", "org", "bobs").await;
    assert_eq!(r.status(), StatusCode::OK);
    let v = app.json_as("/admin/vendors/acme", Some(&admin), 200).await;
    assert_eq!(v["owner"], json!({"type": "org", "name": "bobs"}));
    // Alice no longer owns it.
    let r = give(&app, &token, "acme", "user", "alice").await;
    refusal(r, StatusCode::FORBIDDEN, "forbidden").await;
    // The administrators' transfer to an account takes it from the organization.
    let r = app
        .patch_json(
            "/admin/vendors/acme",
            &admin,
            json!({"owner": {"type": "user", "name": "alice"}}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let v = app.json_as("/vendors/acme", None, 200).await;
    assert_eq!(v["owner"], json!({"type": "user", "name": "alice"}));
}
