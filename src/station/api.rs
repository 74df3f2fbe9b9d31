//! The operator page's HTTP side (axum): the page itself, and the JSON API
//! behind it (`docs/station-api.md`):
//!
//! - `GET /api/slots`: every slot and its state;
//! - `GET /api/pool`: identities left, the pool's error if any, today's counts;
//! - `GET /api/events`: server-sent events, one `snapshot` (slots, counts,
//!   pool, last errors) at once and after every change;
//! - `POST /api/slots/{id}/retry`: write the card in that slot now.
//!
//! With a token (required when listening on a non-loopback address) every
//! `/api/` request must carry it, as `Authorization: Bearer TOKEN` or, for
//! the event stream (which a browser's `EventSource` opens without
//! headers), `?token=TOKEN`. The page asks for it once and keeps it in the
//! browser. The page's own files hold no data and are served to anyone.

use super::page;
use super::service::{RetryRefused, Service};
use axum::extract::{Path, Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::{self, Next};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use futures_util::stream::Stream;
use serde_json::json;
use std::convert::Infallible;
use std::sync::Arc;
use tokio::sync::broadcast::error::RecvError;

/// The router for `service`.
pub fn router(service: Arc<Service>) -> Router {
    let api = Router::new()
        .route("/api/slots", get(slots))
        .route("/api/pool", get(pool))
        .route("/api/events", get(events))
        .route("/api/slots/{id}/retry", post(retry))
        .route_layer(middleware::from_fn_with_state(service.clone(), auth));
    Router::new()
        .route("/", get(page::index))
        .route("/app.js", get(page::script))
        .route("/style.css", get(page::style))
        .merge(api)
        .with_state(service)
}

/// Equal in time whatever the first differing byte.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn given_token(req: &Request) -> Option<String> {
    if let Some(v) = req.headers().get(header::AUTHORIZATION) {
        return v.to_str().ok()?.strip_prefix("Bearer ").map(str::to_owned);
    }
    req.uri()
        .query()?
        .split('&')
        .find_map(|kv| kv.strip_prefix("token="))
        .map(str::to_owned)
}

async fn auth(State(s): State<Arc<Service>>, req: Request, next: Next) -> Response {
    if let Some(want) = &s.config().token {
        let ok = given_token(&req).is_some_and(|t| same(t.as_bytes(), want.as_bytes()));
        if !ok {
            return (
                StatusCode::UNAUTHORIZED,
                Json(json!({"error": "this station needs its token"})),
            )
                .into_response();
        }
    }
    next.run(req).await
}

async fn slots(State(s): State<Arc<Service>>) -> impl IntoResponse {
    Json(s.board().snapshot().slots)
}

async fn pool(State(s): State<Arc<Service>>) -> impl IntoResponse {
    let snap = s.board().snapshot();
    Json(json!({
        "station": snap.station,
        "remaining": snap.pool.remaining,
        "error": snap.pool.error,
        "today": snap.counts,
    }))
}

async fn events(
    State(s): State<Arc<Service>>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let rx = s.board().subscribe();
    let first = Some(s.board().snapshot());
    let stream = futures_util::stream::unfold((first, rx, s), |(first, mut rx, s)| async move {
        let snap = match first {
            Some(f) => f,
            None => match rx.recv().await {
                Ok(snap) => snap,
                // Fell behind: the newest state is all the page needs.
                Err(RecvError::Lagged(_)) => s.board().snapshot(),
                Err(RecvError::Closed) => return None,
            },
        };
        let event = Event::default()
            .event("snapshot")
            .json_data(&snap)
            .unwrap_or_else(|_| Event::default().event("snapshot").data("{}"));
        Some((Ok(event), (None, rx, s)))
    });
    Sse::new(stream).keep_alive(KeepAlive::default())
}

async fn retry(State(s): State<Arc<Service>>, Path(id): Path<String>) -> Response {
    let r = tokio::task::spawn_blocking(move || s.retry(&id)).await;
    match r {
        Ok(Ok(())) => (StatusCode::ACCEPTED, Json(json!({"ok": true}))).into_response(),
        Ok(Err(RetryRefused::Unknown)) => (
            StatusCode::NOT_FOUND,
            Json(json!({"error": "no such slot"})),
        )
            .into_response(),
        Ok(Err(RetryRefused::Refused(why))) => {
            (StatusCode::CONFLICT, Json(json!({"error": why}))).into_response()
        }
        Err(_) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            Json(json!({"error": "the retry stopped on an internal error"})),
        )
            .into_response(),
    }
}
