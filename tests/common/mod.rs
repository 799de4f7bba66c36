//! Test harness shared by the integration tests: real stores, no mocks. DynamoDB is moto's
//! server, started by `scripts/with-moto.sh` (what `make test` runs) and found through
//! `FNF_TEST_DYNAMODB_ENDPOINT`; every test gets its own table.
#![allow(dead_code)]

pub mod fault_proxy;
pub mod process;
pub mod task_servers;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};
use fnf_lambda::api::{self, HttpRequest};
use fnf_lambda::clock::SystemClock;
use fnf_lambda::service::{Budgets, Service};
use fnf_lambda::store::Store;
use fnf_lambda::store::dynamo::DynamoStore;
use fnf_lambda::store::embedded::EmbeddedStore;
use serde_json::Value;

pub const CLOUDFLOW_SEED: &str = "Type: StateMachine\nSpecVersion: v1\nName: my_flow_name\nStartAt: my_state\nStates:\n  - Type: Pass\n    Name: my_state\n    End: true\n";
/// `n` (from the input) iterations of Choice + Pass: 2n transitions, plus init, the last
/// check and done. The output is `{"i": n, "n": n}`.
pub const COUNTER_LOOP: &str = "\
Type: StateMachine
SpecVersion: v1
Name: loop
StartAt: init
States:
  - Type: Pass
    Name: init
    OutputConstructor:
      i: 0
      n.$: $Input.n
    Next: check
  - Type: Choice
    Name: check
    Branches:
      - Condition: $Input.i < $Input.n
        Next: inc
    Default: done
  - Type: Pass
    Name: inc
    OutputConstructor:
      i.$: intAdd($Input.i, 1)
      n.$: $Input.n
    Next: check
  - Type: Pass
    Name: done
    End: true
";
pub const FDL_SEED: &str = "version: v1\ntype: flow\nsteps:\n  - type: pass\n    name: mypass\n";

pub fn dynamodb_endpoint() -> String {
    std::env::var("FNF_TEST_DYNAMODB_ENDPOINT").expect(
        "the DynamoDB tests need moto's server: run `make test`, or `scripts/with-moto.sh cargo test`",
    )
}

static TABLES: AtomicU64 = AtomicU64::new(0);

/// A DynamoDB store on a fresh table of the moto server.
pub async fn dynamo_store() -> DynamoStore {
    dynamo_store_via(&dynamodb_endpoint()).await
}

/// A DynamoDB store on a fresh table, reached at `endpoint` (moto, or a proxy in front of it).
pub async fn dynamo_store_via(endpoint: &str) -> DynamoStore {
    let config = aws_sdk_dynamodb::Config::builder()
        .http_client(fnf_lambda::aws::https_client())
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(endpoint)
        // The service's own retry settings (`FNF_STORE_MAX_ATTEMPTS`), as `from_env` builds.
        .retry_config(fnf_lambda::store::dynamo::retry_config())
        .credentials_provider(Credentials::new("test", "test", None, None, "tests"))
        .build();
    let table = format!(
        "fnf-test-{}-{}-{}",
        std::process::id(),
        TABLES.fetch_add(1, Ordering::Relaxed),
        uuid::Uuid::new_v4().simple()
    );
    let store = DynamoStore::new(aws_sdk_dynamodb::Client::from_conf(config), table);
    store
        .create_table()
        .await
        .expect("create the test table in moto");
    store
}

/// An embedded store in a fresh temporary directory (kept alive by the returned guard).
pub fn embedded_store() -> (EmbeddedStore, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = EmbeddedStore::open(dir.path()).expect("open the embedded store");
    (store, dir)
}

/// The stores every store-backed test runs against.
#[derive(Debug, Clone, Copy)]
pub enum Backend {
    Embedded,
    Dynamo,
}

/// A service on the given store; the guard keeps the embedded store's directory.
pub async fn service(backend: Backend) -> (Service, Option<tempfile::TempDir>) {
    let (store, guard): (Arc<dyn Store>, _) = match backend {
        Backend::Embedded => {
            let (s, d) = embedded_store();
            (Arc::new(s), Some(d))
        }
        Backend::Dynamo => (Arc::new(dynamo_store().await), None),
    };
    (Service::new(store, Arc::new(SystemClock)), guard)
}

/// Calls the service the way a JSON-body HTTP client does; answers (status, body).
pub async fn call(svc: &Service, params: &[(&str, &str)]) -> (u16, Value) {
    let mut body = serde_json::Map::new();
    body.insert("Version".into(), "2019-03-15".into());
    for (k, v) in params {
        body.insert((*k).into(), Value::String((*v).into()));
    }
    let req = HttpRequest {
        method: "POST".into(),
        path: "/".into(),
        query: vec![],
        headers: vec![("content-type".into(), "application/json".into())],
        body: Value::Object(body).to_string().into_bytes(),
    };
    let answer = api::handle_http(svc, &req, "test-request").await;
    (answer.status, answer.body)
}

/// Where the manual clock starts in the tests that move time by hand.
pub const T0: i64 = 1_800_000_000_000;
/// Five-second budgets: a short flow ends inside the call, a long wait parks.
pub const BUDGETS: Budgets = Budgets {
    response_ms: 5_000,
    invocation_ms: 5_000,
    lease_margin_ms: 1_000,
};

/// DescribeExecution, expected to succeed.
pub async fn describe(svc: &Service, flow: &str, name: &str) -> Value {
    ok(
        svc,
        &[
            ("Action", "DescribeExecution"),
            ("FlowName", flow),
            ("ExecutionName", name),
        ],
    )
    .await
}

/// StartExecution with `input` as its JSON text, expected to succeed; answers its body.
pub async fn start(svc: &Service, flow: &str, name: &str, input: Value) -> Value {
    let input = input.to_string();
    ok(
        svc,
        &[
            ("Action", "StartExecution"),
            ("FlowName", flow),
            ("ExecutionName", name),
            ("Input", &input),
        ],
    )
    .await
}

/// An answer's `Output` (StartExecution, DescribeExecution), parsed; null when absent.
pub fn output(answer: &Value) -> Value {
    serde_json::from_str(answer["Output"].as_str().unwrap_or("null")).unwrap()
}

/// Calls and expects success.
pub async fn ok(svc: &Service, params: &[(&str, &str)]) -> Value {
    let (status, body) = call(svc, params).await;
    assert_eq!(status, 200, "{params:?} answered {body}");
    body
}

/// Puts a record in every table besides flows and executions: a version and an alias of
/// flow `orders` (which must exist), account `acme` and a key of it.
pub async fn fill_other_tables(svc: &Service) {
    ok(
        svc,
        &[("Action", "PublishFlowVersion"), ("FlowName", "orders")],
    )
    .await;
    ok(
        svc,
        &[
            ("Action", "CreateFlowAlias"),
            ("FlowName", "orders"),
            ("Name", "prod"),
            ("RoutingConfigurations", r#"[{"Version":"1","Weight":100}]"#),
        ],
    )
    .await;
    ok(svc, &[("Action", "CreateAccount"), ("AccountId", "acme")]).await;
    ok(svc, &[("Action", "CreateAccessKey"), ("AccountId", "acme")]).await;
}

pub async fn create_flow(svc: &Service, name: &str, definition: &str, flow_type: &str) -> Value {
    ok(
        svc,
        &[
            ("Action", "CreateFlow"),
            ("Name", name),
            ("Definition", definition),
            ("Type", flow_type),
        ],
    )
    .await
}

/// Runs each named `async fn(Backend)` as two tests: on the embedded store and on DynamoDB.
#[allow(unused_macros)]
macro_rules! on_both_stores {
    ($($case:ident),* $(,)?) => {
        mod embedded { $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() { super::$case(crate::common::Backend::Embedded).await }
        )* }
        mod dynamodb { $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() { super::$case(crate::common::Backend::Dynamo).await }
        )* }
    };
}

/// A dispatcher that keeps continuations for the test to deliver (as often and in whatever
/// order it likes), standing in for Lambda's async invoke queue.
#[derive(Default)]
pub struct Recorder(pub std::sync::Mutex<Vec<fnf_lambda::dispatch::Continuation>>);

#[async_trait::async_trait]
impl fnf_lambda::dispatch::Dispatcher for Recorder {
    async fn dispatch(
        &self,
        c: fnf_lambda::dispatch::Continuation,
        _not_before_ms: Option<i64>,
    ) -> Result<(), fnf_lambda::dispatch::DispatchError> {
        self.0.lock().unwrap().push(c);
        Ok(())
    }
}

impl Recorder {
    pub fn take(&self) -> Vec<fnf_lambda::dispatch::Continuation> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }
}

/// A real store with its writes counted: how many conditional writes succeeded and how many
/// were refused.
pub struct Counting {
    pub inner: Arc<dyn Store>,
    pub writes: AtomicU64,
    pub refused: AtomicU64,
    /// How long a claim's answer takes besides the store's own time (a throttled DynamoDB
    /// with the SDK retrying), in ms.
    pub claim_delay_ms: AtomicU64,
}

impl Counting {
    pub fn new(inner: Arc<dyn Store>) -> Counting {
        Counting {
            inner,
            writes: AtomicU64::new(0),
            refused: AtomicU64::new(0),
            claim_delay_ms: AtomicU64::new(0),
        }
    }

    fn count<T>(&self, r: &Result<T, fnf_lambda::store::StoreError>) {
        match r {
            Ok(_) => self.writes.fetch_add(1, Ordering::Relaxed),
            Err(_) => self.refused.fetch_add(1, Ordering::Relaxed),
        };
    }
}

#[async_trait::async_trait]
impl Store for Counting {
    async fn create_flow(
        &self,
        f: &fnf_lambda::store::FlowRecord,
    ) -> Result<(), fnf_lambda::store::StoreError> {
        self.inner.create_flow(f).await
    }
    async fn replace_flow(
        &self,
        f: &fnf_lambda::store::FlowRecord,
        r: u64,
    ) -> Result<(), fnf_lambda::store::StoreError> {
        self.inner.replace_flow(f, r).await
    }
    async fn get_flow(
        &self,
        n: &str,
    ) -> Result<Option<fnf_lambda::store::FlowRecord>, fnf_lambda::store::StoreError> {
        self.inner.get_flow(n).await
    }
    async fn delete_flow(&self, n: &str) -> Result<bool, fnf_lambda::store::StoreError> {
        self.inner.delete_flow(n).await
    }
    async fn list_flows(
        &self,
        l: usize,
        a: Option<&str>,
    ) -> Result<fnf_lambda::store::Page<fnf_lambda::store::FlowRecord>, fnf_lambda::store::StoreError>
    {
        self.inner.list_flows(l, a).await
    }
    async fn claim_execution(
        &self,
        e: &fnf_lambda::store::ExecutionRecord,
    ) -> Result<fnf_lambda::store::Claim, fnf_lambda::store::StoreError> {
        let r = self.inner.claim_execution(e).await;
        self.count(&r);
        let delay = self.claim_delay_ms.load(Ordering::Relaxed);
        if delay > 0 {
            tokio::time::sleep(std::time::Duration::from_millis(delay)).await;
        }
        r
    }
    async fn update_execution(
        &self,
        e: &fnf_lambda::store::ExecutionRecord,
        v: u64,
    ) -> Result<(), fnf_lambda::store::StoreError> {
        let r = self.inner.update_execution(e, v).await;
        self.count(&r);
        r
    }
    async fn get_execution(
        &self,
        f: &str,
        n: &str,
    ) -> Result<Option<fnf_lambda::store::ExecutionRecord>, fnf_lambda::store::StoreError> {
        self.inner.get_execution(f, n).await
    }
    async fn list_executions(
        &self,
        f: &str,
        filter: &fnf_lambda::store::ExecutionFilter,
        l: usize,
        a: Option<&str>,
    ) -> Result<
        fnf_lambda::store::Page<fnf_lambda::store::ExecutionRecord>,
        fnf_lambda::store::StoreError,
    > {
        self.inner.list_executions(f, filter, l, a).await
    }
    async fn list_due(
        &self,
        now: i64,
        l: usize,
    ) -> Result<Vec<fnf_lambda::store::DueExecution>, fnf_lambda::store::StoreError> {
        self.inner.list_due(now, l).await
    }
    async fn put_history(
        &self,
        f: &str,
        n: &str,
        ev: &[fnf_lambda::store::HistoryRecord],
    ) -> Result<(), fnf_lambda::store::StoreError> {
        let r = self.inner.put_history(f, n, ev).await;
        self.count(&r);
        r
    }
    async fn list_history(
        &self,
        f: &str,
        n: &str,
        l: usize,
        a: Option<u64>,
    ) -> Result<
        fnf_lambda::store::Page<fnf_lambda::store::HistoryRecord>,
        fnf_lambda::store::StoreError,
    > {
        self.inner.list_history(f, n, l, a).await
    }
    async fn publish_version(
        &self,
        f: &str,
        d: &str,
        t: i64,
    ) -> Result<Option<fnf_lambda::store::VersionRecord>, fnf_lambda::store::StoreError> {
        self.inner.publish_version(f, d, t).await
    }
    async fn get_version(
        &self,
        f: &str,
        v: u64,
    ) -> Result<Option<fnf_lambda::store::VersionRecord>, fnf_lambda::store::StoreError> {
        self.inner.get_version(f, v).await
    }
    async fn list_versions(
        &self,
        f: &str,
        l: usize,
        a: Option<u64>,
    ) -> Result<
        fnf_lambda::store::Page<fnf_lambda::store::VersionRecord>,
        fnf_lambda::store::StoreError,
    > {
        self.inner.list_versions(f, l, a).await
    }
    async fn delete_version(&self, f: &str, v: u64) -> Result<bool, fnf_lambda::store::StoreError> {
        self.inner.delete_version(f, v).await
    }
    async fn create_alias(
        &self,
        a: &fnf_lambda::store::AliasRecord,
    ) -> Result<(), fnf_lambda::store::StoreError> {
        self.inner.create_alias(a).await
    }
    async fn replace_alias(
        &self,
        a: &fnf_lambda::store::AliasRecord,
        r: u64,
    ) -> Result<(), fnf_lambda::store::StoreError> {
        self.inner.replace_alias(a, r).await
    }
    async fn get_alias(
        &self,
        f: &str,
        n: &str,
    ) -> Result<Option<fnf_lambda::store::AliasRecord>, fnf_lambda::store::StoreError> {
        self.inner.get_alias(f, n).await
    }
    async fn delete_alias(&self, f: &str, n: &str) -> Result<bool, fnf_lambda::store::StoreError> {
        self.inner.delete_alias(f, n).await
    }
    async fn list_aliases(
        &self,
        f: &str,
        l: usize,
        a: Option<&str>,
    ) -> Result<
        fnf_lambda::store::Page<fnf_lambda::store::AliasRecord>,
        fnf_lambda::store::StoreError,
    > {
        self.inner.list_aliases(f, l, a).await
    }
    async fn put_token(
        &self,
        t: &fnf_lambda::store::TokenRecord,
    ) -> Result<(), fnf_lambda::store::StoreError> {
        self.inner.put_token(t).await
    }
    async fn get_token(
        &self,
        t: &str,
    ) -> Result<Option<fnf_lambda::store::TokenRecord>, fnf_lambda::store::StoreError> {
        self.inner.get_token(t).await
    }
    async fn complete_token(
        &self,
        t: &str,
        f: &str,
        r: &str,
        ms: i64,
    ) -> Result<(), fnf_lambda::store::StoreError> {
        self.inner.complete_token(t, f, r, ms).await
    }
}

#[async_trait::async_trait]
impl fnf_lambda::store::AccountStore for Counting {
    async fn create_account(
        &self,
        a: &fnf_lambda::store::AccountRecord,
    ) -> Result<(), fnf_lambda::store::StoreError> {
        self.inner.create_account(a).await
    }
    async fn get_account(
        &self,
        id: &str,
    ) -> Result<Option<fnf_lambda::store::AccountRecord>, fnf_lambda::store::StoreError> {
        self.inner.get_account(id).await
    }
    async fn replace_account(
        &self,
        a: &fnf_lambda::store::AccountRecord,
    ) -> Result<(), fnf_lambda::store::StoreError> {
        self.inner.replace_account(a).await
    }
    async fn list_accounts(
        &self,
        l: usize,
        a: Option<&str>,
    ) -> Result<
        fnf_lambda::store::Page<fnf_lambda::store::AccountRecord>,
        fnf_lambda::store::StoreError,
    > {
        self.inner.list_accounts(l, a).await
    }
    async fn create_key(
        &self,
        k: &fnf_lambda::store::AccessKeyRecord,
    ) -> Result<(), fnf_lambda::store::StoreError> {
        self.inner.create_key(k).await
    }
    async fn get_key(
        &self,
        id: &str,
    ) -> Result<Option<fnf_lambda::store::AccessKeyRecord>, fnf_lambda::store::StoreError> {
        self.inner.get_key(id).await
    }
    async fn replace_key(
        &self,
        k: &fnf_lambda::store::AccessKeyRecord,
    ) -> Result<(), fnf_lambda::store::StoreError> {
        self.inner.replace_key(k).await
    }
    async fn delete_key(&self, id: &str) -> Result<bool, fnf_lambda::store::StoreError> {
        self.inner.delete_key(id).await
    }
    async fn list_keys(
        &self,
        account: &str,
        l: usize,
        a: Option<&str>,
    ) -> Result<
        fnf_lambda::store::Page<fnf_lambda::store::AccessKeyRecord>,
        fnf_lambda::store::StoreError,
    > {
        self.inner.list_keys(account, l, a).await
    }
    async fn use_nonce(
        &self,
        key_id: &str,
        nonce: &str,
        now: i64,
        expires: i64,
    ) -> Result<(), fnf_lambda::store::StoreError> {
        self.inner.use_nonce(key_id, nonce, now, expires).await
    }
    async fn acquire_slot(
        &self,
        account: &str,
        holder: &str,
        limit: u32,
    ) -> Result<(), fnf_lambda::store::StoreError> {
        self.inner.acquire_slot(account, holder, limit).await
    }
    async fn release_slot(
        &self,
        account: &str,
        holder: &str,
    ) -> Result<(), fnf_lambda::store::StoreError> {
        self.inner.release_slot(account, holder).await
    }
    async fn slots_held(&self, account: &str) -> Result<u32, fnf_lambda::store::StoreError> {
        self.inner.slots_held(account).await
    }
}

/// A store of the given backend, behind an `Arc`; the guard keeps the embedded directory.
pub async fn store(backend: Backend) -> (Arc<dyn Store>, Option<tempfile::TempDir>) {
    match backend {
        Backend::Embedded => {
            let (s, d) = embedded_store();
            (Arc::new(s), Some(d))
        }
        Backend::Dynamo => (Arc::new(dynamo_store().await), None),
    }
}

/// A clock the test moves by hand: time passes only when the test says so.
#[derive(Clone)]
pub struct ManualClock(pub Arc<std::sync::atomic::AtomicI64>);

impl ManualClock {
    pub fn at(ms: i64) -> ManualClock {
        ManualClock(Arc::new(std::sync::atomic::AtomicI64::new(ms)))
    }

    pub fn advance(&self, ms: i64) {
        self.0.fetch_add(ms, Ordering::SeqCst);
    }
}

impl fnf_lambda::clock::Clock for ManualClock {
    fn now_ms(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}
