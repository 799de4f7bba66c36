//! The function task, run on AWS Lambda: CloudFlow `Action: FC:InvokeFunction` (parameters
//! `resourceArn`, `invocationType` `Sync`|`Async`, `body`), FDL `resourceArn:
//! acs:fc:<region>:<account>:services/<S>/functions/<F>` (or a Lambda ARN) with the task's
//! whole parameters as the event.
//!
//! Function Compute ARNs name Lambda functions by a configurable rule (`lambda_target`); a
//! Lambda ARN or function name is used as is. The idempotency key (and a callback task's token)
//! travel in the Invoke's ClientContext, as `custom` fields; Lambda hands the ClientContext to
//! synchronous invocations only.

use std::time::Duration;

use aws_sdk_lambda::Client;
use aws_sdk_lambda::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_lambda::operation::invoke::InvokeError;
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::InvocationType;
use base64::Engine as _;
use serde_json::{Map, Value, json};

use super::Integration;
use crate::engine::{TaskRequest, TaskResult};

/// The CloudFlow action of the function task.
pub const CLOUDFLOW_ACTION: &str = super::FUNCTION_ACTION;
/// Prefix of every error name of a function task. A function's own error is `FC.<errorType>`.
pub const ERROR_PREFIX: &str = "FC.";
/// The function failed without naming its error type (Lambda's `X-Amz-Function-Error:
/// Unhandled`).
pub const UNHANDLED: &str = "FC.Unhandled";
/// The function failed without naming its error type (`X-Amz-Function-Error: Handled`).
pub const HANDLED: &str = "FC.Handled";
/// Lambda has no such function (or version, or alias).
pub const FUNCTION_NOT_FOUND: &str = "FC.FunctionNotFound";
/// Lambda throttled the invocation.
pub const RESOURCE_THROTTLED: &str = "FC.ResourceThrottled";
/// No answer within the task's timeout (plus a margin), or the SDK timed out.
pub const TIMEOUT: &str = "FC.Timeout";
/// Lambda refused or failed the invocation otherwise; the cause is the error code.
pub const INVOCATION_FAILED: &str = "FC.InvocationFailed";
/// The parameters or the resourceArn do not name a function or an invocation.
pub const INVALID_ARGUMENT: &str = "FC.InvalidArgument";

/// The ClientContext `custom` field carrying the idempotency key.
pub const IDEMPOTENCY_FIELD: &str = "fnf-idempotency-key";
/// The ClientContext `custom` field carrying a callback task's token.
pub const TASK_TOKEN_FIELD: &str = "fnf-task-token";
/// The Lambda function an FC 2.0 function maps to, by default.
pub const DEFAULT_NAME_TEMPLATE: &str = "{service}-{function}";
/// The environment variable that sets `FunctionConfig::name_template`.
pub const NAME_TEMPLATE_ENV: &str = "FNF_FC_FUNCTION_NAME_TEMPLATE";
/// Extra time on top of the task's own timeout, so that the engine's task timeout fires first.
pub const TIMEOUT_MARGIN_MS: u64 = 1_000;
/// How much of a function's error message its cause keeps, in characters.
const CAUSE_CHARS: usize = 256;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionConfig {
    /// The Lambda function name of an FC 2.0 function (`services/<S>/functions/<F>`), with the
    /// placeholders `{service}` and `{function}`. FC 3.0 functions keep their own name.
    pub name_template: String,
}

impl Default for FunctionConfig {
    fn default() -> FunctionConfig {
        FunctionConfig {
            name_template: DEFAULT_NAME_TEMPLATE.into(),
        }
    }
}

impl FunctionConfig {
    /// The template from `FNF_FC_FUNCTION_NAME_TEMPLATE`, else the default.
    pub fn from_env() -> FunctionConfig {
        match std::env::var(NAME_TEMPLATE_ENV) {
            Ok(t) if !t.trim().is_empty() => FunctionConfig {
                name_template: t.trim().to_owned(),
            },
            _ => FunctionConfig::default(),
        }
    }
}

/// The Lambda function (name or ARN, as Invoke's FunctionName) and qualifier `resource_arn`
/// names; `LATEST` (or `$LATEST`) is no qualifier.
///
/// - `arn:<partition>:lambda:...` or a plain Lambda function name: as is (a qualifier in it
///   stays in it);
/// - `acs:fc:<region>:<account>:services/<S>[.<qualifier>]/functions/<F>` (FC 2.0): the name
///   is `template` with `{service}` = S and `{function}` = F;
/// - `acs:fc:<region>:<account>:functions/<F>[/<qualifier>]` (FC 3.0): the name is F.
///
/// Region and account are not used: the Lambda client's own region and account apply.
pub fn lambda_target(
    resource_arn: &str,
    template: &str,
) -> Result<(String, Option<String>), String> {
    let shown: String = resource_arn.chars().take(256).collect();
    let Some(rest) = resource_arn.strip_prefix("acs:fc:") else {
        // `acs:...` is never a Lambda name (its `:` would read as a qualifier).
        return if !resource_arn.starts_with("acs:") && is_lambda_function(resource_arn) {
            Ok((resource_arn.to_owned(), None))
        } else {
            Err(format!(
                "{shown:?} is not a Function Compute ARN, a Lambda function ARN or a Lambda \
                 function name"
            ))
        };
    };
    let bad = || {
        format!(
            "{shown:?} is not acs:fc:<region>:<account>:services/<service>/functions/<function> \
             nor acs:fc:<region>:<account>:functions/<function>"
        )
    };
    // <region>:<account>:<path>
    let mut parts = rest.splitn(3, ':');
    let (Some(_region), Some(_account), Some(path)) = (parts.next(), parts.next(), parts.next())
    else {
        return Err(bad());
    };
    let segments: Vec<&str> = path.split('/').collect();
    let (name, qualifier) = match segments.as_slice() {
        ["services", service, "functions", function] => {
            let (service, qualifier) = match service.split_once('.') {
                Some((s, q)) => (s, Some(q)),
                None => (*service, None),
            };
            if !is_fc_name(service) || !is_fc_name(function) {
                return Err(bad());
            }
            (apply_template(template, service, function)?, qualifier)
        }
        ["functions", function] => (function.to_string(), None),
        ["functions", function, qualifier] => (function.to_string(), Some(*qualifier)),
        _ => return Err(bad()),
    };
    if !is_function_name(&name) {
        let name: String = name.chars().take(128).collect();
        return Err(format!(
            "{name:?} (from {shown:?}) is not a Lambda function name: 1-64 letters, digits, - or _"
        ));
    }
    let qualifier = match qualifier {
        None | Some("LATEST" | "$LATEST") => None,
        Some(q) if is_qualifier(q) => Some(q.to_owned()),
        Some(_) => return Err(format!("{shown:?} has a bad version or alias")),
    };
    Ok((name, qualifier))
}

fn apply_template(template: &str, service: &str, function: &str) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open..];
        if let Some(r) = after.strip_prefix("{service}") {
            out.push_str(service);
            rest = r;
        } else if let Some(r) = after.strip_prefix("{function}") {
            out.push_str(function);
            rest = r;
        } else {
            let shown: String = template.chars().take(128).collect();
            return Err(format!(
                "the function name template {shown:?} has a placeholder other than {{service}} \
                 and {{function}}"
            ));
        }
    }
    out.push_str(rest);
    Ok(out)
}

/// Function Compute service and function names: letters, digits, `_` and `-`.
fn is_fc_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 128
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

fn is_function_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

fn is_qualifier(s: &str) -> bool {
    s == "$LATEST"
        || (!s.is_empty()
            && s.len() <= 128
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-'))
}

/// What Invoke's FunctionName accepts: `arn:<partition>:lambda:<region>:<account>:function:
/// <name>[:<qualifier>]`, `<account>:function:<name>[:<qualifier>]`, `<name>[:<qualifier>]`.
fn is_lambda_function(s: &str) -> bool {
    let parts: Vec<&str> = s.split(':').collect();
    let rest = match parts.as_slice() {
        [
            "arn",
            partition,
            "lambda",
            region,
            account,
            "function",
            rest @ ..,
        ] => {
            let region_ok = region
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
            if !partition.starts_with("aws") || !region_ok || !is_account(account) {
                return false;
            }
            rest
        }
        [account, "function", rest @ ..] if is_account(account) => rest,
        rest => rest,
    };
    match rest {
        [name] => is_function_name(name),
        [name, qualifier] => is_function_name(name) && is_qualifier(qualifier),
        _ => false,
    }
}

fn is_account(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

/// Why a function task failed; `name()` is the error name the flow sees, `cause()` its cause.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FunctionTaskError {
    #[error("{0}")]
    InvalidArgument(String),
    /// The function ran and failed: `FC.<errorType>`.
    #[error("{message}")]
    Function { name: String, message: String },
    #[error("Lambda function {function}: {code}")]
    NotFound { function: String, code: String },
    #[error("Lambda function {function}: {code}")]
    Throttled { function: String, code: String },
    /// `after`: "within <n> ms", or how the SDK timed out.
    #[error("Lambda function {function} gave no answer {after}")]
    Timeout { function: String, after: String },
    #[error("{code}")]
    InvocationFailed { code: String },
}

impl FunctionTaskError {
    /// The error name a flow's Retry and Catch match.
    pub fn name(&self) -> &str {
        match self {
            FunctionTaskError::InvalidArgument(_) => INVALID_ARGUMENT,
            FunctionTaskError::Function { name, .. } => name,
            FunctionTaskError::NotFound { .. } => FUNCTION_NOT_FOUND,
            FunctionTaskError::Throttled { .. } => RESOURCE_THROTTLED,
            FunctionTaskError::Timeout { .. } => TIMEOUT,
            FunctionTaskError::InvocationFailed { .. } => INVOCATION_FAILED,
        }
    }
}

impl From<FunctionTaskError> for TaskResult {
    fn from(e: FunctionTaskError) -> TaskResult {
        TaskResult::Failed {
            error: e.name().to_owned(),
            cause: e.to_string(),
        }
    }
}

/// Runs function tasks on Lambda.
#[derive(Clone)]
pub struct FunctionTasks {
    /// Set at once, or (`from_env`) on the first call: a cold start that runs no function task
    /// does not load the AWS configuration for it.
    client: std::sync::Arc<tokio::sync::OnceCell<Client>>,
    config: FunctionConfig,
}

/// One invocation, as the task describes it.
struct Call {
    resource_arn: String,
    asynchronous: bool,
    payload: Vec<u8>,
}

impl FunctionTasks {
    pub fn new(client: Client, config: FunctionConfig) -> FunctionTasks {
        FunctionTasks {
            client: std::sync::Arc::new(tokio::sync::OnceCell::new_with(Some(client))),
            config,
        }
    }

    /// A client from the standard AWS configuration chain, made on the first call.
    pub fn from_env(config: FunctionConfig) -> FunctionTasks {
        FunctionTasks {
            client: std::sync::Arc::default(),
            config,
        }
    }

    async fn client(&self) -> &Client {
        self.client
            .get_or_init(|| async {
                let aws = crate::aws::sdk_config().await;
                Client::new(&aws)
            })
            .await
    }

    pub fn config(&self) -> &FunctionConfig {
        &self.config
    }

    async fn run(&self, req: &TaskRequest) -> Result<Value, FunctionTaskError> {
        let call = describe_call(req)?;
        let (function, qualifier) = lambda_target(&call.resource_arn, &self.config.name_template)
            .map_err(FunctionTaskError::InvalidArgument)?;
        let mut custom = Map::new();
        custom.insert(IDEMPOTENCY_FIELD.into(), req.idempotency_key.clone().into());
        if let Some(token) = &req.task_token {
            custom.insert(TASK_TOKEN_FIELD.into(), token.clone().into());
        }
        let context = json!({ "custom": custom }).to_string();
        let invocation_type = if call.asynchronous {
            InvocationType::Event
        } else {
            InvocationType::RequestResponse
        };
        let send = self
            .client()
            .await
            .invoke()
            .function_name(&function)
            .set_qualifier(qualifier)
            .invocation_type(invocation_type)
            .client_context(base64::engine::general_purpose::STANDARD.encode(context))
            .payload(Blob::new(call.payload))
            .send();
        let sent = match req.timeout_ms {
            None => send.await,
            Some(t) => {
                let ms = t.saturating_add(TIMEOUT_MARGIN_MS);
                tokio::time::timeout(Duration::from_millis(ms), send)
                    .await
                    .map_err(|_| FunctionTaskError::Timeout {
                        function: function.clone(),
                        after: format!("within {ms} ms"),
                    })?
            }
        };
        let out = sent.map_err(|e| classify(&function, &e))?;
        if call.asynchronous {
            return Ok(json!({}));
        }
        let payload = out.payload().map(Blob::as_ref).unwrap_or_default();
        if let Some(kind) = out.function_error() {
            return Err(function_error(kind, payload));
        }
        Ok(output(payload))
    }
}

/// What to invoke: CloudFlow names it in the parameters, FDL in the resource.
fn describe_call(req: &TaskRequest) -> Result<Call, FunctionTaskError> {
    let invalid = |m: String| FunctionTaskError::InvalidArgument(m);
    if req.resource != CLOUDFLOW_ACTION {
        return Ok(Call {
            resource_arn: req.resource.clone(),
            asynchronous: false,
            payload: req.parameters.to_string().into_bytes(),
        });
    }
    let Value::Object(params) = &req.parameters else {
        return Err(invalid(format!(
            "the parameters are {}, not an object with a resourceArn",
            crate::engine::kind_of(&req.parameters)
        )));
    };
    let resource_arn = match params.get("resourceArn") {
        Some(Value::String(arn)) => arn.clone(),
        Some(_) => return Err(invalid("resourceArn is not a string".into())),
        None => return Err(invalid("resourceArn is required".into())),
    };
    let asynchronous = match params.get("invocationType") {
        None | Some(Value::Null) => false,
        Some(Value::String(t)) if t.eq_ignore_ascii_case("Sync") => false,
        Some(Value::String(t)) if t.eq_ignore_ascii_case("Async") => true,
        Some(other) => {
            let shown: String = other.to_string().chars().take(32).collect();
            return Err(invalid(format!(
                "invocationType {shown} is not Sync or Async"
            )));
        }
    };
    let payload = match params.get("body") {
        None => b"{}".to_vec(),
        Some(Value::String(text)) => text.clone().into_bytes(),
        Some(event) => event.to_string().into_bytes(),
    };
    Ok(Call {
        resource_arn,
        asynchronous,
        payload,
    })
}

/// The output of a synchronous invocation: the payload if it is a JSON object, else
/// `{"Body": <the payload as JSON, or as text>}`.
fn output(payload: &[u8]) -> Value {
    match serde_json::from_slice(payload) {
        Ok(Value::Object(o)) => Value::Object(o),
        Ok(other) => json!({ "Body": other }),
        Err(_) => json!({ "Body": String::from_utf8_lossy(payload) }),
    }
}

/// The error of a function that failed: `FC.<errorType>` of the payload, else by the header.
fn function_error(kind: &str, payload: &[u8]) -> FunctionTaskError {
    let parsed: Value = serde_json::from_slice(payload).unwrap_or(Value::Null);
    let clean = |s: &str| -> String {
        s.chars()
            .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.'))
            .take(64)
            .collect()
    };
    let error_type = parsed
        .get("errorType")
        .and_then(Value::as_str)
        .map(clean)
        .filter(|t| !t.is_empty());
    let name = match error_type {
        Some(t) => format!("{ERROR_PREFIX}{t}"),
        None if kind == "Handled" => HANDLED.to_owned(),
        None => UNHANDLED.to_owned(),
    };
    let message = match parsed.get("errorMessage").and_then(Value::as_str) {
        Some(m) => m.chars().take(CAUSE_CHARS).collect(),
        None => String::from_utf8_lossy(payload)
            .chars()
            .take(CAUSE_CHARS)
            .collect(),
    };
    FunctionTaskError::Function { name, message }
}

/// An SDK failure as a task error: its code only, never the SDK's full text.
fn classify<R>(function: &str, e: &SdkError<InvokeError, R>) -> FunctionTaskError {
    let function = function.to_owned();
    match e {
        SdkError::TimeoutError(_) => FunctionTaskError::Timeout {
            function,
            after: "within the client's operation timeout".into(),
        },
        SdkError::DispatchFailure(d) if d.is_timeout() => FunctionTaskError::Timeout {
            function,
            after: "before the client's connect or read timeout".into(),
        },
        SdkError::ServiceError(s) => {
            let code = s.err().code().unwrap_or("Unknown").to_owned();
            match s.err() {
                InvokeError::ResourceNotFoundException(_) => {
                    FunctionTaskError::NotFound { function, code }
                }
                InvokeError::TooManyRequestsException(_) => {
                    FunctionTaskError::Throttled { function, code }
                }
                _ if code.contains("Throttl") => FunctionTaskError::Throttled { function, code },
                _ => FunctionTaskError::InvocationFailed { code },
            }
        }
        SdkError::DispatchFailure(_) => FunctionTaskError::InvocationFailed {
            code: "DispatchFailure".into(),
        },
        SdkError::ResponseError(_) => FunctionTaskError::InvocationFailed {
            code: "ResponseError".into(),
        },
        SdkError::ConstructionFailure(_) => FunctionTaskError::InvocationFailed {
            code: "ConstructionFailure".into(),
        },
        _ => FunctionTaskError::InvocationFailed {
            code: "Unknown".into(),
        },
    }
}

/// Runs one attempt of a task.
#[async_trait::async_trait]
impl Integration for FunctionTasks {
    async fn call(&self, req: &TaskRequest) -> TaskResult {
        match self.run(req).await {
            Ok(output) => TaskResult::Succeeded(output),
            Err(e) => e.into(),
        }
    }
}

#[cfg(test)]
mod tests;
