//! HTTP and function tasks against a real server on 127.0.0.1 (tests/common/task_servers.rs):
//! requests built from the data, responses into the output, failures as named errors that
//! Retry and Catch match, and an idempotency key per call that stays the same only when the
//! same attempt is made again.

#[macro_use]
mod common;

use std::collections::HashSet;
use std::sync::Arc;

use common::task_servers::{TaskServer, loopback_http};
use common::{Backend, ManualClock, Recorder, create_flow, describe, ok, output, start};
use fnf_lambda::clock::SystemClock;
use fnf_lambda::service::continuation::Continued;
use fnf_lambda::service::{Budgets, Integrations, Service};
use fnf_lambda::tasks::function::{FunctionConfig, FunctionTasks};
use fnf_lambda::tasks::http::{HttpConfig, HttpTasks};
use serde_json::json;

fn integrations(server: &TaskServer, http: HttpConfig) -> Integrations {
    Integrations {
        http: Some(Arc::new(HttpTasks::new(http))),
        function: Some(Arc::new(FunctionTasks::new(
            server.lambda_client(),
            FunctionConfig::default(),
        ))),
    }
}

const HTTP_FLOW: &str = "\
Type: StateMachine
SpecVersion: v1
Name: http
StartAt: order
States:
  - Type: Task
    Name: order
    Action: HTTP:Request
    Parameters:
      url.$: format('{}/echo', $Input.base)
      method: POST
      query: {id: 'a b'}
      body:
        item.$: $Input.item
    OutputConstructor:
      base.$: $Input.base
      sent.$: $Output.Body.body
      query.$: $Output.Body.query
      status.$: $Output.StatusCode
    Next: flaky
  - Type: Task
    Name: flaky
    Action: HTTP:Request
    Parameters:
      url.$: format('{}/flaky/2/{}', $Input.base, $Context.Execution.Name)
    Retry:
      - Errors: [HTTP.ServerError]
        MaxAttempts: 3
        IntervalSeconds: 0
    OutputConstructor:
      calls.$: $Output.Body.calls
      base.$: $Input.base
    Next: slow
  - Type: Task
    Name: slow
    Action: HTTP:Request
    Timeout: 1
    Parameters:
      url.$: format('{}/slow/3000', $Input.base)
    Catch:
      - Errors: [FnF.Timeout]
        Next: timed out
        OutputConstructor:
          calls.$: $Input.calls
          error.$: $Context.Current.Error.Code
    End: true
  - Type: Pass
    Name: timed out
    End: true
";

async fn http_tasks_succeed_retry_and_time_out(backend: Backend) {
    let server = TaskServer::start().await;
    let (store, _guard) = common::store(backend).await;
    let svc = Service::new(store, Arc::new(SystemClock))
        .with_integrations(integrations(&server, loopback_http()));
    create_flow(&svc, "http", HTTP_FLOW, "DEFAULT").await;

    let answer = start(
        &svc,
        "http",
        "e1",
        json!({"base": server.base, "item": "book"}),
    )
    .await;
    assert_eq!(answer["Status"], "Succeeded", "{answer}");
    assert_eq!(
        output(&answer),
        json!({"calls": 3, "error": "FnF.Timeout"}),
        "two 500s retried, the third call succeeded; the slow call timed out into Catch"
    );

    let seen = server.seen();
    let echo = &seen[0];
    assert_eq!(echo.path, "/echo");
    assert_eq!(echo.body, json!({"item": "book"}));
    // Every call carries a key: flow/execution/task/attempt. Retries are new attempts.
    let keys = server.keys();
    assert_eq!(keys.len(), seen.len(), "every request carried its key");
    assert_eq!(keys.len(), 5, "echo, three flaky attempts, slow: {keys:?}");
    assert_eq!(
        keys.iter().collect::<HashSet<_>>().len(),
        5,
        "no key twice: {keys:?}"
    );
    let flaky: Vec<&String> = keys[1..4].iter().collect();
    for (i, key) in flaky.iter().enumerate() {
        assert!(key.starts_with("http/e1/step-"), "{key}");
        assert!(
            key.ends_with(&format!("/{}", i + 1)),
            "attempt {}: {key}",
            i + 1
        );
    }
    let task_of = |k: &str| k.rsplit_once('/').unwrap().0.to_owned();
    assert_eq!(
        task_of(flaky[0]),
        task_of(flaky[2]),
        "one task, three attempts"
    );

    let history = ok(
        &svc,
        &[
            ("Action", "GetExecutionHistory"),
            ("FlowName", "http"),
            ("ExecutionName", "e1"),
        ],
    )
    .await;
    let events: Vec<&str> = history["Events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["Type"].as_str().unwrap())
        .collect();
    assert!(events.contains(&"RetryScheduled"), "{events:?}");
}

const STATUS_FLOW: &str = "\
Type: StateMachine
SpecVersion: v1
Name: status
StartAt: call
States:
  - Type: Task
    Name: call
    Action: HTTP:Request
    Parameters:
      url.$: $Input.url
    Catch:
      - Errors: [HTTP.ClientError, HTTP.ServerError, HTTP.Timeout, HTTP.ConnectionFailed, HTTP.ResponseTooLarge, HTTP.InvalidRequest]
        Next: caught
        OutputConstructor:
          error.$: $Context.Current.Error.Code
    End: true
  - Type: Pass
    Name: caught
    End: true
";

async fn http_failures_have_names(backend: Backend) {
    let server = TaskServer::start().await;
    let (store, _guard) = common::store(backend).await;
    // A short default timeout (the task has none of its own) and a small response cap.
    let config = HttpConfig {
        default_timeout_ms: 300,
        max_response_bytes: 1_000,
        ..loopback_http()
    };
    let svc =
        Service::new(store, Arc::new(SystemClock)).with_integrations(integrations(&server, config));
    create_flow(&svc, "status", STATUS_FLOW, "DEFAULT").await;
    // A port nothing listens on: bind one, then free it.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let cases = [
        (server.url("/status/404"), "HTTP.ClientError"),
        (server.url("/status/503"), "HTTP.ServerError"),
        (server.url("/slow/2000"), "HTTP.Timeout"),
        (server.url("/big/5000"), "HTTP.ResponseTooLarge"),
        (format!("http://{closed}/"), "HTTP.ConnectionFailed"),
        ("ftp://example.com/".to_owned(), "HTTP.InvalidRequest"),
    ];
    for (i, (url, error)) in cases.iter().enumerate() {
        let answer = start(&svc, "status", &format!("s{i}"), json!({"url": url})).await;
        assert_eq!(
            (answer["Status"].as_str(), output(&answer)),
            (Some("Succeeded"), json!({"error": error})),
            "{url}: {answer}"
        );
    }
    // Not caught, the error ends the execution with its name and a cause that says why.
    create_flow(&svc, "bare", &bare_call("HTTP:Request"), "DEFAULT").await;
    let url = server.url("/status/502");
    let answer = start(&svc, "bare", "b", json!({"url": url})).await;
    assert_eq!(answer["Status"], "Failed", "{answer}");
    let described = describe(&svc, "bare", "b").await;
    assert_eq!(described["ErrorCode"], "HTTP.ServerError", "{described}");
    assert!(
        described["ErrorMessage"].as_str().unwrap().contains("502"),
        "{described}"
    );
}

fn bare_call(action: &str) -> String {
    let params = if action.starts_with("HTTP") {
        "url.$: $Input.url"
    } else {
        "resourceArn.$: $Input.arn\n      body.$: $Input"
    };
    format!(
        "Type: StateMachine\nSpecVersion: v1\nName: bare\nStartAt: call\nStates:\n  \
         - Type: Task\n    Name: call\n    Action: {action}\n    Parameters:\n      \
         {params}\n    End: true\n"
    )
}

const FDL_FUNCTION_FLOW: &str = "\
version: v1
type: flow
steps:
  - type: task
    name: pay
    resourceArn: acs:fc:cn-hangzhou:123456789012:functions/echo
    inputMappings:
      - target: amount
        source: $input.amount
    retry:
      - errors: [FC.ValueError]
        maxAttempts: 1
  - type: task
    name: refuse
    resourceArn: acs:fc:cn-hangzhou:123456789012:services/shop/functions/fail
    catch:
      - errors: [FC.FunctionNotFound]
        goto: done
  - type: pass
    name: skipped
  - type: pass
    name: done
";

async fn function_tasks_invoke_lambda(backend: Backend) {
    let server = TaskServer::start().await;
    let (store, _guard) = common::store(backend).await;
    let svc = Service::new(store, Arc::new(SystemClock))
        .with_integrations(integrations(&server, loopback_http()));

    // CloudFlow: the function's answer is the task's output; its failure is FC.<errorType>.
    create_flow(&svc, "bare", &bare_call("FC:InvokeFunction"), "DEFAULT").await;
    let echo = start(&svc, "bare", "ok", json!({"arn": "echo", "n": 1})).await;
    assert_eq!(echo["Status"], "Succeeded", "{echo}");
    assert_eq!(output(&echo)["event"], json!({"arn": "echo", "n": 1}));
    let failed = start(&svc, "bare", "bad", json!({"arn": "fail"})).await;
    assert_eq!(failed["Status"], "Failed", "{failed}");
    let described = describe(&svc, "bare", "bad").await;
    assert_eq!(described["ErrorCode"], "FC.ValueError", "{described}");

    // FDL: acs:fc resources map to Lambda names: FC 3.0 by name, FC 2.0 by the template
    // `{service}-{function}` (so `shop-fail`, which this server does not have).
    create_flow(&svc, "fdl", FDL_FUNCTION_FLOW, "FDL").await;
    let answer = start(&svc, "fdl", "f", json!({"amount": 5})).await;
    assert_eq!(answer["Status"], "Succeeded", "{answer}");
    let paths: Vec<String> = server.seen().into_iter().map(|s| s.path).collect();
    assert!(
        paths.contains(&"/2015-03-31/functions/shop-fail/invocations".to_owned()),
        "{paths:?}"
    );
    let pay = server
        .seen()
        .into_iter()
        .find(|s| s.body == json!({"amount": 5}))
        .expect("the FDL step's input is the event");
    assert!(
        pay.key.as_deref().is_some_and(|k| k.starts_with("fdl/f/")),
        "the key travels in the ClientContext: {pay:?}"
    );
}

const DUPLICATED_FLOW: &str = "\
Type: StateMachine
SpecVersion: v1
Name: dup
StartAt: first
States:
  - Type: Task
    Name: first
    Action: HTTP:Request
    Parameters:
      url.$: format('{}/echo', $Input.base)
    OutputConstructor:
      base.$: $Input.base
    Next: hold
  - Type: Wait
    Name: hold
    Seconds: 60
    Next: second
  - Type: Task
    Name: second
    Action: FC:InvokeFunction
    Parameters:
      resourceArn: echo
      body:
        base.$: $Input.base
    OutputConstructor:
      base.$: $Output.event.base
    Next: hold again
  - Type: Wait
    Name: hold again
    Seconds: 60
    Next: third
  - Type: Task
    Name: third
    Action: HTTP:Request
    Parameters:
      url.$: format('{}/echo', $Input.base)
    End: true
";

/// Every continuation is delivered three times (twice at once, once late): the callees see
/// each task's key exactly once.
async fn duplicated_continuations_repeat_no_call(backend: Backend) {
    let server = TaskServer::start().await;
    let (store, _guard) = common::store(backend).await;
    let recorder = Arc::new(Recorder::default());
    let clock = ManualClock::at(1_800_000_000_000);
    let budgets = Budgets {
        response_ms: 5_000,
        invocation_ms: 5_000,
        lease_margin_ms: 1_000,
    };
    let svc = Service::new(store, Arc::new(clock.clone()))
        .with_continuations(recorder.clone(), budgets)
        .with_integrations(integrations(&server, loopback_http()));
    create_flow(&svc, "dup", DUPLICATED_FLOW, "DEFAULT").await;
    let started = start(&svc, "dup", "d", json!({"base": server.base})).await;
    assert_eq!(started["Status"], "Running", "parked on the wait");

    for round in 0..10 {
        clock.advance(61_000);
        svc.sweep().await.unwrap();
        let pending = recorder.take();
        if pending.is_empty() {
            break;
        }
        for c in pending {
            let (owner_a, owner_b) = (format!("a{round}"), format!("b{round}"));
            let (a, b) = tokio::join!(
                svc.continue_execution(&c, &owner_a),
                svc.continue_execution(&c, &owner_b)
            );
            let drove = [a.unwrap(), b.unwrap()]
                .iter()
                .filter(|r| matches!(r, Continued::Drove { .. }))
                .count();
            assert!(drove <= 1, "one delivery drives, the other is fenced off");
            let late = svc.continue_execution(&c, "late").await.unwrap();
            assert!(matches!(late, Continued::Skipped), "{late:?}");
        }
    }
    let done = describe(&svc, "dup", "d").await;
    assert_eq!(done["Status"], "Succeeded", "{done}");
    let keys = server.keys();
    assert_eq!(keys.len(), 3, "three tasks, one call each: {keys:?}");
    assert_eq!(keys.iter().collect::<HashSet<_>>().len(), 3, "{keys:?}");
    assert!(
        keys.iter()
            .all(|k| k.starts_with("dup/d/step-") && k.ends_with("/1"))
    );
}

/// A call still in flight when the invocation's time is up is made again by the next
/// invocation with the same key, so the callee can tell it is a repeat.
async fn a_call_cut_off_is_made_again_with_its_key(backend: Backend) {
    let server = TaskServer::start().await;
    let (store, _guard) = common::store(backend).await;
    let recorder = Arc::new(Recorder::default());
    let budgets = Budgets {
        response_ms: 200,
        invocation_ms: 10_000,
        lease_margin_ms: 1_000,
    };
    let svc = Service::new(store, Arc::new(SystemClock))
        .with_continuations(recorder.clone(), budgets)
        .with_integrations(integrations(&server, loopback_http()));
    create_flow(&svc, "bare", &bare_call("HTTP:Request"), "DEFAULT").await;
    let url = server.url("/slow/600");
    let started = start(&svc, "bare", "cut", json!({"url": url})).await;
    assert_eq!(
        started["Status"], "Running",
        "the answer could not wait for the call"
    );
    for c in recorder.take() {
        svc.continue_execution(&c, "next").await.unwrap();
    }
    let done = describe(&svc, "bare", "cut").await;
    assert_eq!(done["Status"], "Succeeded", "{done}");
    let keys = server.keys();
    assert_eq!(keys.len(), 2, "{keys:?}");
    assert_eq!(keys[0], keys[1], "the same attempt, the same key");
}

on_both_stores!(
    a_call_cut_off_is_made_again_with_its_key,
    http_tasks_succeed_retry_and_time_out,
    http_failures_have_names,
    function_tasks_invoke_lambda,
    duplicated_continuations_repeat_no_call,
);
