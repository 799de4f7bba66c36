//! Parameter rules shared by the actions: names, sizes, page tokens, times.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use serde_json::Value;

use crate::api::Params;
use crate::error::FnfError;
use crate::store::Route;
use crate::time::parse_rfc3339;

/// Largest execution input, in bytes (the per-state data limit of CloudFlow).
pub const MAX_INPUT_BYTES: usize = 64 * 1024;

/// Longest flow description, in bytes.
pub const MAX_DESCRIPTION_BYTES: usize = 1024;
/// Longest role ARN, in bytes.
pub const MAX_ROLE_ARN_BYTES: usize = 2048;
/// Longest name of a flow or an execution.
pub const MAX_NAME_CHARS: usize = 128;

/// A parameter holding state data (`Input`, a reported `Output`): a JSON object of at most
/// `MAX_INPUT_BYTES`, nested at most `engine::MAX_DATA_DEPTH` levels.
pub fn json_object(param: &str, raw: &str) -> Result<Value, FnfError> {
    use crate::engine::{MAX_DATA_DEPTH, kind_of, nests_deeper_than};
    if raw.len() > MAX_INPUT_BYTES {
        return Err(FnfError::EntityTooLarge(MAX_INPUT_BYTES));
    }
    match serde_json::from_str::<Value>(raw) {
        Ok(v) if nests_deeper_than(&v, MAX_DATA_DEPTH) => Err(FnfError::invalid(
            param,
            format!("nests arrays and objects more than {MAX_DATA_DEPTH} levels deep"),
        )),
        Ok(v @ Value::Object(_)) => Ok(v),
        Ok(other) => Err(FnfError::invalid(
            param,
            format!("must be a JSON object, got {}", kind_of(&other)),
        )),
        Err(e) => Err(FnfError::invalid(param, format!("is not valid JSON: {e}"))),
    }
}

/// A flow or execution name: 1 to 128 of letters, digits, `_` and `-`, starting with a letter
/// or `_` (api.md, StartExecution rules).
pub fn name<'a>(params: &'a Params, param: &str) -> Result<&'a str, FnfError> {
    let value = params.required(param)?;
    check_name(param, value)?;
    Ok(value)
}

pub fn check_name(param: &str, value: &str) -> Result<(), FnfError> {
    let first_ok = value.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_');
    let rest_ok = value
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if value.len() > MAX_NAME_CHARS || !first_ok || !rest_ok {
        return Err(FnfError::invalid(
            param,
            format!(
                "{value:.64?} is not a valid name: use 1 to {MAX_NAME_CHARS} letters, digits, '_' or '-', starting with a letter or '_'"
            ),
        ));
    }
    Ok(())
}

/// An optional text parameter with a byte limit.
pub fn text<'a>(
    params: &'a Params,
    param: &str,
    max_bytes: usize,
) -> Result<Option<&'a str>, FnfError> {
    match params.optional(param) {
        Some(v) if v.len() > max_bytes => Err(FnfError::invalid(
            param,
            format!("longer than {max_bytes} bytes"),
        )),
        other => Ok(other),
    }
}

/// `Limit`: an integer in `1..=max`, `default` when absent.
pub fn limit(params: &Params, default: usize, max: usize) -> Result<usize, FnfError> {
    let Some(raw) = params.optional("Limit") else {
        return Ok(default);
    };
    match raw.parse::<usize>() {
        Ok(n) if (1..=max).contains(&n) => Ok(n),
        _ => Err(FnfError::invalid(
            "Limit",
            format!("must be an integer from 1 to {max}, got {raw:.32?}"),
        )),
    }
}

/// Page tokens are opaque to callers; inside they carry the last name of the previous page.
pub fn encode_token(after: &str) -> String {
    URL_SAFE_NO_PAD.encode(after)
}

/// Reads `NextToken`; anything we did not hand out is refused.
pub fn next_token(params: &Params) -> Result<Option<String>, FnfError> {
    next_token_of(params, |after| check_name("NextToken", after).is_ok())
}

/// Reads a `NextToken` whose key is not a flow or execution name (an account or access key
/// id): `valid` says what such a key may be.
pub fn next_token_of(
    params: &Params,
    valid: impl Fn(&str) -> bool,
) -> Result<Option<String>, FnfError> {
    let Some(token) = params.optional("NextToken") else {
        return Ok(None);
    };
    let bad = || FnfError::invalid("NextToken", "is not a token this service handed out");
    let bytes = URL_SAFE_NO_PAD.decode(token).map_err(|_| bad())?;
    let after = String::from_utf8(bytes).map_err(|_| bad())?;
    if !valid(&after) {
        return Err(bad());
    }
    Ok(Some(after))
}

/// Reads a history `NextToken`: it carries the last event id of the previous page.
pub fn next_event_token(params: &Params) -> Result<Option<u64>, FnfError> {
    let Some(token) = params.optional("NextToken") else {
        return Ok(None);
    };
    let bad = || FnfError::invalid("NextToken", "is not a token this service handed out");
    let bytes = URL_SAFE_NO_PAD.decode(token).map_err(|_| bad())?;
    let text = String::from_utf8(bytes).map_err(|_| bad())?;
    text.parse().map(Some).map_err(|_| bad())
}

/// An optional ISO-8601 time parameter, as epoch milliseconds.
pub fn time(params: &Params, param: &str) -> Result<Option<i64>, FnfError> {
    params
        .optional(param)
        .map(|v| {
            parse_rfc3339(v).ok_or_else(|| {
                FnfError::invalid(
                    param,
                    format!("{v:.40?} is not a UTC time like 2019-01-01T01:01:01.001Z"),
                )
            })
        })
        .transpose()
}

/// A parameter this version does not support yet: refused rather than silently ignored.
pub fn unsupported(params: &Params, param: &str) -> Result<(), FnfError> {
    match params.optional(param) {
        Some(_) => Err(FnfError::invalid(
            param,
            "is not supported by this fnf-lambda version yet",
        )),
        None => Ok(()),
    }
}

/// A version number as the API writes it (`"1"`, `"2"`...): digits only, from 1.
pub fn parse_version(param: &str, raw: &str) -> Result<u64, FnfError> {
    match raw.parse::<u64>() {
        Ok(v) if v >= 1 && raw.bytes().all(|b| b.is_ascii_digit()) => Ok(v),
        _ => Err(FnfError::invalid(
            param,
            format!("{raw:.32?} is not a version number (1, 2, 3...)"),
        )),
    }
}

/// Reads a `NextToken` of a version listing: it carries the last version of the page.
pub fn next_version_token(params: &Params) -> Result<Option<u64>, FnfError> {
    next_event_token(params)
}

/// `RoutingConfigurations`: a JSON array (the SDK sends the list as JSON text) of one or two
/// `{"Version": "1", "Weight": 100}`, distinct versions, weights from 1 to 100 summing to 100.
pub fn routes(params: &Params, param: &str) -> Result<Option<Vec<Route>>, FnfError> {
    let Some(raw) = params.optional(param) else {
        return Ok(None);
    };
    let bad = |why: String| FnfError::invalid(param, why);
    let value: Value = serde_json::from_str(raw)
        .map_err(|e| bad(format!("is not a JSON array of {{Version, Weight}}: {e}")))?;
    let Value::Array(entries) = value else {
        return Err(bad("must be a JSON array of {Version, Weight}".into()));
    };
    if !(1..=2).contains(&entries.len()) {
        return Err(bad(format!(
            "must hold one or two routes, got {}",
            entries.len()
        )));
    }
    let mut routes = Vec::with_capacity(entries.len());
    for (i, entry) in entries.iter().enumerate() {
        let field = |name: &str| -> Result<String, FnfError> {
            match entry.get(name) {
                Some(Value::String(s)) => Ok(s.clone()),
                Some(Value::Number(n)) => Ok(n.to_string()),
                _ => Err(bad(format!("[{i}].{name} is missing"))),
            }
        };
        let version = parse_version(&format!("{param}[{i}].Version"), &field("Version")?)?;
        let weight = match field("Weight")?.parse::<u32>() {
            Ok(w) if (1..=100).contains(&w) => w,
            _ => {
                return Err(bad(format!(
                    "[{i}].Weight must be an integer from 1 to 100"
                )));
            }
        };
        if routes.iter().any(|r: &Route| r.version == version) {
            return Err(bad(format!("version {version} appears twice")));
        }
        routes.push(Route { version, weight });
    }
    let total: u32 = routes.iter().map(|r| r.weight).sum();
    if total != 100 {
        return Err(bad(format!("weights must sum to 100, got {total}")));
    }
    Ok(Some(routes))
}
