//! Tests of V1 and V3 verification against the SDK's golden vectors (fixtures.rs).

use super::fixtures::*;
use super::*;

#[test]
fn sdk_signatures_verify() {
    let expected = |v3: bool| {
        let (access_key_id, nonce) = (AK.to_owned(), NONCE.to_owned());
        if v3 {
            Claim::V3 {
                access_key_id,
                nonce,
                timestamp_ms: DATE_MS,
            }
        } else {
            Claim::V1 {
                access_key_id,
                nonce,
                timestamp_ms: DATE_MS,
            }
        }
    };
    assert_eq!(check(&v1_post(), SECRET, 0), Ok(expected(false)));
    assert_eq!(check(&v1_get(), SECRET, 0), Ok(expected(false)));
    assert_eq!(check(&v3_post(), SECRET, 0), Ok(expected(true)));
    assert_eq!(check(&v3_get(), SECRET, 0), Ok(expected(true)));
    let old = check(&old_sdk_post(), SECRET, 0).unwrap();
    assert_eq!(old.nonce(), "2b4a3e6e-5a1f-4c1b-9d9b-0c6f2f1e7d11");
    assert_eq!((old.access_key_id(), old.timestamp_ms()), (AK, DATE_MS));
}

#[test]
fn intermediate_strings_match_the_sdk() {
    let get = v1_get();
    let Some(Parsed::V1(p)) = parse(&get.signed()).unwrap() else {
        panic!("not V1")
    };
    assert_eq!(p.string_to_sign("GET"), V1_GET_STS);
    let get = v3_get();
    let Some(Parsed::V3(p)) = parse(&get.signed()).unwrap() else {
        panic!("not V3")
    };
    assert!(p.canonical_request.starts_with(
        "GET\n/\nExecutionName=e%2F1%2B2&FlowName=my%20flow%2A~\naccept:application/json\nhost:"
    ));
    assert!(
        p.canonical_request
            .ends_with(&format!("x-acs-version\n{EMPTY_SHA256}"))
    );
    assert_eq!(p.string_to_sign(), V3_GET_STS);
}

#[test]
fn one_changed_byte_does_not_match() {
    let wrong_secret = "t3st+Secret/=&\u{ea}";
    for req in [v1_post(), v1_get(), v3_post(), v3_get(), old_sdk_post()] {
        assert_eq!(
            check(&req, wrong_secret, 0),
            Err(SignatureError::SignatureNotMatch)
        );
        assert_eq!(check(&req, "", 0), Err(SignatureError::SignatureNotMatch));
        let mut r = req.clone();
        r.method = if req.method == "GET" { "POST" } else { "GET" };
        assert!(check(&r, SECRET, 0).is_err());
    }
    let not_match = |r: &Req| check(r, SECRET, 0) == Err(SignatureError::SignatureNotMatch);
    let mut r = v1_post();
    r.body[32] ^= 1; // FlowName=my-flow -> mx-flow
    assert!(not_match(&r));
    let mut r = v1_get();
    Req::set(&mut r.query, "FlowName", "my flow*}");
    assert!(not_match(&r));
    let mut r = v1_get();
    r.query.push(("Qualifier".into(), "1".into()));
    assert!(not_match(&r));
    let mut r = v1_get();
    Req::set(&mut r.query, "Signature", "/6RYuB4OHLyOnl7Rwhcqo2I3+V9=");
    assert!(not_match(&r));
    let mut r = v3_post();
    r.body[32] ^= 1;
    assert!(not_match(&r));
    // Even with the body's new hash stated, the signature no longer covers it.
    let new_hash = hex_lower(&<sha2::Sha256 as sha2::Digest>::digest(&r.body));
    Req::set(&mut r.headers, "x-acs-content-sha256", &new_hash);
    assert!(not_match(&r));
    let mut r = v3_get();
    Req::set(&mut r.headers, "user-agent", &UA.replace("3.11", "3.12"));
    assert!(not_match(&r));
    let mut r = v3_get();
    Req::set(&mut r.query, "ExecutionName", "e/1+3");
    assert!(not_match(&r));
    let mut r = v3_get();
    Req::set(&mut r.headers, "x-acs-action", "DeleteFlow");
    assert!(not_match(&r));
    // Unsigned headers may change: they are not in SignedHeaders.
    let mut r = v3_get();
    Req::set(&mut r.headers, "accept-encoding", "gzip");
    assert!(check(&r, SECRET, 0).is_ok());
}

#[test]
fn skew_over_fifteen_minutes_is_refused() {
    let minute = 60_000;
    for req in [v1_post(), v3_get()] {
        for skew in [-16 * minute, 16 * minute, 15 * minute + 1] {
            let err = check(&req, SECRET, skew).unwrap_err();
            let now_ms = DATE_MS + skew;
            assert_eq!(
                err,
                SignatureError::RequestTimeTooSkewed {
                    request_ms: DATE_MS,
                    now_ms
                }
            );
        }
        assert!(check(&req, SECRET, 15 * minute).is_ok());
        assert!(check(&req, SECRET, -15 * minute).is_ok());
    }
}

#[test]
fn missing_headers() {
    let missing = |name: &str| Err(SignatureError::MissingRequiredHeader(name.into()));
    for name in ["user-agent", "accept", "x-acs-credentials-provider"] {
        let mut r = v3_get();
        Req::remove(&mut r.headers, name);
        assert_eq!(check(&r, SECRET, 0), missing(name));
    }
    for name in [
        "x-acs-date",
        "x-acs-signature-nonce",
        "x-acs-content-sha256",
        "host",
    ] {
        let mut r = v3_post();
        Req::remove(&mut r.headers, name);
        assert_eq!(check(&r, SECRET, 0), missing(name));
    }
}

#[test]
fn malformed_v3() {
    let with_auth = |auth: &str| {
        let mut r = v3_get();
        Req::set(&mut r.headers, "authorization", auth);
        check(&r, SECRET, 0)
    };
    let garbage = [
        "",
        "garbage",
        "ACS3-HMAC-SHA256",
        "ACS3-HMAC-SHA256 ",
        "ACS3-HMAC-SM3 Credential=a,SignedHeaders=host,Signature=00",
        "AWS4-HMAC-SHA256 Credential=a/b/c, SignedHeaders=host, Signature=00",
        "acs LTAI5tTestAccessKey:abc=",
        "ACS3-HMAC-SHA256 Credential=,SignedHeaders=host,Signature=",
        "ACS3-HMAC-SHA256 Credential=a,SignedHeaders=host,Signature=zz",
        "ACS3-HMAC-SHA256 Credential=a,SignedHeaders=Host,Signature=00",
        "ACS3-HMAC-SHA256 Credential=a,SignedHeaders=accept,Signature=00",
        "ACS3-HMAC-SHA256 Credential=a,Credential=a,SignedHeaders=host,Signature=00",
        "ACS3-HMAC-SHA256 Credential=a,SignedHeaders=host;;accept,Signature=00",
        &V3_GET_AUTH.replace("Signature=db", "Signature=d"),
        &V3_GET_AUTH.replace(",Signature", ",Extra=1,Signature"),
    ];
    for auth in garbage {
        assert!(is_malformed(with_auth(auth)), "{auth:?}");
    }
    let mut r = v3_get();
    r.headers
        .push(("x-acs-security-token".into(), "unsigned".into()));
    assert!(is_malformed(check(&r, SECRET, 0)));
    let mut r = v3_get();
    r.headers.push(("authorization".into(), V3_GET_AUTH.into()));
    assert!(is_malformed(check(&r, SECRET, 0)));
    let mut r = v3_get();
    r.query.push(("FlowName".into(), "other".into()));
    assert!(is_malformed(check(&r, SECRET, 0)));
    let mut r = v3_get();
    Req::set(&mut r.headers, "x-acs-date", "2026-11-24 20:19:53");
    assert!(is_malformed(check(&r, SECRET, 0)));
    let mut r = v3_get();
    r.query
        .extend(v1_query("DescribeExecution", &[], V1_GET_SIG));
    assert!(is_malformed(check(&r, SECRET, 0)));
}

#[test]
fn malformed_v1() {
    let variants: [(&str, &str); 7] = [
        ("SignatureMethod", "HMAC-SHA256"),
        ("SignatureVersion", "2.0"),
        ("Timestamp", "2026-11-24T20:19:53"),
        ("Timestamp", "2026-02-30T20:19:53Z"),
        ("SignatureNonce", ""),
        ("AccessKeyId", "a b"),
        ("SignatureType", "BEARERTOKEN"),
    ];
    for (name, value) in variants {
        let mut r = v1_get();
        if r.query.iter().any(|(k, _)| k == name) {
            Req::set(&mut r.query, name, value);
        } else {
            r.query.push((name.into(), value.into()));
        }
        assert!(is_malformed(check(&r, SECRET, 0)), "{name}={value}");
    }
    for name in [
        "Signature",
        "SignatureNonce",
        "Timestamp",
        "SignatureMethod",
    ] {
        let mut r = v1_get();
        Req::remove(&mut r.query, name);
        assert!(is_malformed(check(&r, SECRET, 0)), "without {name}");
    }
    let mut r = v1_get();
    r.query.push(("FlowName".into(), "other".into()));
    assert!(is_malformed(check(&r, SECRET, 0)));
    let mut r = v1_post();
    r.body.extend_from_slice(b"&FlowName=other");
    assert!(is_malformed(check(&r, SECRET, 0)));
    let mut r = v1_post();
    Req::set(&mut r.headers, "content-type", "application/json");
    assert!(is_malformed(check(&r, SECRET, 0)));
    // Signed, but the unsigned header says another action.
    let mut r = v1_get();
    Req::set(&mut r.headers, "x-acs-action", "DeleteFlow");
    assert!(is_malformed(check(&r, SECRET, 0)));
}

#[test]
fn unsigned_and_foreign_claims() {
    let r = Req {
        method: "GET",
        query: pairs(&[("Action", "ListFlows")]),
        headers: vec![],
        body: vec![],
    };
    assert_eq!(claim(&r.signed()), Ok(None));
    let other = claim(&v1_get().signed()).unwrap().unwrap();
    assert!(matches!(
        verify(&r.signed(), &other, SECRET, DATE_MS),
        Err(SignatureError::Malformed(_))
    ));
    let v3 = claim(&v3_get().signed()).unwrap().unwrap();
    let post = v1_post();
    assert!(matches!(
        verify(&post.signed(), &v3, SECRET, DATE_MS),
        Err(SignatureError::Malformed(_))
    ));
}

#[test]
fn timestamps_and_encoding() {
    assert_eq!(parse_iso8601("1970-01-01T00:00:00Z"), Some(0));
    assert_eq!(parse_iso8601("2026-11-24T20:19:53Z"), Some(DATE_MS));
    assert_eq!(
        parse_iso8601("2024-02-29T00:00:00.5Z"),
        Some(1_709_164_800_500)
    );
    assert_eq!(parse_iso8601("1969-12-31T23:59:59.999999999Z"), Some(-1));
    for bad in [
        "",
        "2026-11-24T24:00:00Z",
        "2023-02-29T00:00:00Z",
        "2026-11-24T20:19:53.Z",
        "+026-11-24T20:19:53Z",
        "2026-11-24T20:19:53+00:00",
        "2026-11-24t20:19:53Z",
    ] {
        assert_eq!(parse_iso8601(bad), None, "{bad}");
    }
    let mut s = String::new();
    percent_encode("aZ09-_.~ *+/%&=\u{e9}", &mut s);
    assert_eq!(s, "aZ09-_.~%20%2A%2B%2F%25%26%3D%C3%A9");
    assert_eq!(hex_decode("00ffAB"), Some(vec![0, 255, 171]));
    assert_eq!(hex_decode("0g"), None);
}

#[test]
fn arbitrary_input_never_panics() {
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    // Fragments, so that near-valid headers and timestamps come up too.
    let alphabet: Vec<&str> = concat!(
        "a|Z|0|9|=|,|;|&|%|+| |.|:|-|T|\u{e9}|\u{1c}|\n|\r|\t|\u{3000}|ff|host|x-acs-|",
        "ACS3-HMAC-SHA256 |Credential=|SignedHeaders=|Signature=|2026-11-24T20:19:53",
    )
    .split('|')
    .collect();
    let mut text = |max: u64| -> String {
        let len = next() % max;
        (0..len)
            .map(|_| alphabet[(next() % alphabet.len() as u64) as usize])
            .collect()
    };
    for i in 0..1500 {
        let mut r = if i % 2 == 0 { v3_get() } else { v1_post() };
        let field = text(5) + &text(80);
        match i % 6 {
            0 => Req::set(&mut r.headers, "x-acs-date", &field),
            1 => Req::set(&mut r.headers, "x-acs-action", &field),
            2 => Req::set(&mut r.headers, "authorization", &field),
            3 => Req::set(&mut r.query, "Timestamp", &field),
            4 => r.headers.push((text(20), field)),
            _ => r.body = field.into_bytes(),
        }
        r.query.push((text(8), text(30)));
        let _ = check(&r, SECRET, 0);
        let _ = check(&r, &text(10), i64::MAX);
        let _ = check(&r, SECRET, i64::MIN);
    }
}

/// The operator's V1 call naming another key (issue 12, point 9): the SDK puts the signer in
/// the query and the key acted on in the body, and signs the body's.
#[test]
fn v1_signer_is_the_query_access_key_and_the_action_keeps_the_body_one() {
    let req = v1_post_naming_a_key();
    let claim = check(&req, SECRET, 0).unwrap();
    assert_eq!(claim.access_key_id(), AK);
    let http = |r: &Req| crate::api::HttpRequest {
        method: r.method.into(),
        path: "/".into(),
        query: r.query.clone(),
        headers: r.headers.clone(),
        body: r.body.clone(),
    };
    let decoded = crate::api::request::decode_http(&http(&req)).unwrap();
    assert_eq!(
        decoded.params.get("AccessKeyId"),
        Some("FNFTARGETKEY0000000000")
    );
    // The body's key is what the signature covers.
    let mut r = req.clone();
    r.body = KEY_BODY.replace("TARGET", "OTHERS").into();
    assert_eq!(check(&r, SECRET, 0), Err(SignatureError::SignatureNotMatch));
    // Without the signer in the query the request is malformed, whatever the body says.
    let mut r = req.clone();
    Req::remove(&mut r.query, "AccessKeyId");
    assert!(is_malformed(check(&r, SECRET, 0)));
    // A V1 query's AccessKeyId is never an action parameter.
    let decoded = crate::api::request::decode_http(&http(&v1_get())).unwrap();
    assert_eq!(decoded.params.get("AccessKeyId"), None);
}

/// An `AccessKeyId` in a V3 request's query is the action's parameter, not a V1 signature.
#[test]
fn v3_may_carry_an_access_key_id_parameter_in_its_query() {
    let mut r = v3_get();
    r.query
        .push(("AccessKeyId".into(), "FNFTARGETKEY0000000000".into()));
    // Not malformed: the query is V3-signed, so the added parameter breaks the signature.
    assert_eq!(check(&r, SECRET, 0), Err(SignatureError::SignatureNotMatch));
}
