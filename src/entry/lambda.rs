//! The Lambda function: every event (API Gateway 1.0/2.0, function URL, direct invoke) goes
//! through the same handler; the answer is always a value, never a function error, so API
//! Gateway always gets a well-formed response.

use lambda_runtime::{LambdaEvent, service_fn};
use serde_json::Value;

use crate::api;
use crate::service::Service;

pub async fn run(service: Service) -> Result<(), lambda_runtime::Error> {
    let handler = service_fn(|event: LambdaEvent<Value>| {
        // This invocation's deadline narrows the budgets (a deadline in the past or beyond
        // Lambda's 15 minutes, as `cargo lambda watch` sends, means unknown).
        let service = service.within_deadline(event.context.deadline as i64);
        async move {
            let answer =
                api::handle_event(&service, event.payload, &event.context.request_id).await;
            Ok::<Value, lambda_runtime::Error>(answer)
        }
    });
    lambda_runtime::run(handler).await
}
