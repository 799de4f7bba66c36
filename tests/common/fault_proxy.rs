//! A fault-injecting HTTP/1.1 proxy on 127.0.0.1 in front of moto's DynamoDB: the store's
//! real SDK client talks to it, and at a set rate (seeded, so a run can be replayed) a request
//! meets one of the faults DynamoDB and the network give: a throttle (HTTP 400 with
//! `ProvisionedThroughputExceededException` or `ThrottlingException`), a 500
//! `InternalServerError`, a connection closed with no answer before the request is forwarded,
//! the same after it was forwarded (the write happened, the client never heard), or a delay.
//! Faults are counted by kind.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

/// What the proxy does to one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    ProvisionedThroughput,
    Throttling,
    InternalError,
    /// The connection is closed before the request reaches moto.
    ResetBefore,
    /// The request reached moto (it was applied); the connection is closed before the answer.
    ResetAfter,
    /// Forwarded after a pause.
    Delay,
}

impl Fault {
    pub const ALL: [Fault; 6] = [
        Fault::ProvisionedThroughput,
        Fault::Throttling,
        Fault::InternalError,
        Fault::ResetBefore,
        Fault::ResetAfter,
        Fault::Delay,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Fault::ProvisionedThroughput => "throttle (ProvisionedThroughputExceeded)",
            Fault::Throttling => "throttle (ThrottlingException)",
            Fault::InternalError => "500 InternalServerError",
            Fault::ResetBefore => "reset before forwarding",
            Fault::ResetAfter => "reset after forwarding",
            Fault::Delay => "delay",
        }
    }

    /// The DynamoDB error answer of a fault that answers one.
    fn answer(self) -> Option<(u16, &'static str)> {
        match self {
            Fault::ProvisionedThroughput => Some((400, "ProvisionedThroughputExceededException")),
            Fault::Throttling => Some((400, "ThrottlingException")),
            Fault::InternalError => Some((500, "InternalServerError")),
            _ => None,
        }
    }
}

/// The longest injected delay; short of any SDK timeout, long enough to reorder requests.
const MAX_DELAY_MS: u64 = 250;

struct State {
    upstream: String,
    /// Faults per million requests.
    rate_ppm: AtomicU32,
    rng: Mutex<u64>,
    counts: [AtomicU64; 6],
    requests: AtomicU64,
    /// Faults for the next requests of an operation, in order (`None`: forwarded as is),
    /// before any drawn at random.
    scripts: Mutex<Vec<(String, VecDeque<Option<Fault>>)>>,
    client: Client<HttpConnector, Full<Bytes>>,
}

impl State {
    /// The next pseudo-random number (xorshift64*).
    fn next(&self) -> u64 {
        let mut s = self.rng.lock().unwrap();
        *s ^= *s >> 12;
        *s ^= *s << 25;
        *s ^= *s >> 27;
        s.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// The scripted fault of the next request of `target`'s operation, if one is scripted.
    fn scripted(&self, target: Option<&str>) -> Option<Option<Fault>> {
        let op = target?.rsplit('.').next()?;
        let mut scripts = self.scripts.lock().unwrap();
        let (_, queue) = scripts.iter_mut().find(|(o, q)| o == op && !q.is_empty())?;
        queue.pop_front()
    }

    fn pick(&self) -> Option<(Fault, u64)> {
        let rate = u64::from(self.rate_ppm.load(Ordering::Relaxed));
        let roll = self.next();
        if roll % 1_000_000 >= rate {
            return None;
        }
        let kind = Fault::ALL[(self.next() % Fault::ALL.len() as u64) as usize];
        Some((kind, self.next() % MAX_DELAY_MS))
    }
}

/// A request closed without an answer: hyper drops the connection when the service fails.
#[derive(Debug)]
struct Dropped;

impl std::fmt::Display for Dropped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection dropped by the fault proxy")
    }
}

impl std::error::Error for Dropped {}

pub struct FaultProxy {
    /// The proxy's endpoint, for the SDK client's `endpoint_url`.
    pub url: String,
    state: Arc<State>,
}

impl FaultProxy {
    /// A proxy to `upstream` (moto's endpoint), injecting nothing until [`FaultProxy::set_rate`].
    pub async fn start(upstream: &str, seed: u64) -> FaultProxy {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let state = Arc::new(State {
            upstream: upstream.trim_end_matches('/').to_owned(),
            rate_ppm: AtomicU32::new(0),
            rng: Mutex::new(seed | 1),
            counts: Default::default(),
            requests: AtomicU64::new(0),
            scripts: Mutex::default(),
            client: Client::builder(TokioExecutor::new()).build_http(),
        });
        let shared = state.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let state = shared.clone();
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |req| {
                        let state = state.clone();
                        async move { handle(&state, req).await }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        FaultProxy { url, state }
    }

    /// Injects a fault into `rate` (0 to 1) of the requests from now on.
    pub fn set_rate(&self, rate: f64) {
        let ppm = (rate.clamp(0.0, 1.0) * 1_000_000.0) as u32;
        self.state.rate_ppm.store(ppm, Ordering::Relaxed);
    }

    /// The next requests of DynamoDB operation `op` (`PutItem`, `GetItem`...) meet `faults`
    /// in order (`None`: that one passes); others go on as before.
    pub fn script(&self, op: &str, faults: &[Option<Fault>]) {
        self.state
            .scripts
            .lock()
            .unwrap()
            .push((op.to_owned(), faults.iter().copied().collect()));
    }

    /// Faults injected so far, by kind.
    pub fn counts(&self) -> Vec<(Fault, u64)> {
        Fault::ALL
            .iter()
            .zip(&self.state.counts)
            .map(|(f, c)| (*f, c.load(Ordering::Relaxed)))
            .collect()
    }

    pub fn faults(&self) -> u64 {
        self.counts().iter().map(|(_, n)| n).sum()
    }

    /// Requests the proxy has seen.
    pub fn requests(&self) -> u64 {
        self.state.requests.load(Ordering::Relaxed)
    }
}

async fn handle(state: &State, req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Dropped> {
    state.requests.fetch_add(1, Ordering::Relaxed);
    let (parts, body) = req.into_parts();
    let body = body.collect().await.map_err(|_| Dropped)?.to_bytes();
    let target = parts
        .headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok());
    let fault = match state.scripted(target) {
        Some(scripted) => scripted.map(|kind| (kind, MAX_DELAY_MS)),
        None => state.pick(),
    };
    if let Some((kind, _)) = fault {
        tracing::info!(?kind, target, "fault injected");
        state.counts[Fault::ALL.iter().position(|f| *f == kind).unwrap()]
            .fetch_add(1, Ordering::Relaxed);
    }
    match fault {
        Some((kind, _)) if kind.answer().is_some() => {
            let (status, code) = kind.answer().unwrap();
            return Ok(error_answer(status, code));
        }
        Some((Fault::ResetBefore, _)) => return Err(Dropped),
        Some((Fault::Delay, ms)) => tokio::time::sleep(Duration::from_millis(ms)).await,
        _ => {}
    }
    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    let mut forward = Request::builder()
        .method(parts.method.clone())
        .uri(format!("{}{path}", state.upstream));
    for (name, value) in &parts.headers {
        forward = forward.header(name, value);
    }
    let forward = forward.body(Full::new(body)).map_err(|_| Dropped)?;
    let answer = state.client.request(forward).await.map_err(|_| Dropped)?;
    let (parts, body) = answer.into_parts();
    let body = body.collect().await.map_err(|_| Dropped)?.to_bytes();
    if matches!(fault, Some((Fault::ResetAfter, _))) {
        return Err(Dropped);
    }
    Ok(Response::from_parts(parts, Full::new(body)))
}

/// An error as DynamoDB answers it (JSON 1.0 protocol: the code after `#` in `__type`).
fn error_answer(status: u16, code: &str) -> Response<Full<Bytes>> {
    let body = serde_json::json!({
        "__type": format!("com.amazonaws.dynamodb.v20120810#{code}"),
        "message": format!("injected by the fault proxy: {code}"),
    });
    Response::builder()
        .status(status)
        .header("content-type", "application/x-amz-json-1.0")
        .header("x-amzn-requestid", "fault-proxy")
        .body(Full::new(Bytes::from(body.to_string())))
        .unwrap()
}
