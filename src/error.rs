//! The fnf error model: every failure a caller can see is one of these, with its fnf code and
//! HTTP status. This is the one place where internal errors become fnf codes.

use crate::store::StoreError;

/// An error answered to an fnf caller as `{"RequestId", "Code", "Message"}` with an HTTP status.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FnfError {
    #[error("The requested API operation '{0}' is incorrect. Please check.")]
    ActionNotSupported(String),
    #[error("The requested API version '{0}' is not supported yet. Please check.")]
    ApiVersionNotSupported(String),
    #[error("The payload size exceeds maximum allowed size ({0} bytes).")]
    EntityTooLarge(usize),
    #[error("Execution {execution} for flow {flow} already exists.")]
    ExecutionAlreadyExists { flow: String, execution: String },
    #[error("Execution {execution} for flow {flow} does not exist.")]
    ExecutionNotExists { flow: String, execution: String },
    #[error("Execution {execution} for flow {flow} has already ended.")]
    ExecutionAlreadyStopped { flow: String, execution: String },
    #[error("Flow {0} already exists.")]
    FlowAlreadyExists(String),
    #[error("Flow {0} does not exist.")]
    FlowNotExists(String),
    #[error("Version {version} of flow {flow} does not exist.")]
    FlowVersionNotExists { flow: String, version: String },
    /// A version an alias routes to cannot be deleted; the detail names the alias.
    #[error("Version {version} of flow {flow} is in use: alias {alias} routes to it.")]
    FlowVersionInUse {
        flow: String,
        version: String,
        alias: String,
    },
    #[error("Alias {alias} of flow {flow} does not exist.")]
    FlowAliasNotExists { flow: String, alias: String },
    #[error("Alias {alias} of flow {flow} already exists.")]
    FlowAliasAlreadyExists { flow: String, alias: String },
    /// The detail says whether the token is malformed or unknown.
    #[error("The task token is invalid: {0}.")]
    InvalidTaskToken(String),
    /// The detail says why the task takes no more results.
    #[error("The task has already completed: {0}.")]
    TaskAlreadyCompleted(String),
    /// The detail says which parameter is wrong and why.
    #[error("Parameter error. {0}")]
    InvalidArgument(String),
    #[error("The HTTP header '{0}' must be specified.")]
    MissingRequiredHeader(String),
    #[error("The HTTP query '{0}' must be specified.")]
    MissingRequiredParams(String),
    #[error("The content type must be \"application/json\".")]
    UnsupportedMediaType,
    #[error("The request is throttled. Please try again later.")]
    ResourceThrottled,
    /// The account runs as many executions as its limit allows; answered as throttling.
    #[error(
        "The request is throttled: the account already runs its limit of {0} executions. Please try again later."
    )]
    RunningExecutionsLimit(u32),
    /// The caller's key may not do this, or the resource is another account's.
    #[error("The resources doesn't belong to you. {0}")]
    AccessDenied(String),
    #[error("The AccessKey ID {0} is invalid.")]
    InvalidAccessKeyId(String),
    #[error(
        "The difference between the request time {request} and the current time {now} is too large."
    )]
    RequestTimeTooSkewed { request: String, now: String },
    #[error(
        "The request signature we calculated does not match the signature you provided. Check your access key and signing method."
    )]
    SignatureNotMatch,
    #[error("Account {0} does not exist.")]
    AccountNotExists(String),
    #[error("Account {0} already exists.")]
    AccountAlreadyExists(String),
    /// The signature nonce was seen before within the time window: a replayed request.
    #[error("The request signature nonce has been used before: {0}.")]
    SignatureNonceUsed(String),
    /// The cause is logged where it happens, never shown to the caller.
    #[error("An internal error has occurred. Please retry.")]
    Internal,
    /// The request body did not arrive in time (slow, never-ending, or promised by
    /// `Expect: 100-continue` and never sent).
    #[error("The request body did not arrive within {0} ms.")]
    RequestTimeout(u64),
    /// `serve` already holds its maximum of connections.
    #[error("The server is serving its maximum of {0} connections. Please retry later.")]
    ServiceUnavailable(usize),
}

impl FnfError {
    /// The fnf error code, as the official SDKs raise it.
    pub fn code(&self) -> &'static str {
        match self {
            FnfError::ActionNotSupported(_) => "ActionNotSupported",
            FnfError::ApiVersionNotSupported(_) => "APIVersionNotSupported",
            FnfError::EntityTooLarge(_) => "EntityTooLarge",
            FnfError::ExecutionAlreadyExists { .. } => "ExecutionAlreadyExists",
            FnfError::ExecutionNotExists { .. } => "ExecutionNotExists",
            FnfError::ExecutionAlreadyStopped { .. } => "ExecutionAlreadyStopped",
            FnfError::FlowAlreadyExists(_) => "FlowAlreadyExists",
            FnfError::FlowNotExists(_) => "FlowNotExists",
            FnfError::FlowVersionNotExists { .. } => "FlowVersionNotExists",
            FnfError::FlowVersionInUse { .. } => "FlowVersionInUse",
            FnfError::FlowAliasNotExists { .. } => "FlowAliasNotExists",
            FnfError::FlowAliasAlreadyExists { .. } => "FlowAliasAlreadyExists",
            FnfError::InvalidTaskToken(_) => "InvalidTaskToken",
            FnfError::TaskAlreadyCompleted(_) => "TaskAlreadyCompleted",
            FnfError::InvalidArgument(_) => "InvalidArgument",
            FnfError::MissingRequiredHeader(_) => "MissingRequiredHeader",
            FnfError::MissingRequiredParams(_) => "MissingRequiredParams",
            FnfError::UnsupportedMediaType => "UnsupportedMediaType",
            FnfError::ResourceThrottled | FnfError::RunningExecutionsLimit(_) => {
                "ResourceThrottled"
            }
            FnfError::AccessDenied(_) => "AccessDenied",
            FnfError::InvalidAccessKeyId(_) => "InvalidAccessKeyID",
            FnfError::RequestTimeTooSkewed { .. } => "RequestTimeTooSkewed",
            FnfError::SignatureNotMatch => "SignatureNotMatch",
            FnfError::SignatureNonceUsed(_) => "SignatureNonceUsed",
            FnfError::AccountNotExists(_) => "AccountNotExists",
            FnfError::AccountAlreadyExists(_) => "AccountAlreadyExists",
            FnfError::Internal => "InternalServerError",
            FnfError::RequestTimeout(_) => "RequestTimeout",
            FnfError::ServiceUnavailable(_) => "ServiceUnavailable",
        }
    }

    /// The HTTP status that goes with the code.
    pub fn status(&self) -> u16 {
        match self {
            FnfError::ExecutionNotExists { .. }
            | FnfError::FlowNotExists(_)
            | FnfError::FlowVersionNotExists { .. }
            | FnfError::FlowAliasNotExists { .. }
            | FnfError::AccountNotExists(_) => 404,
            FnfError::AccessDenied(_)
            | FnfError::InvalidAccessKeyId(_)
            | FnfError::RequestTimeTooSkewed { .. }
            | FnfError::SignatureNotMatch
            | FnfError::SignatureNonceUsed(_) => 403,
            FnfError::UnsupportedMediaType => 415,
            FnfError::ResourceThrottled | FnfError::RunningExecutionsLimit(_) => 429,
            FnfError::Internal => 500,
            FnfError::RequestTimeout(_) => 408,
            FnfError::ServiceUnavailable(_) => 503,
            _ => 400,
        }
    }

    /// Shorthand for an `InvalidArgument` about one parameter.
    pub fn invalid(param: &str, why: impl std::fmt::Display) -> FnfError {
        FnfError::InvalidArgument(format!("{param}: {why}"))
    }
}

impl From<StoreError> for FnfError {
    fn from(err: StoreError) -> FnfError {
        match err {
            // Throttling is the caller's signal to back off, not an outage.
            StoreError::Throttled => FnfError::ResourceThrottled,
            other => {
                tracing::error!(error = %other, "store failure");
                FnfError::Internal
            }
        }
    }
}
