//! Entry points: the Lambda function and the local HTTP server. Both build a [`Service`] and
//! hand every request to the same API adapter.

pub mod cli;
pub mod lambda;
pub mod serve;

use std::path::PathBuf;
use std::sync::Arc;

use crate::clock::SystemClock;
use crate::service::Service;
use crate::store::dynamo::DynamoStore;
use crate::store::embedded::EmbeddedStore;
use crate::store::{Store, StoreError};

/// Which store a process uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreChoice {
    /// A DynamoDB table (`TABLE_NAME`); `AWS_ENDPOINT_URL_DYNAMODB` redirects it locally.
    Dynamo { table: String },
    /// The embedded store in a directory (`FNF_DATA_DIR`).
    Embedded { dir: PathBuf },
}

/// The default data directory of the embedded store, under the working directory.
pub const DEFAULT_DATA_DIR: &str = ".fnf-data";

impl StoreChoice {
    /// From the environment: `TABLE_NAME` means DynamoDB unless `FNF_STORE=embedded`;
    /// otherwise the embedded store in `FNF_DATA_DIR`.
    pub fn from_env() -> StoreChoice {
        let table = std::env::var("TABLE_NAME").ok().filter(|t| !t.is_empty());
        let forced_embedded = std::env::var("FNF_STORE").is_ok_and(|s| s == "embedded");
        match table {
            Some(table) if !forced_embedded => StoreChoice::Dynamo { table },
            _ => StoreChoice::Embedded {
                dir: data_dir_from_env(),
            },
        }
    }

    pub async fn open(&self) -> Result<Arc<dyn Store>, StoreError> {
        Ok(match self {
            StoreChoice::Dynamo { table } => Arc::new(DynamoStore::from_env(table.clone()).await),
            StoreChoice::Embedded { dir } => Arc::new(EmbeddedStore::open(dir)?),
        })
    }
}

pub fn data_dir_from_env() -> PathBuf {
    std::env::var_os("FNF_DATA_DIR")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR))
}

/// A service on the real clock.
pub fn service(store: Arc<dyn Store>) -> Service {
    Service::new(store, Arc::new(SystemClock))
}
