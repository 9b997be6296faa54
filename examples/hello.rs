//! The HTTP stack's ceiling on this machine: a bare axum server answering `GET /healthz` with the same
//! `{"status":"ok"}` msgd sends, and nothing else. `bench/run` compares msgd's own `/healthz` against it.
//! `GET /page` answers a fixed body the size of a 20-message page: the ceiling
//! for answers that big, which shows how much of a read's cost is the size of its answer.
//!
//! `PORT=4100 cargo run --release --example hello`
#![forbid(unsafe_code)]

use axum::Json;
use axum::Router;
use axum::routing::get;

// The same allocator as msgd, so the two differ only in what msgd does per request.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let port: u16 = std::env::var("PORT").ok().and_then(|p| p.parse().ok()).unwrap_or(4100);
    let page: &'static str = Box::leak(format!("[{}]", vec![PAGE_ITEM; 20].join(",")).into_boxed_str());
    let app = Router::new()
        .route("/healthz", get(|| async { Json(serde_json::json!({"status": "ok"})) }))
        .route("/page", get(move || async move { ([("content-type", "application/json")], page) }));
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    eprintln!("hello listening on {}", listener.local_addr()?);
    axum::serve(listener, app).await
}

/// One message as msgd lists it (same field names and sizes).
const PAGE_ITEM: &str = r#"{"id":"01a20ac3-3e74-7605-8fd1-3d27db2c9e1d","from":"seed0-1c2f3e4d@example.com","to":"reader@example.com","content":"a seeded message of ordinary length, to fill the database","created_at":"2026-11-23T23:34:57.396Z"}"#;
