//! `fnf-lambda serve` as a child process, for the tests that kill it: started on a free
//! loopback port, its log lines handed to the test, plain HTTP/1.1 requests to it.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};

use serde_json::Value;

pub struct Server {
    pub child: Child,
    pub addr: String,
    /// The server's log lines but the one that named the address.
    pub log: Receiver<String>,
    /// The data directory, when the server owns one.
    pub data: Option<tempfile::TempDir>,
}

impl Server {
    /// Starts `serve` with `args` (the store) and `envs` (settings), and waits until it listens.
    pub fn start(args: &[String], envs: &[(String, String)]) -> Server {
        let mut command = Command::new(env!("CARGO_BIN_EXE_fnf-lambda"));
        command
            .args(["serve", "--addr", "127.0.0.1:0"])
            .args(args)
            .env("RUST_LOG", "info")
            .envs(envs.iter().cloned());
        Server::spawn(command)
    }

    /// Spawns `command` (this build's `serve`, however it is wrapped) and waits until it
    /// listens.
    pub fn spawn(mut command: Command) -> Server {
        let mut child = command
            .stderr(Stdio::piped())
            .spawn()
            .expect("start fnf-lambda serve");
        // The address is in the line "serving the fnf API on http://127.0.0.1:PORT (...".
        let stderr = child.stderr.take().unwrap();
        let mut lines = BufReader::new(stderr).lines();
        let (send, log) = channel();
        let addr = loop {
            let line = lines
                .next()
                .expect("serve exited before it listened")
                .unwrap();
            if let Some(rest) = line.split("http://").nth(1) {
                break rest.split_whitespace().next().unwrap().to_owned();
            }
            // Lines before it (warnings at start) are the test's to read too.
            let _ = send.send(line);
        };
        // Keep draining the log so the server never blocks on a full pipe.
        std::thread::spawn(move || {
            for line in lines.map_while(Result::ok) {
                let _ = send.send(line);
            }
        });
        Server {
            child,
            addr,
            log,
            data: None,
        }
    }

    /// Waits (at most `within`) for a log line containing `text`.
    pub fn wait_for_log(&self, text: &str, within: Duration) -> Option<String> {
        let deadline = Instant::now() + within;
        loop {
            let left = deadline.checked_duration_since(Instant::now())?;
            match self.log.recv_timeout(left) {
                Ok(line) if line.contains(text) => return Some(line),
                Ok(_) => {}
                Err(_) => return None,
            }
        }
    }

    /// SIGKILL, and wait for the process to be gone.
    pub fn kill(&mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
    }

    pub fn post(&self, body: Value) -> Value {
        post(&self.addr, body)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

/// One JSON-body POST on a fresh connection; the answer's body.
pub fn post(addr: &str, body: Value) -> Value {
    let mut stream = send(addr, body);
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let body = response.split("\r\n\r\n").nth(1).unwrap_or("");
    serde_json::from_str(body.trim()).unwrap_or_else(|e| panic!("not JSON ({e}): {response}"))
}

/// Sends one JSON-body POST and leaves the answer unread (for a server about to be killed).
pub fn send(addr: &str, body: Value) -> TcpStream {
    let text = body.to_string();
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    write!(
        stream,
        "POST / HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
        text.len()
    )
    .unwrap();
    stream
}

/// The environment that points `serve` at moto's DynamoDB, and a fresh table made there.
pub fn dynamodb_args(prefix: &str) -> (Vec<String>, Vec<(String, String)>) {
    let endpoint = super::dynamodb_endpoint();
    let table = format!(
        "{prefix}-{}-{}",
        std::process::id(),
        uuid::Uuid::new_v4().simple()
    );
    let envs: Vec<(String, String)> = [
        ("AWS_ENDPOINT_URL_DYNAMODB", endpoint.as_str()),
        ("AWS_REGION", "us-east-1"),
        ("AWS_ACCESS_KEY_ID", "test"),
        ("AWS_SECRET_ACCESS_KEY", "test"),
        ("AWS_EC2_METADATA_DISABLED", "true"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let status = Command::new(env!("CARGO_BIN_EXE_fnf-lambda"))
        .args(["create-table", &table])
        .envs(envs.iter().cloned())
        .status()
        .unwrap();
    assert!(status.success(), "create-table {table}");
    (vec!["--table".into(), table], envs)
}
