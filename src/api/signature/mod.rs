//! Verifying the signatures the official Alibaba Cloud SDKs put on fnf API requests.
//!
//! Pure and I/O-free: the caller hands in the request as it arrived and, for [`verify`], the
//! secret of the AccessKey the request names and the current time. Two schemes, exactly as the
//! SDK sources compute them (rules at the top of `v1.rs` and `v3.rs`):
//! - **V1** (RPC, `SignatureMethod=HMAC-SHA1`, `SignatureVersion=1.0`): what both official
//!   Python SDKs send to fnf today, signature parameters in the query string, API parameters
//!   in the query (GET) or in a form-encoded body (POST); the signature covers both.
//! - **V3** (`Authorization: ACS3-HMAC-SHA256 Credential=..,SignedHeaders=..,Signature=..`),
//!   what `tea-openapi`'s `do_request` and newer tools send.
//!
//! Use: [`claim`] says who claims to have signed (no secret needed; `None` for an unsigned
//! request), the caller looks the AccessKey up, then [`verify`] checks the signature and the
//! time. **Not done here** (the caller's job): finding the key (an unknown one answers
//! `InvalidAccessKeyID`), rejecting a reused nonce within the skew window (the claim carries
//! nonce and time for that), permissions, throttling.
//!
//! What each error should become (api.md "Errors"; the caller maps them, not this module):
//! - [`SignatureError::SignatureNotMatch`]: `SignatureNotMatch`, 403 in api.md;
//! - [`SignatureError::RequestTimeTooSkewed`]: `RequestTimeTooSkewed`, 403 in api.md;
//! - [`SignatureError::MissingRequiredHeader`]: `MissingRequiredHeader`, 400;
//! - [`SignatureError::Malformed`]: 400 `InvalidArgument` with the reason;
//! - an AccessKey the caller does not know: `InvalidAccessKeyID`, 403 in api.md.
//!
//! Secrets never reach a log, an error or a `Debug` output: the secret is only an argument of
//! [`verify`], and no error carries the expected signature.
//!
//! What the signatures cover, for the caller's decoder: V1 covers every query and form
//! parameter (a key twice in one of them is refused; a key in both counts with its body value,
//! as in the SDK and in `request::decode_http`; the signer is the query's `AccessKeyId`, which
//! the decoder therefore does not hand to the action) and, when present, the `x-acs-action` and
//! `x-acs-version` headers must agree with the signed `Action` and `Version`. V3 covers the
//! body (by its SHA-256), the query, the path and the headers it lists, which must include
//! `host`, `content-type` (when present) and every `x-acs-*` header present.

mod v1;
mod v3;

#[cfg(test)]
mod fixtures;
#[cfg(test)]
mod tests;

use crate::api::request::HttpRequest;
use crate::time::{days_from_civil, days_in_month};

/// Largest difference between the request's time and now: 15 minutes either way.
pub const MAX_SKEW_MS: u64 = 15 * 60 * 1000;
/// Longest AccessKey id or nonce accepted (the SDKs send 16-30 and 32-36 characters).
const MAX_TOKEN_LEN: usize = 128;

/// An incoming request, as it arrived.
#[derive(Debug, Clone, Copy)]
pub struct SignedRequest<'a> {
    /// The HTTP method, as sent (`GET`, `POST`).
    pub method: &'a str,
    /// The raw (still percent-encoded) path without the query; the fnf SDKs always send `/`.
    /// An empty path counts as `/`.
    pub path: &'a str,
    /// Query parameters, percent-decoded (`+` as a space), in their order.
    pub query: &'a [(String, String)],
    /// Headers, names lower-cased (compared case-insensitively anyway), in their order.
    pub headers: &'a [(String, String)],
    /// The body's bytes. A form-encoded body (`content-type: application/x-www-form-urlencoded`)
    /// is decoded here for V1, the same way `request::decode_http` decodes it.
    pub body: &'a [u8],
}

impl<'a> SignedRequest<'a> {
    /// The request as `api::request` holds it.
    pub fn from_http(req: &'a HttpRequest) -> SignedRequest<'a> {
        SignedRequest {
            method: &req.method,
            path: &req.path,
            query: &req.query,
            headers: &req.headers,
            body: &req.body,
        }
    }

    /// Every value of a header, in order.
    fn header_values<'s>(&'s self, name: &'s str) -> impl Iterator<Item = &'a str> + 's {
        self.headers
            .iter()
            .filter(move |(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// A header that must come at most once.
    fn single_header(&self, name: &str) -> Result<Option<&'a str>, SignatureError> {
        let mut values = self.header_values(name);
        let first = values.next();
        if values.next().is_some() {
            return Err(SignatureError::Malformed(format!(
                "the header {name} is given more than once"
            )));
        }
        Ok(first)
    }

    /// Whether the body is form-encoded, by the media type of `content-type`.
    fn is_form(&self) -> bool {
        self.header_values("content-type").next().is_some_and(|ct| {
            ct.split(';').next().is_some_and(|m| {
                m.trim()
                    .eq_ignore_ascii_case("application/x-www-form-urlencoded")
            })
        })
    }
}

/// Who claims to have signed a request, read without the secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// RPC signature, HMAC-SHA1 (`AccessKeyId`, `SignatureNonce`, `Timestamp` parameters).
    V1 {
        access_key_id: String,
        nonce: String,
        timestamp_ms: i64,
    },
    /// `ACS3-HMAC-SHA256` (`Credential`, `x-acs-signature-nonce`, `x-acs-date`).
    V3 {
        access_key_id: String,
        nonce: String,
        timestamp_ms: i64,
    },
}

impl Claim {
    pub fn access_key_id(&self) -> &str {
        match self {
            Claim::V1 { access_key_id, .. } | Claim::V3 { access_key_id, .. } => access_key_id,
        }
    }

    /// The nonce, for the caller's replay check.
    pub fn nonce(&self) -> &str {
        match self {
            Claim::V1 { nonce, .. } | Claim::V3 { nonce, .. } => nonce,
        }
    }

    /// The time the request says it was signed, in milliseconds since the epoch.
    pub fn timestamp_ms(&self) -> i64 {
        match self {
            Claim::V1 { timestamp_ms, .. } | Claim::V3 { timestamp_ms, .. } => *timestamp_ms,
        }
    }
}

/// Why a signed request is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the request signature does not match")]
    SignatureNotMatch,
    /// Both times in milliseconds since the epoch.
    #[error("the request time {request_ms} is more than 15 minutes from the current time {now_ms}")]
    RequestTimeTooSkewed { request_ms: i64, now_ms: i64 },
    /// A header the scheme requires, or one `SignedHeaders` names, is absent.
    #[error("the HTTP header '{0}' must be specified")]
    MissingRequiredHeader(String),
    /// Unparsable `Authorization`, bad timestamp, unsupported method or version, ...
    #[error("malformed signature: {0}")]
    Malformed(String),
}

/// Whether the request carries a V1 signature's fields in its query (signed or not): then the
/// query's `AccessKeyId` is the signer's, not an action's parameter.
pub fn is_v1(query: &[(String, String)]) -> bool {
    v1::marked(query)
}

/// Reads who claims to sign the request (no secret needed), or why it is malformed.
/// `Ok(None)`: the request carries no signature at all.
pub fn claim(req: &SignedRequest) -> Result<Option<Claim>, SignatureError> {
    Ok(parse(req)?.map(|p| p.claim().clone()))
}

/// Verifies the request's signature with the secret of the AccessKey its claim names, then its
/// time against `now_ms` (milliseconds since the epoch). The comparison is constant-time.
pub fn verify(
    req: &SignedRequest,
    claim: &Claim,
    secret: &str,
    now_ms: i64,
) -> Result<(), SignatureError> {
    let parsed = parse(req)?.ok_or_else(|| malformed("the request is not signed"))?;
    if parsed.claim() != claim {
        return Err(malformed("the claim was not read from this request"));
    }
    match &parsed {
        Parsed::V1(p) => p.verify(req, secret)?,
        Parsed::V3(p) => p.verify(req, secret)?,
    }
    check_skew(claim.timestamp_ms(), now_ms)
}

/// A signed request, parsed by its scheme.
enum Parsed {
    V1(v1::V1),
    V3(v3::V3),
}

impl Parsed {
    fn claim(&self) -> &Claim {
        match self {
            Parsed::V1(p) => &p.claim,
            Parsed::V3(p) => &p.claim,
        }
    }
}

/// Which scheme signs the request: an `Authorization` header means V3; `Signature`,
/// `SignatureNonce`, `SignatureMethod` or `BearerToken` in the query (where the SDKs put them)
/// means V1; neither means unsigned, both is malformed.
fn parse(req: &SignedRequest) -> Result<Option<Parsed>, SignatureError> {
    let authorization = req.single_header("authorization")?;
    let v1 = v1::parse(req)?;
    match (authorization, v1) {
        (Some(_), Some(_)) => Err(malformed(
            "the request carries both an Authorization header and a V1 signature",
        )),
        (Some(auth), None) => Ok(Some(Parsed::V3(v3::parse(req, auth)?))),
        (None, Some(p)) => Ok(Some(Parsed::V1(p))),
        (None, None) => Ok(None),
    }
}

/// A name from the request, for a message: short and printable.
fn printable(name: &str) -> String {
    name.chars()
        .take(64)
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}

fn malformed(why: &str) -> SignatureError {
    SignatureError::Malformed(why.to_owned())
}

fn check_skew(request_ms: i64, now_ms: i64) -> Result<(), SignatureError> {
    if request_ms.abs_diff(now_ms) > MAX_SKEW_MS {
        return Err(SignatureError::RequestTimeTooSkewed { request_ms, now_ms });
    }
    Ok(())
}

/// An AccessKey id or a nonce: non-empty, bounded, printable ASCII without spaces or commas.
fn check_token(what: &str, value: &str) -> Result<(), SignatureError> {
    if value.is_empty()
        || value.len() > MAX_TOKEN_LEN
        || !value.bytes().all(|b| b.is_ascii_graphic() && b != b',')
    {
        return Err(SignatureError::Malformed(format!(
            "{what} is empty or invalid"
        )));
    }
    Ok(())
}

/// The SDKs' timestamp, `2026-11-24T20:19:53Z` (`%Y-%m-%dT%H:%M:%SZ`, UTC), optionally with a
/// fraction of a second; milliseconds since the epoch.
fn parse_timestamp(s: &str) -> Result<i64, SignatureError> {
    parse_iso8601(s).ok_or_else(|| malformed("the timestamp is not an ISO 8601 UTC time"))
}

fn parse_iso8601(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    let num = |range: std::ops::Range<usize>| -> Option<i64> {
        let digits = b.get(range)?;
        digits.iter().try_fold(0i64, |n, &d| {
            d.is_ascii_digit().then(|| n * 10 + i64::from(d - b'0'))
        })
    };
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || b[13] != b':' {
        return None;
    }
    if b[16] != b':' || b[b.len() - 1] != b'Z' {
        return None;
    }
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
    let millis = match &b[19..b.len() - 1] {
        [] => 0,
        [b'.', frac @ ..] if (1..=9).contains(&frac.len()) => {
            let n = num(20..b.len() - 1)?;
            let scale = 10i64.pow(u32::try_from(frac.len()).ok()?);
            n * 1000 / scale
        }
        _ => return None,
    };
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
        return None;
    }
    if hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    let days = days_from_civil(year, month, day);
    Some(((days * 24 + hour) * 60 + minute) * 60_000 + second * 1000 + millis)
}

/// Percent-encoding as the SDKs do it (Python's `quote(s, safe='~')`, the same as
/// aliyunsdkcore's `urlencode` + `+`→`%20`, `*`→`%2A`, `%7E`→`~`): every UTF-8 byte but
/// `A-Z a-z 0-9 - _ . ~` becomes `%XX`, upper-case hex.
fn percent_encode(s: &str, out: &mut String) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for &b in s.as_bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0xf)]));
        }
    }
}

fn hex_lower(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        s.push(char::from(HEX[usize::from(b >> 4)]));
        s.push(char::from(HEX[usize::from(b & 0xf)]));
    }
    s
}

/// Hex (either case) into bytes; `None` if odd-length or not hex.
fn hex_decode(s: &str) -> Option<Vec<u8>> {
    let nibble = |c: u8| {
        char::from(c)
            .to_digit(16)
            .and_then(|d| u8::try_from(d).ok())
    };
    let b = s.as_bytes();
    if !b.len().is_multiple_of(2) {
        return None;
    }
    b.chunks_exact(2)
        .map(|p| Some(nibble(p[0])? << 4 | nibble(p[1])?))
        .collect()
}
