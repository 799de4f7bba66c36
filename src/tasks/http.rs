//! The HTTP task: one HTTP(S) request per task, over a shared, pooled client.
//! CloudFlow `Action: HTTP:Request` (or `HTTP:Invoke`); FDL `resourceArn: acs:fnf:::http`.
//!
//! Parameters (camelCase, as CloudFlow's): `url` (required, http or https), `method` (default
//! `GET`, or `POST` when a body is given), `headers` (an object of strings), `query` (an object:
//! its values are percent-encoded and appended to the URL's query) and `body` (a string is sent
//! as `text/plain`, any other JSON as `application/json`, unless a `content-type` header says
//! otherwise). Every request carries `x-fnf-idempotency-key` and, for callback tasks,
//! `x-fnf-task-token`.
//!
//! A response under 400 succeeds with `{"StatusCode", "Headers", "Body"}` (redirects are not
//! followed: a 3xx is an answer like any other); anything else fails with one of the `HTTP.*`
//! error names below, which a flow's Retry and Catch match. Connections go only where the
//! egress rule (`egress.rs`, applied by `connect.rs`) allows.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::header::{CONTENT_LENGTH, CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};
use hyper::{Method, Request, Uri};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use serde_json::{Map, Value, json};

use super::Integration;
use crate::engine::{TaskRequest, TaskResult};
use connect::EgressConnector;
use egress::{Denied, Egress};

pub mod connect;
pub mod egress;

/// The server answered 400-499.
pub const CLIENT_ERROR: &str = "HTTP.ClientError";
/// The server answered 500 or more.
pub const SERVER_ERROR: &str = "HTTP.ServerError";
/// No full response (status, headers and body) within the timeout.
pub const TIMEOUT: &str = "HTTP.Timeout";
/// Connecting, TLS, or reading and writing the connection failed.
pub const CONNECTION_FAILED: &str = "HTTP.ConnectionFailed";
/// The response body is larger than `HttpConfig::max_response_bytes`.
pub const RESPONSE_TOO_LARGE: &str = "HTTP.ResponseTooLarge";
/// The parameters do not make a request: missing or bad url, bad method, header or query.
pub const INVALID_REQUEST: &str = "HTTP.InvalidRequest";
/// The URL's address (or every address its host resolves to) is one the egress rule denies.
pub const EGRESS_DENIED: &str = "HTTP.EgressDenied";

/// Header carrying the task's idempotency key (`flow/execution/step-<n>/attempt`).
pub const IDEMPOTENCY_HEADER: &str = "x-fnf-idempotency-key";
/// Header carrying the task token of a callback task.
pub const TASK_TOKEN_HEADER: &str = "x-fnf-task-token";

/// Longest wait for a TCP connection (and its TLS handshake) to be set up.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Extra time on top of the task's own timeout, so that the engine's task timeout fires first.
pub const TIMEOUT_MARGIN_MS: u64 = 1_000;
/// How much of an error response's body its cause quotes, in characters.
const CAUSE_BODY_CHARS: usize = 256;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpConfig {
    /// Timeout of a task that has none of its own.
    pub default_timeout_ms: u64,
    /// Largest response body accepted; more is `HTTP.ResponseTooLarge`.
    pub max_response_bytes: usize,
    /// Which addresses tasks may connect to; a denied one is `HTTP.EgressDenied`.
    pub egress: Egress,
}

impl Default for HttpConfig {
    fn default() -> HttpConfig {
        HttpConfig {
            default_timeout_ms: 60_000,
            max_response_bytes: 1 << 20,
            egress: Egress::deny(),
        }
    }
}

/// Why an HTTP task failed; `name()` is the error name the flow sees, `to_string()` its cause.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HttpTaskError {
    #[error("{0}")]
    InvalidRequest(String),
    #[error("{target} answered {status}: {body}")]
    Status {
        target: String,
        status: u16,
        body: String,
    },
    #[error("{target} gave no full response within {ms} ms")]
    Timeout { target: String, ms: u64 },
    #[error("{target}: {reason}")]
    ConnectionFailed { target: String, reason: String },
    #[error("{target} answered with a body over {limit} bytes")]
    ResponseTooLarge { target: String, limit: usize },
    #[error("{target}: {denied}")]
    EgressDenied { target: String, denied: Denied },
}

impl HttpTaskError {
    /// The error name a flow's Retry and Catch match.
    pub fn name(&self) -> &'static str {
        match self {
            HttpTaskError::InvalidRequest(_) => INVALID_REQUEST,
            HttpTaskError::Status { status, .. } if *status < 500 => CLIENT_ERROR,
            HttpTaskError::Status { .. } => SERVER_ERROR,
            HttpTaskError::Timeout { .. } => TIMEOUT,
            HttpTaskError::ConnectionFailed { .. } => CONNECTION_FAILED,
            HttpTaskError::ResponseTooLarge { .. } => RESPONSE_TOO_LARGE,
            HttpTaskError::EgressDenied { .. } => EGRESS_DENIED,
        }
    }
}

impl From<HttpTaskError> for TaskResult {
    fn from(e: HttpTaskError) -> TaskResult {
        TaskResult::Failed {
            error: e.name().to_owned(),
            cause: e.to_string(),
        }
    }
}

type HttpsClient = Client<HttpsConnector<EgressConnector>, Full<Bytes>>;

/// Runs HTTP tasks. Cheap to clone; clones share the connection pool.
#[derive(Clone)]
pub struct HttpTasks {
    /// Built on the first call: reading the system's root certificates costs milliseconds a
    /// cold start should not pay for a flow that never calls out.
    client: Arc<OnceLock<HttpsClient>>,
    config: Arc<HttpConfig>,
}

impl HttpTasks {
    pub fn new(config: HttpConfig) -> HttpTasks {
        HttpTasks {
            client: Arc::default(),
            config: Arc::new(config),
        }
    }

    /// The shared client (TLS as `crate::tls` sets it up), connecting as the egress rule allows.
    fn client(&self) -> &HttpsClient {
        self.client.get_or_init(|| {
            let tcp = EgressConnector::new(self.config.egress.clone(), CONNECT_TIMEOUT);
            crate::tls::client_over(tcp)
        })
    }

    pub fn config(&self) -> &HttpConfig {
        &self.config
    }

    /// The time the whole exchange may take: the task's timeout plus a margin, else the
    /// configured default.
    pub fn timeout_ms(&self, req: &TaskRequest) -> u64 {
        req.timeout_ms.map_or(self.config.default_timeout_ms, |t| {
            t.saturating_add(TIMEOUT_MARGIN_MS)
        })
    }

    async fn run(&self, req: &TaskRequest) -> Result<Value, HttpTaskError> {
        let (request, target) = build_request(req)?;
        let ms = self.timeout_ms(req);
        match tokio::time::timeout(Duration::from_millis(ms), self.exchange(request, &target)).await
        {
            Ok(result) => result,
            Err(_) => Err(HttpTaskError::Timeout { target, ms }),
        }
    }

    async fn exchange(
        &self,
        request: Request<Full<Bytes>>,
        target: &str,
    ) -> Result<Value, HttpTaskError> {
        let failed = |reason: String| HttpTaskError::ConnectionFailed {
            target: target.to_owned(),
            reason,
        };
        let response = self
            .client()
            .request(request)
            .await
            .map_err(|e| match denied_in(&e) {
                Some(denied) => HttpTaskError::EgressDenied {
                    target: target.to_owned(),
                    denied,
                },
                None => failed(short_reason(&e)),
            })?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response.into_body();
        if status >= 400 {
            let (bytes, _) = read_capped(body, CAUSE_BODY_CHARS * 4)
                .await
                .map_err(|e| failed(short_reason(&e)))?;
            let text = String::from_utf8_lossy(&bytes);
            return Err(HttpTaskError::Status {
                target: target.to_owned(),
                status,
                body: text.chars().take(CAUSE_BODY_CHARS).collect(),
            });
        }
        let limit = self.config.max_response_bytes;
        let too_large = || HttpTaskError::ResponseTooLarge {
            target: target.to_owned(),
            limit,
        };
        let announced = headers
            .get(CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
        if announced.is_some_and(|n| n > limit as u64) {
            return Err(too_large());
        }
        let (bytes, over) = read_capped(body, limit)
            .await
            .map_err(|e| failed(short_reason(&e)))?;
        if over {
            return Err(too_large());
        }
        let body = serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
        Ok(json!({
            "StatusCode": status,
            "Headers": header_object(&headers),
            "Body": body,
        }))
    }
}

/// Reads at most `cap` bytes of `body`; `true` when there was more.
async fn read_capped(mut body: Incoming, cap: usize) -> Result<(Vec<u8>, bool), hyper::Error> {
    let mut buf = Vec::new();
    while let Some(frame) = body.frame().await {
        let Ok(data) = frame?.into_data() else {
            continue;
        };
        if buf.len() + data.len() > cap {
            buf.extend_from_slice(&data[..cap - buf.len()]);
            return Ok((buf, true));
        }
        buf.extend_from_slice(&data);
    }
    Ok((buf, false))
}

/// Response headers as an object: lower-case names, repeated headers joined with ", ".
fn header_object(headers: &HeaderMap) -> Value {
    let mut out = Map::new();
    for name in headers.keys() {
        let joined = headers
            .get_all(name)
            .iter()
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
            .collect::<Vec<_>>()
            .join(", ");
        out.insert(name.as_str().to_owned(), Value::String(joined));
    }
    Value::Object(out)
}

/// The egress rule's refusal, when that is why a connection was not made.
fn denied_in(e: &(dyn std::error::Error + 'static)) -> Option<Denied> {
    let mut next = Some(e);
    while let Some(error) = next {
        if let Some(denied) = error.downcast_ref::<Denied>() {
            return Some(denied.clone());
        }
        next = error.source();
    }
    None
}

/// The innermost error of a chain, short: what went wrong without the layers' wording.
fn short_reason(e: &(dyn std::error::Error + 'static)) -> String {
    let mut inner = e;
    while let Some(source) = inner.source() {
        inner = source;
    }
    let text = match inner.downcast_ref::<std::io::Error>() {
        Some(io) if io.kind() == std::io::ErrorKind::TimedOut => {
            format!("connect timed out after {} s", CONNECT_TIMEOUT.as_secs())
        }
        Some(io) if io.kind() != std::io::ErrorKind::Other => io.kind().to_string(),
        _ => inner.to_string(),
    };
    text.chars().take(160).collect()
}

fn invalid(message: impl Into<String>) -> HttpTaskError {
    HttpTaskError::InvalidRequest(message.into())
}

/// The request the parameters describe, and how causes name it (`METHOD scheme://host/path`,
/// without the query, which may hold secrets).
fn build_request(req: &TaskRequest) -> Result<(Request<Full<Bytes>>, String), HttpTaskError> {
    let params = match &req.parameters {
        Value::Object(o) => o,
        other => {
            return Err(invalid(format!(
                "the parameters are {}, not an object with a url",
                crate::engine::kind_of(other)
            )));
        }
    };
    let url = match params.get("url") {
        Some(Value::String(u)) => u.as_str(),
        Some(_) => return Err(invalid("url is not a string")),
        None => return Err(invalid("url is required")),
    };
    let body = params.get("body").filter(|b| !b.is_null());
    let method = match params.get("method") {
        None | Some(Value::Null) if body.is_some() => Method::POST,
        None | Some(Value::Null) => Method::GET,
        Some(Value::String(m)) => method(m)?,
        Some(_) => return Err(invalid("method is not a string")),
    };
    let uri = with_query(url, params.get("query"))?;
    let target = describe(&method, &uri);

    let mut headers = HeaderMap::new();
    match params.get("headers") {
        None | Some(Value::Null) => {}
        Some(Value::Object(given)) => {
            for (name, value) in given {
                let value = match value {
                    Value::String(s) => s.clone(),
                    Value::Number(_) | Value::Bool(_) => value.to_string(),
                    _ => return Err(invalid(format!("header {name:.64} is not a string"))),
                };
                let name = HeaderName::from_bytes(name.as_bytes())
                    .map_err(|_| invalid(format!("header name {name:.64} is not valid")))?;
                let value = HeaderValue::from_str(&value)
                    .map_err(|_| invalid(format!("header {name} has a bad value")))?;
                // The client computes the length of what it sends.
                if name != CONTENT_LENGTH {
                    headers.append(name, value);
                }
            }
        }
        Some(_) => return Err(invalid("headers is not an object")),
    }
    let bytes = match body {
        None => Bytes::new(),
        Some(Value::String(text)) => {
            if !headers.contains_key(CONTENT_TYPE) {
                let plain = HeaderValue::from_static("text/plain; charset=utf-8");
                headers.insert(CONTENT_TYPE, plain);
            }
            Bytes::from(text.clone())
        }
        Some(json) => {
            if !headers.contains_key(CONTENT_TYPE) {
                headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
            }
            Bytes::from(json.to_string())
        }
    };
    let key = HeaderValue::from_str(&req.idempotency_key)
        .map_err(|_| invalid("the idempotency key is not a valid header value"))?;
    headers.insert(IDEMPOTENCY_HEADER, key);
    if let Some(token) = &req.task_token {
        let token = HeaderValue::from_str(token)
            .map_err(|_| invalid("the task token is not a valid header value"))?;
        headers.insert(TASK_TOKEN_HEADER, token);
    }

    let mut request = Request::new(Full::new(bytes));
    *request.method_mut() = method;
    *request.uri_mut() = uri;
    *request.headers_mut() = headers;
    Ok((request, target))
}

fn method(given: &str) -> Result<Method, HttpTaskError> {
    const METHODS: [&str; 7] = ["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"];
    let upper = given.to_ascii_uppercase();
    if !METHODS.contains(&upper.as_str()) {
        return Err(invalid(format!(
            "method {given:.16?} is not one of {}",
            METHODS.join(", ")
        )));
    }
    Method::from_bytes(upper.as_bytes()).map_err(|_| invalid("bad method"))
}

/// `url` (http or https, with a host) with the `query` object's pairs appended.
fn with_query(url: &str, query: Option<&Value>) -> Result<Uri, HttpTaskError> {
    let bad = || invalid(format!("url {url:.256?} is not an http or https URL"));
    let mut text = url.split('#').next().unwrap_or_default().to_owned();
    let parsed: Uri = text.parse().map_err(|_| bad())?;
    let scheme_ok = parsed
        .scheme_str()
        .is_some_and(|s| s.eq_ignore_ascii_case("http") || s.eq_ignore_ascii_case("https"));
    if !scheme_ok || parsed.host().is_none_or(str::is_empty) {
        return Err(bad());
    }
    let pairs = match query {
        None | Some(Value::Null) => return Ok(parsed),
        Some(Value::Object(pairs)) => pairs,
        Some(_) => return Err(invalid("query is not an object")),
    };
    let mut sep = if parsed.query().is_some() { '&' } else { '?' };
    if parsed
        .path_and_query()
        .is_none_or(|p| p.as_str().is_empty())
    {
        text.push('/');
    }
    for (key, value) in pairs {
        let values = match value {
            Value::Array(items) => items.iter().collect(),
            _ => vec![value],
        };
        for value in values {
            let value = match value {
                Value::String(s) => s.clone(),
                Value::Number(_) | Value::Bool(_) => value.to_string(),
                _ => return Err(invalid(format!("query value {key:.64} is not a string"))),
            };
            text.push(sep);
            text.push_str(&percent_encode(key));
            text.push('=');
            text.push_str(&percent_encode(&value));
            sep = '&';
        }
    }
    text.parse().map_err(|_| bad())
}

/// Percent-encodes everything but RFC 3986's unreserved characters.
fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `METHOD scheme://host[:port]/path`: no user info, no query.
fn describe(method: &Method, uri: &Uri) -> String {
    let scheme = uri.scheme_str().unwrap_or("http");
    let host = uri.host().unwrap_or_default();
    let port = uri.port().map(|p| format!(":{p}")).unwrap_or_default();
    let path: String = uri.path().chars().take(256).collect();
    format!("{method} {scheme}://{host}{port}{path}")
}

/// Runs one attempt of a task.
#[async_trait::async_trait]
impl Integration for HttpTasks {
    async fn call(&self, req: &TaskRequest) -> TaskResult {
        match self.run(req).await {
            Ok(output) => TaskResult::Succeeded(output),
            Err(e) => e.into(),
        }
    }
}

#[cfg(test)]
mod tests;
