//! Numeric settings (`FNF_...` variables, or any lookup in tests), read one way: a bound the
//! process must understand is refused when malformed (it does not start on it); a tuning
//! that is only logged when wrong keeps its default.

/// The environment as a lookup.
pub fn env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// Setting `name` as a whole number from `min` to `max`; unset or blank: `default`. Anything
/// else is an error naming the setting.
pub fn count(
    get: &impl Fn(&str) -> Option<String>,
    name: &str,
    default: u64,
    min: u64,
    max: u64,
) -> Result<u64, String> {
    match get(name) {
        Some(raw) if !raw.trim().is_empty() => raw
            .trim()
            .parse()
            .ok()
            .filter(|v| (min..=max).contains(v))
            .ok_or_else(|| format!("{name}={raw:?}: expected a whole number from {min} to {max}")),
        _ => Ok(default),
    }
}

/// Environment variable `name` as a whole number of at least `min`; unset: `default`; anything
/// else is logged and `default` applies.
pub fn count_or_default(name: &str, default: u64, min: u64) -> u64 {
    let Some(raw) = env(name) else {
        return default;
    };
    match raw.trim().parse::<u64>() {
        Ok(n) if n >= min => n,
        _ => {
            tracing::warn!(value = %raw, default, "{name} is not a whole number of at least {min}; the default applies");
            default
        }
    }
}
