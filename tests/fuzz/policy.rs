//! The policy evaluator (`auth::policy::Policy::parse` + `allows`): random policies from the
//! grammar, checked against a small reference implementation (a naive recursive glob); Deny
//! wins; no statement allows nothing; the JSON a policy shows parses back to it; mutated policy
//! text parses or fails cleanly.

use fnf_lambda::auth::policy::Policy;
use serde_json::{Value, json};

use super::json;
use super::rng::{Rng, note, show};

/// A resource, as the reference reads it.
#[derive(Debug, Clone)]
enum Resource {
    All,
    /// `acs:fnf:<region>:<account>:*` (`None`: any account).
    Account(Option<String>),
    /// `flow/<p>` or `acs:fnf:<region>:<account>:flow/<p>`.
    Flow(Option<String>, String),
}

#[derive(Debug, Clone)]
struct Statement {
    deny: bool,
    /// Patterns after `fnf:`; `*` for the bare `*`.
    actions: Vec<String>,
    resources: Vec<Resource>,
    json: Value,
}

fn pattern(rng: &mut Rng, alphabet: &[char]) -> String {
    let n = rng.range(1, 5);
    (0..n).map(|_| *rng.pick(alphabet)).collect()
}

fn statement(rng: &mut Rng) -> Statement {
    let mut actions = Vec::new();
    let mut action_text = Vec::new();
    for _ in 0..rng.range(1, 3) {
        if rng.one_in(6) {
            actions.push("*".to_owned());
            action_text.push("*".to_owned());
        } else {
            let p = pattern(rng, &['a', 'b', 'A', 'B', '*', '?']);
            let service = rng.pick(&["fnf", "FNF", "Fnf"]);
            action_text.push(format!("{service}:{p}"));
            actions.push(p);
        }
    }
    let mut resources = Vec::new();
    let mut resource_text = Vec::new();
    for _ in 0..rng.range(1, 3) {
        let account = rng.pick(&["*", "1", "2"]).to_string();
        let acct = (account != "*").then(|| account.clone());
        let region = rng.pick(&["*", "cn-hangzhou", "c?-*"]);
        let flow = pattern(rng, &['a', 'b', '_', '-', '*', '?']);
        let (r, text) = match rng.below(4) {
            0 => (Resource::All, "*".to_owned()),
            1 => (
                Resource::Account(acct),
                format!("acs:fnf:{region}:{account}:*"),
            ),
            2 => (Resource::Flow(None, flow.clone()), format!("flow/{flow}")),
            _ => (
                Resource::Flow(acct, flow.clone()),
                format!("acs:fnf:{region}:{account}:flow/{flow}"),
            ),
        };
        resources.push(r);
        resource_text.push(text);
    }
    let deny = rng.one_in(3);
    let one_or_many = |rng: &mut Rng, v: Vec<String>| match v.len() {
        1 if rng.one_in(2) => json!(v[0]),
        _ => json!(v),
    };
    let json = json!({
        "Effect": if deny { "Deny" } else { "Allow" },
        "Action": one_or_many(rng, action_text),
        "Resource": one_or_many(rng, resource_text),
    });
    Statement {
        deny,
        actions,
        resources,
        json,
    }
}

/// The naive glob: `*` any run, `?` one character; `fold` folds ASCII case.
fn glob(p: &[char], t: &[char], fold: bool) -> bool {
    let eq = |a: char, b: char| {
        if fold {
            a.eq_ignore_ascii_case(&b)
        } else {
            a == b
        }
    };
    match p.split_first() {
        None => t.is_empty(),
        Some(('*', rest)) => glob(rest, t, fold) || (!t.is_empty() && glob(p, &t[1..], fold)),
        Some(('?', rest)) => !t.is_empty() && glob(rest, &t[1..], fold),
        Some((c, rest)) => t.first().is_some_and(|x| eq(*c, *x)) && glob(rest, &t[1..], fold),
    }
}

fn chars(s: &str) -> Vec<char> {
    s.chars().collect()
}

fn covers(r: &Resource, flow: Option<&str>, account: &str) -> bool {
    let account_ok = |a: &Option<String>| a.as_deref().is_none_or(|a| a == account);
    match r {
        Resource::All => true,
        Resource::Account(a) => account_ok(a),
        Resource::Flow(a, p) => {
            account_ok(a)
                && match flow {
                    Some(f) => glob(&chars(p), &chars(f), false),
                    None => p.chars().all(|c| c == '*'),
                }
        }
    }
}

fn reference(statements: &[Statement], action: &str, flow: Option<&str>, account: &str) -> bool {
    let applies = |s: &Statement| {
        s.actions
            .iter()
            .any(|p| glob(&chars(p), &chars(action), true))
            && s.resources.iter().any(|r| covers(r, flow, account))
    };
    let matching: Vec<&Statement> = statements.iter().filter(|s| applies(s)).collect();
    !matching.is_empty() && matching.iter().all(|s| !s.deny)
}

fn document(statements: &[Statement]) -> String {
    let list: Vec<Value> = statements.iter().map(|s| s.json.clone()).collect();
    json!({"Version": "1", "Statement": list}).to_string()
}

fn request(rng: &mut Rng) -> (String, Option<String>, String) {
    let action = pattern(rng, &['a', 'b', 'A', 'B', 'é']);
    let action = if rng.one_in(8) { String::new() } else { action };
    let flow = (!rng.one_in(4)).then(|| pattern(rng, &['a', 'b', '_', '-', 'é', '😀', 'A']));
    let account = rng.pick(&["1", "2"]).to_string();
    (action, flow, account)
}

#[test]
fn policies_match_the_reference() {
    super::rng::run("policies", 6.0, |rng| {
        let statements: Vec<Statement> = (0..rng.range(0, 5)).map(|_| statement(rng)).collect();
        let text = document(&statements);
        note(&text);
        let policy = Policy::parse(&text)
            .map_err(|e| format!("a grammatical policy refused: {e}: {text}"))?;
        let back =
            Policy::parse(&policy.to_json()).map_err(|e| format!("to_json does not parse: {e}"))?;
        if back != policy {
            return Err(format!(
                "to_json changed the policy: {text} -> {}",
                policy.to_json()
            ));
        }
        let mut denied = statements.clone();
        denied.push(Statement {
            deny: true,
            actions: vec!["*".into()],
            resources: vec![Resource::All],
            json: json!({"Effect": "Deny", "Action": "*", "Resource": "*"}),
        });
        let deny_all = Policy::parse(&document(&denied)).map_err(|e| e.to_string())?;
        for _ in 0..8 {
            let (action, flow, account) = request(rng);
            let got = policy.allows(&action, flow.as_deref(), &account);
            let want = reference(&statements, &action, flow.as_deref(), &account);
            if got != want {
                return Err(format!(
                    "allows({action:?}, {flow:?}, {account:?}) = {got}, the reference says {want}: {text}"
                ));
            }
            if statements.is_empty() && got {
                return Err("a policy without statements allowed".into());
            }
            if deny_all.allows(&action, flow.as_deref(), &account) {
                return Err(format!("a Deny * on * did not win: {text}"));
            }
        }
        Ok(())
    });
}

#[test]
fn policy_text_mutated() {
    const KEYS: &[&str] = &[
        "Version",
        "Statement",
        "Effect",
        "Action",
        "Resource",
        "Allow",
        "Deny",
        "1",
        "fnf:*",
        "*",
        "Condition",
    ];
    super::rng::run("policy_text_mutated", 6.0, |rng| {
        let statements: Vec<Statement> = (0..rng.range(0, 4)).map(|_| statement(rng)).collect();
        let mut doc: Value = serde_json::from_str(&document(&statements)).expect("JSON");
        json::mutate(rng, &mut doc, KEYS);
        let mut text = doc.to_string();
        if rng.one_in(3) {
            let at = (0..=rng.below(text.len() + 1))
                .rev()
                .find(|i| text.is_char_boundary(*i))
                .unwrap_or(0);
            text.insert_str(
                at,
                rng.pick::<&str>(&["[", "{", "\"", "*".repeat(5000).as_str(), "\\u0000", ","]),
            );
        }
        note(&text);
        if let Ok(policy) = Policy::parse(&text) {
            let back = Policy::parse(&policy.to_json())
                .map_err(|e| format!("to_json does not parse: {e}: {}", show(&text)))?;
            if back != policy {
                return Err(format!("to_json changed the policy: {}", show(&text)));
            }
            let (action, flow, account) = request(rng);
            let _ = policy.allows(&action, flow.as_deref(), &account);
        }
        Ok(())
    });
}
