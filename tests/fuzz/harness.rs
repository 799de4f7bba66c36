//! The service the HTTP and event targets call: the real one, on the embedded store, behind no
//! authentication (the signature target checks the verifier itself), and the answer checks.

use std::sync::OnceLock;

use fnf_lambda::service::Service;
use serde_json::Value;

use crate::common::{self, Backend, CLOUDFLOW_SEED};

pub fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a runtime")
    })
}

/// One service for the whole binary, with the flows the sample events name.
pub fn service() -> &'static Service {
    static SVC: OnceLock<(Service, Option<tempfile::TempDir>)> = OnceLock::new();
    &SVC.get_or_init(|| {
        runtime().block_on(async {
            let (svc, guard) = common::service(Backend::Embedded).await;
            for name in ["f", "my_flow_name"] {
                common::create_flow(&svc, name, CLOUDFLOW_SEED, "DEFAULT").await;
            }
            (svc, guard)
        })
    })
    .0
}

/// An fnf answer body: `RequestId`, and on an error a `Code` (never the 500 one: bad input is
/// the caller's fault) and a `Message`. `status` is the HTTP status, when there is one.
pub fn check_body(status: Option<i64>, body: &Value) -> Result<(), String> {
    if let Some(status) = status
        && !(200..500).contains(&status)
    {
        return Err(format!("status {status}: {body}"));
    }
    if !body["RequestId"].is_string() {
        return Err(format!("no RequestId: {body}"));
    }
    match (status, body.get("Code")) {
        (Some(200), Some(_)) => Err(format!("status 200 with a Code: {body}")),
        (Some(s), None) if s != 200 => Err(format!("status {s} without a Code: {body}")),
        (_, Some(code)) => {
            let code = code.as_str().unwrap_or_default();
            if code.is_empty() || !code.bytes().all(|b| b.is_ascii_alphanumeric()) {
                return Err(format!("bad Code: {body}"));
            }
            if code == "InternalServerError" {
                return Err(format!("bad input answered 500: {body}"));
            }
            match body["Message"].is_string() {
                true => Ok(()),
                false => Err(format!("no Message: {body}")),
            }
        }
        _ => Ok(()),
    }
}

/// A Lambda answer: an API Gateway response whose body is fnf JSON, or (direct invokes) the fnf
/// JSON itself.
pub fn check_event_answer(answer: &Value) -> Result<(), String> {
    match answer.get("statusCode") {
        Some(status) => {
            let text = answer["body"].as_str().unwrap_or_default();
            let body: Value =
                serde_json::from_str(text).map_err(|e| format!("body not JSON: {e}: {answer}"))?;
            check_body(Some(status.as_i64().unwrap_or(0)), &body)
        }
        None => check_body(None, answer),
    }
}
