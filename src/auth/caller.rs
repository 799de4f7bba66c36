//! Who is calling: the account a request acts for, and what the key it was signed with may
//! do.

use std::sync::Arc;

use super::policy::Policy;
use crate::store::scoped::DEFAULT_ACCOUNT;

#[derive(Debug, Clone)]
pub struct Caller {
    pub account: String,
    pub policy: Arc<Policy>,
    /// The access key the request was signed with; `None` for the operator acting without a
    /// request (continuations, the sweep) or without authentication. Executions remember it
    /// (`ExecutionRecord::started_by`): its policy decides the children they may start.
    pub key: Option<String>,
}

impl Caller {
    /// The operator: the default account with full access.
    pub fn operator() -> Caller {
        Caller {
            account: DEFAULT_ACCOUNT.to_owned(),
            policy: Arc::new(Policy::full_access()),
            key: None,
        }
    }

    /// Whether this caller acts for the operator's (default) account, which manages the
    /// others.
    pub fn is_operator(&self) -> bool {
        self.account == DEFAULT_ACCOUNT
    }
}
