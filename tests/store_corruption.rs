//! A corrupted embedded-store file never ends the process: single bytes flipped across a
//! store's file, each on a fresh copy, and every record read back (and one write) through the
//! API, in a child process per flip so that an abort shows as a failed exit status.
//!
//! The child turns every panic into an abort, as the release profile (`panic = "abort"`) does:
//! in this test build a panic on a store thread would otherwise be caught and look harmless.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;

use fnf_lambda::clock::SystemClock;
use fnf_lambda::service::Service;
use fnf_lambda::store::Store;
use fnf_lambda::store::embedded::{DB_FILE, EmbeddedStore};
use serde_json::Value;

use common::{call, create_flow, start};

/// Names the directory a child reads; without it the child test does nothing.
const CHILD_DIR_ENV: &str = "FNF_TEST_CORRUPTED_STORE_DIR";
/// How many single-byte flips, spread evenly over the file.
const FLIPS: u64 = 101;

/// Fills a store in `dir` through the API, then closes it.
async fn fill(dir: &Path) {
    let store = EmbeddedStore::open(dir).expect("open a fresh store");
    let svc = Service::new(Arc::new(store), Arc::new(SystemClock));
    for flow in ["orders", "billing", "shipping"] {
        create_flow(&svc, flow, common::CLOUDFLOW_SEED, "DEFAULT").await;
        for n in 0..4 {
            start(&svc, flow, &format!("run-{n}"), serde_json::json!({"n": n})).await;
        }
    }
    common::fill_other_tables(&svc).await;
}

/// An answer is fine if it is a success, a missing record (a flipped key byte renames it) or
/// the documented answer to a store failure: `InternalServerError`, 500.
fn assert_clean(params: &[(&str, &str)], status: u16, body: &Value) {
    let fine = match status {
        200 | 404 => true,
        500 => body["Code"] == "InternalServerError",
        // A flipped byte in a flow's definition can make it unparsable or change its type.
        400 => body["Code"] == "InvalidArgument",
        _ => false,
    };
    assert!(fine, "{params:?} answered {status} {body}");
}

/// Reads every record of the filled store through the API, and writes one; answers how many
/// answers were not successes.
async fn read_everything(store: Arc<dyn Store>) -> usize {
    let svc = &Service::new(store.clone(), Arc::new(SystemClock));
    let mut reads: Vec<Vec<(&str, String)>> = vec![
        vec![("Action", "ListFlows".into())],
        vec![("Action", "ListAccounts".into())],
        vec![
            ("Action", "DescribeAccount".into()),
            ("AccountId", "acme".into()),
        ],
        vec![
            ("Action", "ListAccessKeys".into()),
            ("AccountId", "acme".into()),
        ],
        vec![
            ("Action", "ListFlowVersions".into()),
            ("FlowName", "orders".into()),
        ],
        vec![
            ("Action", "ListFlowAliases".into()),
            ("FlowName", "orders".into()),
        ],
    ];
    for flow in ["orders", "billing", "shipping"] {
        reads.push(vec![
            ("Action", "DescribeFlow".into()),
            ("Name", flow.into()),
        ]);
        reads.push(vec![
            ("Action", "ListExecutions".into()),
            ("FlowName", flow.into()),
        ]);
        for n in 0..4 {
            for action in ["DescribeExecution", "GetExecutionHistory"] {
                reads.push(vec![
                    ("Action", action.into()),
                    ("FlowName", flow.into()),
                    ("ExecutionName", format!("run-{n}")),
                ]);
            }
        }
    }
    reads.push(vec![
        ("Action", "CreateFlow".into()),
        ("Name", "after".into()),
        ("Definition", common::CLOUDFLOW_SEED.into()),
        ("Type", "DEFAULT".into()),
    ]);
    let mut failed = 0;
    for params in &reads {
        let params: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let (status, body) = call(svc, &params).await;
        assert_clean(&params, status, &body);
        failed += usize::from(status != 200);
    }
    // The sweep's read of the due index.
    failed + usize::from(store.list_due(i64::MAX, 100).await.is_err())
}

/// The child: opens the corrupted copy and reads it all. Prints how the open went.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn child_reads_a_corrupted_copy() {
    let Some(dir) = std::env::var_os(CHILD_DIR_ENV) else {
        return;
    };
    std::panic::set_hook(Box::new(|info| {
        eprintln!("panic: {info}");
        std::process::abort();
    }));
    match EmbeddedStore::open(Path::new(&dir)) {
        Ok(store) => {
            let failed = read_everything(Arc::new(store)).await;
            println!("OUTCOME opened, {failed} answers not 200");
        }
        Err(e) => println!("OUTCOME refused: {e}"),
    }
}

/// Runs the child on `dir`; answers its exit status and output.
fn run_child(dir: &Path) -> (std::process::ExitStatus, String) {
    let exe = std::env::current_exe().expect("the test binary");
    let out = Command::new(exe)
        .args(["--exact", "child_reads_a_corrupted_copy", "--nocapture"])
        .args(["--test-threads", "1"])
        .env(CHILD_DIR_ENV, dir)
        .stdin(Stdio::null())
        .output()
        .expect("run the child");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status, text)
}

fn flip_copy(original: &[u8], offset: usize, root: &Path) -> PathBuf {
    let dir = root.join(format!("flip-{offset}"));
    std::fs::create_dir_all(&dir).unwrap();
    let mut bytes = original.to_vec();
    bytes[offset] ^= 0xFF;
    std::fs::write(dir.join(DB_FILE), bytes).unwrap();
    dir
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn single_byte_flips_never_end_the_process() {
    let root = tempfile::tempdir().unwrap();
    let clean = root.path().join("clean");
    fill(&clean).await;
    let original = std::fs::read(clean.join(DB_FILE)).unwrap();
    let step = (original.len() as u64 / FLIPS).max(1) as usize;

    // The untouched copy opens and reads back.
    let (status, text) = run_child(&clean);
    assert!(
        status.success() && text.contains("OUTCOME opened"),
        "{text}"
    );

    // Flips that ended the child, and answers that were not what a checked open gives.
    let (mut ended, mut wrong): (Vec<String>, Vec<String>) = (Vec::new(), Vec::new());
    let (mut opened, mut refused) = (0, 0);
    for offset in (0..original.len()).step_by(step).take(FLIPS as usize) {
        let dir = flip_copy(&original, offset, root.path());
        let (status, text) = run_child(&dir);
        let outcome = text
            .lines()
            .find_map(|l| l.split_once("OUTCOME "))
            .map(|(_, o)| o);
        match outcome {
            _ if !status.success() => {
                let why = text.lines().find(|l| l.contains("panic: ")).unwrap_or("");
                ended.push(format!("byte {offset}: {status} {why}"));
            }
            // A file that passes the check reads back whole: the flip was in no page in use.
            Some(o) if o.starts_with("opened") => {
                opened += 1;
                if o != "opened, 0 answers not 200" {
                    wrong.push(format!("byte {offset}: {o}"));
                }
            }
            Some(o) => {
                refused += 1;
                let file = dir.join(DB_FILE).display().to_string();
                if !o.contains(&format!("the store file {file} is corrupted")) {
                    wrong.push(format!("byte {offset}: {o}"));
                }
            }
            None => wrong.push(format!("byte {offset}: the child said nothing: {text}")),
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
    eprintln!(
        "{} bytes, {FLIPS} flips: {opened} opened, {refused} refused, {} ended the process",
        original.len(),
        ended.len()
    );
    assert!(
        ended.is_empty(),
        "flips that ended the process:\n{}",
        ended.join("\n")
    );
    // A file that passes the check reads back whole (the flip hit no page in use); one that
    // fails it is refused with an error naming the file.
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// `serve` on a corrupted store says which file and what to do, and keeps serving: every
/// call answers InternalServerError, the process does not end (a supervisor would only restart
/// it into the same refusal).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_on_a_corrupted_store_names_it_and_answers_internal_errors() {
    let root = tempfile::tempdir().unwrap();
    let clean = root.path().join("clean");
    fill(&clean).await;
    let original = std::fs::read(clean.join(DB_FILE)).unwrap();
    let dir = flip_copy(&original, 0, root.path());
    let mut command = Command::new(env!("CARGO_BIN_EXE_fnf-lambda"));
    command
        .args(["serve", "--addr", "127.0.0.1:0", "--data-dir"])
        .arg(&dir)
        .env_remove("FNF_AUTH")
        .env_remove("TABLE_NAME")
        .env("RUST_LOG", "info");
    let mut server = common::process::Server::spawn(command);
    let file = dir.join(DB_FILE).display().to_string();
    let said = server
        .wait_for_log("is corrupted", std::time::Duration::from_secs(10))
        .unwrap_or_default();
    assert!(
        said.contains(&format!("the store file {file} is corrupted"))
            && said.contains(&format!("move the directory {} aside", dir.display())),
        "{said}"
    );
    for _ in 0..2 {
        let answer = server.post(serde_json::json!({"Action": "ListFlows"}));
        assert_eq!(answer["Code"], "InternalServerError", "{answer}");
    }
    assert!(server.child.try_wait().unwrap().is_none(), "serve ended");
    server.kill();
}
