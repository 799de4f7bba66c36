//! `fnf-lambda run` and `fnf-lambda validate`, as a user runs them: the real binary, its exit
//! codes, stdout and stderr.

use std::process::Command;

fn fnf(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_fnf-lambda"))
        .args(args)
        .output()
        .expect("run the binary");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn write(dir: &tempfile::TempDir, name: &str, text: &str) -> String {
    let path = dir.path().join(name);
    std::fs::write(&path, text).unwrap();
    path.to_string_lossy().into_owned()
}

#[test]
fn run_prints_the_output_and_exits_zero() {
    let (code, stdout, stderr) = fnf(&[
        "run",
        "examples/greet-cloudflow.yaml",
        "--input",
        r#"{"user":{"name":"Ada"}}"#,
        "--history",
    ]);
    assert_eq!(code, 0, "{stderr}");
    let output: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(
        output,
        serde_json::json!({"execution": "exec-1", "message": "hello", "to": "Ada"})
    );
    let entered: Vec<_> = stderr
        .lines()
        .filter(|l| l.contains("StepEntered"))
        .collect();
    assert_eq!(entered.len(), 3, "{stderr}");
    let (code, stdout, _) = fnf(&[
        "run",
        "examples/hello-fdl.yaml",
        "--input",
        r#"{"key":"value"}"#,
    ]);
    assert_eq!((code, stdout.trim()), (0, r#"{"key":"value"}"#));
}

#[test]
fn failed_execution_exits_one_with_error_and_cause() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        &dir,
        "fail.yaml",
        "Type: StateMachine\nSpecVersion: v1\nName: f\nStartAt: no\nStates:\n  - Type: Fail\n    Name: no\n    Code: Nope\n    Detail: not today\n",
    );
    let (code, stdout, stderr) = fnf(&["run", &file]);
    assert_eq!(code, 1);
    assert!(stdout.is_empty());
    assert!(stderr.contains("Failed: Nope: not today"), "{stderr}");
}

#[test]
fn validate_says_what_is_wrong() {
    let dir = tempfile::tempdir().unwrap();
    let (code, stdout, _) = fnf(&["validate", "examples/hello-cloudflow.yaml"]);
    assert_eq!(code, 0);
    assert!(
        stdout.contains("a valid CloudFlow definition (1 states)"),
        "{stdout}"
    );
    let bad = write(
        &dir,
        "bad.yaml",
        "Type: StateMachine\nSpecVersion: v1\nName: x\nStartAt: a\nStates:\n  - Type: Pass\n    Name: a\n    Next: b\n",
    );
    let (code, _, stderr) = fnf(&["validate", &bad]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("States[0].Next") && stderr.contains("\"b\""),
        "{stderr}"
    );
    let unknown = write(&dir, "what.yaml", "hello: world\n");
    let (code, _, stderr) = fnf(&["validate", &unknown]);
    assert_eq!(code, 2);
    assert!(stderr.contains("--type"), "{stderr}");
    let (code, _, stderr) = fnf(&["validate", "no/such/file.yaml"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("no/such/file.yaml"), "{stderr}");
}

#[test]
fn bad_arguments_exit_two() {
    for args in [
        vec!["run"],
        vec!["run", "examples/hello-fdl.yaml", "--input", "[1]"],
        vec!["run", "examples/hello-fdl.yaml", "--input", "{oops"],
        vec!["run", "examples/hello-fdl.yaml", "--type", "BPMN"],
        vec!["validate", "examples/hello-fdl.yaml", "--history"],
    ] {
        let (code, _, stderr) = fnf(&args);
        assert_eq!(code, 2, "{args:?}: {stderr}");
        assert!(!stderr.is_empty());
    }
}

/// Issue 12: 131,000 `[` cost libyaml 45 s of CPU before its 400; the pre-scan refuses them
/// at the 129th, with the place, whether or not `--type` says the language.
#[test]
fn validate_refuses_a_bracket_bomb_at_the_bracket() {
    let dir = tempfile::tempdir().unwrap();
    let bomb = write(
        &dir,
        "bomb.yaml",
        &format!("Type: StateMachine\nx: {}\n", "[".repeat(131_000)),
    );
    for args in [
        vec!["validate", &bomb],
        vec!["validate", &bomb, "--type", "DEFAULT"],
    ] {
        let (code, _, stderr) = fnf(&args);
        assert_eq!(code, 2, "{stderr}");
        assert!(
            stderr.contains("nested more than 128 deep at line 2 column 132"),
            "{stderr}"
        );
    }
}
