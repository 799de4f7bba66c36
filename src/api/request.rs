//! Turning an HTTP request (or a direct-invoke payload) into a typed fnf request.
//! Parameters come from the query string and from a form-encoded or JSON body, the way the
//! official SDKs send them (api.md, "Wire protocol").

use std::collections::HashMap;

use serde_json::{Map, Value};

use crate::error::FnfError;

/// The only API version served.
pub const API_VERSION: &str = "2019-03-15";
/// Largest request body accepted. A 128 KiB definition, form-encoded, fits with room to spare.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;
/// Most parameters one request may carry (the SDK's signature fields included).
const MAX_PARAMS: usize = 64;

/// An HTTP request, whatever carried it (API Gateway 1.0/2.0, a function URL, `serve`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HttpRequest {
    pub method: String,
    /// The raw (percent-encoded) path as the client sent it, stage included (V3 signatures
    /// cover it); empty when unknown, which counts as `/`.
    pub path: String,
    /// Decoded query parameters in their order.
    pub query: Vec<(String, String)>,
    /// Header names lower-cased.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl HttpRequest {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// The parameters of one call, by their PascalCase names.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Params(HashMap<String, String>);

impl Params {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    /// A parameter that must be present and non-empty.
    pub fn required(&self, name: &str) -> Result<&str, FnfError> {
        match self.get(name) {
            Some(v) if !v.is_empty() => Ok(v),
            _ => Err(FnfError::MissingRequiredParams(name.to_owned())),
        }
    }

    /// A parameter that may be absent; an empty value counts as absent, as the SDKs send them.
    pub fn optional(&self, name: &str) -> Option<&str> {
        self.get(name).filter(|v| !v.is_empty())
    }

    fn insert(&mut self, name: String, value: String) -> Result<(), FnfError> {
        if self.0.len() >= MAX_PARAMS && !self.0.contains_key(&name) {
            return Err(FnfError::InvalidArgument(format!(
                "the request carries more than {MAX_PARAMS} parameters"
            )));
        }
        self.0.insert(name, value);
        Ok(())
    }
}

impl<const N: usize> From<[(&str, &str); N]> for Params {
    fn from(pairs: [(&str, &str); N]) -> Params {
        Params(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }
}

/// A decoded fnf call: which action, and its parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct FnfRequest {
    pub action: String,
    pub params: Params,
}

/// Decodes an HTTP request: query parameters first, then the body's (the body wins a clash).
/// In a V1-signed request the query's `AccessKeyId` is the signer's (both SDKs put it there,
/// over any the caller set), so it is not an action parameter: an action's `AccessKeyId`
/// (UpdateAccessKey, DeleteAccessKey) comes in the body.
pub fn decode_http(req: &HttpRequest) -> Result<FnfRequest, FnfError> {
    if req.body.len() > MAX_BODY_BYTES {
        return Err(FnfError::EntityTooLarge(MAX_BODY_BYTES));
    }
    let mut params = Params::default();
    let v1 = super::signature::is_v1(&req.query);
    for (k, v) in &req.query {
        if v1 && k == "AccessKeyId" {
            continue;
        }
        params.insert(k.clone(), v.clone())?;
    }
    if !req.body.is_empty() {
        let media = req
            .header("content-type")
            .and_then(|ct| ct.split(';').next())
            .map(|m| m.trim().to_ascii_lowercase())
            .unwrap_or_default();
        match media.as_str() {
            "application/x-www-form-urlencoded" => {
                for (k, v) in form_urlencoded::parse(&req.body) {
                    params.insert(k.into_owned(), v.into_owned())?;
                }
            }
            "application/json" => {
                let value: Value = serde_json::from_slice(&req.body).map_err(|e| {
                    FnfError::InvalidArgument(format!("the JSON body does not parse: {e}"))
                })?;
                let Value::Object(map) = value else {
                    return Err(FnfError::InvalidArgument(
                        "the JSON body must be an object".into(),
                    ));
                };
                json_params(map, &mut params)?;
            }
            _ => return Err(FnfError::UnsupportedMediaType),
        }
    }
    // An empty header counts as absent, like an empty parameter (else `x-acs-action:` with no
    // value would route to an action named "").
    let header = |name| req.header(name).filter(|v| !v.is_empty());
    finish(params, header("x-acs-action"), header("x-acs-version"))
}

/// Decodes a direct-invoke payload that is already an fnf request object.
pub fn decode_direct(payload: Map<String, Value>) -> Result<FnfRequest, FnfError> {
    let mut params = Params::default();
    json_params(payload, &mut params)?;
    finish(params, None, None)
}

/// JSON values become parameter strings; objects and arrays (e.g. `Input` given as an object,
/// handy with curl) become their JSON text.
fn json_params(map: Map<String, Value>, params: &mut Params) -> Result<(), FnfError> {
    for (k, v) in map {
        let text = match v {
            Value::Null => continue,
            Value::String(s) => s,
            Value::Bool(_) | Value::Number(_) => v.to_string(),
            other => other.to_string(),
        };
        params.insert(k, text)?;
    }
    Ok(())
}

/// Routes on `Action` and checks `Version` (optional: absent means the one version we serve).
fn finish(
    params: Params,
    header_action: Option<&str>,
    header_version: Option<&str>,
) -> Result<FnfRequest, FnfError> {
    let action = match params.optional("Action").or(header_action) {
        Some(a) => a.to_owned(),
        None => return Err(FnfError::MissingRequiredParams("Action".into())),
    };
    if let Some(version) = params.optional("Version").or(header_version)
        && version != API_VERSION
    {
        return Err(FnfError::ApiVersionNotSupported(version.to_owned()));
    }
    Ok(FnfRequest { action, params })
}
