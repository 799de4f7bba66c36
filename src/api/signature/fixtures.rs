//! Test fixtures: golden vectors from the real SDK code, not from this module.
//!
//! Made by a throwaway script run with `/work/main/.venv/bin/python`: it pinned
//! `alibabacloud_tea_openapi.utils.Utils.get_timestamp` / `get_nonce`, pointed the official
//! `alibabacloud_fnf20190315` 2.0.1 client (tea-openapi 0.4.6) at a capturing HTTP server on
//! `127.0.0.1:18080` and recorded what arrived on the wire: method, path, decoded query, headers
//! (lower-cased) and body, plus the strings the SDK hashed and signed (by wrapping `hmac.new`
//! and `Utils.hash`). V1: the client as shipped (`signature_algorithm='v2'` ->
//! `do_rpcrequest`). V3: the same client with `_signature_algorithm='ACS3-HMAC-SHA256'` ->
//! `do_request`. The old-SDK vector is `aliyunsdkcore` 2.16.1's
//! `rpc_signature_composer.get_signed_url` (pip-downloaded, not installed), same parameters.
//! Calls: `start_execution(flow_name="my-flow", execution_name="e-1_x.y", input=INPUT)` (POST,
//! form body) and `describe_execution(flow_name="my flow*~", execution_name="e/1+2")` (GET).

use super::{Claim, SignatureError, SignedRequest, claim, verify};

pub(super) const AK: &str = "LTAI5tTestAccessKey";
pub(super) const SECRET: &str = "t3st+Secret/=&\u{e9}";
/// `2026-11-24T20:19:53Z`.
pub(super) const DATE_MS: i64 = 1_795_551_593_000;
pub(super) const NONCE: &str = "3f6c0a1e9b2d4c5e8f7a6b5c4d3e2f10";
pub(super) const UA: &str = "AlibabaCloud (Linux; x86_64) Python/3.11.7 Core/0.4.3 TeaDSL/2";
pub(super) const FORM_BODY: &str = "ExecutionName=e-1_x.y&FlowName=my-flow&Input=%7B%22a%22%3A+%22x+y%2A~%2F%2B%26%3D%25%C3%A9%E4%B8%AD%22%7D";
pub(super) const V1_POST_SIG: &str = "FI5V3jfjWc+QF+auifc/I0f5L50=";
pub(super) const V1_GET_SIG: &str = "/6RYuB4OHLyOnl7Rwhcqo2I3+V8=";
pub(super) const OLD_SDK_SIG: &str = "wV09xh/5bsxVeTNrih2zfS28pvQ=";
/// UpdateAccessKey naming another key in its form body, as the tea SDK signed it (V1).
pub(super) const KEY_BODY: &str = "AccessKeyId=FNFTARGETKEY0000000000&Description=d";
pub(super) const KEY_SIG: &str = "JqWNLYFqzdLGWrAzTeGgU61ZrMY=";
pub(super) const V1_GET_STS: &str = "GET&%2F&AccessKeyId%3DLTAI5tTestAccessKey%26Action%3DDescribeExecution%26ExecutionName%3De%252F1%252B2%26FlowName%3Dmy%2520flow%252A~%26Format%3Djson%26SignatureMethod%3DHMAC-SHA1%26SignatureNonce%3D3f6c0a1e9b2d4c5e8f7a6b5c4d3e2f10%26SignatureVersion%3D1.0%26Timestamp%3D2026-11-24T20%253A19%253A53Z%26Version%3D2019-03-15";
pub(super) const V3_POST_AUTH: &str = "ACS3-HMAC-SHA256 Credential=LTAI5tTestAccessKey,SignedHeaders=accept;content-type;host;user-agent;x-acs-action;x-acs-content-sha256;x-acs-credentials-provider;x-acs-date;x-acs-signature-nonce;x-acs-version,Signature=a7981d46d9f3c3056855b306577e328ff8978ba115e8c62132be4482a838fbcc";
pub(super) const V3_GET_AUTH: &str = "ACS3-HMAC-SHA256 Credential=LTAI5tTestAccessKey,SignedHeaders=accept;host;user-agent;x-acs-action;x-acs-content-sha256;x-acs-credentials-provider;x-acs-date;x-acs-signature-nonce;x-acs-version,Signature=db3d2267dc4f81cf4f252bf760aecb162fcffea8c543b2ee598f0c43b52eb3a3";
pub(super) const V3_GET_STS: &str =
    "ACS3-HMAC-SHA256\nd72a36091bf24b540371455c1b177723fff9e90dd22adae3268fcb5da5a44001";
pub(super) const EMPTY_SHA256: &str =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
pub(super) const FORM_SHA256: &str =
    "d93eb6c0da3c98c623b86dded02b4e1c898bc5275308e4b33613aaefbee92dc0";

#[derive(Clone)]
pub(super) struct Req {
    pub(super) method: &'static str,
    pub(super) query: Vec<(String, String)>,
    pub(super) headers: Vec<(String, String)>,
    pub(super) body: Vec<u8>,
}

impl Req {
    pub(super) fn signed(&self) -> SignedRequest<'_> {
        SignedRequest {
            method: self.method,
            path: "/",
            query: &self.query,
            headers: &self.headers,
            body: &self.body,
        }
    }
    pub(super) fn set(list: &mut [(String, String)], name: &str, value: &str) {
        list.iter_mut().find(|(k, _)| k == name).expect(name).1 = value.to_owned();
    }
    pub(super) fn remove(list: &mut Vec<(String, String)>, name: &str) {
        list.retain(|(k, _)| k != name);
    }
}

pub(super) fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
    p.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

pub(super) fn v1_query(action: &str, extra: &[(&str, &str)], sig: &str) -> Vec<(String, String)> {
    let mut q = pairs(&[
        ("Action", action),
        ("Format", "json"),
        ("Version", "2019-03-15"),
        ("Timestamp", "2026-11-24T20:19:53Z"),
        ("SignatureNonce", NONCE),
    ]);
    q.extend(pairs(extra));
    q.extend(pairs(&[
        ("SignatureMethod", "HMAC-SHA1"),
        ("SignatureVersion", "1.0"),
        ("AccessKeyId", AK),
        ("Signature", sig),
    ]));
    q
}

pub(super) fn v1_headers(action: &str, form: bool) -> Vec<(String, String)> {
    let mut h = pairs(&[
        ("accept-encoding", "identity"),
        ("host", "127.0.0.1:18080"),
        ("x-acs-version", "2019-03-15"),
        ("x-acs-action", action),
        ("user-agent", UA),
    ]);
    if form {
        h.push((
            "content-type".into(),
            "application/x-www-form-urlencoded".into(),
        ));
    }
    h.push(("x-acs-credentials-provider".into(), "static_ak".into()));
    if form {
        h.push(("content-length".into(), "105".into()));
    }
    h
}

pub(super) fn v1_post() -> Req {
    Req {
        method: "POST",
        query: v1_query("StartExecution", &[], V1_POST_SIG),
        headers: v1_headers("StartExecution", true),
        body: FORM_BODY.into(),
    }
}

pub(super) fn v1_post_naming_a_key() -> Req {
    Req {
        method: "POST",
        query: v1_query("UpdateAccessKey", &[], KEY_SIG),
        headers: v1_headers("UpdateAccessKey", true),
        body: KEY_BODY.into(),
    }
}

pub(super) fn v1_get() -> Req {
    let extra = [("ExecutionName", "e/1+2"), ("FlowName", "my flow*~")];
    Req {
        method: "GET",
        query: v1_query("DescribeExecution", &extra, V1_GET_SIG),
        headers: v1_headers("DescribeExecution", false),
        body: Vec::new(),
    }
}

pub(super) fn old_sdk_post() -> Req {
    Req {
        method: "POST",
        query: pairs(&[
            ("Action", "StartExecution"),
            ("Version", "2019-03-15"),
            ("RegionId", "cn-hangzhou"),
            ("Timestamp", "2026-11-24T20:19:53Z"),
            ("SignatureMethod", "HMAC-SHA1"),
            ("SignatureType", ""),
            ("SignatureVersion", "1.0"),
            ("SignatureNonce", "2b4a3e6e-5a1f-4c1b-9d9b-0c6f2f1e7d11"),
            ("AccessKeyId", AK),
            ("Format", "JSON"),
            ("Signature", OLD_SDK_SIG),
        ]),
        headers: pairs(&[("content-type", "application/x-www-form-urlencoded")]),
        body: FORM_BODY.into(),
    }
}

pub(super) fn v3(method: &'static str, action: &str, auth: &str, form: bool) -> Req {
    let mut h = pairs(&[
        ("accept-encoding", "identity"),
        ("host", "127.0.0.1:18080"),
        ("x-acs-version", "2019-03-15"),
        ("x-acs-action", action),
        ("user-agent", UA),
        ("x-acs-date", "2026-11-24T20:19:53Z"),
        ("x-acs-signature-nonce", NONCE),
        ("accept", "application/json"),
    ]);
    if form {
        h.push((
            "content-type".into(),
            "application/x-www-form-urlencoded".into(),
        ));
    }
    let sha = if form { FORM_SHA256 } else { EMPTY_SHA256 };
    h.extend(pairs(&[
        ("x-acs-content-sha256", sha),
        ("x-acs-credentials-provider", "static_ak"),
        ("authorization", auth),
    ]));
    let (query, body) = if form {
        (Vec::new(), FORM_BODY.into())
    } else {
        (
            pairs(&[("ExecutionName", "e/1+2"), ("FlowName", "my flow*~")]),
            Vec::new(),
        )
    };
    Req {
        method,
        query,
        headers: h,
        body,
    }
}

pub(super) fn v3_post() -> Req {
    v3("POST", "StartExecution", V3_POST_AUTH, true)
}

pub(super) fn v3_get() -> Req {
    v3("GET", "DescribeExecution", V3_GET_AUTH, false)
}

/// `claim` then `verify` at the signing time plus `skew_ms`, with `secret`.
pub(super) fn check(req: &Req, secret: &str, skew_ms: i64) -> Result<Claim, SignatureError> {
    let signed = req.signed();
    let claim = claim(&signed)?.ok_or(SignatureError::Malformed("unsigned".into()))?;
    verify(&signed, &claim, secret, DATE_MS.saturating_add(skew_ms)).map(|()| claim)
}

pub(super) fn is_malformed(r: Result<Claim, SignatureError>) -> bool {
    matches!(r, Err(SignatureError::Malformed(_)))
}
