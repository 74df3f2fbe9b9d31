//! The operator page's HTTP side (axum): the page itself, and the JSON API
//! behind it (`docs/station-api.md`):
//!
//! - `GET /api/slots`: every slot and its state;
//! - `GET /api/pool`: identities left, the pool's error if any, today's counts;
//! - `GET /api/events`: server-sent events, one `snapshot` (slots, counts,
//!   pool, last errors) at once and after every change;
//! - `POST /api/slots/{id}/retry`: write the card in that slot now.
//!
//! Who may call it. With a token (required when listening on a
//! non-loopback address) every `/api/` request must carry it, as
//! `Authorization: Bearer TOKEN`; only the event stream (which a browser's
//! `EventSource` opens without headers) also takes `?token=TOKEN`. The page
//! asks for it once and keeps it in the browser. Without a token, an
//! `/api/` request must name the station by a loopback name in its `Host`
//! (`127.0.0.1`, `[::1]`, `localhost`, or the listen address, on the listen
//! port: a DNS-rebound name is refused), and a request that changes
//! anything must come from the page itself (an `Origin` or
//! `Sec-Fetch-Site`, when the browser sends one, of the same origin). A
//! body other than JSON is refused on the API, so an HTML form from
//! another site cannot post to it. Every answer forbids framing
//! (`X-Frame-Options: DENY`, CSP `frame-ancestors 'none'`). The page's own
//! files hold no data and are served to anyone.

use super::page;
use super::service::{RetryRefused, Service};
use axum::extract::{Path, Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use futures_util::stream::Stream;
use serde_json::json;
use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};
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
        .layer(middleware::from_fn(no_framing))
        .with_state(service)
}

/// The Content-Security-Policy of every answer: the page's own files only,
/// framed by no page.
const CSP: &str = "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'; object-src 'none'";

/// What every answer carries: no framing by any page (clickjacking), the
/// CSP, no MIME sniffing, no referrer.
async fn no_framing(req: Request, next: Next) -> Response {
    let mut r = next.run(req).await;
    let h = r.headers_mut();
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    r
}

/// Equal in time whatever the first differing byte.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The token the request carries: the `Authorization` header, or (on the
/// event stream only) the `token` query parameter.
fn given_token(req: &Request) -> Option<&str> {
    if let Some(v) = req.headers().get(header::AUTHORIZATION) {
        return v.to_str().ok()?.strip_prefix("Bearer ");
    }
    if req.uri().path() != "/api/events" {
        return None;
    }
    req.uri()
        .query()?
        .split('&')
        .find_map(|kv| kv.strip_prefix("token="))
}

/// Whether `host` (a `Host` header) names this station by a loopback
/// name or its listen address, on its listen port: never a DNS name an
/// attacker's page could rebind to it.
fn host_allowed(host: &str, listen: SocketAddr) -> bool {
    let (name, port) = match host.rsplit_once(':') {
        Some((n, p)) if !p.contains(']') => (n, p.parse::<u16>().ok()),
        _ => (host, Some(80)),
    };
    if port != Some(listen.port()) {
        return false;
    }
    if name.eq_ignore_ascii_case("localhost") {
        return true;
    }
    let ip = name
        .strip_prefix('[')
        .and_then(|n| n.strip_suffix(']'))
        .unwrap_or(name);
    ip.parse::<IpAddr>()
        .is_ok_and(|ip| ip.is_loopback() || ip == listen.ip())
}

/// Whether a request comes from the station's own page (or from no page
/// at all: a tool such as curl sends neither header; every browser sends
/// `Origin` with a POST).
fn same_origin(req: &Request, host: &str) -> bool {
    let h = req.headers();
    let origin_ok = h.get(header::ORIGIN).is_none_or(|o| {
        o.to_str()
            .is_ok_and(|o| o.strip_prefix("http://") == Some(host))
    });
    let site_ok = h
        .get("sec-fetch-site")
        .is_none_or(|v| v == "same-origin" || v == "none");
    origin_ok && site_ok
}

fn refuse(status: StatusCode, why: String) -> Response {
    (status, Json(json!({ "error": why }))).into_response()
}

async fn auth(State(s): State<Arc<Service>>, req: Request, next: Next) -> Response {
    // An HTML form (urlencoded, multipart, text/plain) is the one body a
    // page of another site may post without asking first: JSON only.
    if let Some(ct) = req.headers().get(header::CONTENT_TYPE) {
        let mime = ct.to_str().unwrap_or("").split(';').next().unwrap_or("");
        if !mime.trim().eq_ignore_ascii_case("application/json") {
            return refuse(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "the API takes JSON only (Content-Type: application/json); a form is refused"
                    .into(),
            );
        }
    }
    let config = s.config();
    if let Some(want) = &config.token {
        let ok = given_token(&req).is_some_and(|t| same(t.as_bytes(), want.expose().as_bytes()));
        if !ok {
            return refuse(
                StatusCode::UNAUTHORIZED,
                "this station needs its token".into(),
            );
        }
        return next.run(req).await;
    }
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("")
        .to_owned();
    if !host_allowed(&host, config.listen) {
        return refuse(
            StatusCode::FORBIDDEN,
            format!(
                "this station answers only as http://127.0.0.1:{0}/ or http://localhost:{0}/ (set token_file to reach it by another name)",
                config.listen.port()
            ),
        );
    }
    let changes = req.method() != Method::GET && req.method() != Method::HEAD;
    if changes && !same_origin(&req, &host) {
        return refuse(
            StatusCode::FORBIDDEN,
            "a request from another site is refused: use the station's own page".into(),
        );
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
        "kind": snap.pool.kind,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_names_on_the_listen_port_are_hosts_of_the_station() {
        let listen: SocketAddr = "127.0.0.1:8080".parse().expect("addr");
        for ok in [
            "127.0.0.1:8080",
            "localhost:8080",
            "LOCALHOST:8080",
            "[::1]:8080",
            "127.0.0.2:8080",
        ] {
            assert!(host_allowed(ok, listen), "{ok}");
        }
        for bad in [
            "evil.example:8080",
            "127.0.0.1:8081",
            "127.0.0.1",
            "localhost",
            "",
            "[::1]",
            "10.0.0.1:8080",
        ] {
            assert!(!host_allowed(bad, listen), "{bad}");
        }
        let on_80: SocketAddr = "127.0.0.1:80".parse().expect("addr");
        assert!(host_allowed("localhost", on_80) && host_allowed("[::1]", on_80));
        let lan: SocketAddr = "10.0.0.1:8080".parse().expect("addr");
        assert!(host_allowed("10.0.0.1:8080", lan));
    }
}
