//! The HTTP decoder (`api::request::decode_http`) and the whole HTTP path (`api::handle_http`)
//! against the embedded service: random methods, headers, content types, bodies, query strings,
//! percent-encoding, huge and repeated parameters. Every answer is an fnf answer, never a 500.

use fnf_lambda::api::{self, HttpRequest, request};
use serde_json::{Map, Value};

use super::harness::{check_body, runtime, service};
use super::json;
use super::rng::{Rng, note};
use crate::common::{CLOUDFLOW_SEED, FDL_SEED};

/// The served actions, and names that are not (mis-cased, unknown, empty).
pub fn actions() -> Vec<&'static str> {
    let mut all = fnf_lambda::service::ACTIONS.to_vec();
    all.extend(["startexecution", "Nope", ""]);
    all
}

pub const PARAMS: &[&str] = &[
    "Action",
    "Version",
    "FlowName",
    "Name",
    "ExecutionName",
    "Input",
    "Definition",
    "Type",
    "Description",
    "RoleArn",
    "Limit",
    "NextToken",
    "Qualifier",
    "VersionId",
    "AliasName",
    "TaskToken",
    "Output",
    "Error",
    "Cause",
    "Status",
    "StartedTimeBegin",
    "StartedTimeEnd",
    "CallbackFnFTaskToken",
    "AccountId",
    "AccessKeyId",
    "Policy",
    "Format",
    "RequestId",
];

/// A parameter value: what the action expects, a near miss, or noise.
fn param_value(rng: &mut Rng, name: &str) -> String {
    let actions = actions();
    let typical: &[&str] = match name {
        "Action" => &actions,
        "Version" => &["2019-03-15", "2019-03-14", ""],
        "FlowName" | "Name" => &["f", "my_flow_name", "g", "f2", "-"],
        "Type" => &["DEFAULT", "FDL", "default", "X"],
        "Definition" => &[
            CLOUDFLOW_SEED,
            FDL_SEED,
            "{{{",
            "a: &a [*a, *a]",
            "[[[[[[[[",
        ],
        "Limit" => &["0", "1", "-1", "1000", "99999999999999999999", "abc", "1.5"],
        "Input" | "Output" => &["{}", "{\"a\":[1,2]}", "[1]", "1", "null", "{", "\"s\""],
        "Qualifier" | "VersionId" => &["1", "0", "$LATEST", "alias", "-1"],
        _ => &["", "x"],
    };
    match rng.below(20) {
        0 => "a".repeat(rng.range(100, 300)),
        1..10 => (*rng.pick(typical)).to_owned(),
        10..14 => json::value(rng, 3, PARAMS).to_string(),
        _ => rng.string(30),
    }
}

fn params(rng: &mut Rng) -> Vec<(String, String)> {
    let mut out = Vec::new();
    if !rng.one_in(8) {
        out.push(("Action".to_owned(), (*rng.pick(&actions())).to_owned()));
    }
    let n = if rng.one_in(25) {
        rng.range(60, 90)
    } else {
        rng.range(0, 6)
    };
    for _ in 0..n {
        let name = match rng.below(5) {
            0 => rng.string(10),
            _ => (*rng.pick(PARAMS)).to_owned(),
        };
        let value = param_value(rng, &name);
        out.push((name, value));
    }
    if rng.one_in(30) {
        // One huge value: the body limit or the definition limit must refuse it cleanly.
        let len = *rng.pick(&[129 * 1024, 600 * 1024, 1024 * 1024 + 1]);
        out.push(((*rng.pick(PARAMS)).to_owned(), "x".repeat(len)));
    }
    if !out.is_empty() && rng.one_in(5) {
        let dup = out[rng.below(out.len())].clone();
        out.push(dup);
    }
    out
}

/// Form-encodes pairs, sometimes breaking the encoding.
fn form(rng: &mut Rng, pairs: &[(String, String)]) -> Vec<u8> {
    let mut s = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        s.append_pair(k, v);
    }
    let mut text = s.finish();
    if rng.one_in(4) {
        let at = rng.below(text.len() + 1);
        let at = (0..=at)
            .rev()
            .find(|i| text.is_char_boundary(*i))
            .unwrap_or(0);
        text.insert_str(
            at,
            rng.pick::<&str>(&["%", "%G", "&&", "=", "%FF%FE", "+", "%00"]),
        );
    }
    text.into_bytes()
}

fn json_body(rng: &mut Rng, pairs: &[(String, String)]) -> Vec<u8> {
    let mut map = Map::new();
    for (k, v) in pairs {
        let value = match rng.below(4) {
            0 => json::value(rng, 3, PARAMS),
            1 => serde_json::from_str(v).unwrap_or(Value::String(v.clone())),
            _ => Value::String(v.clone()),
        };
        map.insert(k.clone(), value);
    }
    let text = match rng.below(6) {
        0 => json::value(rng, 3, PARAMS).to_string(),
        1 => {
            // A body cut short (on a character boundary: the cut is the point, not UTF-8).
            let t = Value::Object(map).to_string();
            let cut = (0..=rng.below(t.len() + 1))
                .rev()
                .find(|i| t.is_char_boundary(*i));
            t[..cut.unwrap_or(0)].to_owned()
        }
        _ => Value::Object(map).to_string(),
    };
    text.into_bytes()
}

/// A random request near what the SDKs, curl and API Gateway send.
pub fn request(rng: &mut Rng) -> HttpRequest {
    let content_type = *rng.pick(&[
        "application/x-www-form-urlencoded",
        "application/json",
        "application/json; charset=utf-8",
        "APPLICATION/JSON",
        "text/plain",
        "multipart/form-data; boundary=x",
        "",
        ";",
        "application/x-www-form-urlencoded;;;",
    ]);
    let mut headers = vec![];
    if !rng.one_in(6) {
        headers.push(("content-type".to_owned(), content_type.to_owned()));
    }
    for _ in 0..rng.range(0, 3) {
        let name = *rng.pick(&[
            "x-acs-action",
            "x-acs-version",
            "content-type",
            "host",
            "x-acs-date",
            "accept",
        ]);
        headers.push((name.to_owned(), param_value(rng, "Action")));
    }
    let query = if rng.one_in(2) { params(rng) } else { vec![] };
    let pairs = params(rng);
    let body = match rng.below(6) {
        0 => vec![],
        1 => (0..rng.range(0, 64)).map(|_| rng.next() as u8).collect(),
        2 | 3 => form(rng, &pairs),
        _ => json_body(rng, &pairs),
    };
    let method = match rng.below(8) {
        0 => rng.string(6),
        _ => (*rng.pick(&["POST", "GET", "PUT", "DELETE", "", "post"])).to_owned(),
    };
    let path = (*rng.pick(&["/", "", "/%zz", "/a/../b", "/?x=1", "//"])).to_owned();
    HttpRequest {
        method,
        path,
        query,
        headers,
        body,
    }
}

fn describe(req: &HttpRequest) -> String {
    format!(
        "{} {} query={:?} headers={:?} body={}",
        req.method,
        req.path,
        req.query,
        req.headers,
        String::from_utf8_lossy(&req.body)
    )
}

#[test]
fn http_decoder() {
    super::rng::run("http_decoder", 4.0, |rng| {
        let req = request(rng);
        note(&describe(&req));
        match request::decode_http(&req) {
            Ok(fnf) if fnf.action.is_empty() => Err(format!("empty action: {}", describe(&req))),
            Ok(_) if req.body.len() > request::MAX_BODY_BYTES => Err(format!(
                "a body over the limit decoded: {} bytes",
                req.body.len()
            )),
            Ok(_) | Err(_) => Ok(()),
        }
    });
}

#[test]
fn http_handler() {
    super::rng::run("http_handler", 1.0, |rng| {
        let req = request(rng);
        note(&describe(&req));
        let answer = runtime().block_on(api::handle_http(service(), &req, "fuzz"));
        check_body(Some(i64::from(answer.status)), &answer.body)
            .map_err(|e| format!("{e}; request {}", super::rng::show(&describe(&req))))
    });
}
