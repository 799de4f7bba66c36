//! Continuations through AWS Lambda's Invoke API: the real SDK client sends each continuation
//! as an asynchronous Invoke to a test server speaking the Invoke API on 127.0.0.1, which keeps
//! the payloads; the test hands each one to the Lambda handler, as Lambda would.

mod common;

use std::convert::Infallible;
use std::sync::{Arc, Mutex};

use aws_sdk_lambda::config::{BehaviorVersion, Credentials, Region};
use common::{CLOUDFLOW_SEED, create_flow, ok};
use fnf_lambda::api;
use fnf_lambda::clock::SystemClock;
use fnf_lambda::dispatch::invoke::InvokeDispatcher;
use fnf_lambda::service::{Budgets, Service};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use serde_json::Value;

/// (path, invocation type header, payload) of every Invoke received.
type Received = Arc<Mutex<Vec<(String, String, Value)>>>;

async fn invoke_api() -> (String, Received) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let received: Received = Arc::default();
    let store = received.clone();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let store = store.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(
                    move |req: hyper::Request<hyper::body::Incoming>| {
                        let store = store.clone();
                        async move {
                            let path = req.uri().path().to_owned();
                            let kind = req
                                .headers()
                                .get("x-amz-invocation-type")
                                .and_then(|v| v.to_str().ok())
                                .unwrap_or("")
                                .to_owned();
                            let body = req
                                .into_body()
                                .collect()
                                .await
                                .map(|b| b.to_bytes())
                                .unwrap_or_default();
                            let payload = serde_json::from_slice(&body).unwrap_or(Value::Null);
                            store.lock().unwrap().push((path, kind, payload));
                            // What Lambda answers an accepted asynchronous invoke.
                            let mut response = hyper::Response::new(Full::new(Bytes::new()));
                            *response.status_mut() = hyper::StatusCode::ACCEPTED;
                            Ok::<_, Infallible>(response)
                        }
                    },
                );
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    (format!("http://{addr}"), received)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn continuations_travel_as_async_invokes_of_this_function() {
    let (endpoint, received) = invoke_api().await;
    let config = aws_sdk_lambda::Config::builder()
        .http_client(fnf_lambda::aws::https_client())
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(endpoint)
        .credentials_provider(Credentials::new("test", "test", None, None, "tests"))
        .build();
    let dispatcher = InvokeDispatcher::new(
        aws_sdk_lambda::Client::from_conf(config),
        "stack-fnf".into(),
        SystemClock,
    );
    let (store, _guard) = common::store(common::Backend::Embedded).await;
    let budgets = Budgets {
        response_ms: 1,
        invocation_ms: 1,
        lease_margin_ms: 1_000,
    };
    let svc = Service::new(store, Arc::new(SystemClock))
        .with_continuations(Arc::new(dispatcher), budgets);
    create_flow(&svc, "loop", common::COUNTER_LOOP, "DEFAULT").await;
    create_flow(&svc, "seed", CLOUDFLOW_SEED, "DEFAULT").await;

    let started = ok(
        &svc,
        &[
            ("Action", "StartExecution"),
            ("FlowName", "loop"),
            ("ExecutionName", "l"),
            ("Input", r#"{"n":5000}"#),
        ],
    )
    .await;
    assert_eq!(started["Status"], "Running");
    let mut delivered = 0;
    loop {
        let next = received.lock().unwrap().pop();
        let Some((path, kind, payload)) = next else {
            break;
        };
        assert_eq!(path, "/2015-03-31/functions/stack-fnf/invocations");
        assert_eq!(kind, "Event", "continuations are asynchronous invokes");
        assert_eq!(payload["fnfContinuation"]["name"], "l", "{payload}");
        // Lambda delivers the payload to the same handler that serves HTTP.
        let answer = api::handle_event(&svc, payload, &format!("invocation-{delivered}")).await;
        assert!(
            answer["Continued"]
                .as_str()
                .is_some_and(|c| c.starts_with("Drove")),
            "{answer}"
        );
        delivered += 1;
    }
    assert!(
        delivered >= 2,
        "the flow was carried by several invocations"
    );
    let done = ok(
        &svc,
        &[
            ("Action", "DescribeExecution"),
            ("FlowName", "loop"),
            ("ExecutionName", "l"),
        ],
    )
    .await;
    assert_eq!(
        (done["Status"].as_str(), done["Output"].as_str()),
        (Some("Succeeded"), Some(r#"{"i":5000,"n":5000}"#))
    );

    // A short flow needs no continuation; a forged or stale continuation does nothing.
    let quick = ok(&svc, &[("Action", "StartExecution"), ("FlowName", "seed")]).await;
    assert_eq!(quick["Status"], "Succeeded");
    assert!(received.lock().unwrap().is_empty());
    let stale = serde_json::json!({"fnfContinuation": {"flow": "loop", "name": "l", "version": 1}});
    let answer = api::handle_event(&svc, stale, "stale").await;
    assert_eq!(answer["Continued"], "Skipped", "{answer}");
    let broken = serde_json::json!({"fnfContinuation": {"flow": 5}});
    let answer = api::handle_event(&svc, broken, "broken").await;
    assert_eq!(answer["Code"], "InvalidArgument", "{answer}");
}
