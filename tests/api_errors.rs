//! Every error code the actions answer, provoked by a real bad request: code, HTTP status and
//! message are checked, and nothing refused is stored. Transport errors: `api_transport.rs`.

mod common;

use common::{Backend, CLOUDFLOW_SEED, call, create_flow, ok};
use fnf_lambda::service::Service;

/// (what, request parameters, code, HTTP status, a piece of the message)
type Case = (
    &'static str,
    Vec<(&'static str, String)>,
    &'static str,
    u16,
    &'static str,
);

fn p(pairs: &[(&'static str, &str)]) -> Vec<(&'static str, String)> {
    pairs.iter().map(|(k, v)| (*k, v.to_string())).collect()
}

fn cases() -> Vec<Case> {
    let big_input = format!(r#"{{"k":"{}"}}"#, "x".repeat(64 * 1024));
    let big_definition = format!("{CLOUDFLOW_SEED}#{}", "x".repeat(128 * 1024));
    // Issue 12: libyaml took 45 s over these before its own error; refused at the 129th `[`.
    let bracket_bomb = format!("Type: StateMachine\nx: {}\n", "[".repeat(131_000));
    let long_name = format!("a{}", "b".repeat(128));
    vec![
        (
            "unknown action",
            p(&[("Action", "DropTables")]),
            "ActionNotSupported",
            400,
            "'DropTables' is incorrect",
        ),
        (
            "wrong version",
            p(&[("Action", "ListFlows"), ("Version", "2017-01-01")]),
            "APIVersionNotSupported",
            400,
            "'2017-01-01' is not supported",
        ),
        (
            "no action",
            p(&[("FlowName", "f")]),
            "MissingRequiredParams",
            400,
            "'Action' must be specified",
        ),
        (
            "StartExecution without FlowName",
            p(&[("Action", "StartExecution")]),
            "MissingRequiredParams",
            400,
            "'FlowName'",
        ),
        (
            "CreateFlow without Definition",
            p(&[("Action", "CreateFlow"), ("Name", "x"), ("Type", "DEFAULT")]),
            "MissingRequiredParams",
            400,
            "'Definition'",
        ),
        (
            "CreateFlow without Type",
            p(&[
                ("Action", "CreateFlow"),
                ("Name", "x"),
                ("Definition", CLOUDFLOW_SEED),
            ]),
            "MissingRequiredParams",
            400,
            "'Type'",
        ),
        (
            "DescribeExecution without ExecutionName",
            p(&[("Action", "DescribeExecution"), ("FlowName", "seed")]),
            "MissingRequiredParams",
            400,
            "'ExecutionName'",
        ),
        (
            "input too large",
            p(&[
                ("Action", "StartExecution"),
                ("FlowName", "seed"),
                ("Input", &big_input),
            ]),
            "EntityTooLarge",
            400,
            "(65536 bytes)",
        ),
        (
            "definition too large",
            p(&[
                ("Action", "CreateFlow"),
                ("Name", "big"),
                ("Type", "DEFAULT"),
                ("Definition", &big_definition),
            ]),
            "EntityTooLarge",
            400,
            "(131072 bytes)",
        ),
        (
            "definition nested too deep",
            p(&[
                ("Action", "CreateFlow"),
                ("Name", "bomb"),
                ("Type", "DEFAULT"),
                ("Definition", &bracket_bomb),
            ]),
            "InvalidArgument",
            400,
            "nested more than 128 deep at line 2 column 132",
        ),
        (
            "execution name starts with a digit",
            p(&[
                ("Action", "StartExecution"),
                ("FlowName", "seed"),
                ("ExecutionName", "1abc"),
            ]),
            "InvalidArgument",
            400,
            "ExecutionName: \"1abc\" is not a valid name",
        ),
        (
            "execution name with a dot",
            p(&[
                ("Action", "StartExecution"),
                ("FlowName", "seed"),
                ("ExecutionName", "a.b"),
            ]),
            "InvalidArgument",
            400,
            "ExecutionName",
        ),
        (
            "execution name too long",
            p(&[
                ("Action", "StartExecution"),
                ("FlowName", "seed"),
                ("ExecutionName", &long_name),
            ]),
            "InvalidArgument",
            400,
            "1 to 128",
        ),
        (
            "flow name with a space",
            p(&[("Action", "StartExecution"), ("FlowName", "my flow")]),
            "InvalidArgument",
            400,
            "FlowName",
        ),
        (
            "input is an array",
            p(&[
                ("Action", "StartExecution"),
                ("FlowName", "seed"),
                ("Input", "[1,2]"),
            ]),
            "InvalidArgument",
            400,
            "Input: must be a JSON object, got an array",
        ),
        (
            "input is a string",
            p(&[
                ("Action", "StartExecution"),
                ("FlowName", "seed"),
                ("Input", "\"s\""),
            ]),
            "InvalidArgument",
            400,
            "got a string",
        ),
        (
            "input is not JSON",
            p(&[
                ("Action", "StartExecution"),
                ("FlowName", "seed"),
                ("Input", "{key:"),
            ]),
            "InvalidArgument",
            400,
            "Input: is not valid JSON",
        ),
        (
            "Qualifier names no published version",
            p(&[
                ("Action", "StartExecution"),
                ("FlowName", "seed"),
                ("Qualifier", "1"),
            ]),
            "FlowVersionNotExists",
            404,
            "Version 1 of flow seed does not exist.",
        ),
        (
            "Express flow",
            p(&[("Action", "StartExecution"), ("FlowName", "express")]),
            "InvalidArgument",
            400,
            "Express mode",
        ),
        (
            "unknown flow",
            p(&[("Action", "StartExecution"), ("FlowName", "nope")]),
            "FlowNotExists",
            404,
            "Flow nope does not exist.",
        ),
        (
            "describe unknown flow",
            p(&[("Action", "DescribeFlow"), ("Name", "nope")]),
            "FlowNotExists",
            404,
            "Flow nope",
        ),
        (
            "delete unknown flow",
            p(&[("Action", "DeleteFlow"), ("Name", "nope")]),
            "FlowNotExists",
            404,
            "Flow nope",
        ),
        (
            "update unknown flow",
            p(&[
                ("Action", "UpdateFlow"),
                ("Name", "nope"),
                ("Description", "d"),
            ]),
            "FlowNotExists",
            404,
            "Flow nope",
        ),
        (
            "list executions of unknown flow",
            p(&[("Action", "ListExecutions"), ("FlowName", "nope")]),
            "FlowNotExists",
            404,
            "Flow nope",
        ),
        (
            "unknown execution",
            p(&[
                ("Action", "DescribeExecution"),
                ("FlowName", "seed"),
                ("ExecutionName", "ghost"),
            ]),
            "ExecutionNotExists",
            404,
            "Execution ghost for flow seed does not exist.",
        ),
        (
            "flow exists",
            p(&[
                ("Action", "CreateFlow"),
                ("Name", "seed"),
                ("Type", "DEFAULT"),
                ("Definition", CLOUDFLOW_SEED),
            ]),
            "FlowAlreadyExists",
            400,
            "Flow seed already exists.",
        ),
        (
            "definition does not parse",
            p(&[
                ("Action", "CreateFlow"),
                ("Name", "bad"),
                ("Type", "DEFAULT"),
                ("Definition", "just: text"),
            ]),
            "InvalidArgument",
            400,
            "Definition",
        ),
        (
            "bad Type",
            p(&[
                ("Action", "CreateFlow"),
                ("Name", "bad"),
                ("Type", "BPMN"),
                ("Definition", CLOUDFLOW_SEED),
            ]),
            "InvalidArgument",
            400,
            "Type: must be FDL or DEFAULT",
        ),
        (
            "bad ExecutionMode",
            p(&[
                ("Action", "CreateFlow"),
                ("Name", "bad"),
                ("Type", "DEFAULT"),
                ("Definition", CLOUDFLOW_SEED),
                ("ExecutionMode", "Fast"),
            ]),
            "InvalidArgument",
            400,
            "ExecutionMode",
        ),
        (
            "Limit zero",
            p(&[("Action", "ListFlows"), ("Limit", "0")]),
            "InvalidArgument",
            400,
            "Limit: must be an integer from 1 to 1000",
        ),
        (
            "Limit not a number",
            p(&[
                ("Action", "ListExecutions"),
                ("FlowName", "seed"),
                ("Limit", "ten"),
            ]),
            "InvalidArgument",
            400,
            "Limit",
        ),
        (
            "forged NextToken",
            p(&[("Action", "ListFlows"), ("NextToken", "!!!")]),
            "InvalidArgument",
            400,
            "NextToken",
        ),
        (
            "unknown Status",
            p(&[
                ("Action", "ListExecutions"),
                ("FlowName", "seed"),
                ("Status", "Done"),
            ]),
            "InvalidArgument",
            400,
            "Status",
        ),
        (
            "bad StartedTimeBegin",
            p(&[
                ("Action", "ListExecutions"),
                ("FlowName", "seed"),
                ("StartedTimeBegin", "yesterday"),
            ]),
            "InvalidArgument",
            400,
            "StartedTimeBegin",
        ),
    ]
}

async fn seeded() -> (Service, Option<tempfile::TempDir>) {
    let (svc, guard) = common::service(Backend::Embedded).await;
    create_flow(&svc, "seed", CLOUDFLOW_SEED, "DEFAULT").await;
    ok(
        &svc,
        &[
            ("Action", "CreateFlow"),
            ("Name", "express"),
            ("Type", "DEFAULT"),
            ("Definition", CLOUDFLOW_SEED),
            ("ExecutionMode", "Express"),
        ],
    )
    .await;
    (svc, guard)
}

#[tokio::test]
async fn every_error_code_answers_with_its_status_and_message() {
    let (svc, _guard) = seeded().await;
    let mut failures = Vec::new();
    for (what, params, code, status, message) in cases() {
        let params: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let (got_status, body) = call(&svc, &params).await;
        let ok = got_status == status
            && body["Code"] == code
            && body["Message"]
                .as_str()
                .is_some_and(|m| m.contains(message))
            && body["RequestId"] == "test-request";
        if !ok {
            failures.push(format!(
                "{what}: expected {status} {code} ~{message:?}, got {got_status} {body}"
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} cases failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    // Refused requests stored nothing.
    let flows = ok(&svc, &[("Action", "ListFlows")]).await;
    assert_eq!(flows["Flows"].as_array().map(Vec::len), Some(2), "{flows}");
    let execs = ok(&svc, &[("Action", "ListExecutions"), ("FlowName", "seed")]).await;
    assert_eq!(
        execs["Executions"].as_array().map(Vec::len),
        Some(0),
        "{execs}"
    );
}
