//! The OpenAPI's HTTP listener: axum on hyper, plain HTTP (the SDKs are
//! pointed at `http://ADDR` with `protocol="HTTP"` or `set_protocol_type`),
//! every path; each request is answered by [`OpenApi::answer`] on a
//! blocking thread, since an answer may write the state file. Bodies are
//! limited to [`MAX_BODY`] (10,000 names of BatchCheckDeviceNames fit).

use super::request::Call;
use super::OpenApi;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{header, HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use std::sync::Arc;
use tokio::net::TcpListener;

/// Largest request body.
pub const MAX_BODY: usize = 4 * 1024 * 1024;

async fn handle(
    State(openapi): State<Arc<OpenApi>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let headers: Vec<(String, String)> = headers
        .iter()
        .filter_map(|(k, v)| Some((k.as_str().to_owned(), v.to_str().ok()?.to_owned())))
        .collect();
    let call = Call::new(
        method.as_str(),
        uri.path(),
        uri.query(),
        headers,
        body.to_vec(),
    );
    let answered = tokio::task::spawn_blocking(move || match call {
        Some(call) => openapi.answer(&call),
        None => super::envelope::refusal(
            400,
            &super::envelope::request_id(),
            super::choices::DEFAULT_HOST_ID,
            "InvalidParameter",
            "The query or the form body is not properly encoded.",
        ),
    })
    .await;
    let Ok((status, body)) = answered else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (
        status,
        [(header::CONTENT_TYPE, "application/json;charset=utf-8")],
        body.to_vec(),
    )
        .into_response()
}

/// Serves the OpenAPI on `listener` until the process ends.
pub async fn serve(listener: TcpListener, openapi: Arc<OpenApi>) {
    let router = axum::Router::new()
        .fallback(handle)
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(openapi);
    let _ = axum::serve(listener, router).await;
}
