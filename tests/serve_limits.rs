//! `fnf-lambda serve` survives callers that hold its resources: idle connections beyond its
//! descriptor limit, bodies declared too large, bodies that never finish, heads that never
//! end. The real binary on 127.0.0.1, raw TCP clients; every wait on the server is guarded,
//! so a server that hangs fails the test instead of hanging it.

mod common;

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::sync::mpsc::RecvTimeoutError;
use std::time::{Duration, Instant};

use common::process::Server;
use serde_json::Value;

/// How long any answer may take before the server counts as hanging.
const GUARD: Duration = Duration::from_secs(10);
/// Idle connections opened against a server limited to 1,024 descriptors.
const IDLE_CONNECTIONS: usize = 1100;

/// Starts `serve` with these settings, under `ulimit -n` of `descriptors` when given.
fn start(envs: &[(&str, &str)], descriptors: Option<u32>) -> Server {
    let data = tempfile::tempdir().unwrap();
    let bin = env!("CARGO_BIN_EXE_fnf-lambda");
    let mut command = match descriptors {
        Some(n) => {
            let mut c = Command::new("sh");
            c.args(["-c", &format!("ulimit -n {n} && exec \"$0\" \"$@\""), bin]);
            c
        }
        None => Command::new(bin),
    };
    command
        .args(["serve", "--addr", "127.0.0.1:0", "--data-dir"])
        .arg(data.path())
        .envs(envs.iter().copied())
        .env("RUST_LOG", "info");
    let mut server = Server::spawn(command);
    server.data = Some(data);
    server
}

fn connect(addr: &str) -> TcpStream {
    let stream = TcpStream::connect(addr).expect("connect");
    stream.set_read_timeout(Some(GUARD)).unwrap();
    stream
}

/// Reads one final response (skipping `100 Continue`): status, head, JSON body.
fn read_response(stream: &mut TcpStream) -> (u16, String, Value) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(end) = find(&buf, b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).into_owned();
            let status: u16 = head.split(' ').nth(1).unwrap().parse().unwrap();
            if status == 100 {
                buf.drain(..end + 4);
                continue;
            }
            let length: usize = head
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length:")
                        .map(|v| v.trim().parse().unwrap())
                })
                .expect("a content-length");
            if buf.len() >= end + 4 + length {
                let body = &buf[end + 4..end + 4 + length];
                let json = serde_json::from_slice(body).unwrap_or_else(|e| {
                    panic!("not JSON ({e}): {}", String::from_utf8_lossy(body))
                });
                return (status, head, json);
            }
        }
        match stream.read(&mut chunk) {
            Ok(0) => panic!(
                "closed before a whole answer: {:?}",
                String::from_utf8_lossy(&buf)
            ),
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(e) => panic!(
                "no answer within {GUARD:?} ({e}): {:?}",
                String::from_utf8_lossy(&buf)
            ),
        }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Sends `head` and `body` on a fresh connection and reads the answer.
fn exchange(addr: &str, head: &str, body: &[u8]) -> (u16, String, Value) {
    let mut stream = connect(addr);
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(body).unwrap();
    read_response(&mut stream)
}

const LIST_FLOWS: &str = r#"{"Action":"ListFlows"}"#;

fn list_flows_request(addr: &str) -> String {
    format!(
        "POST / HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{LIST_FLOWS}",
        LIST_FLOWS.len()
    )
}

/// One ListFlows call; `None` when the connection fails or closes without an answer.
fn try_list_flows(addr: &str) -> Option<(u16, Value)> {
    let mut stream = TcpStream::connect_timeout(&addr.parse().unwrap(), GUARD).ok()?;
    stream.set_read_timeout(Some(GUARD)).ok()?;
    let request = list_flows_request(addr).replacen("\r\n\r\n", "\r\nConnection: close\r\n\r\n", 1);
    stream.write_all(request.as_bytes()).ok()?;
    let mut text = String::new();
    let _ = stream.read_to_string(&mut text);
    let (head, body) = text.split_once("\r\n\r\n")?;
    let status = head.split(' ').nth(1)?.parse().ok()?;
    Some((status, serde_json::from_str(body.trim()).ok()?))
}

/// Calls ListFlows until the answer has status `want` (the server may still be freeing
/// connections); panics if the server dies or takes longer than the guard.
fn answered_with(server: &mut Server, want: u16) -> Value {
    let deadline = Instant::now() + 3 * GUARD;
    let mut last = None;
    while Instant::now() < deadline {
        if let Some(status) = server.child.try_wait().unwrap() {
            panic!("serve exited ({status}); last answer {last:?}");
        }
        last = try_list_flows(&server.addr);
        if let Some((status, body)) = &last
            && *status == want
        {
            return body.clone();
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("no {want} answer within {:?}; last {last:?}", 3 * GUARD);
}

/// Opens idle connections (nothing sent); stops at the first that fails to connect.
fn open_idle(addr: &str, n: usize) -> Vec<TcpStream> {
    raise_own_descriptor_limit();
    let addr = addr.parse().unwrap();
    (0..n)
        .map_while(|_| TcpStream::connect_timeout(&addr, GUARD).ok())
        .collect()
}

/// The test process needs more than 1,100 descriptors too; raise its soft limit if it can.
fn raise_own_descriptor_limit() {
    let _ = Command::new("prlimit")
        .args(["--pid", &std::process::id().to_string(), "--nofile=8192:"])
        .status();
}

#[test]
fn idle_connections_beyond_the_descriptor_limit_leave_serve_answering() {
    // Long timeouts: the idle connections stay open until the test closes them.
    let mut server = start(
        &[
            ("FNF_IDLE_TIMEOUT_MS", "600000"),
            ("FNF_HEADER_TIMEOUT_MS", "600000"),
        ],
        Some(1024),
    );
    assert_eq!(
        answered_with(&mut server, 200)["Flows"],
        Value::Array(vec![])
    );
    let idle = open_idle(&server.addr, IDLE_CONNECTIONS);
    assert_eq!(
        idle.len(),
        IDLE_CONNECTIONS,
        "serve stopped accepting connections"
    );
    // Past the cap (512 by default) connections are answered 503, a JSON fnf error.
    let mut last = idle.last().unwrap().try_clone().unwrap();
    last.set_read_timeout(Some(GUARD)).unwrap();
    let (status, head, body) = read_response(&mut last);
    assert_eq!(status, 503, "{head}");
    assert_eq!(body["Code"], "ServiceUnavailable", "{body}");
    assert!(body["Message"].as_str().unwrap().contains("512"), "{body}");
    let refused = answered_with(&mut server, 503);
    assert_eq!(refused["Code"], "ServiceUnavailable", "{refused}");
    // Once the idle ones go, the server answers as before.
    drop(idle);
    drop(last);
    answered_with(&mut server, 200);
}

#[test]
fn accept_errors_wait_and_retry_instead_of_ending_serve() {
    // A cap above the descriptor limit: accept() itself fails (EMFILE).
    let mut server = start(
        &[
            ("FNF_MAX_CONNECTIONS", "100000"),
            ("FNF_IDLE_TIMEOUT_MS", "600000"),
            ("FNF_HEADER_TIMEOUT_MS", "600000"),
        ],
        Some(1024),
    );
    answered_with(&mut server, 200);
    let idle = open_idle(&server.addr, IDLE_CONNECTIONS);
    let deadline = Instant::now() + GUARD;
    let warned = loop {
        match server
            .log
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
        {
            Ok(line) if line.contains("cannot accept a connection") => break line,
            Ok(_) => {}
            Err(RecvTimeoutError::Disconnected) => {
                panic!("serve exited: {:?}", server.child.wait())
            }
            Err(RecvTimeoutError::Timeout) => panic!(
                "serve never ran out of descriptors with {} idle connections: the test proves nothing",
                idle.len()
            ),
        }
    };
    assert!(warned.contains("Too many open files"), "{warned}");
    assert!(server.child.try_wait().unwrap().is_none(), "serve exited");
    drop(idle);
    answered_with(&mut server, 200);
}

#[test]
fn a_declared_oversize_body_is_refused_at_once() {
    // A body timeout far beyond the guard: only an answer that does not wait passes.
    let server = start(&[("FNF_BODY_TIMEOUT_MS", "600000")], None);
    for expect in ["", "Expect: 100-continue\r\n"] {
        let head = format!(
            "POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
             Content-Length: 10000000000\r\n{expect}\r\n"
        );
        let mut stream = connect(&server.addr);
        stream.write_all(head.as_bytes()).unwrap();
        stream.write_all(b"0123456789").unwrap();
        let (status, head, body) = read_response(&mut stream);
        assert_eq!(status, 400, "{expect}: {head}");
        assert_eq!(body["Code"], "EntityTooLarge", "{expect}: {body}");
        assert!(
            body["Message"]
                .as_str()
                .unwrap()
                .contains("(1048576 bytes)"),
            "{body}"
        );
        assert!(
            head.to_ascii_lowercase().contains("connection: close"),
            "{head}"
        );
    }
    // Nothing declared, but more than the limit sent: refused as it streams.
    let head = "POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n";
    let big = vec![b' '; 2 * 1024 * 1024];
    let mut stream = connect(&server.addr);
    stream.write_all(head.as_bytes()).unwrap();
    stream
        .write_all(format!("{:x}\r\n", big.len()).as_bytes())
        .unwrap();
    let _ = stream.write_all(&big);
    let (status, _, body) = read_response(&mut stream);
    assert_eq!(
        (status, body["Code"].as_str()),
        (400, Some("EntityTooLarge")),
        "{body}"
    );
}

#[test]
fn a_malformed_chunked_body_is_invalid_argument() {
    let server = start(&[], None);
    let request = "POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
                   Transfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n";
    let (status, head, body) = exchange(&server.addr, request, b"");
    assert_eq!(status, 400, "{head}");
    assert_eq!(body["Code"], "InvalidArgument", "{body}");
    assert!(body["Message"].as_str().unwrap().contains("body"), "{body}");
}

#[test]
fn slow_bodies_time_out_with_request_timeout() {
    let server = start(&[("FNF_BODY_TIMEOUT_MS", "300")], None);
    let json = "POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n";
    let cases = [
        (
            "10 of 100 bytes",
            format!("{json}Content-Length: 100\r\n\r\n0123456789"),
        ),
        (
            "a chunk of 2^64-1 bytes",
            format!("{json}Transfer-Encoding: chunked\r\n\r\nffffffffffffffff\r\n0123456789"),
        ),
        (
            "Expect: 100-continue, then no body",
            format!("{json}Content-Length: 50\r\nExpect: 100-continue\r\n\r\n"),
        ),
    ];
    for (what, request) in cases {
        let (status, head, body) = exchange(&server.addr, &request, b"");
        assert_eq!(status, 408, "{what}: {head}");
        assert_eq!(body["Code"], "RequestTimeout", "{what}: {body}");
        assert!(
            body["Message"].as_str().unwrap().contains("300 ms"),
            "{what}: {body}"
        );
    }
    // The server goes on answering.
    let (status, _, _) = exchange(&server.addr, &list_flows_request(&server.addr), b"");
    assert_eq!(status, 200);
}

/// Whether the server closed the connection (EOF or reset) within the guard.
fn closed_by_server(stream: &mut TcpStream) -> bool {
    let mut byte = [0u8; 1];
    match stream.read(&mut byte) {
        Ok(0) => true,
        Ok(_) => false,
        Err(e) => !matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut),
    }
}

/// A connection that never sends, and one that sent a request and then went quiet, are both
/// closed by the server.
fn silent_and_kept_alive_connections_are_closed(server: &Server) {
    let mut silent = connect(&server.addr);
    assert!(
        closed_by_server(&mut silent),
        "a silent connection stayed open"
    );
    let mut kept = connect(&server.addr);
    kept.write_all(list_flows_request(&server.addr).as_bytes())
        .unwrap();
    assert_eq!(read_response(&mut kept).0, 200);
    assert!(
        closed_by_server(&mut kept),
        "an idle kept-alive connection stayed open"
    );
}

#[test]
fn silent_connections_are_closed_by_the_idle_timeout() {
    // A header timeout beyond the guard: only the idle watchdog can close these.
    let server = start(
        &[
            ("FNF_IDLE_TIMEOUT_MS", "300"),
            ("FNF_HEADER_TIMEOUT_MS", "600000"),
        ],
        None,
    );
    silent_and_kept_alive_connections_are_closed(&server);
}

#[test]
fn heads_that_never_end_are_closed_by_the_header_timeout() {
    // An idle timeout beyond the guard: only the header timeout can close these.
    let server = start(
        &[
            ("FNF_IDLE_TIMEOUT_MS", "600000"),
            ("FNF_HEADER_TIMEOUT_MS", "500"),
        ],
        None,
    );
    // It also runs while a connection waits for its first or next request (hyper 1.12).
    silent_and_kept_alive_connections_are_closed(&server);
    // A head that trickles in forever.
    let mut endless = connect(&server.addr);
    endless
        .write_all(b"POST / HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        .unwrap();
    endless
        .set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let deadline = Instant::now() + GUARD;
    loop {
        assert!(
            Instant::now() < deadline,
            "an endless head kept its connection"
        );
        if endless.write_all(b"a").is_err() || closed_by_server(&mut endless) {
            break;
        }
    }
    let (status, _, _) = exchange(&server.addr, &list_flows_request(&server.addr), b"");
    assert_eq!(status, 200);
}
