//! A real server on 127.0.0.1 that tasks call: plain HTTP routes for the HTTP task and AWS
//! Lambda's Invoke API for the function task. It records every request with the idempotency
//! key (and task token) it carried, so tests can check what callees saw.
//!
//! HTTP routes:
//! - `/echo`: 200 with `{"method", "path", "query", "body"}` (body as JSON when it is);
//! - `/flaky/<n>/<id>`: 500 the first `n` times for each `<id>`, then 200 `{"calls": k}`;
//! - `/slow/<ms>`: answers 200 after `ms` milliseconds;
//! - `/status/<code>`: answers `code` with a short text body;
//! - `/big/<bytes>`: 200 with a body of that many bytes.
//!
//! Lambda: `POST /2015-03-31/functions/<name>/invocations` runs test function `<name>`:
//! `echo` answers its event, `fail` fails with errorType `ValueError` (as Lambda reports an
//! unhandled error), any other name is `ResourceNotFoundException`.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use fnf_lambda::tasks::http::HttpConfig;
use fnf_lambda::tasks::http::egress::Egress;
use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response, StatusCode};
use serde_json::{Value, json};

/// HTTP task settings that reach this server: the egress rule denies loopback by default, so
/// tests opt in.
pub fn loopback_http() -> HttpConfig {
    HttpConfig {
        egress: Egress::allow_loopback(),
        ..HttpConfig::default()
    }
}

/// One request the server saw.
#[derive(Debug, Clone)]
pub struct Seen {
    pub path: String,
    /// The task's idempotency key: the HTTP header, or the Lambda ClientContext's custom field.
    pub key: Option<String>,
    pub task_token: Option<String>,
    pub body: Value,
}

#[derive(Default)]
struct State {
    seen: Mutex<Vec<Seen>>,
    flaky: Mutex<HashMap<String, u32>>,
}

pub struct TaskServer {
    pub base: String,
    state: Arc<State>,
}

impl TaskServer {
    pub async fn start() -> TaskServer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let state: Arc<State> = Arc::default();
        let shared = state.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let state = shared.clone();
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |req| {
                        let state = state.clone();
                        async move { Ok::<_, Infallible>(answer(&state, req).await) }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        TaskServer { base, state }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.state.seen.lock().unwrap().clone()
    }

    /// The idempotency keys seen, in order (requests without one are left out).
    pub fn keys(&self) -> Vec<String> {
        self.seen().into_iter().filter_map(|s| s.key).collect()
    }

    /// A Lambda client of this server's Invoke API.
    pub fn lambda_client(&self) -> aws_sdk_lambda::Client {
        use aws_sdk_lambda::config::{BehaviorVersion, Credentials, Region};
        let config = aws_sdk_lambda::Config::builder()
            .http_client(fnf_lambda::aws::https_client())
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .endpoint_url(&self.base)
            .credentials_provider(Credentials::new("test", "test", None, None, "tests"))
            .build();
        aws_sdk_lambda::Client::from_conf(config)
    }
}

fn header(req: &Request<Incoming>, name: &str) -> Option<String> {
    req.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

fn respond(status: u16, headers: &[(&str, &str)], body: impl Into<Bytes>) -> Response<Full<Bytes>> {
    let mut builder = Response::builder().status(StatusCode::from_u16(status).unwrap());
    for (k, v) in headers {
        builder = builder.header(*k, *v);
    }
    builder.body(Full::new(body.into())).unwrap()
}

fn json_response(status: u16, body: Value) -> Response<Full<Bytes>> {
    respond(
        status,
        &[("content-type", "application/json")],
        body.to_string(),
    )
}

async fn answer(state: &State, req: Request<Incoming>) -> Response<Full<Bytes>> {
    let path = req.uri().path().to_owned();
    let query = req.uri().query().unwrap_or("").to_owned();
    let method = req.method().to_string();
    let mut key = header(&req, "x-fnf-idempotency-key");
    let mut task_token = header(&req, "x-fnf-task-token");
    let client_context = header(&req, "x-amz-client-context");
    let bytes = req.into_body().collect().await.unwrap().to_bytes();
    let body = serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
    if let Some(context) = client_context {
        // Lambda's ClientContext: base64 of JSON, the task's fields under `custom`.
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(context)
            .ok()
            .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
            .unwrap_or(Value::Null);
        let custom = |k: &str| decoded["custom"][k].as_str().map(str::to_owned);
        key = custom("fnf-idempotency-key");
        task_token = custom("fnf-task-token");
    }
    state.seen.lock().unwrap().push(Seen {
        path: path.clone(),
        key,
        task_token,
        body: body.clone(),
    });
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match parts.as_slice() {
        ["echo"] => json_response(
            200,
            json!({"method": method, "path": path, "query": query, "body": body}),
        ),
        ["flaky", n, id] => {
            let failures: u32 = n.parse().unwrap();
            let calls = {
                let mut flaky = state.flaky.lock().unwrap();
                let c = flaky.entry((*id).to_owned()).or_default();
                *c += 1;
                *c
            };
            if calls <= failures {
                respond(500, &[], format!("failure {calls} of {failures}"))
            } else {
                json_response(200, json!({"calls": calls}))
            }
        }
        ["slow", ms] => {
            tokio::time::sleep(Duration::from_millis(ms.parse().unwrap())).await;
            json_response(200, json!({"slow": true}))
        }
        ["status", code] => respond(code.parse().unwrap(), &[], "status as asked"),
        ["big", n] => respond(200, &[], vec![b'x'; n.parse().unwrap()]),
        ["2015-03-31", "functions", name, "invocations"] => lambda(name, body),
        _ => respond(404, &[], "no such route"),
    }
}

/// What Lambda's Invoke answers for the test functions.
fn lambda(name: &str, event: Value) -> Response<Full<Bytes>> {
    match name {
        "echo" => json_response(200, json!({"event": event})),
        "fail" => respond(
            200,
            &[("x-amz-function-error", "Unhandled")],
            json!({"errorType": "ValueError", "errorMessage": "the event is not valid"})
                .to_string(),
        ),
        other => respond(
            404,
            &[
                ("x-amzn-errortype", "ResourceNotFoundException"),
                ("content-type", "application/json"),
            ],
            json!({"Type": "User", "Message": format!("Function not found: {other}")}).to_string(),
        ),
    }
}
