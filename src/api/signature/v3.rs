//! V3, `ACS3-HMAC-SHA256`, as the official SDK computes it: `alibabacloud_tea_openapi` 0.4.6
//! `client.py` `do_request` (the headers it sets and hashes) and `utils.py`
//! `Utils.get_authorization`, `get_canonical_query_string`, `get_canonicalized_headers`.
//!
//! - `Authorization: ACS3-HMAC-SHA256 Credential=<id>,SignedHeaders=<a;b;c>,Signature=<hex>`.
//! - Canonical request: `METHOD \n URI \n QUERY \n HEADERS \n SIGNED \n PAYLOAD` where
//!   - URI: the path as sent, `/` when empty (`request.pathname or '/'`, not re-encoded);
//!   - QUERY: sorted by key (code point order), `key=enc(value)` joined by `&`; the key is NOT
//!     encoded (the SDK's `get_canonical_query_string`), `enc` is `quote(v, safe='~')`; an
//!     empty value gives `key=`, no query gives an empty line;
//!   - HEADERS: for each signed header, `name:value\n`, the name lower-case, the value stripped
//!     of surrounding whitespace (Python's `str.strip()`), several values of one name sorted
//!     and joined by `,`; the block ends with `\n` before the line's own `\n`;
//!   - SIGNED: the `SignedHeaders` names joined by `;` (the SDK signs every header it sets,
//!     sorted: `accept`, `content-type`, `host`, `user-agent`, `x-acs-*`);
//!   - PAYLOAD: lower-case hex SHA-256 of the body, also sent as `x-acs-content-sha256`.
//! - String to sign: `ACS3-HMAC-SHA256\n` + hex(SHA-256(canonical request)).
//! - Signature: lower-case hex of HMAC-SHA256 keyed with the secret.
//! - `x-acs-date` is `%Y-%m-%dT%H:%M:%SZ` (UTC), `x-acs-signature-nonce` the nonce.
//!
//! Server rules added here: `host`, `x-acs-date`, `x-acs-signature-nonce` and
//! `x-acs-content-sha256` must be present; `host`, `content-type` and every `x-acs-*` header
//! present must be signed (else the action header, say, could be swapped); the body must hash to
//! `x-acs-content-sha256`; a query key twice, or one holding `&`, `=` or a control character
//! (which would make the canonical query ambiguous) is refused.

use std::collections::HashSet;

use hmac::{KeyInit, Mac};
use sha2::{Digest, Sha256};

use super::{
    Claim, SignatureError, SignedRequest, check_token, hex_decode, hex_lower, malformed,
    parse_timestamp, percent_encode, printable,
};

type HmacSha256 = hmac::Hmac<Sha256>;

pub(super) const ALGORITHM: &str = "ACS3-HMAC-SHA256";
const MAX_SIGNED_HEADERS: usize = 64;
const MAX_HEADER_NAME_LEN: usize = 64;

/// A V3-signed request, parsed.
pub(super) struct V3 {
    pub(super) claim: Claim,
    /// The canonical request, with the payload hash the request states.
    pub(super) canonical_request: String,
    content_sha256: String,
    signature: Vec<u8>,
}

pub(super) fn parse(req: &SignedRequest, authorization: &str) -> Result<V3, SignatureError> {
    let auth = parse_authorization(authorization)?;
    let single = |name: &'static str| match req.single_header(name)? {
        Some(v) => Ok(v),
        None => Err(SignatureError::MissingRequiredHeader(name.to_owned())),
    };
    let date = single("x-acs-date")?;
    let nonce = single("x-acs-signature-nonce")?;
    let content_sha256 = single("x-acs-content-sha256")?;
    single("host")?;
    for name in &auth.signed_headers {
        if req.header_values(name).next().is_none() {
            return Err(SignatureError::MissingRequiredHeader(name.clone()));
        }
    }
    let signed: HashSet<&str> = auth.signed_headers.iter().map(String::as_str).collect();
    for name in ["host", "content-type"] {
        if req.header_values(name).next().is_some() && !signed.contains(name) {
            return Err(SignatureError::Malformed(format!(
                "the header {name} must be signed"
            )));
        }
    }
    if let Some((name, _)) = req.headers.iter().find(|(k, _)| {
        k.get(..6).is_some_and(|p| p.eq_ignore_ascii_case("x-acs-"))
            && !signed.contains(k.to_ascii_lowercase().as_str())
    }) {
        return Err(SignatureError::Malformed(format!(
            "the header {} must be signed",
            printable(name)
        )));
    }
    let nonce = strip(nonce);
    check_token("the x-acs-signature-nonce", nonce)?;
    let timestamp_ms = parse_timestamp(strip(date))?;
    let content_sha256 = strip(content_sha256).to_owned();
    let canonical_request = canonical_request(req, &auth.signed_headers, &content_sha256)?;
    Ok(V3 {
        claim: Claim::V3 {
            access_key_id: auth.access_key_id,
            nonce: nonce.to_owned(),
            timestamp_ms,
        },
        canonical_request,
        content_sha256,
        signature: auth.signature,
    })
}

struct Authorization {
    access_key_id: String,
    signed_headers: Vec<String>,
    signature: Vec<u8>,
}

/// `ACS3-HMAC-SHA256 Credential=..,SignedHeaders=..,Signature=..`, each part once.
fn parse_authorization(value: &str) -> Result<Authorization, SignatureError> {
    let value = value.trim();
    let (scheme, rest) = value.split_once(' ').unwrap_or((value, ""));
    if scheme != ALGORITHM {
        return Err(if scheme.starts_with("ACS3-") {
            malformed("the signature algorithm is not supported (ACS3-HMAC-SHA256 is)")
        } else {
            malformed("the Authorization scheme is not supported")
        });
    }
    let (mut credential, mut signed_headers, mut signature) = (None, None, None);
    for part in rest.split(',') {
        let (key, val) = part
            .trim()
            .split_once('=')
            .ok_or_else(|| malformed("the Authorization header does not parse"))?;
        let slot = match key {
            "Credential" => &mut credential,
            "SignedHeaders" => &mut signed_headers,
            "Signature" => &mut signature,
            _ => return Err(malformed("the Authorization header has an unknown part")),
        };
        if slot.replace(val).is_some() {
            return Err(malformed("the Authorization header repeats a part"));
        }
    }
    let missing =
        || malformed("the Authorization header lacks Credential, SignedHeaders or Signature");
    let access_key_id = credential.ok_or_else(missing)?;
    check_token("the Credential", access_key_id)?;
    let signed_headers = parse_signed_headers(signed_headers.ok_or_else(missing)?)?;
    let signature = signature
        .ok_or_else(missing)
        .and_then(|s| hex_decode(s).ok_or_else(|| malformed("the Signature is not hex")))?;
    if signature.len() != 32 {
        return Err(malformed("the Signature is not 64 hex digits"));
    }
    Ok(Authorization {
        access_key_id: access_key_id.to_owned(),
        signed_headers,
        signature,
    })
}

/// `a;b;c`: lower-case header names, each once, `host` among them.
fn parse_signed_headers(list: &str) -> Result<Vec<String>, SignatureError> {
    let names: Vec<String> = list.split(';').map(str::to_owned).collect();
    let is_token = |b: u8| {
        (b.is_ascii_graphic() && !b.is_ascii_uppercase()) && !b"\"(),/:;<=>?@[\\]{}".contains(&b)
    };
    if names.len() > MAX_SIGNED_HEADERS {
        return Err(malformed("SignedHeaders lists too many headers"));
    }
    let mut seen = HashSet::new();
    for name in &names {
        if name.is_empty() || name.len() > MAX_HEADER_NAME_LEN || !name.bytes().all(is_token) {
            return Err(malformed("SignedHeaders holds an invalid header name"));
        }
        if name == "authorization" || !seen.insert(name.as_str()) {
            return Err(malformed(
                "SignedHeaders holds authorization or a name twice",
            ));
        }
    }
    if !seen.contains("host") {
        return Err(malformed("the header host must be signed"));
    }
    Ok(names)
}

/// Python's `str.strip()`: Unicode White_Space plus U+001C..U+001F.
fn strip(s: &str) -> &str {
    s.trim_matches(|c: char| c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c))
}

fn canonical_request(
    req: &SignedRequest,
    signed_headers: &[String],
    payload_hash: &str,
) -> Result<String, SignatureError> {
    if req.path.chars().any(char::is_control) || req.method.chars().any(char::is_control) {
        return Err(malformed("the method or path holds a control character"));
    }
    let mut out = String::new();
    out.push_str(req.method);
    out.push('\n');
    out.push_str(if req.path.is_empty() { "/" } else { req.path });
    out.push('\n');
    let mut query: Vec<&(String, String)> = req.query.iter().collect();
    query.sort_by(|a, b| a.0.cmp(&b.0));
    for (i, (k, v)) in query.iter().enumerate() {
        if k.contains(['&', '=']) || k.chars().any(char::is_control) {
            return Err(malformed(
                "a query parameter name holds '&', '=' or a control character",
            ));
        }
        if i > 0 {
            if query[i - 1].0 == *k {
                return Err(malformed("a query parameter is given more than once"));
            }
            out.push('&');
        }
        out.push_str(k);
        out.push('=');
        percent_encode(v, &mut out);
    }
    out.push('\n');
    for name in signed_headers {
        let mut values: Vec<&str> = req.header_values(name).map(strip).collect();
        if values.iter().any(|v| v.contains(['\r', '\n'])) {
            return Err(malformed("a signed header holds a line break"));
        }
        values.sort_unstable();
        out.push_str(name);
        out.push(':');
        out.push_str(&values.join(","));
        out.push('\n');
    }
    out.push('\n');
    out.push_str(&signed_headers.join(";"));
    out.push('\n');
    out.push_str(payload_hash);
    Ok(out)
}

impl V3 {
    /// `ACS3-HMAC-SHA256\n` + hex(SHA-256(canonical request)).
    pub(super) fn string_to_sign(&self) -> String {
        let hash = Sha256::digest(self.canonical_request.as_bytes());
        format!("{ALGORITHM}\n{}", hex_lower(&hash))
    }

    pub(super) fn verify(&self, req: &SignedRequest, secret: &str) -> Result<(), SignatureError> {
        // The canonical request holds the stated hash: the body must have it.
        if hex_lower(&Sha256::digest(req.body)) != self.content_sha256 {
            return Err(SignatureError::SignatureNotMatch);
        }
        let mut mac = HmacSha256::new_from_slice(secret.as_bytes())
            .map_err(|_| SignatureError::SignatureNotMatch)?;
        mac.update(self.string_to_sign().as_bytes());
        mac.verify_slice(&self.signature)
            .map_err(|_| SignatureError::SignatureNotMatch)
    }
}
