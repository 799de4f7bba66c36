//! The signature verifier (`api::signature::claim` / `verify`): requests signed here with an
//! independent reimplementation of the SDKs' V1 and V3 schemes must verify, and any single
//! change to a signed part (a parameter, the method, the path, a signed header, the body, the
//! signature, the secret, the time) must not. Random near-signed requests must not panic.

use base64::Engine as _;
use fnf_lambda::api::HttpRequest;
use fnf_lambda::api::signature::{self, Claim, SignatureError, SignedRequest};
use hmac::{KeyInit, Mac};
use sha2::{Digest, Sha256};

use super::rng::{Rng, note};

const T: i64 = 1_795_076_800_000;
const DATE: &str = "2026-11-19T08:26:40Z";
const SECRET: &str = "s3cr3t-Key/+=";

fn enc(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Random API parameters with distinct keys (a V3 query key avoids `&`, `=` and controls).
fn api_params(rng: &mut Rng) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = vec![
        (
            "Action".into(),
            (*rng.pick(&["ListFlows", "StartExecution"])).into(),
        ),
        ("Version".into(), "2019-03-15".into()),
    ];
    for _ in 0..rng.range(0, 5) {
        let key = rng
            .string(8)
            .replace(['&', '=', '\n', '\r', '\t', '\0', '\u{7f}', '\u{1c}'], "");
        if !key.is_empty() && !out.iter().any(|(k, _)| *k == key) && !key.starts_with("Signature") {
            out.push((key, rng.string(20)));
        }
    }
    out
}

fn form(pairs: &[(String, String)]) -> Vec<u8> {
    let mut s = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        s.append_pair(k, v);
    }
    s.finish().into_bytes()
}

/// A V1 request as the SDKs send it: GET with everything in the query, or POST with the API
/// parameters in a form body.
fn signed_v1(rng: &mut Rng) -> HttpRequest {
    let api = api_params(rng);
    let post = rng.one_in(2);
    let mut query: Vec<(String, String)> = vec![
        ("AccessKeyId".into(), "LTAI-key".into()),
        ("SignatureMethod".into(), "HMAC-SHA1".into()),
        ("SignatureVersion".into(), "1.0".into()),
        ("SignatureNonce".into(), format!("nonce-{}", rng.next())),
        ("Timestamp".into(), DATE.into()),
    ];
    if rng.one_in(3) {
        query.push(("SignatureType".into(), String::new()));
    }
    let (body, headers) = if post {
        let headers = vec![(
            "content-type".to_owned(),
            "application/x-www-form-urlencoded".to_owned(),
        )];
        (form(&api), headers)
    } else {
        query.extend(api.iter().cloned());
        (Vec::new(), vec![])
    };
    let mut all: Vec<(String, String)> = query
        .iter()
        .chain(if post { api.iter() } else { [].iter() })
        .cloned()
        .collect();
    all.sort();
    let canonical: Vec<String> = all
        .iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect();
    let method = if post { "POST" } else { "GET" };
    let to_sign = format!("{method}&%2F&{}", enc(&canonical.join("&")));
    let mut mac =
        hmac::Hmac::<sha1::Sha1>::new_from_slice(format!("{SECRET}&").as_bytes()).unwrap();
    mac.update(to_sign.as_bytes());
    let sig = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    query.push(("Signature".into(), sig));
    HttpRequest {
        method: method.into(),
        path: "/".into(),
        query,
        headers,
        body,
    }
}

/// Signs `req` (V3) over the headers it has; `Authorization` is added last.
fn sign_v3(req: &mut HttpRequest) {
    let mut names: Vec<String> = req.headers.iter().map(|(k, _)| k.clone()).collect();
    names.sort();
    let mut query = req.query.clone();
    query.sort();
    let q: Vec<String> = query
        .iter()
        .map(|(k, v)| format!("{k}={}", enc(v)))
        .collect();
    let h: String = names
        .iter()
        .map(|n| format!("{n}:{}\n", req.header(n).unwrap()))
        .collect();
    let payload = hex(&Sha256::digest(&req.body));
    let canonical = format!(
        "{}\n{}\n{}\n{h}\n{}\n{payload}",
        req.method,
        req.path,
        q.join("&"),
        names.join(";")
    );
    let to_sign = format!(
        "ACS3-HMAC-SHA256\n{}",
        hex(&Sha256::digest(canonical.as_bytes()))
    );
    let mut mac = hmac::Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(to_sign.as_bytes());
    let sig = hex(&mac.finalize().into_bytes());
    let auth = format!(
        "ACS3-HMAC-SHA256 Credential=LTAI-key,SignedHeaders={},Signature={sig}",
        names.join(";")
    );
    req.headers.push(("authorization".into(), auth));
}

fn signed_v3(rng: &mut Rng) -> HttpRequest {
    let api = api_params(rng);
    let post = rng.one_in(2);
    let body = if post { form(&api[2..]) } else { Vec::new() };
    let mut headers = vec![
        ("host".to_owned(), "fnf.example.com".to_owned()),
        ("x-acs-date".to_owned(), DATE.to_owned()),
        (
            "x-acs-signature-nonce".to_owned(),
            format!("n{}", rng.next()),
        ),
        (
            "x-acs-content-sha256".to_owned(),
            hex(&Sha256::digest(&body)),
        ),
        ("x-acs-action".to_owned(), api[0].1.clone()),
        ("x-acs-version".to_owned(), api[1].1.clone()),
    ];
    if post {
        headers.push((
            "content-type".into(),
            "application/x-www-form-urlencoded".into(),
        ));
    }
    if rng.one_in(2) {
        headers.push(("accept".into(), "application/json".into()));
    }
    let query = if post { vec![] } else { api[2..].to_vec() };
    let method = if post { "POST" } else { "GET" };
    let path = (*rng.pick(&["/", "/2019-03-15/flows", "/a%20b"])).to_owned();
    let mut req = HttpRequest {
        method: method.into(),
        path,
        query,
        headers,
        body,
    };
    sign_v3(&mut req);
    req
}

/// The verifier's answer for `req`, as of `now`.
fn verdict(req: &HttpRequest, secret: &str, now: i64) -> Result<Claim, SignatureError> {
    let signed = SignedRequest::from_http(req);
    let claim = signature::claim(&signed)?.ok_or(SignatureError::Malformed("unsigned".into()))?;
    signature::verify(&signed, &claim, secret, now)?;
    Ok(claim)
}

/// A string that differs from `s` even once stripped of surrounding whitespace (V3 header
/// values are compared stripped, as the SDK signs them).
fn other(rng: &mut Rng, s: &str) -> String {
    format!("{s}{}x", rng.string(3))
}

/// One change to a signed part of `req`; its name, for the report.
fn mutate(rng: &mut Rng, req: &mut HttpRequest, v3: bool) -> &'static str {
    loop {
        match rng.below(9) {
            0 if !req.query.is_empty() => {
                let i = rng.below(req.query.len());
                let v = other(rng, &req.query[i].1);
                req.query[i].1 = v;
                return "a query value changed";
            }
            1 if !req.query.is_empty() => {
                req.query.remove(rng.below(req.query.len()));
                return "a query parameter removed";
            }
            2 => {
                req.query
                    .push((format!("Extra{}", rng.below(100)), rng.string(5)));
                return "a query parameter added";
            }
            3 if !req.body.is_empty() => {
                let mut pairs: Vec<(String, String)> =
                    form_urlencoded::parse(&req.body).into_owned().collect();
                let i = rng.below(pairs.len());
                let v = other(rng, &pairs[i].1);
                pairs[i].1 = v;
                req.body = form(&pairs);
                return "a body parameter changed";
            }
            4 => {
                req.method = if req.method == "GET" {
                    "POST".into()
                } else {
                    "GET".into()
                };
                return "the method changed";
            }
            5 => {
                let auth = req.headers.iter().position(|(k, _)| k == "authorization");
                let (slot, at) = match auth {
                    Some(i) => (&mut req.headers[i].1, None),
                    None => {
                        let i = req
                            .query
                            .iter()
                            .position(|(k, _)| k == "Signature")
                            .unwrap();
                        (&mut req.query[i].1, Some(()))
                    }
                };
                // Change one character of the signature itself (after `Signature=` in V3).
                let start = if at.is_none() {
                    slot.rfind('=').unwrap() + 1
                } else {
                    0
                };
                let i = rng.range(start, slot.len() - 1);
                let c = slot.as_bytes()[i];
                let d = if c == b'a' { "b" } else { "a" };
                slot.replace_range(i..=i, d);
                return "one character of the signature changed";
            }
            6 if v3 => {
                let signed = [
                    "host",
                    "x-acs-date",
                    "x-acs-signature-nonce",
                    "x-acs-action",
                    "x-acs-version",
                    "accept",
                    "content-type",
                ];
                let i = req
                    .headers
                    .iter()
                    .position(|(k, _)| k == *rng.pick(&signed));
                if let Some(i) = i {
                    let v = other(rng, &req.headers[i].1);
                    req.headers[i].1 = v;
                    return "a signed header changed";
                }
            }
            7 if v3 => {
                req.path = other(rng, &req.path);
                return "the path changed";
            }
            8 if v3 => {
                req.body.push(b'x');
                return "the body changed";
            }
            8 => {
                req.headers
                    .push(("x-acs-action".into(), "DeleteFlow".into()));
                return "an x-acs-action header that differs from Action";
            }
            _ => {}
        }
    }
}

fn show(req: &HttpRequest) -> String {
    format!("{req:?}")
}

#[test]
fn signed_requests_verify_and_mutations_do_not() {
    super::rng::run("signed_requests", 4.0, |rng| {
        let v3 = rng.one_in(2);
        let req = if v3 { signed_v3(rng) } else { signed_v1(rng) };
        note(&show(&req));
        let claim = verdict(&req, SECRET, T)
            .map_err(|e| format!("a signed request fails: {e}: {}", show(&req)))?;
        if claim.access_key_id() != "LTAI-key" || claim.timestamp_ms() != T {
            return Err(format!("wrong claim {claim:?}"));
        }
        // Skew and secret: the same request, checked differently.
        if verdict(&req, SECRET, T + 16 * 60 * 1000).is_ok() || verdict(&req, "other", T).is_ok() {
            return Err(format!(
                "verified with a skewed clock or a wrong secret: {}",
                show(&req)
            ));
        }
        // A header the signature need not cover leaves it valid.
        let mut extra = req.clone();
        extra.headers.push(("user-agent".into(), rng.string(10)));
        verdict(&extra, SECRET, T).map_err(|e| format!("an unsigned user-agent broke it: {e}"))?;
        let mut bad = req.clone();
        let what = mutate(rng, &mut bad, v3);
        note(&show(&bad));
        match verdict(&bad, SECRET, T) {
            Ok(_) => Err(format!("verified after {what}: {}", show(&bad))),
            Err(_) => Ok(()),
        }
    });
}

#[test]
fn near_signed_requests() {
    super::rng::run("near_signed_requests", 4.0, |rng| {
        let v3 = rng.one_in(2);
        let mut req = if v3 { signed_v3(rng) } else { signed_v1(rng) };
        // Noise anywhere: a value replaced by a random one, a header or parameter repeated.
        for _ in 0..rng.range(1, 3) {
            match rng.below(4) {
                0 if !req.headers.is_empty() => {
                    let i = rng.below(req.headers.len());
                    req.headers[i].1 = rng.string(70);
                }
                1 if !req.query.is_empty() => {
                    let i = rng.below(req.query.len());
                    req.query[i].1 = rng.string(70);
                }
                2 if !req.headers.is_empty() => {
                    let h = req.headers[rng.below(req.headers.len())].clone();
                    req.headers.push(h);
                }
                _ => req.query.push((rng.string(12), rng.string(12))),
            }
        }
        note(&show(&req));
        let _ = verdict(&req, SECRET, T);
        let _ = verdict(&req, "", i64::MIN);
        let _ = verdict(&req, SECRET, i64::MAX);
        Ok(())
    });
}
