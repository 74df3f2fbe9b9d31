//! The operator page: plain HTML, CSS and JavaScript compiled into the
//! binary (no CDN, no web fonts: the line may have no internet). One
//! screen: every slot's state in large type with an icon and a word (not
//! colour alone), progress, today's pass and fail counts, identities left
//! in the pool and the last errors; in Chinese or English, chosen on the
//! page and remembered by the browser (every sentence in both; the
//! service's own words, which may name a command or an OS error, only
//! under an expandable "details"; times at the station's `utc_offset`).
//! Live by server-sent events
//! (`/api/events`), never by polling.

use axum::http::header;
use axum::response::IntoResponse;

/// `GET /`
pub async fn index() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        include_str!("index.html"),
    )
}

/// `GET /app.js`
pub async fn script() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        include_str!("app.js"),
    )
}

/// `GET /style.css`
pub async fn style() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8")],
        include_str!("style.css"),
    )
}
