//! A key's policy is checked against exactly what the action acts on (issue 12, point 6): the
//! flow its handler reads (`Name` or `FlowName`), the account an account or key action is
//! about. A flow-naming parameter the action does not read is refused, never ignored.

#[macro_use]
mod common;

use std::sync::Arc;

use common::{Backend, CLOUDFLOW_SEED, call, create_flow, ok};
use fnf_lambda::api::resource;
use fnf_lambda::auth::caller::Caller;
use fnf_lambda::auth::policy::Policy;
use fnf_lambda::service::Service;

fn caller(account: &str, policy: &str) -> Caller {
    Caller {
        account: account.to_owned(),
        policy: Arc::new(Policy::parse(policy).unwrap()),
        key: None,
    }
}

fn allow_only(resource: &str) -> String {
    format!(
        r#"{{"Version":"1","Statement":[{{"Effect":"Allow","Action":"fnf:*","Resource":"{resource}"}}]}}"#
    )
}

/// The flow `secret` of `svc`'s account, as its operator sees it.
async fn description(svc: &Service, flow: &str) -> Option<String> {
    let (status, body) = call(svc, &[("Action", "DescribeFlow"), ("Name", flow)]).await;
    (status == 200).then(|| body["Description"].as_str().unwrap().to_owned())
}

async fn flows_and_versions(svc: &Service) {
    for flow in ["secret", "orders-1"] {
        create_flow(svc, flow, CLOUDFLOW_SEED, "DEFAULT").await;
        let (flow_name, routes) = (("FlowName", flow), r#"[{"Version":"1","Weight":100}]"#);
        ok(svc, &[("Action", "PublishFlowVersion"), flow_name]).await;
        let alias = [("Name", "live"), ("RoutingConfigurations", routes)];
        ok(
            svc,
            &[&[("Action", "CreateFlowAlias"), flow_name], &alias[..]].concat(),
        )
        .await;
        let run = [("ExecutionName", "run")];
        ok(
            svc,
            &[&[("Action", "StartExecution"), flow_name], &run[..]].concat(),
        )
        .await;
    }
}

/// An action, the flow parameter it reads, the other parameters it needs.
type Case = (
    &'static str,
    &'static str,
    &'static [(&'static str, &'static str)],
);

/// Every flow action, with the flow parameter it reads and the one it does not.
const FLOW_ACTIONS: [Case; 17] = [
    (
        "CreateFlow",
        "Name",
        &[("Definition", CLOUDFLOW_SEED), ("Type", "DEFAULT")],
    ),
    ("UpdateFlow", "Name", &[("Description", "changed")]),
    ("DescribeFlow", "Name", &[]),
    ("DeleteFlow", "Name", &[]),
    ("PublishFlowVersion", "FlowName", &[]),
    ("ListFlowVersions", "FlowName", &[]),
    ("DeleteFlowVersion", "FlowName", &[("FlowVersion", "1")]),
    ("ListFlowAliases", "FlowName", &[]),
    ("StartExecution", "FlowName", &[("ExecutionName", "other")]),
    ("DescribeExecution", "FlowName", &[("ExecutionName", "run")]),
    ("ListExecutions", "FlowName", &[]),
    (
        "GetExecutionHistory",
        "FlowName",
        &[("ExecutionName", "run")],
    ),
    ("StopExecution", "FlowName", &[("ExecutionName", "run")]),
    (
        "CreateFlowAlias",
        "FlowName",
        &[("RoutingConfigurations", r#"[{"Version":"1","Weight":100}]"#)],
    ),
    ("DescribeFlowAlias", "FlowName", &[]),
    ("UpdateFlowAlias", "FlowName", &[("Description", "changed")]),
    ("DeleteFlowAlias", "FlowName", &[]),
];

fn other(param: &str) -> &'static str {
    if param == "Name" { "FlowName" } else { "Name" }
}

fn is_alias_action(action: &str) -> bool {
    action.ends_with("FlowAlias")
}

/// What a key that may touch only `orders-*` gets, for each flow action, when the two
/// parameters name different flows: never the `secret` flow.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mismatched_name_and_flow_name_never_reach_a_flow_outside_the_policy() {
    let (root, _guard) = common::service(Backend::Embedded).await;
    let owner = root.for_account("acme");
    flows_and_versions(&owner).await;
    let key = root.for_caller(caller("acme", &allow_only("flow/orders-*")));

    for (action, flow_param, rest) in FLOW_ACTIONS {
        // The flow the action reads is outside the policy, the other parameter inside it.
        let (unread, outside) = (
            other(flow_param),
            [("Action", action), (flow_param, "secret")],
        );
        let inside = [(
            unread,
            if is_alias_action(action) {
                "live"
            } else {
                "orders-1"
            },
        )];
        let (status, body) = call(&key, &[&outside[..], &inside[..], rest].concat()).await;
        let expected = match is_alias_action(action) {
            // `Name` is the alias there: the flow is FlowName, denied.
            true => (403, "AccessDenied"),
            false => (400, "InvalidArgument"),
        };
        assert_eq!(
            (status, body["Code"].as_str().unwrap()),
            expected,
            "{action}: {body}"
        );

        // The flow the action reads is inside, the other names the secret flow.
        if !is_alias_action(action) {
            let params = [
                ("Action", action),
                (flow_param, "orders-1"),
                (unread, "secret"),
            ];
            let (status, body) = call(&key, &[&params[..], rest].concat()).await;
            assert_eq!(
                (status, body["Code"].as_str()),
                (400, Some("InvalidArgument")),
                "{body}"
            );
            let message = body["Message"].as_str().unwrap();
            assert!(
                message.contains(unread) && message.contains(action),
                "{message}"
            );
        }
    }
    // Nothing happened to the secret flow (and none was created next to it).
    assert_eq!(description(&owner, "secret").await.as_deref(), Some(""));
    let versions = ok(
        &owner,
        &[("Action", "ListFlowVersions"), ("FlowName", "secret")],
    )
    .await;
    assert_eq!(versions["FlowVersions"].as_array().unwrap().len(), 1);
    let run = [("FlowName", "secret"), ("ExecutionName", "other")];
    let (status, _) = call(
        &owner,
        &[&[("Action", "DescribeExecution")], &run[..]].concat(),
    )
    .await;
    assert_eq!(status, 404);
}

/// The creation that used to slip through: a new flow outside the policy, named by `Name`
/// while `FlowName` named one inside it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_update_describe_delete_authorize_the_flow_named_by_name() {
    let (root, _guard) = common::service(Backend::Embedded).await;
    let owner = root.for_account("acme");
    create_flow(&owner, "shared", CLOUDFLOW_SEED, "DEFAULT").await;
    create_flow(&owner, "orders-1", CLOUDFLOW_SEED, "DEFAULT").await;
    let orders = root.for_caller(caller("acme", &allow_only("flow/orders-*")));
    let deny_shared = r#"{"Version":"1","Statement":[
        {"Effect":"Allow","Action":"fnf:*","Resource":"*"},
        {"Effect":"Deny","Action":"fnf:*","Resource":"flow/shared"}]}"#;
    let not_shared = root.for_caller(caller("acme", deny_shared));

    let seed = [("Definition", CLOUDFLOW_SEED), ("Type", "DEFAULT")];
    let create = [&[("Action", "CreateFlow"), ("Name", "secret")], &seed[..]].concat();
    for key in [&orders, &not_shared] {
        for (action, flow) in [
            ("DescribeFlow", "shared"),
            ("UpdateFlow", "shared"),
            ("DeleteFlow", "shared"),
        ] {
            let params = [
                ("Action", action),
                ("Name", flow),
                ("FlowName", "orders-1"),
                ("Description", "x"),
            ];
            let (status, body) = call(key, &params).await;
            assert_ne!(status, 200, "{action}: {body}");
        }
    }
    let (status, body) = call(
        &orders,
        &[&create[..], &[("FlowName", "orders-1")]].concat(),
    )
    .await;
    assert_ne!(status, 200, "{body}");
    assert_eq!(description(&owner, "secret").await, None);
    assert_eq!(description(&owner, "shared").await.as_deref(), Some(""));
    // Named by the parameter the action reads, the policy decides.
    let (status, body) = call(&orders, &create).await;
    assert_eq!((status, body["Code"].as_str()), (403, Some("AccessDenied")));
    let describe = [("Action", "DescribeFlow"), ("Name", "shared")];
    assert_eq!(call(&not_shared, &describe).await.0, 403);
    assert_eq!(
        call(&orders, &[("Action", "DescribeFlow"), ("Name", "orders-1")])
            .await
            .0,
        200
    );
}

/// Account and key actions are authorized as the account they act on, not the caller's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn account_and_key_actions_are_authorized_as_the_account_they_touch() {
    let (root, _guard) = common::service(Backend::Embedded).await;
    ok(&root, &[("Action", "CreateAccount"), ("AccountId", "acme")]).await;
    let acme_key = ok(
        &root,
        &[("Action", "CreateAccessKey"), ("AccountId", "acme")],
    )
    .await;
    let own_key = ok(&root, &[("Action", "CreateAccessKey")]).await;
    let (acme_key, own_key) = (
        acme_key["AccessKeyId"].as_str().unwrap(),
        own_key["AccessKeyId"].as_str().unwrap(),
    );
    // Operator keys (the default account) limited to one account each.
    let only_default = root.for_caller(caller("default", &allow_only("acs:fnf:*:default:*")));
    let only_acme = root.for_caller(caller("default", &allow_only("acs:fnf:*:acme:*")));

    let on_acme: [&[(&str, &str)]; 6] = [
        &[("Action", "CreateAccessKey"), ("AccountId", "acme")],
        &[("Action", "ListAccessKeys"), ("AccountId", "acme")],
        &[("Action", "DescribeAccount"), ("AccountId", "acme")],
        &[
            ("Action", "UpdateAccount"),
            ("AccountId", "acme"),
            ("Description", "d"),
        ],
        &[
            ("Action", "UpdateAccessKey"),
            ("AccessKeyId", acme_key),
            ("Description", "d"),
        ],
        &[("Action", "DeleteAccessKey"), ("AccessKeyId", acme_key)],
    ];
    for params in on_acme {
        let (status, body) = call(&only_default, params).await;
        assert_eq!(
            (status, body["Code"].as_str()),
            (403, Some("AccessDenied")),
            "{params:?}: {body}"
        );
        assert!(
            body["Message"]
                .as_str()
                .unwrap()
                .contains("in account acme"),
            "{body}"
        );
    }
    for params in on_acme {
        let (status, body) = call(&only_acme, params).await;
        assert_eq!(status, 200, "{params:?}: {body}");
    }
    // The default account's own key is outside the acme-only policy, inside the other.
    let update_own = [
        ("Action", "UpdateAccessKey"),
        ("AccessKeyId", own_key),
        ("Description", "d"),
    ];
    assert_eq!(call(&only_acme, &update_own).await.0, 403);
    assert_eq!(call(&only_default, &update_own).await.0, 200);
    // A flow-naming parameter on an account action is refused.
    let with_flow = [("Action", "ListAccessKeys"), ("FlowName", "orders-1")];
    let (status, body) = call(&only_default, &with_flow).await;
    assert_eq!(
        (status, body["Code"].as_str()),
        (400, Some("InvalidArgument"))
    );
}

/// The table the gate authorizes by names the parameter each handler reads first: a bad name
/// in it is the handler's own complaint about that parameter.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_authorized_flow_parameter_is_the_one_each_handler_reads() {
    let (root, _guard) = common::service(Backend::Embedded).await;
    for (action, flow_param, _) in FLOW_ACTIONS {
        assert_eq!(resource::flow_param(action), Some(flow_param), "{action}");
        let (status, body) = call(&root, &[("Action", action), (flow_param, "1-not-a-name")]).await;
        let message = body["Message"].as_str().unwrap();
        assert_eq!(status, 400, "{action}: {body}");
        assert!(
            message.starts_with(&format!("Parameter error. {flow_param}: ")),
            "{action}: {message}"
        );
    }
    for action in [
        "ListFlows",
        "ReportTaskSucceeded",
        "ListAccounts",
        "UpdateAccessKey",
    ] {
        assert_eq!(resource::flow_param(action), None, "{action}");
    }
}

/// An unknown action is still `ActionNotSupported`, whatever the key's policy.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_action_is_not_supported() {
    let (root, _guard) = common::service(Backend::Embedded).await;
    let key = root.for_caller(caller("acme", &allow_only("flow/orders-*")));
    let (status, body) = call(&key, &[("Action", "DescribeFlows"), ("Name", "orders-1")]).await;
    assert_eq!(
        (status, body["Code"].as_str()),
        (400, Some("ActionNotSupported"))
    );
}
