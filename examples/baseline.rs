//! The benchmark's baseline: a minimal axum server answering `GET /user` with a JSON body
//! of the same size as harmony's, with no authentication and no database.
//! `cargo run --release --example baseline -- 127.0.0.1:9000`

// The same allocator as the server, so that the comparison is of what each does.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};

async fn user() -> Json<Value> {
    Json(json!({
        "id": "2f6f0c36-3b0e-4b8a-9d59-4c2f1e0e7a11",
        "username": "admin",
        "email": "admin@localhost",
        "name": "Administrator",
        "createdAt": "2026-11-29T10:00:00Z",
    }))
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:9000".into());
    let app = Router::new()
        .route("/user", get(user))
        .route("/ping", get(user));
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    axum::serve(listener, app).await
}
