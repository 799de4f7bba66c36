//! V1, the RPC signature (HMAC-SHA1), as the official SDKs compute it:
//! `alibabacloud_tea_openapi` 0.4.6 `client.py` `do_rpcrequest` + `utils.py`
//! `Utils.get_rpcsignature` (what `alibabacloud-fnf20190315` 2.x sends), and
//! `aliyun-python-sdk-core` 2.16.1 `auth/composer/rpc_signature_composer.py` (the older SDK).
//!
//! - Signed parameters: every query parameter and every form-body parameter (the SDK merges
//!   `_request.query` with `Utils.query(request.body)`, the body winning a shared key; the old
//!   SDK `sign_params.update(body_params)`), except `Signature` itself.
//! - Canonicalized query string: sorted by key (code point order), `enc(key)=enc(value)`
//!   joined by `&`, where `enc` is RFC 3986 percent-encoding of the UTF-8 bytes (everything but
//!   `A-Z a-z 0-9 - _ . ~` as `%XX`), i.e. `quote(s, safe='~')`; an empty value gives `key=`.
//! - String to sign: `METHOD&%2F&enc(canonicalized)`.
//! - Signature: base64 (standard, padded) of HMAC-SHA1 keyed with `secret + "&"`.
//! - The signer: both SDKs set `AccessKeyId` in the query (overwriting any the caller put
//!   there). A form-body `AccessKeyId` (an action's own parameter, e.g. UpdateAccessKey's) wins
//!   the merge, so the signature covers it and not the signer's: the signer is read from the
//!   query, the action's parameter from the body (`request::decode_http` drops the query's).
//! - Fields: `AccessKeyId`, `SignatureMethod=HMAC-SHA1`, `SignatureVersion=1.0`,
//!   `SignatureNonce`, `Timestamp` (`%Y-%m-%dT%H:%M:%SZ`); the old SDK adds an empty
//!   `SignatureType` (a non-empty one, `BEARERTOKEN` or `PRIVATEKEY`, is not supported).

use std::collections::BTreeMap;

use base64::Engine as _;
use hmac::{KeyInit, Mac};

use super::{
    Claim, SignatureError, SignedRequest, check_token, malformed, parse_timestamp, percent_encode,
    printable,
};

type HmacSha1 = hmac::Hmac<sha1::Sha1>;

/// Parameters whose presence in the query marks a V1-signed request. Not `AccessKeyId`: it is
/// also an action's parameter, which a V3-signed request may carry in its query.
const MARKERS: [&str; 4] = [
    "Signature",
    "SignatureNonce",
    "SignatureMethod",
    "BearerToken",
];

/// Whether the query marks the request as V1-signed.
pub(super) fn marked(query: &[(String, String)]) -> bool {
    query.iter().any(|(k, _)| MARKERS.contains(&k.as_str()))
}

/// A V1-signed request, parsed.
pub(super) struct V1 {
    pub(super) claim: Claim,
    /// Every parameter but `Signature`, by key (the order of the canonicalized string).
    params: BTreeMap<String, String>,
    signature: String,
}

/// `None` if no V1 field is in the query; else the parsed request or why it is malformed.
pub(super) fn parse(req: &SignedRequest) -> Result<Option<V1>, SignatureError> {
    if !marked(req.query) {
        return Ok(None);
    }
    let mut params = collect(req.query.iter().map(|(k, v)| (k.clone(), v.clone())))?;
    // Where both SDKs put the signer; the merged value may be the action's (module doc).
    let access_key_id = params.get("AccessKeyId").cloned().ok_or_else(|| {
        malformed("the parameter AccessKeyId (the signer's) is missing from the query")
    })?;
    if !req.body.is_empty() {
        if !req.is_form() {
            return Err(malformed(
                "a V1 signature covers only query and form-encoded parameters",
            ));
        }
        let form = collect(
            form_urlencoded::parse(req.body).map(|(k, v)| (k.into_owned(), v.into_owned())),
        )?;
        params.extend(form);
    }
    if params.contains_key("BearerToken") {
        return Err(malformed("bearer-token requests are not supported"));
    }
    if params.get("SignatureType").is_some_and(|t| !t.is_empty()) {
        return Err(malformed("the SignatureType is not supported"));
    }
    let field = |name: &str| {
        params
            .get(name)
            .cloned()
            .ok_or_else(|| SignatureError::Malformed(format!("the parameter {name} is missing")))
    };
    if field("SignatureMethod")? != "HMAC-SHA1" {
        return Err(malformed(
            "the SignatureMethod is not supported (HMAC-SHA1 is)",
        ));
    }
    if field("SignatureVersion")? != "1.0" {
        return Err(malformed("the SignatureVersion is not supported (1.0 is)"));
    }
    let signature = field("Signature")?;
    check_token("the AccessKeyId", &access_key_id)?;
    let nonce = field("SignatureNonce")?;
    check_token("the SignatureNonce", &nonce)?;
    let timestamp_ms = parse_timestamp(&field("Timestamp")?)?;
    params.remove("Signature");
    Ok(Some(V1 {
        claim: Claim::V1 {
            access_key_id,
            nonce,
            timestamp_ms,
        },
        params,
        signature,
    }))
}

/// The pairs of one source (query or body) by key; a key twice is refused: the SDKs never send
/// one, and which of the two a reader would take is not something a signature should leave open.
fn collect(
    pairs: impl Iterator<Item = (String, String)>,
) -> Result<BTreeMap<String, String>, SignatureError> {
    let mut map = BTreeMap::new();
    for (k, v) in pairs {
        if map.contains_key(&k) {
            return Err(SignatureError::Malformed(format!(
                "the parameter {} is given more than once",
                printable(&k)
            )));
        }
        map.insert(k, v);
    }
    Ok(map)
}

impl V1 {
    /// The string the SDK signs: `METHOD&%2F&enc(canonicalized query string)`.
    pub(super) fn string_to_sign(&self, method: &str) -> String {
        let mut canonical = String::new();
        for (k, v) in &self.params {
            if !canonical.is_empty() {
                canonical.push('&');
            }
            percent_encode(k, &mut canonical);
            canonical.push('=');
            percent_encode(v, &mut canonical);
        }
        let mut out = format!("{method}&%2F&");
        percent_encode(&canonical, &mut out);
        out
    }

    pub(super) fn verify(&self, req: &SignedRequest, secret: &str) -> Result<(), SignatureError> {
        let given = base64::engine::general_purpose::STANDARD
            .decode(self.signature.as_bytes())
            .map_err(|_| SignatureError::SignatureNotMatch)?;
        let key = format!("{secret}&");
        let mut mac = HmacSha1::new_from_slice(key.as_bytes())
            .map_err(|_| SignatureError::SignatureNotMatch)?;
        mac.update(self.string_to_sign(req.method).as_bytes());
        mac.verify_slice(&given)
            .map_err(|_| SignatureError::SignatureNotMatch)?;
        // The decoder falls back on these headers for the action and version: they are not
        // signed in V1, so they must say what the signed parameters say.
        for (header, param) in [("x-acs-action", "Action"), ("x-acs-version", "Version")] {
            for value in req.header_values(header) {
                if self.params.get(param).map(String::as_str) != Some(value) {
                    return Err(SignatureError::Malformed(format!(
                        "the {header} header differs from the signed {param} parameter"
                    )));
                }
            }
        }
        Ok(())
    }
}
