//! The add-ons of an organization: every member sees and installs its private add-ons
//! (listings, search, one add-on, versions, `p2`, `packages.json`, dists, with every way of
//! presenting a token), its owners and maintainers manage all of them whoever published
//! them, readers are refused, non-members find nothing private, and a change of membership
//! takes effect on the next request.

use std::collections::HashMap;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, refusal};
use crate::market::dist;

/// An app where `alice` owns the organization `acme-org` and its vendor `acme`, with `bob`
/// a reader, `carol` a maintainer and `dave` no member; `acme/secret` (private, published
/// by alice) and `acme/open` (public) are under the vendor. Answers the app and each
/// account's access token.
async fn organization() -> (TestApp, HashMap<&'static str, String>) {
    let app = TestApp::spawn().await;
    let mut tokens = HashMap::new();
    for name in ["alice", "bob", "carol", "dave"] {
        let account = app.account(name).await;
        tokens.insert(name, app.access_token(&account).await);
    }
    let alice = tokens["alice"].clone();
    app.publish_ok(&alice, "acme/secret", "library", "1.0.0")
        .await;
    app.publish_ok(&alice, "acme/open", "library", "1.0.0")
        .await;
    app.make_private(&alice, "acme/secret").await;
    let r = app
        .post_json("/orgs", &alice, json!({"name": "acme-org"}))
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    assert_eq!(set_role(&app, &alice, "bob", "reader").await, 200);
    assert_eq!(set_role(&app, &alice, "carol", "maintainer").await, 200);
    let r = app
        .patch_json(
            "/vendors/acme",
            &alice,
            json!({"owner": {"type": "org", "name": "acme-org"}}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    (app, tokens)
}

async fn set_role(app: &TestApp, owner: &str, user: &str, role: &str) -> u16 {
    app.put_json(
        &format!("/orgs/acme-org/members/{user}"),
        owner,
        json!({ "role": role }),
    )
    .await
    .status()
    .as_u16()
}

async fn remove(app: &TestApp, owner: &str, user: &str) {
    let r = app
        .delete(&format!("/orgs/acme-org/members/{user}"), owner)
        .await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
}

/// Publishes version 1.0.0 of a new private add-on `name`.
async fn publish_private(app: &TestApp, token: &str, name: &str) {
    let r = app
        .http
        .put(app.url(&format!(
            "/packages/{name}/versions/1.0.0?visibility=private"
        )))
        .bearer_auth(token)
        .header("Content-Type", "application/zip")
        .body(dist(name, "library"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
}

fn names(list: &Value) -> Vec<&str> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect()
}

/// Asserts that `token` (none: anonymous) sees `acme/secret` everywhere (`true`) or
/// nowhere (`false`).
async fn sees_secret(app: &TestApp, token: Option<&str>, sees: bool) {
    let (status, listed) = if sees {
        (200, vec!["acme/open", "acme/secret"])
    } else {
        (404, vec!["acme/open"])
    };
    let who = format!("{token:?}");
    assert_eq!(
        names(&app.json_as("/packages", token, 200).await),
        listed,
        "{who}"
    );
    let found = app.json_as("/packages?q=secret", token, 200).await;
    assert_eq!(names(&found).len(), usize::from(sees), "{who}");
    for path in [
        "/packages/acme/secret",
        "/packages/acme/secret/versions/1.0.0",
        "/packages/acme/secret/versions/1.0.0/dist",
        "/p2/acme/secret.json",
        "/p2/acme/secret~dev.json",
        "/packages/acme/secret/stats",
    ] {
        let mut req = app.http.get(app.url(path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        assert_eq!(req.send().await.unwrap().status(), status, "{path} {who}");
    }
    let repo = app.json_as("/packages.json", token, 200).await;
    assert_eq!(repo["available-packages"], json!(listed), "{who}");
}

#[tokio::test]
async fn every_member_sees_and_installs_the_organizations_private_add_ons() {
    let (app, t) = organization().await;
    for member in ["alice", "bob", "carol"] {
        sees_secret(&app, Some(&t[member]), true).await;
    }
    for outsider in [None, Some(t["dave"].as_str())] {
        sees_secret(&app, outsider, false).await;
    }

    // Composer's ways of presenting the token: http-basic (any username), and the API's
    // `?access_token=`.
    let r = app
        .http
        .get(app.url("/p2/acme/secret.json"))
        .basic_auth("bob", Some(&t["bob"]))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let meta: Value = r.json().await.unwrap();
    let url = meta["packages"]["acme/secret"][0]["dist"]["url"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = app
        .http
        .get(&url)
        .basic_auth("token", Some(&t["bob"]))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.bytes().await.unwrap(), dist("acme/secret", "library"));
    for (who, status) in [("bob", 200), ("dave", 404)] {
        let r = app
            .http
            .get(format!("{url}?access_token={}", t[who]))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), status, "{who}");
        let r = app
            .http
            .get(&url)
            .basic_auth("x", Some(&t[who]))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), status, "{who}");
    }

    // Its advisories too, as `composer audit` asks for them.
    let r = app
        .post_json(
            "/packages/acme/secret/advisories",
            &t["carol"],
            json!({"title": "Leaks", "affectedVersions": "<2.0"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    for (who, found) in [("bob", 1), ("dave", 0)] {
        let v = app
            .json_as(
                "/api/security-advisories/?packages[]=acme/secret",
                Some(&t[who]),
                200,
            )
            .await;
        let listed = v["advisories"]["acme/secret"]
            .as_array()
            .map_or(0, Vec::len);
        assert_eq!(listed, found, "{who}: {v}");
    }

    // A private add-on a maintainer publishes is the whole organization's too.
    publish_private(&app, &t["carol"], "acme/tool").await;
    for (who, status) in [("alice", 200), ("bob", 200), ("carol", 200), ("dave", 404)] {
        app.json_as("/packages/acme/tool", Some(&t[who]), status)
            .await;
        app.json_as("/p2/acme/tool.json", Some(&t[who]), status)
            .await;
    }
}

#[tokio::test]
async fn removing_a_member_takes_their_view_and_rights_at_once() {
    let (app, t) = organization().await;
    sees_secret(&app, Some(&t["bob"]), true).await;
    remove(&app, &t["alice"], "bob").await;
    // The same token, the next request.
    sees_secret(&app, Some(&t["bob"]), false).await;

    // A maintainer yanks; demoted to reader, not any more; removed, finds nothing.
    let yank = |reason: Value| {
        let app = &app;
        let token = t["carol"].clone();
        async move {
            app.patch_json(
                "/packages/acme/secret/versions/1.0.0",
                &token,
                json!({ "yanked": reason }),
            )
            .await
            .status()
            .as_u16()
        }
    };
    assert_eq!(yank(json!("broken")).await, 200);
    assert_eq!(set_role(&app, &t["alice"], "carol", "reader").await, 200);
    assert_eq!(yank(Value::Null).await, 403);
    sees_secret(&app, Some(&t["carol"]), true).await;
    remove(&app, &t["alice"], "carol").await;
    assert_eq!(yank(Value::Null).await, 404);
    sees_secret(&app, Some(&t["carol"]), false).await;

    // Whoever published an add-on under the organization's vendor holds it through the
    // organization only: removed, the publisher loses it too.
    publish_private(&app, &t["alice"], "acme/mine").await;
    assert_eq!(set_role(&app, &t["alice"], "dave", "owner").await, 200);
    remove(&app, &t["dave"], "alice").await;
    app.json_as("/packages/acme/mine", Some(&t["alice"]), 404)
        .await;
    app.json_as("/packages/acme/mine", Some(&t["dave"]), 200)
        .await;
}

#[tokio::test]
async fn maintainers_manage_every_add_on_of_the_organization_and_readers_may_not() {
    let (app, t) = organization().await;
    // Each change as a request: (method, path, body).
    let changes = |name: &str| {
        vec![
            (
                "PUT",
                format!("/packages/{name}/versions/1.1.0"),
                Value::Null,
            ),
            (
                "PATCH",
                format!("/packages/{name}/versions/1.0.0"),
                json!({"yanked": "superseded"}),
            ),
            (
                "PATCH",
                format!("/packages/{name}/versions/1.0.0"),
                json!({"yanked": null}),
            ),
            (
                "PATCH",
                format!("/packages/{name}"),
                json!({"abandoned": "acme/other"}),
            ),
            (
                "PATCH",
                format!("/packages/{name}"),
                json!({"abandoned": false, "description": "Kept up",
                       "webhookSecret": "0123456789abcdef",
                       "repositoryUrl": "https://git.example.com/acme/x.git"}),
            ),
            (
                "POST",
                format!("/packages/{name}/advisories"),
                json!({"title": "Leaks", "affectedVersions": "<1.1"}),
            ),
        ]
    };
    let send = |who: &str, method: &str, path: String, body: Value| {
        let app = &app;
        let token = t[who].clone();
        let method = method.to_owned();
        async move {
            let r = match method.as_str() {
                "PUT" => {
                    let name = path
                        .trim_start_matches("/packages/")
                        .split("/versions/")
                        .next()
                        .unwrap()
                        .to_owned();
                    let version = path.rsplit('/').next().unwrap().to_owned();
                    app.publish(&token, &name, &version, dist(&name, "library"))
                        .await
                }
                "PATCH" => app.patch_json(&path, &token, body).await,
                _ => app.post_json(&path, &token, body).await,
            };
            r.status().as_u16()
        }
    };
    // A reader is refused each change (403 where it sees the add-on), an outsider too
    // (403 on the public add-on, 404 on the private one; a publish under the vendor is
    // refused as the vendor's, 403, whether the add-on exists or not), and nothing
    // changed.
    for name in ["acme/open", "acme/secret"] {
        for (who, status) in [
            ("bob", 403),
            ("dave", if name == "acme/open" { 403 } else { 404 }),
        ] {
            for (method, path, body) in changes(name) {
                let status = if method == "PUT" { 403 } else { status };
                assert_eq!(
                    send(who, method, path.clone(), body).await,
                    status,
                    "{who} {method} {path}"
                );
            }
        }
    }
    let p = app
        .json_as("/packages/acme/secret", Some(&t["alice"]), 200)
        .await;
    assert_eq!(p["versions"].as_array().unwrap().len(), 1);
    assert_eq!(p["abandoned"], false);
    assert_eq!(p["hasWebhookSecret"], false);
    // Readers are not shown the secrets' flags; managers are.
    let p = app
        .json_as("/packages/acme/secret", Some(&t["bob"]), 200)
        .await;
    assert!(p.get("hasWebhookSecret").is_none(), "{p}");

    // A maintainer makes every change to add-ons alice published.
    for name in ["acme/open", "acme/secret"] {
        for (method, path, body) in changes(name) {
            let status = send("carol", method, path.clone(), body).await;
            assert!(
                status == 200 || status == 201,
                "carol {method} {path}: {status}"
            );
        }
    }
    let p = app
        .json_as("/packages/acme/secret", Some(&t["carol"]), 200)
        .await;
    assert_eq!(p["hasWebhookSecret"], true);
    assert_eq!(p["description"], "Kept up");
    assert_eq!(p["versions"].as_array().unwrap().len(), 2);
    let listed = app.json_as("/packages", Some(&t["carol"]), 200).await;
    assert!(
        listed
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["hasWebhookSecret"] == true),
        "{listed}"
    );
    let listed = app.json_as("/packages", Some(&t["bob"]), 200).await;
    assert!(
        listed
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p.get("hasWebhookSecret").is_none()),
        "{listed}"
    );
    // And changes its visibility.
    let r = app
        .patch_json(
            "/packages/acme/secret",
            &t["carol"],
            json!({"visibility": "public"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    app.json_as("/packages/acme/secret", None, 200).await;
    let r = app
        .patch_json(
            "/packages/acme/secret",
            &t["bob"],
            json!({"visibility": "private"}),
        )
        .await;
    refusal(r, StatusCode::FORBIDDEN, "forbidden").await;
}

#[tokio::test]
async fn versions_published_under_an_organizations_vendor_name_the_organization() {
    let (app, t) = organization().await;
    let r = app
        .publish(
            &t["carol"],
            "acme/open",
            "1.1.0",
            dist("acme/open", "library"),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let tokens = app.list_tokens(&t["carol"]).await;
    let token_id = tokens[0]["id"].as_str().unwrap();
    let v = app
        .json_as("/packages/acme/open/versions/1.1.0", None, 200)
        .await;
    assert_eq!(
        v["publishedBy"],
        json!({"type": "org", "name": "acme-org", "tokenId": token_id})
    );
    // Published before the vendor was the organization's: the account, as it was.
    let v = app
        .json_as("/packages/acme/open/versions/1.0.0", None, 200)
        .await;
    assert_eq!(v["publishedBy"]["type"], "user");
    assert_eq!(v["publishedBy"]["name"], "alice");
}

#[tokio::test]
async fn members_mirrors_are_told_the_changes_of_the_organizations_private_add_ons() {
    let (app, t) = organization().await;
    let start = app.json_as("/metadata/changes.json", None, 200).await["timestamp"]
        .as_i64()
        .unwrap();
    let r = app
        .patch_json(
            "/packages/acme/secret/versions/1.0.0",
            &t["carol"],
            json!({"yanked": "broken"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let told = |token: &'static str| {
        let app = &app;
        let token = t[token].clone();
        async move {
            let body = app
                .json_as(
                    &format!("/metadata/changes.json?since={start}"),
                    Some(&token),
                    200,
                )
                .await;
            body["actions"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| {
                    format!(
                        "{} {}",
                        a["type"].as_str().unwrap(),
                        a["package"].as_str().unwrap()
                    )
                })
                .collect::<Vec<_>>()
        }
    };
    for member in ["alice", "bob", "carol"] {
        assert_eq!(told(member).await, ["update acme/secret"], "{member}");
    }
    assert!(told("dave").await.is_empty());
    remove(&app, &t["alice"], "bob").await;
    assert!(told("bob").await.is_empty());
}
