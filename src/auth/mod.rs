//! Authorization and throttling for API callers (issue 6), kept pure: no I/O and no clock
//! reads, so the request path decides where policies come from and what time it is.
//!
//! - [`policy`]: the RAM-style permission policy an access key carries, and the check
//!   whether it allows an action on a flow;
//! - [`throttle`]: per-account request-rate limiting (token buckets) and the concurrency check.

pub mod caller;
pub mod policy;
pub mod throttle;
