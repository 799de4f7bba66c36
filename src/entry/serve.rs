//! `fnf-lambda serve`: the same API on a local HTTP/1.1 server (hyper), for `make run`, tests
//! and the official SDKs pointed at `http://127.0.0.1:8080`.
//!
//! Bounded against callers that hold resources: at most `max_connections` connections (the
//! next ones are answered 503 and closed), accept errors (descriptor exhaustion) wait and
//! retry instead of ending the server, and every wait on a caller has a timeout (see
//! [`Limits`] and `connection`).

mod connection;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper::body::{Body, Bytes, Incoming};
use hyper::{Request, Response};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;

use crate::api::{self, HttpRequest, request::MAX_BODY_BYTES};
use crate::error::FnfError;
use crate::service::Service;

pub const MAX_CONNECTIONS_ENV: &str = "FNF_MAX_CONNECTIONS";
pub const HEADER_TIMEOUT_ENV: &str = "FNF_HEADER_TIMEOUT_MS";
pub const IDLE_TIMEOUT_ENV: &str = "FNF_IDLE_TIMEOUT_MS";
pub const BODY_TIMEOUT_ENV: &str = "FNF_BODY_TIMEOUT_MS";

/// Refused connections being answered at once, each holding a descriptor for at most
/// [`REFUSAL_LINGER`]; beyond, a refused connection gets one unwaited write of its 503.
const REFUSALS_AT_ONCE: usize = 64;
/// How long a refused connection may take to read its 503 and close. Reading what the client
/// sent before closing keeps the kernel from resetting the connection over the answer.
const REFUSAL_LINGER: Duration = Duration::from_secs(1);
/// Pauses after a failed accept: from the first to the last, doubling.
const ACCEPT_PAUSE: (Duration, Duration) = (Duration::from_millis(10), Duration::from_secs(1));
/// Largest setting accepted: a connection count, or a timeout in ms (a day).
const MAX_CONNECTIONS_SETTING: u64 = 1_000_000;
const MAX_TIMEOUT_MS: u64 = 86_400_000;

/// The server's bounds, from the environment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Connections served at once (`FNF_MAX_CONNECTIONS`): well under the usual 1,024
    /// descriptors, which the store and the refusals also use.
    pub max_connections: usize,
    /// Time for a request head to arrive, from the connection's start or its previous answer
    /// (`FNF_HEADER_TIMEOUT_MS`); hyper then closes the connection.
    pub header_timeout: Duration,
    /// A connection on which no byte moves this long while none of its requests is being
    /// handled is closed (`FNF_IDLE_TIMEOUT_MS`).
    pub idle_timeout: Duration,
    /// Time for a whole request body (`FNF_BODY_TIMEOUT_MS`); then `RequestTimeout` (408).
    pub body_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_connections: 512,
            header_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(5),
            body_timeout: Duration::from_secs(10),
        }
    }
}

impl Limits {
    /// The defaults, overridden by the variables that are set; a malformed one is an error.
    pub fn from_env() -> Result<Limits, String> {
        Limits::from_lookup(crate::settings::env)
    }

    fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Limits, String> {
        let d = Limits::default();
        let ms = |name: &str, default: Duration| {
            crate::settings::count(&get, name, default.as_millis() as u64, 1, MAX_TIMEOUT_MS)
                .map(Duration::from_millis)
        };
        let max = crate::settings::count(
            &get,
            MAX_CONNECTIONS_ENV,
            d.max_connections as u64,
            1,
            MAX_CONNECTIONS_SETTING,
        )?;
        Ok(Limits {
            max_connections: usize::try_from(max).unwrap_or(usize::MAX),
            header_timeout: ms(HEADER_TIMEOUT_ENV, d.header_timeout)?,
            idle_timeout: ms(IDLE_TIMEOUT_ENV, d.idle_timeout)?,
            body_timeout: ms(BODY_TIMEOUT_ENV, d.body_timeout)?,
        })
    }
}

/// Serves until Ctrl-C (or SIGTERM). Each connection runs in its own task.
pub async fn run(service: Service, listener: TcpListener, limits: Limits) {
    let shutdown = shutdown_signal();
    tokio::pin!(shutdown);
    check_descriptor_limit(limits.max_connections);
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let refusals = Arc::new(Semaphore::new(REFUSALS_AT_ONCE));
    let mut pause: Option<Duration> = None;
    let mut refused = RefusalLog::default();
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = &mut shutdown => break,
        };
        let (stream, peer) = match accepted {
            Ok(accepted) => {
                pause = None;
                accepted
            }
            Err(e) => {
                // Out of descriptors (EMFILE, ENFILE), memory, or a connection gone before
                // it was accepted: none of these should end the server. Wait, then retry.
                let wait = pause.map_or(ACCEPT_PAUSE.0, |p| (p * 2).min(ACCEPT_PAUSE.1));
                pause = Some(wait);
                tracing::warn!(error = %e, retry_in_ms = wait.as_millis() as u64, "cannot accept a connection");
                tokio::select! {
                    () = tokio::time::sleep(wait) => continue,
                    () = &mut shutdown => break,
                }
            }
        };
        match slots.clone().try_acquire_owned() {
            Ok(slot) => {
                tokio::spawn(connection::serve(
                    service.clone(),
                    stream,
                    peer,
                    limits,
                    slot,
                ));
            }
            Err(_) => {
                refused.note(limits.max_connections);
                turn_away(stream, limits.max_connections, &refusals);
            }
        }
    }
    tracing::info!("shutting down");
}

/// Warns when the cap leaves no room under the process's descriptor limit (read from Linux's
/// /proc): past it, accept fails and new callers wait instead of getting a 503.
fn check_descriptor_limit(max_connections: usize) {
    let Ok(limits) = std::fs::read_to_string("/proc/self/limits") else {
        return;
    };
    let soft = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .and_then(|l| l.split_whitespace().nth(3)?.parse::<usize>().ok());
    // Besides connections: the refusals, the store's files, the runtime, the log.
    let needed = max_connections + REFUSALS_AT_ONCE + 64;
    if let Some(soft) = soft
        && needed > soft
    {
        tracing::warn!(
            max_connections,
            descriptor_limit = soft,
            "{MAX_CONNECTIONS_ENV} leaves too few descriptors: lower it or raise `ulimit -n` to {needed}"
        );
    }
}

/// Logs refused connections at most once a second, with how many.
#[derive(Default)]
struct RefusalLog {
    since: Option<std::time::Instant>,
    count: u64,
}

impl RefusalLog {
    fn note(&mut self, max: usize) {
        self.count += 1;
        if self
            .since
            .is_none_or(|t| t.elapsed() >= Duration::from_secs(1))
        {
            tracing::warn!(
                refused = self.count,
                max_connections = max,
                "at the connection limit: refusing connections with 503"
            );
            self.since = Some(std::time::Instant::now());
            self.count = 0;
        }
    }
}

/// Answers a connection over the cap with a 503 and closes it.
fn turn_away(stream: TcpStream, max: usize, refusals: &Arc<Semaphore>) {
    let answer = refusal(max);
    match refusals.clone().try_acquire_owned() {
        Ok(permit) => {
            tokio::spawn(async move {
                refuse(stream, answer).await;
                drop(permit);
            });
        }
        // Too many being refused already: one write, without waiting, then close (tokio's
        // try_write would wait for the reactor to see the new socket).
        Err(_) => {
            if let Ok(mut raw) = stream.into_std() {
                let _ = std::io::Write::write(&mut raw, answer.as_bytes());
            }
        }
    }
}

/// The raw 503 `ServiceUnavailable` answer to a connection over the cap.
fn refusal(max: usize) -> String {
    let request_id = new_request_id();
    let err = FnfError::ServiceUnavailable(max);
    let body = serde_json::json!({
        "RequestId": request_id,
        "Code": err.code(),
        "Message": err.to_string(),
    })
    .to_string();
    format!(
        "HTTP/1.1 {} Service Unavailable\r\ncontent-type: application/json\r\n\
         content-length: {}\r\nconnection: close\r\nretry-after: 1\r\n\
         x-acs-request-id: {request_id}\r\n\r\n{body}\n",
        err.status(),
        body.len() + 1
    )
}

/// Sends the refusal and closes, reading what the client sent meanwhile.
async fn refuse(mut stream: TcpStream, answer: String) {
    let _ = tokio::time::timeout(REFUSAL_LINGER, async {
        stream.write_all(answer.as_bytes()).await?;
        stream.shutdown().await?;
        let mut sink = [0u8; 4096];
        while stream.read(&mut sink).await? > 0 {}
        Ok::<_, std::io::Error>(())
    })
    .await;
}

fn new_request_id() -> String {
    uuid::Uuid::new_v4().to_string().to_uppercase()
}

async fn handle(
    service: &Service,
    req: Request<Incoming>,
    peer: SocketAddr,
    limits: &Limits,
) -> Response<Full<Bytes>> {
    let request_id = new_request_id();
    tracing::debug!(%peer, method = %req.method(), "request");
    let (parts, body) = req.into_parts();
    // A declared length over the limit is refused before anything is read, so no
    // `100 Continue` goes out and nobody waits for a body that will not be taken.
    if body.size_hint().lower() > MAX_BODY_BYTES as u64 {
        let err = FnfError::EntityTooLarge(MAX_BODY_BYTES);
        return respond(api::error_answer(&err, &request_id), &request_id, true);
    }
    let read = Limited::new(body, MAX_BODY_BYTES).collect();
    let collected = match tokio::time::timeout(limits.body_timeout, read).await {
        Ok(Ok(collected)) => collected,
        Ok(Err(e)) => {
            let err = if e.is::<LengthLimitError>() {
                FnfError::EntityTooLarge(MAX_BODY_BYTES)
            } else {
                FnfError::InvalidArgument(format!(
                    "the request body cannot be read: {}",
                    causes(&*e)
                ))
            };
            return respond(api::error_answer(&err, &request_id), &request_id, true);
        }
        Err(_) => {
            let err = FnfError::RequestTimeout(limits.body_timeout.as_millis() as u64);
            return respond(api::error_answer(&err, &request_id), &request_id, true);
        }
    };
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
    respond(
        api::handle_http(service, &http, &request_id).await,
        &request_id,
        false,
    )
}

/// An error and its causes, `outer: inner` (hyper says what went wrong only in the cause).
fn causes(err: &(dyn std::error::Error + 'static)) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    text
}

/// The answer as an HTTP response; `close` when the rest of the request was not read.
fn respond(answer: api::Answer, request_id: &str, close: bool) -> Response<Full<Bytes>> {
    // The trailing newline keeps a terminal tidy after `curl -s`; JSON parsers ignore it.
    let mut response = Response::new(Full::new(Bytes::from(format!("{}\n", answer.body))));
    *response.status_mut() = hyper::StatusCode::from_u16(answer.status)
        .unwrap_or(hyper::StatusCode::INTERNAL_SERVER_ERROR);
    let headers = response.headers_mut();
    headers.insert(
        "content-type",
        hyper::header::HeaderValue::from_static("application/json"),
    );
    if let Ok(id) = hyper::header::HeaderValue::from_str(request_id) {
        headers.insert("x-acs-request-id", id);
    }
    if close {
        headers.insert(
            "connection",
            hyper::header::HeaderValue::from_static("close"),
        );
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

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(vars: &[(&str, &str)]) -> Result<Limits, String> {
        Limits::from_lookup(|name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        })
    }

    #[test]
    fn settings_default_and_override() {
        assert_eq!(limits(&[]), Ok(Limits::default()));
        let set = limits(&[
            (MAX_CONNECTIONS_ENV, "7"),
            (HEADER_TIMEOUT_ENV, " 250 "),
            (IDLE_TIMEOUT_ENV, ""),
            (BODY_TIMEOUT_ENV, "3000"),
        ])
        .unwrap();
        assert_eq!(set.max_connections, 7);
        assert_eq!(set.header_timeout, Duration::from_millis(250));
        assert_eq!(set.idle_timeout, Limits::default().idle_timeout);
        assert_eq!(set.body_timeout, Duration::from_secs(3));
    }

    #[test]
    fn malformed_settings_are_refused_by_name() {
        for (name, value) in [
            (MAX_CONNECTIONS_ENV, "0"),
            (MAX_CONNECTIONS_ENV, "many"),
            (HEADER_TIMEOUT_ENV, "-1"),
            (BODY_TIMEOUT_ENV, "99999999999"),
        ] {
            let err = limits(&[(name, value)]).unwrap_err();
            assert!(err.starts_with(name), "{err}");
        }
    }
}
