//! Running the tasks the engine asks for. The engine never runs a task itself (it stays pure);
//! the service hands each request to the integration its resource names.

pub mod function;
pub mod http;
mod target;
pub mod test_tasks;

pub use target::{
    FDL_FLOW_PREFIX, FDL_HTTP_RESOURCE, FLOW_ACTION, FUNCTION_ACTION, HTTP_ACTIONS, Integration,
    Target, target,
};
