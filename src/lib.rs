//! fnf-lambda: the Serverless Workflow (fnf, API 2019-03-15) service as one AWS Lambda function.
//!
//! Hexagonal layout: `flow` and `engine` are the pure core; `service` holds the use cases (one
//! file per action); `api` adapts events and HTTP requests; `store` is the storage port with its
//! DynamoDB and embedded adapters; `entry` starts the Lambda function or the local server.

pub mod api;
pub mod auth;
pub mod aws;
pub mod clock;
pub mod dispatch;
pub mod engine;
pub mod entry;
pub mod error;
pub mod flow;
pub mod logging;
pub mod runner;
pub mod service;
pub mod settings;
pub mod store;
pub mod tasks;
pub mod time;
pub mod tls;
