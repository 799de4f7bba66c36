//! StartExecution latency for a one-Pass flow, measured through the API adapter (decode,
//! validate, claim, run, final write, encode), on the embedded store and, when
//! `FNF_TEST_DYNAMODB_ENDPOINT` is set (`make bench` starts moto), on DynamoDB.
//! Also the pure engine alone and the Lambda event decoding path.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};
use criterion::{Criterion, criterion_group, criterion_main};
use fnf_lambda::api::{self, HttpRequest};
use fnf_lambda::clock::SystemClock;
use fnf_lambda::engine::{self, ExecutionContext, Progress};
use fnf_lambda::flow::{self, FlowType};
use fnf_lambda::service::Service;
use fnf_lambda::store::Store;
use fnf_lambda::store::dynamo::DynamoStore;
use fnf_lambda::store::embedded::EmbeddedStore;
use serde_json::{Value, json};

const ONE_PASS: &str = "Type: StateMachine\nSpecVersion: v1\nName: bench\nStartAt: p\nStates:\n  - Type: Pass\n    Name: p\n    End: true\n";

fn json_request(params: Value) -> HttpRequest {
    HttpRequest {
        method: "POST".into(),
        path: "/".into(),
        query: vec![],
        headers: vec![("content-type".into(), "application/json".into())],
        body: params.to_string().into_bytes(),
    }
}

async fn prepared(store: Arc<dyn Store>) -> Service {
    let svc = Service::new(store, Arc::new(SystemClock));
    let create = json_request(
        json!({"Action": "CreateFlow", "Name": "bench", "Type": "DEFAULT", "Definition": ONE_PASS}),
    );
    let answer = api::handle_http(&svc, &create, "bench").await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    svc
}

fn bench_start_execution(
    c: &mut Criterion,
    label: &str,
    rt: &tokio::runtime::Runtime,
    svc: &Service,
) {
    let counter = AtomicU64::new(0);
    c.bench_function(&format!("start_execution/{label}/one_pass"), |b| {
        b.to_async(rt).iter(|| {
            let n = counter.fetch_add(1, Ordering::Relaxed);
            let req = json_request(json!({
                "Action": "StartExecution", "FlowName": "bench",
                "ExecutionName": format!("e{n}"), "Input": "{\"key\":\"value\"}",
            }));
            async move {
                let answer = api::handle_http(svc, &req, "bench").await;
                assert_eq!(answer.body["Status"], "Succeeded");
            }
        })
    });
}

/// Per-call latencies (criterion reports means of batches): `CALLS` StartExecutions one after
/// another, each timed, written with their percentiles to `target/bench-results/` for the
/// summary `make bench` prints.
fn record_percentiles(label: &str, rt: &tokio::runtime::Runtime, svc: &Service) {
    const CALLS: usize = 1_000;
    let mut micros: Vec<f64> = Vec::with_capacity(CALLS);
    rt.block_on(async {
        for n in 0..CALLS {
            let req = json_request(json!({
                "Action": "StartExecution", "FlowName": "bench",
                "ExecutionName": format!("p{n}"), "Input": "{\"key\":\"value\"}",
            }));
            let began = std::time::Instant::now();
            let answer = api::handle_http(svc, &req, "bench").await;
            micros.push(began.elapsed().as_secs_f64() * 1e6);
            assert_eq!(answer.body["Status"], "Succeeded");
        }
    });
    micros.sort_by(f64::total_cmp);
    let at = |q: f64| micros[((micros.len() - 1) as f64 * q).round() as usize];
    let summary = json!({
        "calls": CALLS, "p50_us": at(0.50), "p90_us": at(0.90), "p99_us": at(0.99),
        "max_us": at(1.0),
    });
    eprintln!("start_execution/{label}: {summary}");
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench-results");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join(format!("start_execution_{label}.json")),
        summary.to_string(),
    )
    .unwrap();
}

fn start_execution(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let embedded = rt.block_on(prepared(Arc::new(EmbeddedStore::open(dir.path()).unwrap())));
    bench_start_execution(c, "embedded", &rt, &embedded);
    record_percentiles("embedded", &rt, &embedded);

    if let Ok(endpoint) = std::env::var("FNF_TEST_DYNAMODB_ENDPOINT") {
        let config = aws_sdk_dynamodb::Config::builder()
            .http_client(fnf_lambda::aws::https_client())
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .endpoint_url(endpoint)
            .credentials_provider(Credentials::new("bench", "bench", None, None, "bench"))
            .build();
        let store = DynamoStore::new(
            aws_sdk_dynamodb::Client::from_conf(config),
            format!("fnf-bench-{}", std::process::id()),
        );
        rt.block_on(store.create_table()).unwrap();
        let svc = rt.block_on(prepared(Arc::new(store)));
        bench_start_execution(c, "dynamodb_moto", &rt, &svc);
        record_percentiles("dynamodb_moto", &rt, &svc);
    } else {
        eprintln!(
            "FNF_TEST_DYNAMODB_ENDPOINT unset: skipping the DynamoDB (moto) benchmark; `make bench` sets it"
        );
    }
}

fn engine_only(c: &mut Criterion) {
    let model = flow::parse(ONE_PASS, FlowType::CloudFlow).unwrap();
    let ctx = ExecutionContext {
        flow_name: "bench".into(),
        execution_name: "e".into(),
        started_ms: 0,
        secret: String::new(),
        account: String::new(),
    };
    let input: serde_json::Map<String, Value> =
        serde_json::from_str("{\"key\":\"value\"}").unwrap();
    c.bench_function("engine/one_pass", |b| {
        b.iter(|| {
            let mut cp = engine::start(&model, input.clone());
            assert!(matches!(
                engine::advance(&model, &mut cp, &ctx, 0, 100),
                Progress::Finished(_)
            ));
        })
    });
    c.bench_function("flow/parse_one_pass", |b| {
        b.iter(|| flow::parse(ONE_PASS, FlowType::CloudFlow).unwrap())
    });
}

fn decode_event(c: &mut Criterion) {
    let event: Value =
        serde_json::from_str(include_str!("../events/apigw-v2-start-execution.json")).unwrap();
    c.bench_function("api/classify_v2_event", |b| {
        b.iter(|| api::event::classify(event.clone()).is_ok())
    });
}

criterion_group!(benches, start_execution, engine_only, decode_event);
criterion_main!(benches);
