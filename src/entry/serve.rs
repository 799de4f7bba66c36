//! `fnf-lambda serve`: the same API on a local HTTP/1.1 server (hyper), for `make run`, tests
//! and the official SDKs pointed at `http://127.0.0.1:8080`.

use std::convert::Infallible;
use std::net::SocketAddr;

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

use crate::api::{self, HttpRequest, request::MAX_BODY_BYTES};
use crate::error::FnfError;
use crate::service::Service;

/// Serves until Ctrl-C (or SIGTERM). Each connection runs in its own task.
pub async fn run(service: Service, listener: TcpListener) -> std::io::Result<()> {
    let shutdown = shutdown_signal();
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => accepted?,
            () = &mut shutdown => {
                tracing::info!("shutting down");
                return Ok(());
            }
        };
        let service = service.clone();
        tokio::spawn(async move {
            let handler = hyper::service::service_fn(move |req| {
                let service = service.clone();
                async move { Ok::<_, Infallible>(handle(&service, req, peer).await) }
            });
            if let Err(e) = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), handler)
                .await
            {
                tracing::debug!(error = %e, "connection ended with an error");
            }
        });
    }
}

async fn handle(
    service: &Service,
    req: Request<Incoming>,
    peer: SocketAddr,
) -> Response<Full<Bytes>> {
    let request_id = uuid::Uuid::new_v4().to_string().to_uppercase();
    tracing::debug!(%peer, method = %req.method(), "request");
    let (parts, body) = req.into_parts();
    let answer = match Limited::new(body, MAX_BODY_BYTES).collect().await {
        Ok(collected) => {
            let http = HttpRequest {
                method: parts.method.to_string(),
                path: parts.uri.path().to_owned(),
                query: parts
                    .uri
                    .query()
                    .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
                    .unwrap_or_default(),
                headers: parts
                    .headers
                    .iter()
                    .filter_map(|(k, v)| Some((k.as_str().to_owned(), v.to_str().ok()?.to_owned())))
                    .collect(),
                body: collected.to_bytes().to_vec(),
            };
            api::handle_http(service, &http, &request_id).await
        }
        Err(_) => api::error_answer(&FnfError::EntityTooLarge(MAX_BODY_BYTES), &request_id),
    };
    // The trailing newline keeps a terminal tidy after `curl -s`; JSON parsers ignore it.
    let mut response = Response::new(Full::new(Bytes::from(format!("{}\n", answer.body))));
    *response.status_mut() = hyper::StatusCode::from_u16(answer.status)
        .unwrap_or(hyper::StatusCode::INTERNAL_SERVER_ERROR);
    let headers = response.headers_mut();
    headers.insert(
        "content-type",
        hyper::header::HeaderValue::from_static("application/json"),
    );
    if let Ok(id) = hyper::header::HeaderValue::from_str(&request_id) {
        headers.insert("x-acs-request-id", id);
    }
    response
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => return std::future::pending().await,
            };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = tokio::signal::ctrl_c().await;
}
