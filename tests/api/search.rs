//! The marketplace search (`GET /packages?q=…`): a case-insensitive substring of the name
//! or the description, whatever characters the query holds, kept right through changes,
//! deletions and visibility; answered by trigram indexes (SQLite's FTS5 table, PostgreSQL's
//! pg_trgm indexes).

use serde_json::{Value, json};

use crate::helpers::{TestApp, header};

/// The names a listing answers.
fn names(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap().to_owned())
        .collect()
}

/// The names `GET /packages?q=…` finds for an anonymous caller (`q` as sent, encoded).
async fn found(app: &TestApp, q: &str) -> Vec<String> {
    names(
        &app.json_as(&format!("/packages?per_page=100&q={q}"), None, 200)
            .await,
    )
}

#[tokio::test]
async fn the_search_finds_substrings_of_names_and_descriptions_in_any_case() {
    let app = TestApp::spawn().await;
    let alice = app.account("alice").await;
    let ta = app.access_token(&alice).await;
    for name in ["acme/blue-theme", "acme/seo", "acme/util", "other/gallery"] {
        app.publish_ok(&ta, name, "library", "1.0.0").await;
    }
    let r = app
        .patch_json(
            "/packages/acme/util",
            &ta,
            json!({"description": "Des outils pour le Café \"Les 100% Amis\""}),
        )
        .await;
    assert_eq!(r.status(), 200);

    // A part of a name, in any case; the vendor and the slash are part of the name.
    assert_eq!(found(&app, "LUE-th").await, ["acme/blue-theme"]);
    assert_eq!(found(&app, "me/s").await, ["acme/seo"]);
    assert_eq!(found(&app, "acme").await.len(), 3);
    // Two characters are found too (read without the index).
    assert_eq!(found(&app, "eo").await, ["acme/seo"]);
    // Text that runs from the end of a name into the start of its description is in
    // neither ("acme/util" and "Des outils…").
    assert_eq!(found(&app, "l%20D").await, Vec::<String>::new());
    assert_eq!(found(&app, "util").await, ["acme/util"]);
    // Descriptions (`dist` gives each "vendor/name add-on"), in any case, beyond ASCII.
    assert_eq!(found(&app, "ADD-ON").await.len(), 3);
    assert_eq!(found(&app, "caf%C3%A9").await, ["acme/util"]);
    assert_eq!(found(&app, "CAF%C3%89").await, ["acme/util"]);
    // What a query language would read as syntax is text.
    assert_eq!(found(&app, "%22Les").await, ["acme/util"]);
    assert_eq!(found(&app, "100%25").await, ["acme/util"]);
    assert_eq!(found(&app, "%25%25%25").await, Vec::<String>::new());
    assert_eq!(found(&app, "___").await, Vec::<String>::new());
    assert_eq!(found(&app, "seo%20OR%20util").await, Vec::<String>::new());
    assert_eq!(found(&app, "NEAR(acme)").await, Vec::<String>::new());
    assert_eq!(found(&app, "%22").await, ["acme/util"]);
    assert_eq!(found(&app, "%22%22%22").await, Vec::<String>::new());
    assert_eq!(found(&app, "s%20100%25%20A").await, ["acme/util"]);
    assert_eq!(found(&app, "*").await, Vec::<String>::new());
    // Control characters are text too; NUL, which no name or description holds, is a 422.
    assert_eq!(found(&app, "%01%0B%1F").await, Vec::<String>::new());
    app.json_as("/packages?q=ac%00me", None, 422).await;

    // The count follows the search: a second page is announced only when there is one.
    let r = app.get("/packages?per_page=2&q=acme").await;
    assert!(header(&r, "link").contains("page=2"));
    let r = app.get("/packages?per_page=3&q=acme").await;
    assert!(r.headers().get("link").is_none());
    // A short last page counts what it holds, after the pages before it.
    let r = app.get("/packages?per_page=2&page=2&q=acme").await;
    let link = header(&r, "link");
    assert!(link.contains("rel=\"prev\""), "{link}");
    assert!(!link.contains("rel=\"next\""), "{link}");
    let list: Value = r.json().await.unwrap();
    assert_eq!(names(&list), ["acme/util"]);
    // Past the end: nothing, and the pages there are.
    let r = app.get("/packages?per_page=2&page=5&q=acme").await;
    let link = header(&r, "link");
    assert!(link.contains("rel=\"first\""), "{link}");
}

#[tokio::test]
async fn the_search_follows_descriptions_visibility_and_deletions() {
    let app = TestApp::spawn().await;
    let alice = app.account("alice").await;
    let bob = app.account("bob").await;
    let (ta, tb) = (app.access_token(&alice).await, app.access_token(&bob).await);
    app.publish_ok(&ta, "acme/lib", "library", "1.0.0").await;
    app.publish_ok(&tb, "bob/tool", "library", "1.0.0").await;

    let r = app
        .patch_json(
            "/packages/acme/lib",
            &ta,
            json!({"description": "Lemonade"}),
        )
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(found(&app, "lemon").await, ["acme/lib"]);
    assert_eq!(found(&app, "add-on").await, ["bob/tool"]);
    // A publish keeps the description it has.
    app.publish_ok(&ta, "acme/lib", "library", "1.1.0").await;
    assert_eq!(found(&app, "lemon").await, ["acme/lib"]);
    let r = app
        .patch_json("/packages/acme/lib", &ta, json!({"description": null}))
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(found(&app, "lemon").await, Vec::<String>::new());
    assert_eq!(found(&app, "acme").await, ["acme/lib"]);

    // Private: found by its owner only.
    app.make_private(&ta, "acme/lib").await;
    assert_eq!(found(&app, "acme").await, Vec::<String>::new());
    let own = app.json_as("/packages?q=acme", Some(&ta), 200).await;
    assert_eq!(names(&own), ["acme/lib"]);

    // Deleted with its account: found by nobody, and the other add-on still is.
    let admin = crate::advisories::administrator(&app).await;
    let r = app
        .delete_with_token(&format!("/admin/users/{}", bob.user.id), &admin)
        .await;
    assert!(r.status().is_success(), "{}", r.status());
    assert_eq!(found(&app, "tool").await, Vec::<String>::new());
    assert_eq!(found(&app, "bob/").await, Vec::<String>::new());
    let own = app.json_as("/packages?q=acme", Some(&ta), 200).await;
    assert_eq!(names(&own), ["acme/lib"]);
}

/// Every page after the first (a statement of its own, which chooses the page's names
/// before reading their columns) holds the rows the whole list holds there, columns and
/// all, for a viewer who sees a private add-on and one who does not, with no search, a
/// short one and an indexed one.
#[tokio::test]
async fn every_later_page_is_its_part_of_the_whole_list() {
    let app = TestApp::spawn_with(|c| c.packages.downloads_flush_ms = 3_600_000).await;
    let alice = app.account("alice").await;
    let bob = app.account("bob").await;
    let ta = app.access_token(&alice).await;
    let tb = app.access_token(&bob).await;
    for name in ["acme/p1", "acme/p2", "acme/p3", "acme/p4", "acme/p5"] {
        app.publish_ok(&ta, name, "library", "1.0.0").await;
    }
    app.publish_ok(&tb, "bob/q1", "library", "1.0.0").await;
    app.make_private(&ta, "acme/p3").await;
    let r = app
        .http
        .post(app.url("/downloads/"))
        .json(&json!({"downloads": [
            {"name": "acme/p4", "version": "1.0.0.0"},
            {"name": "acme/p4", "version": "1.0.0.0"},
            {"name": "bob/q1", "version": "1.0.0.0"},
        ]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    assert_eq!(app.state.services.downloads().flush().await.unwrap(), 3);

    for viewer in [Some(ta.as_str()), Some(tb.as_str()), None] {
        for q in ["", "&q=p", "&q=acme"] {
            let whole = app
                .json_as(&format!("/packages?per_page=100{q}"), viewer, 200)
                .await;
            let whole = whole.as_array().unwrap();
            let mut paged = Vec::new();
            for page in 1..=4 {
                let list = app
                    .json_as(&format!("/packages?per_page=2&page={page}{q}"), viewer, 200)
                    .await;
                paged.extend(list.as_array().unwrap().iter().cloned());
            }
            assert_eq!(&paged, whole, "viewer {viewer:?}, query {q:?}");
        }
    }
    // The private add-on is on its owner's pages only; the download totals of a later
    // page's rows are read as on the first page.
    let own = app
        .json_as("/packages?per_page=2&page=2", Some(&ta), 200)
        .await;
    assert_eq!(names(&own), ["acme/p3", "acme/p4"]);
    assert_eq!(own[1]["downloads"]["total"], 2);
    let theirs = app
        .json_as("/packages?per_page=2&page=2", Some(&tb), 200)
        .await;
    assert_eq!(names(&theirs), ["acme/p4", "acme/p5"]);
    let last = app.json_as("/packages?per_page=2&page=3", None, 200).await;
    assert_eq!(names(&last), ["bob/q1"]);
    assert_eq!(last[0]["downloads"]["total"], 1);
}

/// On PostgreSQL the search's condition (the store's own text) is answered from the
/// one trigram index: with sequential scans off, the plan reads it, and only it. SQLite's
/// index is its FTS5 table, which the tests above read.
#[tokio::test]
async fn on_postgresql_the_search_condition_reads_the_trigram_index() {
    let app = TestApp::spawn().await;
    if app.database_url.starts_with("sqlite:") {
        return;
    }
    let pool = sqlx::PgPool::connect(&app.database_url).await.unwrap();
    let mut conn = pool.acquire().await.unwrap();
    sqlx::query("SET enable_seqscan = off")
        .execute(&mut *conn)
        .await
        .unwrap();
    // Constant text: the store's condition with its pattern as the only parameter.
    let statement = sqlx::AssertSqlSafe(format!(
        "EXPLAIN SELECT p.name FROM packages p WHERE TRUE {}",
        harmony::store::packages::SEARCH_MATCHING.replace("$4", "$1")
    ));
    let plan: Vec<String> = sqlx::query_scalar(statement)
        .bind("%seo%")
        .persistent(false)
        .fetch_all(&mut *conn)
        .await
        .unwrap();
    let plan = plan.join("\n");
    assert!(plan.contains("packages_text_trigrams"), "{plan}");
    assert!(!plan.contains("packages_name_trigrams"), "{plan}");
    drop(conn);
    pool.close().await;
}

/// The parts of SQLite's search index (FTS5 writes one per commit and merges them four at
/// a time).
async fn search_index_parts(app: &TestApp) -> i64 {
    let pool = sqlx::SqlitePool::connect(&app.database_url).await.unwrap();
    let parts = sqlx::query_scalar("SELECT COUNT(DISTINCT segid) FROM packages_search_idx")
        .fetch_one(&pool)
        .await
        .unwrap();
    pool.close().await;
    parts
}

/// Each publication leaves a part of the search index that every search reads; the hourly
/// cleanup merges them (SQLite), the search answers the same after it, and a second
/// cleanup finds nothing to merge. PostgreSQL's indexes have nothing to merge.
#[tokio::test]
async fn the_cleanup_merges_the_search_index_and_no_answer_changes() {
    let app = TestApp::spawn().await;
    let alice = app.account("alice").await;
    let ta = app.access_token(&alice).await;
    let names = [
        "acme/blue-theme",
        "acme/seo",
        "acme/util",
        "other/gallery",
        "other/forms",
        "zeta/seo-tools",
    ];
    for name in names {
        app.publish_ok(&ta, name, "library", "1.0.0").await;
    }
    let r = app
        .patch_json(
            "/packages/acme/util",
            &ta,
            json!({"description": "Des outils pour le Café"}),
        )
        .await;
    assert_eq!(r.status(), 200);
    let queries = [
        "acme",
        "seo",
        "ADD-ON",
        "caf%C3%A9",
        "other/",
        "eo",
        "nothing",
    ];
    let mut before = Vec::new();
    for q in queries {
        before.push(found(&app, q).await);
    }
    assert_eq!(before[1], ["acme/seo", "zeta/seo-tools"]);
    let sqlite = app.database_url.starts_with("sqlite:");
    if sqlite {
        assert!(search_index_parts(&app).await > 1);
    }

    let merged = app.state.services.maintenance().purge().await.search_index;
    assert_eq!(merged.unwrap() > 0, sqlite);
    if sqlite {
        assert_eq!(search_index_parts(&app).await, 1);
    }
    for (q, expected) in queries.into_iter().zip(&before) {
        assert_eq!(&found(&app, q).await, expected, "{q}");
    }
    let again = app.state.services.maintenance().purge().await.search_index;
    assert_eq!(again.unwrap(), 0);
}
