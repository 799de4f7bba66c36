//! The API adapter: events and HTTP requests in, fnf requests to the service, answers out.

pub mod auth;
pub mod event;
pub mod request;
pub mod resource;
pub mod signature;

use serde_json::{Map, Value};
use tracing::Instrument;

use crate::error::FnfError;
use crate::service::Service;
pub use event::{Flavor, Incoming};
pub use request::{FnfRequest, HttpRequest, Params};

/// An answer ready to send: HTTP status and JSON body (with `RequestId`).
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    pub status: u16,
    pub body: Value,
}

/// Handles one Lambda event of any shape; never fails: errors become fnf error answers.
pub async fn handle_event(service: &Service, event: Value, request_id: &str) -> Value {
    let (flavor, answer) = match event::classify(event) {
        Ok(Incoming::Http(flavor, req)) => (flavor, handle_http(service, &req, request_id).await),
        Ok(Incoming::Direct(payload)) => {
            let answer = match request::decode_direct(payload) {
                Ok(req) => call(service, req, request_id).await,
                Err(err) => error_answer(&err, request_id),
            };
            (Flavor::Direct, answer)
        }
        Ok(Incoming::Continuation(c)) => {
            (Flavor::Direct, continuation(service, c, request_id).await)
        }
        Ok(Incoming::Sweep) => {
            let answer = match service.sweep().await {
                Ok(n) => Answer {
                    status: 200,
                    body: serde_json::json!({ "RequestId": request_id, "Dispatched": n }),
                },
                Err(err) => error_answer(&err, request_id),
            };
            (Flavor::Direct, answer)
        }
        Err((flavor, err)) => (flavor, error_answer(&err, request_id)),
    };
    event::respond(flavor, answer.status, answer.body, request_id)
}

/// Runs a continuation; the answer says whether this invocation drove the execution.
async fn continuation(
    service: &Service,
    c: crate::dispatch::Continuation,
    request_id: &str,
) -> Answer {
    let span = tracing::info_span!("fnf", request_id = %request_id, action = "Continuation", execution = %c.name);
    async move {
        match service.continue_execution(&c, request_id).await {
            Ok(done) => Answer { status: 200, body: serde_json::json!({ "RequestId": request_id, "Continued": format!("{done:?}") }) },
            Err(err) => error_answer(&err, request_id),
        }
    }
    .instrument(span)
    .await
}

/// Handles one HTTP request (from an event or from `serve`).
pub async fn handle_http(service: &Service, req: &HttpRequest, request_id: &str) -> Answer {
    let fnf = match request::decode_http(req) {
        Ok(fnf) => fnf,
        Err(err) => return error_answer(&err, request_id),
    };
    match auth::admit(service, req, &fnf).await {
        Ok(service) => call(&service, fnf, request_id).await,
        Err(err) => error_answer(&err, request_id),
    }
}

async fn call(service: &Service, req: FnfRequest, request_id: &str) -> Answer {
    let span = tracing::info_span!("fnf", request_id = %request_id, action = %req.action);
    let service = service.clone();
    async move {
        // The action runs in its own task: a bug costs this request a 500 in the fnf format,
        // never the connection, the server or the Lambda runtime.
        let outcome = tokio::spawn(async move { service.call(&req).await })
            .await
            .unwrap_or_else(|panic| {
                tracing::error!(error = %panic, "the action panicked");
                Err(FnfError::Internal)
            });
        match outcome {
            Ok(mut fields) => {
                fields.insert("RequestId".into(), Value::String(request_id.to_owned()));
                tracing::info!(status = 200, "answered");
                Answer {
                    status: 200,
                    body: Value::Object(fields),
                }
            }
            Err(err) => error_answer(&err, request_id),
        }
    }
    .instrument(span)
    .await
}

/// The fnf error body with its HTTP status.
pub fn error_answer(err: &FnfError, request_id: &str) -> Answer {
    let status = err.status();
    if status >= 500 {
        tracing::error!(request_id, code = err.code(), "failed");
    } else {
        tracing::info!(request_id, status, code = err.code(), "refused");
    }
    let mut body = Map::new();
    body.insert("RequestId".into(), Value::String(request_id.to_owned()));
    body.insert("Code".into(), Value::String(err.code().to_owned()));
    body.insert("Message".into(), Value::String(err.to_string()));
    Answer {
        status,
        body: Value::Object(body),
    }
}
