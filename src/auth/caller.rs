//! Who is calling: the account a request acts for, the key it was signed with, and what that
//! key may do.

use std::sync::Arc;

use super::policy::Policy;
use crate::store::scoped::DEFAULT_ACCOUNT;

#[derive(Debug, Clone)]
pub struct Caller {
    pub account: String,
    /// The access key that signed the request; `None` when authentication is off or the
    /// call comes from inside (a direct Lambda invoke, which IAM already authorized).
    pub key_id: Option<String>,
    pub policy: Arc<Policy>,
}

impl Caller {
    /// The operator: the default account with full access.
    pub fn operator() -> Caller {
        Caller {
            account: DEFAULT_ACCOUNT.to_owned(),
            key_id: None,
            policy: Arc::new(Policy::full_access()),
        }
    }

    /// Whether this caller acts for the operator's (default) account, which manages the
    /// others.
    pub fn is_operator(&self) -> bool {
        self.account == DEFAULT_ACCOUNT
    }
}

impl Default for Caller {
    fn default() -> Caller {
        Caller::operator()
    }
}
