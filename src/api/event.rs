//! Lambda events in and out: API Gateway REST (payload 1.0), HTTP API and function URLs
//! (payload 2.0), and direct invokes whose payload is already an fnf request.

use aws_lambda_events::apigw::{
    ApiGatewayProxyRequest, ApiGatewayProxyResponse, ApiGatewayV2httpRequest,
    ApiGatewayV2httpResponse,
};
use aws_lambda_events::encodings::Body;
use aws_lambda_events::http::{HeaderMap, HeaderValue};
use base64::Engine;
use serde_json::{Map, Value};

use super::request::{HttpRequest, MAX_BODY_BYTES};
use crate::dispatch::Continuation;
use crate::dispatch::invoke::CONTINUATION_KEY;
use crate::error::FnfError;

/// The key of the sweep event.
pub const SWEEP_KEY: &str = "fnfSweep";

/// What an incoming Lambda event is, by its shape.
#[derive(Debug)]
pub enum Incoming {
    Http(Flavor, HttpRequest),
    Direct(Map<String, Value>),
    /// This function's own continuation (an async Invoke; never reachable from HTTP, whose
    /// events are recognized first and whose bodies are only ever fnf parameters).
    Continuation(Continuation),
    /// The periodic sweep (the schedule in template.yaml sends `{"fnfSweep": {}}`).
    Sweep,
}

/// How to answer: the response shape follows the event's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    /// REST API proxy, payload 1.0.
    V1,
    /// HTTP API or function URL, payload 2.0.
    V2,
    /// A direct invoke: the answer is the fnf JSON itself.
    Direct,
}

/// Recognizes the event by its shape. On failure, says which shape to answer the error in.
pub fn classify(event: Value) -> Result<Incoming, (Flavor, FnfError)> {
    let Value::Object(mut map) = event else {
        return Err((
            Flavor::Direct,
            FnfError::InvalidArgument("the event must be a JSON object".into()),
        ));
    };
    drop_empty_query_values(&mut map);
    let is_v2 = map.get("version").and_then(Value::as_str) == Some("2.0")
        || map
            .get("requestContext")
            .and_then(|c| c.get("http"))
            .is_some();
    if is_v2 {
        let req: ApiGatewayV2httpRequest =
            serde_json::from_value(Value::Object(map)).map_err(|e| (Flavor::V2, malformed(e)))?;
        return from_v2(req)
            .map(|r| Incoming::Http(Flavor::V2, r))
            .map_err(|e| (Flavor::V2, e));
    }
    if map.contains_key("httpMethod") {
        let req: ApiGatewayProxyRequest =
            serde_json::from_value(Value::Object(map)).map_err(|e| (Flavor::V1, malformed(e)))?;
        return from_v1(req)
            .map(|r| Incoming::Http(Flavor::V1, r))
            .map_err(|e| (Flavor::V1, e));
    }
    if let Some(c) = map.get(CONTINUATION_KEY) {
        return serde_json::from_value(c.clone())
            .map(Incoming::Continuation)
            .map_err(|e| (Flavor::Direct, malformed(e)));
    }
    if map.contains_key(SWEEP_KEY) {
        return Ok(Incoming::Sweep);
    }
    if map.contains_key("Action") {
        return Ok(Incoming::Direct(map));
    }
    Err((
        Flavor::Direct,
        FnfError::InvalidArgument(
            "the event is neither an API Gateway / function URL request nor an fnf request with an Action".into(),
        ),
    ))
}

/// A query parameter given as an empty list carries no value: dropped before the event types
/// read it, since their `QueryMap` iterator panics on one (a fuzz finding, issue 12).
fn drop_empty_query_values(map: &mut Map<String, Value>) {
    for key in ["multiValueQueryStringParameters", "queryStringParameters"] {
        if let Some(Value::Object(params)) = map.get_mut(key) {
            params.retain(|_, v| v.as_array().is_none_or(|a| !a.is_empty()));
        }
    }
}

fn malformed(err: serde_json::Error) -> FnfError {
    FnfError::InvalidArgument(format!("the event is malformed: {err}"))
}

fn from_v1(req: ApiGatewayProxyRequest) -> Result<HttpRequest, FnfError> {
    // Multi-value parameters keep repeats; API Gateway fills both maps.
    let source = if req.multi_value_query_string_parameters.is_empty() {
        &req.query_string_parameters
    } else {
        &req.multi_value_query_string_parameters
    };
    let query = source
        .iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    Ok(HttpRequest {
        method: req.http_method.to_string(),
        // The client's path, stage included, is in the request context.
        path: req
            .request_context
            .path
            .clone()
            .or(req.path.clone())
            .unwrap_or_default(),
        query,
        headers: headers(&req.headers),
        body: body(req.body, req.is_base64_encoded)?,
    })
}

fn from_v2(req: ApiGatewayV2httpRequest) -> Result<HttpRequest, FnfError> {
    // The raw query string is exact (order, repeats, encoding); the map is a fallback.
    let query = match req.raw_query_string.as_deref() {
        Some(raw) if !raw.is_empty() => form_urlencoded::parse(raw.as_bytes())
            .into_owned()
            .collect(),
        _ => req
            .query_string_parameters
            .iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect(),
    };
    Ok(HttpRequest {
        method: req.request_context.http.method.to_string(),
        path: req.raw_path.clone().unwrap_or_default(),
        query,
        headers: headers(&req.headers),
        body: body(req.body, req.is_base64_encoded)?,
    })
}

fn headers(map: &HeaderMap) -> Vec<(String, String)> {
    map.iter()
        .filter_map(|(k, v)| Some((k.as_str().to_owned(), v.to_str().ok()?.to_owned())))
        .collect()
}

fn body(body: Option<String>, base64: bool) -> Result<Vec<u8>, FnfError> {
    let Some(body) = body else {
        return Ok(Vec::new());
    };
    // Checked before decoding so that a huge body costs no decoding work.
    if body.len() > MAX_BODY_BYTES * 4 / 3 + 4 {
        return Err(FnfError::EntityTooLarge(MAX_BODY_BYTES));
    }
    if !base64 {
        return Ok(body.into_bytes());
    }
    base64::engine::general_purpose::STANDARD
        .decode(body.trim())
        .map_err(|e| FnfError::InvalidArgument(format!("the body is not valid base64: {e}")))
}

/// Wraps an fnf answer (status + JSON body) in the response shape of the event's flavor.
pub fn respond(flavor: Flavor, status: u16, body: Value, request_id: &str) -> Value {
    if flavor == Flavor::Direct {
        return body;
    }
    let mut headers = HeaderMap::new();
    headers.insert("content-type", HeaderValue::from_static("application/json"));
    if let Ok(id) = HeaderValue::from_str(request_id) {
        headers.insert("x-acs-request-id", id);
    }
    let text = Body::Text(body.to_string());
    let encoded = match flavor {
        Flavor::V1 => {
            let mut r = ApiGatewayProxyResponse::default();
            r.status_code = i64::from(status);
            r.headers = headers;
            r.body = Some(text);
            serde_json::to_value(r)
        }
        _ => {
            let mut r = ApiGatewayV2httpResponse::default();
            r.status_code = i64::from(status);
            r.headers = headers;
            r.body = Some(text);
            serde_json::to_value(r)
        }
    };
    // Serializing these plain structs cannot fail; fall back to the bare body regardless.
    encoded.unwrap_or(body)
}
