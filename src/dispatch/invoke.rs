//! Continuations in AWS: an asynchronous Invoke (`InvocationType=Event`) of this same function
//! with a continuation event. Lambda retries async invokes and may deliver twice; receivers are
//! fenced. A continuation due later than now is not sent: the parked execution's due time puts
//! it in the sweep's hands (the periodic schedule in template.yaml), which costs no compute
//! while it waits.

use async_trait::async_trait;
use aws_sdk_lambda::Client;
use aws_sdk_lambda::error::DisplayErrorContext;
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::InvocationType;

use super::{Continuation, DispatchError, Dispatcher, SHORT_WAIT_MS};
use crate::clock::Clock;

/// The key of a continuation event: `{"fnfContinuation": {"flow", "name", "version"}}`.
pub const CONTINUATION_KEY: &str = "fnfContinuation";

pub struct InvokeDispatcher<C> {
    client: Client,
    function: String,
    clock: C,
}

impl<C: Clock> InvokeDispatcher<C> {
    pub fn new(client: Client, function: String, clock: C) -> InvokeDispatcher<C> {
        InvokeDispatcher {
            client,
            function,
            clock,
        }
    }

    /// A client from the standard AWS configuration chain (`AWS_ENDPOINT_URL_LAMBDA`
    /// redirects it).
    pub async fn from_env(function: String, clock: C) -> InvokeDispatcher<C> {
        let config = crate::aws::sdk_config().await;
        InvokeDispatcher::new(Client::new(&config), function, clock)
    }
}

#[async_trait]
impl<C: Clock + 'static> Dispatcher for InvokeDispatcher<C> {
    async fn dispatch(
        &self,
        c: Continuation,
        not_before_ms: Option<i64>,
    ) -> Result<(), DispatchError> {
        let wait = not_before_ms.map_or(0, |t| t - self.clock.now_ms());
        if wait > SHORT_WAIT_MS {
            tracing::debug!(flow = %c.flow, execution = %c.name, wait_ms = wait, "parked for the sweep");
            return Ok(());
        }
        let payload = serde_json::json!({ CONTINUATION_KEY: c });
        self.client
            .invoke()
            .function_name(&self.function)
            .invocation_type(InvocationType::Event)
            .payload(Blob::new(payload.to_string()))
            .send()
            .await
            .map_err(|e| DispatchError(DisplayErrorContext(e).to_string()))?;
        Ok(())
    }
}
