//! The Lambda function: every event (API Gateway 1.0/2.0, function URL, direct invoke) goes
//! through the same handler; the answer is always a value, never a function error, so API
//! Gateway always gets a well-formed response.

use lambda_runtime::{LambdaEvent, service_fn};
use serde_json::Value;

use crate::api;
use crate::service::Service;

pub async fn run(service: Service) -> Result<(), lambda_runtime::Error> {
    let handler = service_fn(|event: LambdaEvent<Value>| {
        let service = service.clone();
        async move {
            let answer =
                api::handle_event(&service, event.payload, &event.context.request_id).await;
            Ok::<Value, lambda_runtime::Error>(answer)
        }
    });
    lambda_runtime::run(handler).await
}
