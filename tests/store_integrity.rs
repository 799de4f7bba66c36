//! The embedded store never loses data silently (issue 13): a file emptied, deleted or replaced
//! under its manifest is refused by name, a changed digit in a stored value is never served, a
//! second `serve` on the same directory is told who has it, and `backup` / `restore` (the real
//! binary) bring a store back whole and refuse a damaged backup.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use fnf_lambda::clock::SystemClock;
use fnf_lambda::service::Service;
use fnf_lambda::store::embedded::{DB_FILE, EmbeddedStore};
use serde_json::{Value, json};

use common::process::Server;
use common::{call, create_flow, start};

/// As many executions as the store lost.
const EXECUTIONS: u64 = 220;
const FLOWS: [&str; 2] = ["orders", "billing"];
/// Each execution's input carries `MARKER + n`: ten digits found nowhere else in the file.
const MARKER: u64 = 7_300_000_000;

/// Fills a store in `dir` through the API (executions, a version, an alias, an account and its
/// key), then closes it. One input is large (40 KB), so it spans pages of its own.
async fn fill(dir: &Path) {
    let store = EmbeddedStore::open(dir).expect("open a fresh store");
    let svc = Service::new(Arc::new(store), Arc::new(SystemClock));
    for flow in FLOWS {
        create_flow(&svc, flow, common::CLOUDFLOW_SEED, "DEFAULT").await;
    }
    for n in 0..EXECUTIONS {
        let flow = FLOWS[(n % 2) as usize];
        let pad = if n == 7 {
            "x".repeat(40_000)
        } else {
            String::new()
        };
        start(
            &svc,
            flow,
            &format!("run-{n}"),
            json!({"n": MARKER + n, "pad": pad}),
        )
        .await;
    }
    common::fill_other_tables(&svc).await;
}

/// Every record of a filled store as the API answers it (request ids left out), or the error
/// the store's open gave.
async fn snapshot(dir: &Path) -> Result<Vec<Value>, String> {
    let store = EmbeddedStore::open(dir).map_err(|e| e.to_string())?;
    let svc = &Service::new(Arc::new(store), Arc::new(SystemClock));
    let mut reads: Vec<Vec<(&str, String)>> = vec![
        vec![("Action", "ListFlows".into())],
        vec![("Action", "ListAccounts".into())],
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
    // One past the filled ones: the execution a test may add.
    for n in 0..=EXECUTIONS {
        let flow = FLOWS[(n % 2) as usize];
        for action in ["DescribeExecution", "GetExecutionHistory"] {
            reads.push(vec![
                ("Action", action.into()),
                ("FlowName", flow.into()),
                ("ExecutionName", format!("run-{n}")),
            ]);
        }
    }
    let mut answers = Vec::new();
    for params in &reads {
        let params: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let (status, mut body) = call(svc, &params).await;
        body.as_object_mut().map(|o| o.remove("RequestId"));
        answers.push(json!({"status": status, "body": body}));
    }
    Ok(answers)
}

/// Something done to a store's file.
type Damage<'a> = dyn Fn(&Path) + 'a;

fn file_of(dir: &Path) -> PathBuf {
    dir.join(DB_FILE)
}

/// A copy of the directory `from` at `to` (the store's files only).
fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
    }
}

/// Changes the last digit of the first occurrence of `MARKER + n` in `file`; answers the
/// number as it now reads.
fn change_digit(file: &Path, n: u64) -> String {
    change_digit_where(file, n, |hits| hits[0])
}

/// Changes the last digit of `MARKER + n` in `file` at the occurrence `pick` chooses among
/// all of them (offsets, ascending); answers the number as it now reads.
fn change_digit_where(file: &Path, n: u64, pick: impl Fn(&[usize]) -> usize) -> String {
    let mut bytes = std::fs::read(file).unwrap();
    let needle = (MARKER + n).to_string().into_bytes();
    let hits: Vec<usize> = (0..bytes.len().saturating_sub(needle.len()))
        .filter(|&i| bytes[i..].starts_with(&needle))
        .collect();
    assert!(!hits.is_empty(), "the marker is in the file");
    let at = pick(&hits);
    let last = at + needle.len() - 1;
    bytes[last] = if bytes[last] == b'9' { b'8' } else { b'9' };
    let changed = String::from_utf8(bytes[at..=last].to_vec()).unwrap();
    std::fs::write(file, bytes).unwrap();
    changed
}

/// The binary with `args`, its data directory from the arguments only; (exit code, stdout,
/// stderr), within a minute.
fn fnf(args: &[&str]) -> (i32, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_fnf-lambda"))
        .args(args)
        .env_remove("FNF_DATA_DIR")
        .env_remove("TABLE_NAME")
        .env_remove("FNF_AUTH")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run the binary");
    let deadline = Instant::now() + Duration::from_secs(60);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            child.kill().ok();
            panic!("fnf-lambda {args:?} did not end within a minute");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn text(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// A damaged copy is refused with an error naming its file, or else reads back exactly as
/// `whole`, never something else as if it were valid.
async fn refused_or_whole(dir: &Path, whole: &[Value], what: &str) {
    match snapshot(dir).await {
        Err(e) => {
            eprintln!("{what}: refused: {e}");
            let file = text(&file_of(dir)).to_owned();
            let said = format!("the store file {file} is corrupted");
            assert!(e.contains(&said), "{what}: {e}");
        }
        Ok(answers) => {
            let differ = answers.iter().zip(whole).find(|(a, w)| a != w);
            assert!(differ.is_none(), "{what}: served as valid: {differ:?}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_changed_digit_in_a_stored_value_is_never_served() {
    let root = tempfile::tempdir().unwrap();
    let clean = root.path().join("clean");
    fill(&clean).await;
    let whole = snapshot(&clean).await.unwrap();
    // A small input (one leaf among many) and the 40 KB one (pages of its own).
    for n in [123, 7] {
        let dir = root.path().join(format!("digit-{n}"));
        copy_dir(&clean, &dir);
        let changed = change_digit(&file_of(&dir), n);
        refused_or_whole(&dir, &whole, &format!("run-{n} changed to {changed}")).await;
    }
    // After an unclean stop (the store never closed) the newest write's page is changed: redb
    // must not fall back to the commit before it, which would drop that write unsaid.
    let crashed = root.path().join("crashed");
    copy_dir(&clean, &crashed);
    let store = EmbeddedStore::open(&crashed).unwrap();
    let svc = Service::new(Arc::new(store.clone()), Arc::new(SystemClock));
    start(
        &svc,
        FLOWS[0],
        &format!("run-{EXECUTIONS}"),
        json!({"n": MARKER + EXECUTIONS}),
    )
    .await;
    drop(svc);
    // Left open, as a killed process leaves it; its files are copied while it is.
    std::mem::forget(store);
    let (pristine, dir) = (
        root.path().join("pristine"),
        root.path().join("crashed-digit"),
    );
    copy_dir(&crashed, &pristine);
    copy_dir(&crashed, &dir);
    // The copies' lock files say nothing: no process holds the copies.
    let _ = std::fs::remove_file(pristine.join("fnf.lock"));
    let _ = std::fs::remove_file(dir.join("fnf.lock"));
    let whole = snapshot(&pristine).await.unwrap();
    // The finished record holds the number twice, input and output side by side; the
    // record it replaced (Running, input only) may linger in a page no longer in use.
    let newest = |hits: &[usize]| {
        let pair = hits.windows(2).find(|w| w[1] - w[0] < 100);
        pair.expect("the finished record is in the file")[0]
    };
    let changed = change_digit_where(&file_of(&dir), EXECUTIONS, newest);
    refused_or_whole(&dir, &whole, &format!("after a crash, {changed}")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_emptied_deleted_or_foreign_store_file_is_refused_by_name() {
    let root = tempfile::tempdir().unwrap();
    let clean = root.path().join("clean");
    fill(&clean).await;
    let other = root.path().join("other");
    fill(&other).await;
    let cases: [(&str, &Damage); 3] = [
        ("is empty", &|f| std::fs::write(f, b"").unwrap()),
        ("is missing", &|f| std::fs::remove_file(f).unwrap()),
        ("holds store", &|f| {
            std::fs::copy(file_of(&other), f).unwrap();
        }),
    ];
    for (said, damage) in cases {
        let dir = root.path().join(said.replace(' ', "-"));
        copy_dir(&clean, &dir);
        damage(&file_of(&dir));
        let before = std::fs::metadata(file_of(&dir)).map(|m| m.len()).ok();
        let err = snapshot(&dir)
            .await
            .expect_err("a lost store must be refused");
        let file = text(&file_of(&dir)).to_owned();
        assert!(
            err.contains(&format!("the store file {file} {said}")),
            "{err}"
        );
        assert!(err.contains("fnf-store.json says store"), "{err}");
        assert!(err.contains("fnf-lambda restore --from BACKUP"), "{err}");
        assert!(
            err.contains(&format!("move the directory {} aside", text(&dir))),
            "{err}"
        );
        // Refused, not started afresh: the file is as it was found.
        let after = std::fs::metadata(file_of(&dir)).map(|m| m.len()).ok();
        assert_eq!(before, after, "{said}: the refused file was changed");
    }
    // A fresh directory still starts a new store, and a store written before manifests (here:
    // its manifest removed) opens whole and gets one again.
    assert!(snapshot(&root.path().join("fresh")).await.is_ok());
    let whole = snapshot(&clean).await.unwrap();
    let manifest = clean.join("fnf-store.json");
    let written = std::fs::read_to_string(&manifest).unwrap();
    std::fs::remove_file(&manifest).unwrap();
    assert_eq!(snapshot(&clean).await.unwrap(), whole);
    assert_eq!(std::fs::read_to_string(&manifest).unwrap(), written);
}

/// `serve` started on an emptied store names the file and answers InternalServerError, as on a
/// corrupted one; it does not serve an empty store.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_on_an_emptied_store_names_the_file() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("data");
    fill(&dir).await;
    std::fs::write(file_of(&dir), b"").unwrap();
    let server = Server::start(&["--data-dir".into(), text(&dir).into()], &[]);
    let said = server
        .wait_for_log("is empty", Duration::from_secs(10))
        .unwrap_or_default();
    assert!(
        said.contains(&format!("the store file {} is empty", text(&file_of(&dir)))),
        "{said}"
    );
    let answer = server.post(json!({"Action": "ListFlows"}));
    assert_eq!(answer["Code"], "InternalServerError", "{answer}");
    assert_eq!(std::fs::metadata(file_of(&dir)).unwrap().len(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_serve_on_the_same_directory_is_refused_plainly() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("data");
    let first = Server::start(&["--data-dir".into(), text(&dir).into()], &[]);
    let pid = first.child.id();
    let (code, _, stderr) = fnf(&["serve", "--addr", "127.0.0.1:0", "--data-dir", text(&dir)]);
    let plain = format!(
        "another fnf-lambda process (pid {pid}) already uses {}",
        text(&dir)
    );
    assert_ne!(code, 0, "{stderr}");
    assert!(stderr.contains(&plain), "{stderr}");
    // A backup needs the store to itself too, and says so the same way.
    let to = root.path().join("backup");
    let (code, _, stderr) = fnf(&["backup", "--data-dir", text(&dir), "--to", text(&to)]);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains(&plain), "{stderr}");
    assert!(!to.exists());
    // The first one serves on.
    let answer = first.post(json!({"Action": "ListFlows"}));
    assert!(answer["Flows"].is_array(), "{answer}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backup_and_restore_bring_the_store_back_whole() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("data");
    fill(&dir).await;
    let whole = snapshot(&dir).await.unwrap();
    let backup = root.path().join("fnf-backup.redb");
    let (code, stdout, stderr) = fnf(&["backup", "--data-dir", text(&dir), "--to", text(&backup)]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.contains(&format!("executions {EXECUTIONS}")),
        "{stdout}"
    );
    // A second backup onto the same file needs --force.
    let (code, _, stderr) = fnf(&["backup", "--data-dir", text(&dir), "--to", text(&backup)]);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("exists: pass --force"), "{stderr}");

    // The disaster: the file emptied. Restore needs no --force onto an empty file.
    std::fs::write(file_of(&dir), b"").unwrap();
    let (code, stdout, stderr) =
        fnf(&["restore", "--from", text(&backup), "--data-dir", text(&dir)]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("restored store"), "{stdout}");
    assert_eq!(snapshot(&dir).await.unwrap(), whole);

    // Into a new directory; onto a store that is there only with --force.
    let elsewhere = root.path().join("elsewhere");
    fill(&elsewhere).await;
    start_one_more(&elsewhere).await;
    let args = [
        "restore",
        "--from",
        text(&backup),
        "--data-dir",
        text(&elsewhere),
    ];
    let (code, _, stderr) = fnf(&args);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("already holds a store"), "{stderr}");
    assert_ne!(snapshot(&elsewhere).await.unwrap(), whole);
    let (code, _, stderr) = fnf(&[&args[..], &["--force"]].concat());
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(snapshot(&elsewhere).await.unwrap(), whole);
}

/// A change the snapshot sees: one more execution.
async fn start_one_more(dir: &Path) {
    let store = EmbeddedStore::open(dir).unwrap();
    let svc = Service::new(Arc::new(store), Arc::new(SystemClock));
    start(&svc, "orders", "run-0-again", json!({})).await;
    let (status, _) = call(&svc, &[("Action", "DeleteFlow"), ("Name", "billing")]).await;
    assert_eq!(status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restore_refuses_a_damaged_backup_and_changes_nothing() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("data");
    fill(&dir).await;
    let whole = snapshot(&dir).await.unwrap();
    let backup = root.path().join("fnf-backup.redb");
    let (code, _, stderr) = fnf(&["backup", "--data-dir", text(&dir), "--to", text(&backup)]);
    assert_eq!(code, 0, "{stderr}");
    let good = std::fs::read(&backup).unwrap();
    let damaged: [(&str, Box<Damage>); 4] = [
        ("digit", Box::new(|f| drop(change_digit(f, 123)))),
        (
            "half",
            Box::new(|f| std::fs::write(f, &good[..good.len() / 2]).unwrap()),
        ),
        ("empty", Box::new(|f| std::fs::write(f, b"").unwrap())),
        (
            "foreign",
            Box::new(|f| std::fs::write(f, "not a store\n".repeat(500)).unwrap()),
        ),
    ];
    for (what, damage) in damaged {
        let bad = root.path().join(format!("bad-{what}"));
        std::fs::write(&bad, &good).unwrap();
        damage(&bad);
        let (code, _, stderr) = fnf(&[
            "restore",
            "--from",
            text(&bad),
            "--data-dir",
            text(&dir),
            "--force",
        ]);
        assert_eq!(code, 1, "{what}: {stderr}");
        let said = format!("the backup {} cannot be restored", text(&bad));
        assert!(stderr.contains(&said), "{what}: {stderr}");
        assert!(stderr.contains("nothing in"), "{what}: {stderr}");
        let left: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(
            left.len(),
            3,
            "{what}: only the store's files stay: {left:?}"
        );
        assert_eq!(snapshot(&dir).await.unwrap(), whole, "{what}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_damaged_manifest_is_refused_by_name_and_can_be_rebuilt() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("data");
    fill(&dir).await;
    let whole = snapshot(&dir).await.unwrap();
    let manifest = dir.join("fnf-store.json");
    std::fs::write(&manifest, "{\"format\": 1, \"store_id\": ").unwrap();
    let err = snapshot(&dir)
        .await
        .expect_err("a damaged manifest is refused");
    let said = format!("the store manifest {} is damaged", text(&manifest));
    assert!(
        err.contains(&said) && err.contains("delete the manifest"),
        "{err}"
    );
    // As the message says: deleted, it is written again from the file.
    std::fs::remove_file(&manifest).unwrap();
    assert_eq!(snapshot(&dir).await.unwrap(), whole);
    assert!(manifest.exists());
}
