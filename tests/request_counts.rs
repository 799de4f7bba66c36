//! DynamoDB requests, counted on the wire (an SDK interceptor sees every HTTP request, retries
//! included): a 1,000-transition flow run within StartExecution, a 10,000-transition flow
//! carried across continuations, and a flow that writes only where it must (before a task
//! call, at a wait, at the end). The bounds make a regression fail a test; the counts are printed for the
//! record. Counts, not timings.

mod common;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use aws_sdk_dynamodb::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_dynamodb::config::{
    BehaviorVersion, ConfigBag, Credentials, Intercept, Region, RuntimeComponents,
};
use aws_sdk_dynamodb::error::BoxError;
use common::{Recorder, create_flow, ok};
use fnf_lambda::clock::SystemClock;
use fnf_lambda::service::continuation::Continued;
use fnf_lambda::service::{Budgets, ForkLimits, Service};
use fnf_lambda::store::Store;
use fnf_lambda::store::dynamo::DynamoStore;

/// These counts are of an account without a running-execution limit
/// (`FNF_MAX_RUNNING_EXECUTIONS=0`); with one (the default), a start also takes a slot and
/// its end gives it back (`a_ten_state_flow_is_two_small_writes` counts that too).
const NO_RUNNING_LIMIT: ForkLimits = ForkLimits {
    max_depth: fnf_lambda::service::DEFAULT_MAX_CHILD_DEPTH,
    max_children: fnf_lambda::service::DEFAULT_MAX_CHILDREN,
    max_running: 0,
};

/// Counts requests by their DynamoDB operation (the `x-amz-target` header), and keeps the
/// body sizes of PutItem requests (an item's size, which DynamoDB bills by the KB, plus a few
/// hundred bytes of JSON around it).
#[derive(Debug, Default, Clone)]
struct Requests(Arc<Mutex<BTreeMap<String, u64>>>, Arc<Mutex<Vec<usize>>>);

impl Intercept for Requests {
    fn name(&self) -> &'static str {
        "count-requests"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let target = context
            .request()
            .headers()
            .get("x-amz-target")
            .unwrap_or("?");
        let op = target.rsplit('.').next().unwrap_or(target).to_owned();
        if op == "PutItem" {
            let size = context.request().body().bytes().map_or(0, <[u8]>::len);
            self.1.lock().unwrap().push(size);
        }
        *self.0.lock().unwrap().entry(op).or_default() += 1;
        Ok(())
    }
}

impl Requests {
    fn take(&self) -> BTreeMap<String, u64> {
        self.1.lock().unwrap().clear();
        std::mem::take(&mut *self.0.lock().unwrap())
    }

    /// Body sizes of the PutItem requests since the last `take`.
    fn put_sizes(&self) -> Vec<usize> {
        self.1.lock().unwrap().clone()
    }
}

async fn counted_store() -> (DynamoStore, Requests) {
    let requests = Requests::default();
    let config = aws_sdk_dynamodb::Config::builder()
        .http_client(fnf_lambda::aws::https_client())
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(common::dynamodb_endpoint())
        .credentials_provider(Credentials::new("test", "test", None, None, "tests"))
        .interceptor(requests.clone())
        .build();
    let store = DynamoStore::new(
        aws_sdk_dynamodb::Client::from_conf(config),
        format!("fnf-count-{}", uuid::Uuid::new_v4().simple()),
    );
    store.create_table().await.unwrap();
    (store, requests)
}

/// The execution's history events: how many were stored as items of their own, and how many
/// came in the execution's final record.
async fn event_count(store: &DynamoStore, flow: &str, name: &str) -> (u64, u64) {
    let exec = store.get_execution(flow, name).await.unwrap().unwrap();
    let kept = exec.history.len() as u64;
    let (mut count, mut after) = (0, None);
    loop {
        let page = store.execution_history(&exec, 5_000, after).await.unwrap();
        count += page.items.len() as u64;
        match page.next_after {
            Some(a) => after = Some(a.parse().unwrap()),
            None => return (count - kept, kept),
        }
    }
}

fn total(counts: &BTreeMap<String, u64>) -> u64 {
    counts.values().sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_transitions_in_one_call() {
    let (store, requests) = counted_store().await;
    // A cache long enough that the second start below is surely within it.
    let svc = Service::new(Arc::new(store.clone()), Arc::new(SystemClock))
        .with_flow_cache(60_000)
        .with_fork_limits(NO_RUNNING_LIMIT);
    create_flow(&svc, "loop", common::COUNTER_LOOP, "DEFAULT").await;
    requests.take();
    let done = ok(
        &svc,
        &[
            ("Action", "StartExecution"),
            ("FlowName", "loop"),
            ("ExecutionName", "one"),
            ("Input", r#"{"n":500}"#),
        ],
    )
    .await;
    assert_eq!(done["Status"], "Succeeded", "{done}");
    let counts = requests.take();
    let (stored, kept) = event_count(&store, "loop", "one").await;
    eprintln!(
        "one call: {counts:?} = {} requests, {stored} history events stored in batches, {kept} in the final record",
        total(&counts)
    );
    // Read the flow; claim; history in batches of 25 (too many events to come with the final
    // write); the final write. No reads of the execution.
    assert_eq!((stored, kept), (2_008, 0));
    assert_eq!(counts.get("GetItem"), Some(&1), "{counts:?}");
    assert_eq!(counts.get("PutItem"), Some(&2), "claim + final: {counts:?}");
    assert_eq!(
        counts.get("BatchWriteItem"),
        Some(&stored.div_ceil(25)),
        "{counts:?}"
    );
    assert_eq!(total(&counts), 3 + stored.div_ceil(25), "{counts:?}");

    // Warm: the flow was read a moment ago, so a short flow costs its two writes and no read.
    requests.take();
    let short = ok(
        &svc,
        &[
            ("Action", "StartExecution"),
            ("FlowName", "loop"),
            ("ExecutionName", "two"),
            ("Input", r#"{"n":1}"#),
        ],
    )
    .await;
    assert_eq!(short["Status"], "Succeeded", "{short}");
    let counts = requests.take();
    let (stored, kept) = event_count(&store, "loop", "two").await;
    eprintln!("warm short flow: {counts:?}, {kept} history events in the final record");
    // Two writes in all: the final one carries the whole history.
    assert_eq!((stored, kept), (0, 12));
    assert_eq!(
        counts,
        BTreeMap::from([("PutItem".to_owned(), 2)]),
        "claim + final, no read"
    );
}

/// docs/cost.md's example: ten Pass states.
fn ten_pass_states() -> String {
    let mut text =
        "Type: StateMachine\nSpecVersion: v1\nName: ten\nStartAt: s1\nStates:\n".to_owned();
    for i in 1..=10 {
        let next = if i == 10 {
            "End: true".to_owned()
        } else {
            format!("Next: s{}", i + 1)
        };
        text += &format!("  - Type: Pass\n    Name: s{i}\n    {next}\n");
    }
    text
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ten_state_flow_is_two_small_writes() {
    let (store, requests) = counted_store().await;
    let svc = Service::new(Arc::new(store.clone()), Arc::new(SystemClock))
        .with_flow_cache(60_000)
        .with_fork_limits(NO_RUNNING_LIMIT);
    create_flow(&svc, "ten", &ten_pass_states(), "DEFAULT").await;
    let start = |name: &'static str| {
        let svc = &svc;
        async move {
            ok(
                svc,
                &[
                    ("Action", "StartExecution"),
                    ("FlowName", "ten"),
                    ("ExecutionName", name),
                    ("Input", r#"{"order":"A-1001","amount":42}"#),
                ],
            )
            .await
        }
    };
    assert_eq!(start("cold").await["Status"], "Succeeded");
    requests.take();
    assert_eq!(start("warm").await["Status"], "Succeeded");
    let sizes = requests.put_sizes();
    let counts = requests.take();
    let (stored, kept) = event_count(&store, "ten", "warm").await;
    eprintln!(
        "ten states, warm: {counts:?}; PutItem bodies {sizes:?} bytes; {kept} events in the final record"
    );
    assert_eq!((stored, kept), (0, 22));
    assert_eq!(counts, BTreeMap::from([("PutItem".to_owned(), 2)]));
    // What DynamoDB bills: a write unit per started KB of the item. The claim holds the
    // definition and input; the final record adds the output and the 22 events.
    assert!(sizes[0] < 1_536 && sizes[1] < 3_072, "{sizes:?}");

    // With the default running-execution limit: the slot taken before the claim and given
    // back before the end is written (UpdateItems of the account's slot item).
    let limited = Service::new(Arc::new(store.clone()), Arc::new(SystemClock))
        .with_flow_cache(60_000)
        .with_fork_limits(ForkLimits::default());
    let input = r#"{"order":"A-1001","amount":42}"#;
    for name in ["limited-cold", "limited-warm"] {
        requests.take();
        let params = [
            ("Action", "StartExecution"),
            ("FlowName", "ten"),
            ("ExecutionName", name),
            ("Input", input),
        ];
        assert_eq!(ok(&limited, &params).await["Status"], "Succeeded");
    }
    let counts = requests.take();
    eprintln!("ten states, warm, default running limit: {counts:?}");
    assert_eq!(
        counts,
        BTreeMap::from([("PutItem".to_owned(), 2), ("UpdateItem".to_owned(), 2)])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_transitions_across_continuations() {
    let (store, requests) = counted_store().await;
    let recorder = Arc::new(Recorder::default());
    let budgets = Budgets {
        response_ms: 1,
        invocation_ms: 1,
        // A margin far beyond any write's time: a slow lease write on a loaded machine
        // must not make the lease come out short and renewed (one more write).
        lease_margin_ms: 30_000,
    };
    let svc = Service::new(Arc::new(store.clone()), Arc::new(SystemClock))
        .with_fork_limits(NO_RUNNING_LIMIT)
        .with_continuations(recorder.clone(), budgets);
    create_flow(&svc, "loop", common::COUNTER_LOOP, "DEFAULT").await;
    requests.take();
    let started = ok(
        &svc,
        &[
            ("Action", "StartExecution"),
            ("FlowName", "loop"),
            ("ExecutionName", "many"),
            ("Input", r#"{"n":5000}"#),
        ],
    )
    .await;
    // What a parked execution carries between invocations.
    let parked = store.get_execution("loop", "many").await.unwrap().unwrap();
    let checkpoint_bytes = parked.checkpoint.as_deref().map_or(0, str::len);
    assert!(
        checkpoint_bytes > 0 && checkpoint_bytes < 2_048,
        "checkpoint {checkpoint_bytes} bytes"
    );
    let mut invocations = 1;
    let mut pending = recorder.take();
    while let Some(c) = pending.pop() {
        if let Continued::Drove { .. } = svc.continue_execution(&c, "test").await.unwrap() {
            invocations += 1;
        }
        pending.extend(recorder.take());
    }
    let after = store.get_execution("loop", "many").await.unwrap().unwrap();
    assert_eq!(after.status.as_str(), "Succeeded", "{started}");
    assert!(invocations > 2, "the budget forced hand-overs");
    let counts = requests.take();
    let (stored, kept) = event_count(&store, "loop", "many").await;
    let events = stored + kept;
    let n = total(&counts) - 2; // the two reads of the execution above are the test's own
    eprintln!(
        "across {invocations} invocations: {counts:?} = {n} requests for 10,003 transitions ({:.3} per transition), {events} events, checkpoint {checkpoint_bytes} bytes",
        n as f64 / 10_003.0
    );
    // Per continuation: one read, the lease, the checkpoint (or the end), and history batches.
    let continuations = invocations - 1;
    assert!(
        counts.get("PutItem").copied().unwrap_or(0) <= 2 + 2 * continuations as u64,
        "{counts:?}"
    );
    assert!(
        counts.get("GetItem").copied().unwrap_or(0) <= 1 + continuations as u64 + 2,
        "{counts:?}"
    );
}

/// Runs of Pass states around one HTTP task and one two-minute wait.
const TASK_AND_WAIT: &str = "\
Type: StateMachine
SpecVersion: v1
Name: mixed
StartAt: a1
States:
  - Type: Pass
    Name: a1
    Next: a2
  - Type: Pass
    Name: a2
    Next: call
  - Type: Task
    Name: call
    Action: HTTP:Request
    Parameters:
      url.$: format('{}/echo', $Input.base)
    OutputConstructor:
      status.$: $Output.StatusCode
    Next: b1
  - Type: Pass
    Name: b1
    Next: b2
  - Type: Pass
    Name: b2
    Next: hold
  - Type: Wait
    Name: hold
    Seconds: 120
    Next: c1
  - Type: Pass
    Name: c1
    Next: c2
  - Type: Pass
    Name: c2
    End: true
";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_only_at_task_boundaries_waits_and_the_end() {
    use fnf_lambda::service::Integrations;
    use fnf_lambda::tasks::http::HttpTasks;

    let server = common::task_servers::TaskServer::start().await;
    let (store, requests) = counted_store().await;
    let recorder = Arc::new(Recorder::default());
    let clock = common::ManualClock::at(common::T0);
    let svc = Service::new(Arc::new(store.clone()), Arc::new(clock.clone()))
        .with_fork_limits(NO_RUNNING_LIMIT)
        .with_continuations(recorder.clone(), common::BUDGETS)
        .with_integrations(Integrations {
            http: Some(Arc::new(HttpTasks::new(
                common::task_servers::loopback_http(),
            ))),
            function: None,
        });
    create_flow(&svc, "mixed", TASK_AND_WAIT, "DEFAULT").await;
    requests.take();
    let input = serde_json::json!({ "base": server.base });
    let started = common::start(&svc, "mixed", "m", input).await;
    assert_eq!(
        started["Status"], "Running",
        "parked at the wait: {started}"
    );
    let first = requests.take();
    eprintln!("until the wait: {first:?}");
    // The flow read; the claim; the checkpoint before the call goes out; the park at the wait.
    // The Pass states before and after the call write nothing of their own.
    assert_eq!(first.get("GetItem"), Some(&1), "{first:?}");
    assert_eq!(first.get("PutItem"), Some(&3), "{first:?}");

    clock.advance(120_000);
    assert_eq!(svc.sweep().await.unwrap(), 1);
    requests.take(); // the sweep's index queries
    // Two deliveries of the same continuation: the one asked for at the park, and the sweep's.
    let deliveries = recorder.take();
    assert_eq!(deliveries.len(), 2, "{deliveries:?}");
    assert!(matches!(
        svc.continue_execution(&deliveries[0], "sweep")
            .await
            .unwrap(),
        Continued::Drove { .. }
    ));
    let rest = requests.take();
    eprintln!("after the wait: {rest:?}");
    // The execution read, its lease, the final write with the last events.
    assert_eq!(rest.get("GetItem"), Some(&1), "{rest:?}");
    assert_eq!(rest.get("PutItem"), Some(&2), "{rest:?}");
    assert_eq!(rest.get("BatchWriteItem"), None, "{rest:?}");
    // The duplicate costs one read and writes nothing.
    assert_eq!(
        svc.continue_execution(&deliveries[1], "again")
            .await
            .unwrap(),
        Continued::Skipped
    );
    let duplicate = requests.take();
    assert_eq!(duplicate, BTreeMap::from([("GetItem".to_owned(), 1)]));
    let done = store.get_execution("mixed", "m").await.unwrap().unwrap();
    assert_eq!(done.status.as_str(), "Succeeded");
    assert_eq!(done.output.as_deref(), Some(r#"{"status":200}"#));
}
