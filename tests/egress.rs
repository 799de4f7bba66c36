//! HTTP tasks may not reach the service's own network (the egress rule, src/tasks/http/egress.rs):
//! a real server on 127.0.0.1 (tests/common/task_servers.rs) receives no request from a task
//! that addresses it by any loopback or unspecified form, unless the allowlist names it; and
//! `fnf-lambda serve` applies the setting and its defaults.

mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;

use common::process::{Server, post};
use common::task_servers::TaskServer;
use common::{Backend, create_flow, describe, start};
use fnf_lambda::clock::SystemClock;
use fnf_lambda::service::{Integrations, Service};
use fnf_lambda::tasks::http::egress::Egress;
use fnf_lambda::tasks::http::{HttpConfig, HttpTasks};
use serde_json::{Value, json};

const CALL: &str = "\
Type: StateMachine
SpecVersion: v1
Name: call
StartAt: call
States:
  - Type: Task
    Name: call
    Action: HTTP:Request
    Parameters:
      url.$: $Input.url
    End: true
";

async fn service(http: HttpConfig) -> (Service, Option<tempfile::TempDir>) {
    let (store, guard) = common::store(Backend::Embedded).await;
    let svc = Service::new(store, Arc::new(SystemClock)).with_integrations(Integrations {
        http: Some(Arc::new(HttpTasks::new(http))),
        function: None,
    });
    create_flow(&svc, "call", CALL, "DEFAULT").await;
    (svc, guard)
}

/// Runs the flow on `url`: its status, and the error code and message when it failed.
async fn call(svc: &Service, name: &str, url: &str) -> (String, String, String) {
    let answer = start(svc, "call", name, json!({"url": url})).await;
    let described = describe(svc, "call", name).await;
    let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
    (
        text(&answer["Status"]),
        text(&described["ErrorCode"]),
        text(&described["ErrorMessage"]),
    )
}

fn port(server: &TaskServer) -> u16 {
    server.base.rsplit(':').next().unwrap().parse().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn loopback_and_unspecified_are_denied_by_default() {
    let server = TaskServer::start().await;
    let (svc, _guard) = service(HttpConfig::default()).await;
    let p = port(&server);
    let cases = [
        (server.url("/echo"), "127.0.0.1 is a loopback address"),
        // A name that resolves to loopback (to 127.0.0.1, and ::1 where IPv6 is on).
        (
            format!("http://localhost:{p}/echo"),
            "is a loopback address",
        ),
        // https too: refused before any TLS handshake.
        (
            format!("https://localhost:{p}/echo"),
            "is a loopback address",
        ),
        (
            format!("http://[::ffff:127.0.0.1]:{p}/echo"),
            "::ffff:127.0.0.1 is a loopback address",
        ),
        (
            format!("http://0.0.0.0:{p}/echo"),
            "0.0.0.0 is an unspecified address",
        ),
        (
            format!("http://[::]:{p}/echo"),
            ":: is an unspecified address",
        ),
        (
            format!("http://[::1]:{p}/echo"),
            "::1 is a loopback address",
        ),
        // Not IP literals to the URL parser, but the system's resolver reads them as 127.0.0.1.
        (format!("http://127.1:{p}/echo"), "127.0.0.1 is a loopback"),
        (
            format!("http://2130706433:{p}/echo"),
            "127.0.0.1 is a loopback",
        ),
    ];
    for (i, (url, says)) in cases.iter().enumerate() {
        let (status, code, message) = call(&svc, &format!("d{i}"), url).await;
        assert_eq!(
            (status.as_str(), code.as_str()),
            ("Failed", "HTTP.EgressDenied"),
            "{url}: {message}"
        );
        assert!(message.contains(says), "{url}: {message}");
        assert!(
            message.contains("FNF_HTTP_ALLOW_NETWORKS"),
            "{url}: {message}"
        );
    }
    assert_eq!(server.seen().len(), 0, "a denied task reached the server");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_allowlist_lets_tasks_reach_its_networks_only() {
    let server = TaskServer::start().await;
    let config = HttpConfig {
        egress: Egress::parse("127.0.0.1/32").unwrap(),
        ..HttpConfig::default()
    };
    let (svc, _guard) = service(config).await;
    let p = port(&server);
    // `localhost` may resolve to ::1 too: that address is dropped, 127.0.0.1 is used.
    let allowed = [
        server.url("/echo"),
        format!("http://localhost:{p}/echo"),
        format!("http://[::ffff:127.0.0.1]:{p}/echo"),
    ];
    for (i, url) in allowed.iter().enumerate() {
        let (status, code, message) = call(&svc, &format!("a{i}"), url).await;
        assert_eq!(status, "Succeeded", "{url}: {code} {message}");
    }
    assert_eq!(server.seen().len(), allowed.len());
    for (i, url) in [
        format!("http://0.0.0.0:{p}/echo"),
        format!("http://127.0.0.2:{p}/echo"),
    ]
    .iter()
    .enumerate()
    {
        let (_, code, message) = call(&svc, &format!("n{i}"), url).await;
        assert_eq!(code, "HTTP.EgressDenied", "{url}: {message}");
    }
    assert_eq!(server.seen().len(), allowed.len());
}

/// `fnf-lambda serve` on loopback with `envs` (none of the settings of the environment the
/// test runs in).
fn serve(dir: &Path, envs: &[(&str, &str)]) -> Server {
    let mut command = Command::new(env!("CARGO_BIN_EXE_fnf-lambda"));
    command
        .args(["serve", "--addr", "127.0.0.1:0"])
        .env("FNF_DATA_DIR", dir)
        .env_remove("FNF_AUTH")
        .env_remove("FNF_HTTP_ALLOW_NETWORKS")
        .envs(envs.iter().copied());
    Server::spawn(command)
}

/// The status and error code of one execution of the flow on `url`, through `serve`'s API.
fn run_on(addr: &str, name: &str, url: &str) -> (Value, Value) {
    let started = post(
        addr,
        json!({"Action": "StartExecution", "FlowName": "call", "ExecutionName": name,
               "Input": json!({"url": url}).to_string()}),
    );
    let described = post(
        addr,
        json!({"Action": "DescribeExecution", "FlowName": "call", "ExecutionName": name}),
    );
    (started["Status"].clone(), described["ErrorCode"].clone())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_without_authentication_allows_loopback_unless_told_otherwise() {
    let server = TaskServer::start().await;
    let url = server.url("/echo");
    for (envs, status, code) in [
        (vec![], json!("Succeeded"), Value::Null),
        (
            vec![("FNF_HTTP_ALLOW_NETWORKS", "none")],
            json!("Failed"),
            json!("HTTP.EgressDenied"),
        ),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let mut served = serve(dir.path(), &envs);
        let addr = served.addr.clone();
        let created = post(
            &addr,
            json!({"Action": "CreateFlow", "Name": "call", "Type": "DEFAULT", "Definition": CALL}),
        );
        assert_eq!(created["Name"], "call", "{created}");
        let got = run_on(&addr, "e", &url);
        served.kill();
        assert_eq!(got, (status, code), "{envs:?}");
    }
    assert_eq!(server.seen().len(), 1);
}

#[test]
fn a_bad_allowlist_stops_serve_with_a_message() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_fnf-lambda"))
        .args(["serve", "--addr", "127.0.0.1:0"])
        .env("FNF_DATA_DIR", dir.path())
        .env("FNF_HTTP_ALLOW_NETWORKS", "127.0.0.1/32,10.0.0.0/99")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Read the log to its end, unless serve starts serving (then it ignored the setting).
    let mut log = String::new();
    for line in BufReader::new(child.stderr.take().unwrap()).lines() {
        let line = line.unwrap();
        if line.contains("serving the fnf API") {
            child.kill().unwrap();
            child.wait().unwrap();
            panic!("serve started with a bad FNF_HTTP_ALLOW_NETWORKS: {log}{line}");
        }
        log.push_str(&line);
    }
    assert!(!child.wait().unwrap().success());
    assert!(
        log.contains("FNF_HTTP_ALLOW_NETWORKS: \"10.0.0.0/99\" is not an IP address"),
        "{log}"
    );
}
