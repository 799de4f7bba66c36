use super::*;
use crate::engine::TaskMode;

fn request(parameters: Value) -> TaskRequest {
    TaskRequest {
        id: "t".into(),
        state_name: "s".into(),
        resource: "HTTP:Request".into(),
        parameters,
        timeout_ms: None,
        attempt: 1,
        mode: TaskMode::RequestComplete,
        idempotency_key: "f/e/t/1".into(),
        task_token: None,
    }
}

#[test]
fn builds_requests() {
    let req = request(json!({
        "url": "http://u:p@example.com:8080/a b?x=1#frag",
        "query": {"q": "a b&c", "n": [1, true]},
        "headers": {"X-One": "1"},
        "body": {"k": "v"},
    }));
    assert!(
        build_request(&req).is_err(),
        "a space is not valid in a URL"
    );
    let mut req = request(json!({
        "url": "http://example.com:8080/a?x=1#frag",
        "query": {"q": "a b&c/é", "n": [1, true]},
        "headers": {"X-One": "1"},
        "body": {"k": "v"},
    }));
    req.task_token = Some("tok".into());
    let (r, target) = build_request(&req).unwrap();
    assert_eq!(target, "POST http://example.com:8080/a");
    assert_eq!(
        r.uri().to_string(),
        "http://example.com:8080/a?x=1&n=1&n=true&q=a%20b%26c%2F%C3%A9"
    );
    assert_eq!(r.headers()["x-one"], "1");
    assert_eq!(r.headers()[CONTENT_TYPE], "application/json");
    assert_eq!(r.headers()[IDEMPOTENCY_HEADER], "f/e/t/1");
    assert_eq!(r.headers()[TASK_TOKEN_HEADER], "tok");

    let (r, _) = build_request(&request(json!({"url": "https://h", "query": {"a": "b"}}))).unwrap();
    assert_eq!(
        (r.method(), r.uri().to_string().as_str()),
        (&Method::GET, "https://h/?a=b")
    );
    let text = json!({"url": "http://h/", "body": "hi", "method": "put"});
    let (r, _) = build_request(&request(text)).unwrap();
    assert_eq!(r.method(), Method::PUT);
    assert_eq!(r.headers()[CONTENT_TYPE], "text/plain; charset=utf-8");
}

#[test]
fn refuses_bad_requests() {
    for params in [
        json!({}),
        json!([1]),
        json!({"url": 5}),
        json!({"url": "ftp://h/"}),
        json!({"url": "/relative"}),
        json!({"url": "http://h/", "method": "CONNECT"}),
        json!({"url": "http://h/", "headers": {"bad name": "x"}}),
        json!({"url": "http://h/", "headers": {"x": "a\nb"}}),
        json!({"url": "http://h/", "headers": {"x": {}}}),
        json!({"url": "http://h/", "query": [1]}),
        json!({"url": "http://h/", "query": {"a": {}}}),
    ] {
        let err = build_request(&request(params.clone())).unwrap_err();
        assert_eq!(err.name(), INVALID_REQUEST, "{params}");
    }
}

#[test]
fn names_and_timeouts() {
    let status = |status| HttpTaskError::Status {
        target: "GET http://h/".into(),
        status,
        body: "b".into(),
    };
    assert_eq!(status(404).name(), CLIENT_ERROR);
    assert_eq!(status(503).name(), SERVER_ERROR);
    assert_eq!(status(500).to_string(), "GET http://h/ answered 500: b");
    let tasks = HttpTasks::new(HttpConfig::default());
    let mut req = request(json!({}));
    assert_eq!(tasks.timeout_ms(&req), 60_000);
    req.timeout_ms = Some(500);
    assert_eq!(tasks.timeout_ms(&req), 1_500);
}
