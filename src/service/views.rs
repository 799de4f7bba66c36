//! Records as the API shows them: PascalCase fields, ISO-8601 times.

use serde_json::{Map, Value};

use super::params::encode_token;
use crate::store::{
    AccessKeyRecord, AccountRecord, AliasRecord, ExecutionRecord, FlowRecord, Page, VersionRecord,
};
use crate::time::format_rfc3339;

pub type Fields = Map<String, Value>;

fn put(fields: &mut Fields, key: &str, value: impl Into<String>) {
    fields.insert(key.to_owned(), Value::String(value.into()));
}

pub fn flow(f: &FlowRecord) -> Fields {
    let mut out = Fields::new();
    put(&mut out, "Name", &f.name);
    put(&mut out, "Id", &f.id);
    put(&mut out, "Definition", &f.definition);
    put(&mut out, "Description", &f.description);
    put(&mut out, "Type", &f.flow_type);
    put(&mut out, "RoleArn", &f.role_arn);
    put(&mut out, "ExecutionMode", &f.execution_mode);
    put(&mut out, "CreatedTime", format_rfc3339(f.created_ms));
    put(&mut out, "LastModifiedTime", format_rfc3339(f.modified_ms));
    out
}

/// The StartExecution / DescribeExecution fields. A listing summary has no input, output or
/// definition, so those are left out rather than shown empty.
pub fn execution(e: &ExecutionRecord) -> Fields {
    let mut out = Fields::new();
    put(&mut out, "Name", &e.name);
    put(&mut out, "FlowName", &e.flow);
    put(&mut out, "Status", e.status.as_str());
    put(&mut out, "StartedTime", format_rfc3339(e.started_ms));
    if let Some(stopped) = e.stopped_ms {
        put(&mut out, "StoppedTime", format_rfc3339(stopped));
    }
    if !e.definition.is_empty() {
        put(&mut out, "FlowDefinition", &e.definition);
        put(&mut out, "Input", &e.input);
    }
    if let Some(output) = &e.output {
        put(&mut out, "Output", output);
    }
    // Not in the SDK's DescribeExecution model (it ignores them); the names follow
    // StartSyncExecution's, so a failed execution says why.
    if let Some(error) = &e.error {
        put(&mut out, "ErrorCode", error);
    }
    if let Some(cause) = &e.cause {
        put(&mut out, "ErrorMessage", cause);
    }
    out
}

/// A listing: the items under `key`, and a `NextToken` when more follow.
pub fn page<T>(key: &str, page: &Page<T>, view: impl Fn(&T) -> Fields) -> Fields {
    let mut out = Fields::new();
    let items = page.items.iter().map(|i| Value::Object(view(i))).collect();
    out.insert(key.to_owned(), Value::Array(items));
    if let Some(after) = &page.next_after {
        put(&mut out, "NextToken", encode_token(after));
    }
    out
}

/// A version, as ListFlowVersions shows it (PublishFlowVersion adds `FlowName`).
pub fn version(v: &VersionRecord) -> Fields {
    let mut out = Fields::new();
    put(&mut out, "Version", v.version.to_string());
    put(&mut out, "Description", &v.description);
    put(&mut out, "CreatedTime", format_rfc3339(v.created_ms));
    out
}

/// An alias: `RoutingConfigurations` as `[{"Version": "1", "Weight": 100}]`.
pub fn alias(a: &AliasRecord) -> Fields {
    let mut out = Fields::new();
    put(&mut out, "Name", &a.name);
    put(&mut out, "Description", &a.description);
    let routes = a
        .routes
        .iter()
        .map(|r| {
            let mut route = Fields::new();
            put(&mut route, "Version", r.version.to_string());
            route.insert("Weight".into(), Value::from(r.weight));
            Value::Object(route)
        })
        .collect();
    out.insert("RoutingConfigurations".into(), Value::Array(routes));
    put(&mut out, "CreatedTime", format_rfc3339(a.created_ms));
    put(&mut out, "LastModifiedTime", format_rfc3339(a.modified_ms));
    out
}

/// An account, as the account actions show it.
pub fn account(a: &AccountRecord) -> Fields {
    let mut out = Fields::new();
    put(&mut out, "AccountId", &a.id);
    put(&mut out, "Description", &a.description);
    put(&mut out, "CreatedTime", format_rfc3339(a.created_ms));
    if let Some(n) = a.requests_per_second {
        out.insert("RequestsPerSecond".into(), Value::from(n));
    }
    if let Some(n) = a.max_running_executions {
        out.insert("MaxRunningExecutions".into(), Value::from(n));
    }
    if let Some(n) = a.max_execution_transitions {
        out.insert("MaxExecutionTransitions".into(), Value::from(n));
    }
    if let Some(n) = a.max_history_bytes {
        out.insert("MaxHistoryBytes".into(), Value::from(n));
    }
    out
}

/// An access key, as the API shows it: never its secret.
pub fn access_key(k: &AccessKeyRecord) -> Fields {
    let mut out = Fields::new();
    put(&mut out, "AccessKeyId", &k.id);
    put(&mut out, "AccountId", &k.account);
    put(&mut out, "Description", &k.description);
    put(&mut out, "CreatedTime", format_rfc3339(k.created_ms));
    put(
        &mut out,
        "Status",
        if k.disabled { "Inactive" } else { "Active" },
    );
    if !k.policy.is_empty() {
        put(&mut out, "Policy", &k.policy);
    }
    out
}
