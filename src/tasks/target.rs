//! Which integration runs a task, by its resource (CloudFlow `Action`, FDL `resourceArn`).

use async_trait::async_trait;

use super::test_tasks;
use crate::engine::{TaskRequest, TaskResult};

/// CloudFlow actions and FDL resources this version runs, by integration.
pub const HTTP_ACTIONS: &[&str] = &["HTTP:Request", "HTTP:Invoke"];
/// FDL resource of the HTTP task (our choice: Alibaba's FDL has no HTTP integration).
pub const FDL_HTTP_RESOURCE: &str = "acs:fnf:::http";
pub const FUNCTION_ACTION: &str = "FC:InvokeFunction";
pub const FLOW_ACTION: &str = "FNF:StartExecution";
/// FDL: `acs:fnf:::flow/<name>` starts a child execution of flow `<name>`.
pub const FDL_FLOW_PREFIX: &str = "acs:fnf:::flow/";

/// Which integration runs a task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// The built-in test tasks (`Test:*`, `acs:fnf:::test/*`).
    Test,
    Http,
    /// An AWS Lambda function (CloudFlow `FC:InvokeFunction`, FDL `acs:fc:...` or a Lambda ARN).
    Function,
    /// A child execution (CloudFlow `FNF:StartExecution`, FDL `acs:fnf:::flow/<name>`).
    Flow,
}

/// The integration a resource names, if this version runs it.
pub fn target(resource: &str) -> Option<Target> {
    if test_tasks::kind(resource).is_some() {
        Some(Target::Test)
    } else if HTTP_ACTIONS.contains(&resource) || resource == FDL_HTTP_RESOURCE {
        Some(Target::Http)
    } else if resource == FUNCTION_ACTION
        || resource.starts_with("acs:fc:")
        || resource.starts_with("arn:aws:lambda:")
    {
        Some(Target::Function)
    } else if resource == FLOW_ACTION
        || resource
            .strip_prefix(FDL_FLOW_PREFIX)
            .is_some_and(|name| !name.is_empty())
    {
        Some(Target::Flow)
    } else {
        None
    }
}

/// An outside service a task calls. Every failure is a named task error, never a panic.
#[async_trait]
pub trait Integration: Send + Sync {
    async fn call(&self, req: &TaskRequest) -> TaskResult;
}
