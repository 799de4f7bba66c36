//! Random JSON values and structure-aware mutations of real ones (events, policies, data).

use serde_json::{Map, Value, json};

use super::rng::Rng;

/// A random value at most `depth` levels deep; `keys` are the object keys to favour.
pub fn value(rng: &mut Rng, depth: usize, keys: &[&str]) -> Value {
    if depth == 0 || rng.one_in(3) {
        return leaf(rng, keys);
    }
    let n = rng.range(0, 5);
    if rng.one_in(2) {
        Value::Array((0..n).map(|_| value(rng, depth - 1, keys)).collect())
    } else {
        let mut map = Map::new();
        for _ in 0..n {
            map.insert(key(rng, keys), value(rng, depth - 1, keys));
        }
        Value::Object(map)
    }
}

fn key(rng: &mut Rng, keys: &[&str]) -> String {
    if !keys.is_empty() && rng.below(3) > 0 {
        (*rng.pick(keys)).to_owned()
    } else {
        rng.string(8)
    }
}

pub fn leaf(rng: &mut Rng, keys: &[&str]) -> Value {
    match rng.below(10) {
        0 => Value::Null,
        1 => Value::Bool(rng.one_in(2)),
        2 => json!(rng.next() as i64),
        3 => json!(rng.below(10)),
        4 => serde_json::Number::from_f64(f64::from_bits(rng.next()))
            .map_or(Value::Null, Value::Number),
        5 if !keys.is_empty() => Value::String((*rng.pick(keys)).to_owned()),
        6 => json!(u64::MAX),
        7 => json!(-1.5e300),
        _ => Value::String(rng.string(24)),
    }
}

/// Applies one to three structural mutations somewhere in `v`: replace a node, drop or add a
/// key, change a type, wrap a node.
pub fn mutate(rng: &mut Rng, v: &mut Value, keys: &[&str]) {
    for _ in 0..rng.range(1, 3) {
        let node = pick_node(rng, v);
        match rng.below(6) {
            0 => *node = value(rng, 3, keys),
            1 => *node = leaf(rng, keys),
            2 => match node {
                Value::Object(map) if !map.is_empty() => {
                    let k = map
                        .keys()
                        .nth(rng.below(map.len()))
                        .cloned()
                        .unwrap_or_default();
                    map.remove(&k);
                }
                Value::Array(items) if !items.is_empty() => {
                    items.remove(rng.below(items.len()));
                }
                other => *other = Value::Null,
            },
            3 => match node {
                Value::Object(map) => {
                    map.insert(key(rng, keys), value(rng, 2, keys));
                }
                Value::Array(items) => items.push(value(rng, 2, keys)),
                other => *other = json!([other.take()]),
            },
            4 => {
                let inner = node.take();
                *node = json!({ key(rng, keys): inner });
            }
            _ => {
                // A string that holds JSON (bodies, Input) is mutated as JSON.
                if let Value::String(s) = node
                    && let Ok(mut inner) = serde_json::from_str::<Value>(s)
                {
                    mutate(rng, &mut inner, keys);
                    *s = inner.to_string();
                } else {
                    *node = Value::String(rng.string(40));
                }
            }
        }
    }
}

/// A node of `v` picked by a random walk down from the root.
fn pick_node<'a>(rng: &mut Rng, v: &'a mut Value) -> &'a mut Value {
    let len = match &*v {
        Value::Object(map) => map.len(),
        Value::Array(items) => items.len(),
        _ => 0,
    };
    if len == 0 || rng.one_in(4) {
        return v;
    }
    let i = rng.below(len);
    match v {
        Value::Object(map) => pick_node(rng, map.values_mut().nth(i).expect("in range")),
        Value::Array(items) => pick_node(rng, &mut items[i]),
        other => other,
    }
}
