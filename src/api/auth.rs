//! Letting a request in: who signed it (signature V1 or V3, with the secret of the access key
//! it names, a nonce used once, a time within 15 minutes), whether that key's policy allows
//! the action on exactly the flow or account it acts on (`resource`), and whether the account is within its request rate.
//! The request then runs on the service as its account sees it (`Service::for_caller`).

use std::sync::Arc;

use super::request::{FnfRequest, HttpRequest};
use super::resource::{self, AccountOf};
use super::signature::{self, SignatureError, SignedRequest};
use crate::auth::caller::Caller;
use crate::auth::policy::Policy;
use crate::auth::throttle::RateLimiter;
use crate::error::FnfError;
use crate::service::{Service, truncate};
use crate::store::{AccountRecord, StoreError};
use crate::time::format_rfc3339;

/// How callers are authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMode {
    /// Every caller is the operator (local development on loopback).
    Off,
    /// Every request must be signed with a known, enabled access key.
    Signature,
}

impl AuthMode {
    /// `FNF_AUTH`: `signature` or `none`; `default` when unset.
    pub fn from_env(default: AuthMode) -> Result<AuthMode, String> {
        match std::env::var("FNF_AUTH").ok().as_deref().map(str::trim) {
            None | Some("") => Ok(default),
            Some("signature") => Ok(AuthMode::Signature),
            Some("none" | "off") => Ok(AuthMode::Off),
            Some(other) => Err(format!(
                "FNF_AUTH={other:?}: expected \"signature\" or \"none\""
            )),
        }
    }
}

/// The gate every API request passes: the mode, the per-account request-rate limiter and the
/// deployment's default limits. Shared by all requests of a process.
#[derive(Clone)]
pub struct Gate {
    pub mode: AuthMode,
    /// Requests per second an account may make unless its record says otherwise (0: no limit).
    pub default_requests_per_second: u32,
    limiter: Arc<RateLimiter>,
}

impl Gate {
    pub fn new(mode: AuthMode, default_requests_per_second: u32) -> Gate {
        Gate {
            mode,
            default_requests_per_second,
            limiter: Arc::new(RateLimiter::default()),
        }
    }

    /// No authentication, no rate limit: what `Service::new` starts with.
    pub fn open() -> Gate {
        Gate::new(AuthMode::Off, 0)
    }
}

/// Authenticates, authorizes and throttles `req`; answers the service to run it on, as the
/// caller's account sees it.
pub async fn admit(
    service: &Service,
    http: &HttpRequest,
    req: &FnfRequest,
) -> Result<Service, FnfError> {
    let gate = service.gate();
    let signed_by = match gate.mode {
        AuthMode::Off => None,
        AuthMode::Signature => Some(authenticate(service, http).await?),
    };
    // Without authentication whoever calls acts as the service's own caller (the operator,
    // unless the service was made for another account).
    let caller = signed_by.as_ref().unwrap_or_else(|| service.caller());
    authorize(service, caller, req).await?;
    throttle(service, gate, caller).await?;
    Ok(match signed_by {
        None => service.clone(),
        Some(caller) => service.for_caller(caller),
    })
}

async fn authenticate(service: &Service, http: &HttpRequest) -> Result<Caller, FnfError> {
    let signed = SignedRequest::from_http(http);
    let claim = match signature::claim(&signed) {
        Ok(Some(claim)) => claim,
        Ok(None) => {
            return Err(FnfError::AccessDenied(
                "The request is not signed: sign it with an AccessKey (signature V1 or V3).".into(),
            ));
        }
        Err(e) => return Err(signature_error(e)),
    };
    let key_id = claim.access_key_id();
    let key = service.store_root().get_key(key_id).await?;
    let Some(key) = key.filter(|k| !k.disabled) else {
        return Err(FnfError::InvalidAccessKeyId(truncate(key_id, 64)));
    };
    let now = service.now_ms();
    signature::verify(&signed, &claim, &key.secret, now).map_err(signature_error)?;
    // After the signature holds, so that nobody can burn another key's nonces. A nonce is
    // remembered as long as a request carrying it could still be accepted.
    let expires = claim.timestamp_ms().max(now) + signature::MAX_SKEW_MS as i64;
    match service
        .store_root()
        .use_nonce(&key.id, claim.nonce(), now, expires)
        .await
    {
        Ok(()) => {}
        Err(StoreError::ConditionFailed) => {
            return Err(FnfError::SignatureNonceUsed(truncate(claim.nonce(), 64)));
        }
        Err(e) => return Err(e.into()),
    }
    let policy = Policy::parse(&key.policy).map_err(|e| {
        tracing::error!(key = %key.id, error = %e, "a stored key policy does not parse");
        FnfError::AccessDenied("The key's policy cannot be read.".into())
    })?;
    Ok(Caller {
        account: key.account,
        policy: Arc::new(policy),
        key: Some(key.id),
    })
}

fn signature_error(e: SignatureError) -> FnfError {
    match e {
        SignatureError::SignatureNotMatch => FnfError::SignatureNotMatch,
        SignatureError::RequestTimeTooSkewed { request_ms, now_ms } => {
            FnfError::RequestTimeTooSkewed {
                request: format_rfc3339(request_ms),
                now: format_rfc3339(now_ms),
            }
        }
        SignatureError::MissingRequiredHeader(h) => FnfError::MissingRequiredHeader(h),
        SignatureError::Malformed(why) => FnfError::InvalidArgument(why),
    }
}

/// Whether the caller's policy allows the action on exactly what it acts on
/// ([`resource::target`]); a key's account is read from the store (another account's key
/// counts as the caller's own account, as unknown as a missing key: the handler says so).
async fn authorize(service: &Service, caller: &Caller, req: &FnfRequest) -> Result<(), FnfError> {
    let target = resource::target(&req.action, &req.params)?;
    let key_account;
    let account = match target.account {
        AccountOf::Caller => caller.account.as_str(),
        AccountOf::Named(account) => account,
        AccountOf::KeyOf(id) => {
            key_account = service.store_root().get_key(id).await?.map(|k| k.account);
            match key_account.as_deref() {
                Some(a) if caller.is_operator() || a == caller.account => a,
                _ => caller.account.as_str(),
            }
        }
    };
    if caller.policy.allows(&req.action, target.flow, account) {
        return Ok(());
    }
    let action = truncate(&req.action, 64);
    let in_account = match account == caller.account {
        true => String::new(),
        false => format!(" in account {}", truncate(account, 64)),
    };
    Err(FnfError::AccessDenied(match target.flow {
        Some(flow) => format!(
            "The key's policy does not allow fnf:{action} on flow {}{in_account}.",
            truncate(flow, 128)
        ),
        None => format!("The key's policy does not allow fnf:{action}{in_account}."),
    }))
}

async fn throttle(service: &Service, gate: &Gate, caller: &Caller) -> Result<(), FnfError> {
    let now = service.now_ms();
    // The operator's account has no record: the deployment's default rate (0: none) holds.
    let rate = match service.account_limits(&caller.account).await? {
        Some(AccountRecord {
            requests_per_second: Some(rate),
            ..
        }) => rate,
        _ => gate.default_requests_per_second,
    };
    gate.limiter
        .check(&caller.account, rate, now)
        .map_err(|_| FnfError::ResourceThrottled)
}
