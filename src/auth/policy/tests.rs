use super::*;

const ACCOUNT: &str = "1234567890";

fn policy(text: &str) -> Policy {
    Policy::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"))
}

/// A whole document around the statements array's content.
fn doc(statements: &str) -> String {
    format!(r#"{{"Version":"1","Statement":[{statements}]}}"#)
}

/// One statement with JSON `action` and `resource`.
fn one(effect: &str, action: &str, resource: &str) -> String {
    doc(&format!(
        r#"{{"Effect":"{effect}","Action":{action},"Resource":{resource}}}"#
    ))
}

/// Parsing `text` fails with an error that starts with `expected` ("path: message").
fn refused(text: &str, expected: &str) {
    match Policy::parse(text) {
        Ok(p) => panic!("{text} parsed as {p}"),
        Err(e) => assert!(e.to_string().starts_with(expected), "{text}: {e}"),
    }
}

const EXAMPLE: &str = r#"{"Version": "1", "Statement": [
  {"Effect": "Allow", "Action": ["fnf:StartExecution", "fnf:Describe*"], "Resource": ["acs:fnf:*:*:flow/orders*"]},
  {"Effect": "Deny", "Action": "fnf:DeleteFlow", "Resource": "*"}]}"#;

#[test]
fn the_example_policy() {
    let p = policy(EXAMPLE);
    assert!(p.allows("StartExecution", Some("orders"), ACCOUNT));
    assert!(p.allows("DescribeExecution", Some("orders-eu"), ACCOUNT));
    assert!(p.allows("DescribeFlow", Some("orders2"), "other"));
    assert!(!p.allows("StartExecution", Some("billing"), ACCOUNT));
    assert!(!p.allows("StopExecution", Some("orders"), ACCOUNT));
    assert!(!p.allows("DeleteFlow", Some("orders"), ACCOUNT));
    assert!(!p.allows("ListFlows", None, ACCOUNT));
    assert_eq!(p.statements().len(), 2);
    assert_eq!(p.statements()[1].effect(), Effect::Deny);
    let actions: Vec<_> = p.statements()[0].actions().collect();
    assert_eq!(actions, ["fnf:StartExecution", "fnf:Describe*"]);
}

#[test]
fn document_errors() {
    #[rustfmt::skip]
    let cases = [
        ("{", "Policy: is not valid JSON: "),
        ("[]", "Policy: must be a JSON object, not an array"),
        (r#"{"Statement":[]}"#, "Policy: missing field \"Version\""),
        (r#"{"Version":"1"}"#, "Policy: missing field \"Statement\""),
        (r#"{"Version":"2","Statement":[]}"#, "Version: must be the string \"1\""),
        (r#"{"Version":1,"Statement":[]}"#, "Version: must be the string \"1\""),
        (r#"{"Version":"1","Statement":{}}"#, "Statement: must be an array, not an object"),
        (r#"{"Version":"1","Statement":[3]}"#, "Statement[0]: must be a JSON object, not a number"),
        (r#"{"Version":"1","Statement":[],"Id":"x"}"#, "Policy: unknown field \"Id\""),
    ];
    for (text, expected) in cases {
        refused(text, expected);
    }
}

#[test]
fn size_limits() {
    // 22 bytes of JSON around the padding: 6144 bytes pass the size check, 6145 do not.
    let padded = |n: usize| format!(r#"{{"Version":"1","x":"{}"}}"#, "a".repeat(n));
    refused(&padded(6122), "Policy: unknown field \"x\"");
    refused(
        &padded(6123),
        "Policy: has 6145 bytes; at most 6144 are allowed",
    );
    let any = r#"{"Effect":"Allow","Action":"*","Resource":"*"}"#;
    let statements = |n: usize| doc(&vec![any; n].join(","));
    assert_eq!(policy(&statements(32)).statements().len(), 32);
    refused(
        &statements(33),
        "Statement: has 33 statements; at most 32 are allowed",
    );
    let list = |n: usize, item: &str| format!("[{}]", vec![format!("{item:?}"); n].join(","));
    policy(&one("Allow", &list(64, "fnf:*"), &list(64, "*")));
    let actions = one("Allow", &list(65, "fnf:*"), r#""*""#);
    refused(
        &actions,
        "Statement[0].Action: has 65 entries; at most 64 are allowed",
    );
    let resources = one("Allow", r#""*""#, &list(65, "*"));
    refused(&resources, "Statement[0].Resource: has 65 entries;");
}

#[test]
fn statement_errors() {
    let deny = r#"{"Effect":"Deny","Action":"*","Resource":"*"}"#;
    #[rustfmt::skip]
    let cases = [
        (r#""Action":"*","Resource":"*""#, "Statement[1]: missing field \"Effect\""),
        (r#""Effect":"Allow","Resource":"*""#, "Statement[1]: missing field \"Action\""),
        (r#""Effect":"Allow","Action":"*""#, "Statement[1]: missing field \"Resource\""),
        (r#""Effect":"allow","Action":"*","Resource":"*""#, "Statement[1].Effect: must be \"Allow\" or \"Deny\""),
        (r#""Effect":"Allow","Action":"*","Resource":"*","Condition":{}"#, "Statement[1]: unknown field \"Condition\"; the fields are Effect, Action, Resource"),
        (r#""Effect":"Allow","Action":[],"Resource":"*""#, "Statement[1].Action: must not be an empty array"),
        (r#""Effect":"Allow","Action":"*","Resource":[]"#, "Statement[1].Resource: must not be an empty array"),
        (r#""Effect":"Allow","Action":7,"Resource":"*""#, "Statement[1].Action: must be a string or an array of strings, not a number"),
        (r#""Effect":"Allow","Action":["*",null],"Resource":"*""#, "Statement[1].Action[1]: must be a string, not null"),
    ];
    for (fields, expected) in cases {
        refused(&doc(&format!("{deny},{{{fields}}}")), expected);
    }
}

#[test]
fn a_repeated_field_keeps_its_last_value() {
    let p = policy(&doc(
        r#"{"Effect":"Allow","Effect":"Deny","Action":"*","Resource":"*"}"#,
    ));
    assert_eq!(p.statements()[0].effect(), Effect::Deny);
    assert!(p.to_json().contains(r#""Effect":"Deny""#));
}

#[test]
fn action_errors() {
    let not_fnf = "an action must be \"*\" or \"fnf:<ActionName>\"";
    let bad_name = "an action name may hold only letters, digits, '*' and '?'";
    for (action, why) in [
        ("oss:GetObject", not_fnf),
        ("StartExecution", not_fnf),
        ("", not_fnf),
        ("fnf:", bad_name),
        ("fnf:Start Execution", bad_name),
        ("fnf:Start-Execution", bad_name),
        ("fnf:a:b", bad_name),
    ] {
        let text = one("Allow", &format!("{action:?}"), r#""*""#);
        refused(
            &text,
            &format!("Statement[0].Action: {why} (got {action:?})"),
        );
    }
    let text = one("Allow", r#"["fnf:*","x"]"#, r#""*""#);
    refused(&text, &format!("Statement[0].Action[1]: {not_fnf}"));
}

#[test]
fn resource_errors() {
    #[rustfmt::skip]
    let cases = [
        ("acs:oss:*:*:flow/a", "only fnf resources"),
        ("acs:fnf:*:*", "an ARN must read acs:fnf:<region>:<account>:flow/<name>"),
        ("acs:fnf::*:flow/a", "the region must be"),
        ("acs:fnf:*::flow/a", "the account must be"),
        ("acs:fnf:*:12*:flow/a", "the account must be \"*\" or an account id (no wildcards)"),
        ("acs:fnf:*:*:flows/a", "a resource must be"),
        ("acs:fnf:*:*:flow/", "a flow name pattern may hold only"),
        ("flow/a/execution/b", "a flow name pattern may hold only"),
        ("flow/a.b", "a flow name pattern may hold only"),
        ("orders", "a resource must be"),
        ("", "a resource must be"),
    ];
    for (resource, why) in cases {
        let text = one("Allow", r#""*""#, &format!("{resource:?}"));
        refused(&text, &format!("Statement[0].Resource: {why}"));
    }
}

#[test]
fn deny_wins_over_allow_in_any_order() {
    let allow = r#"{"Effect":"Allow","Action":"fnf:*","Resource":"*"}"#;
    let deny = r#"{"Effect":"Deny","Action":"fnf:StartExecution","Resource":"flow/prod-*"}"#;
    for statements in [format!("{allow},{deny}"), format!("{deny},{allow}")] {
        let p = policy(&doc(&statements));
        assert!(!p.allows("StartExecution", Some("prod-orders"), ACCOUNT));
        assert!(p.allows("StartExecution", Some("dev-orders"), ACCOUNT));
        assert!(p.allows("StopExecution", Some("prod-orders"), ACCOUNT));
        assert!(p.allows("ListFlows", None, ACCOUNT));
    }
}

#[test]
fn default_is_deny() {
    assert!(!policy(&doc("")).allows("ListFlows", None, ACCOUNT));
    let deny_only = policy(&one("Deny", r#""fnf:DeleteFlow""#, r#""*""#));
    assert!(!deny_only.allows("DescribeFlow", Some("a"), ACCOUNT));
}

#[test]
fn action_wildcards_and_case() {
    let actions = r#"["fnf:describe*", "FNF:List?lows", "fnf:*Task*"]"#;
    let p = policy(&one("Allow", actions, r#""*""#));
    for (action, allowed) in [
        ("DescribeFlow", true),
        ("describeexecution", true),
        ("Describe", true),
        ("Describ", false),
        ("ListFlows", true),
        ("ListFlowss", false),
        ("ReportTaskSucceeded", true),
        ("StartExecution", false),
    ] {
        assert_eq!(p.allows(action, Some("f"), ACCOUNT), allowed, "{action}");
    }
    let any = policy(&one("Allow", r#""*""#, r#""*""#));
    assert!(any.allows("Anything", None, ACCOUNT));
    let exact = policy(&one("Allow", r#""fnf:StartExecution""#, r#""*""#));
    assert!(exact.allows("STARTEXECUTION", Some("f"), ACCOUNT));
    assert!(!exact.allows("StartExecutionX", Some("f"), ACCOUNT));
}

#[test]
fn resource_wildcards_are_case_sensitive() {
    let resources = r#"["flow/ord?rs-*", "acs:fnf:cn-hangzhou:*:flow/exact"]"#;
    let p = policy(&one("Allow", r#""fnf:*""#, resources));
    for (flow, allowed) in [
        ("orders-1", true),
        ("ordxrs-", true),
        ("Orders-1", false),
        ("orders", false),
        ("exact", true),
        ("exact2", false),
        ("EXACT", false),
    ] {
        assert_eq!(
            p.allows("DescribeFlow", Some(flow), ACCOUNT),
            allowed,
            "{flow}"
        );
    }
}

#[test]
fn account_must_match() {
    for resource in [
        format!("acs:fnf:*:{ACCOUNT}:flow/*"),
        format!("acs:fnf:*:{ACCOUNT}:*"),
    ] {
        let p = policy(&one("Allow", r#""fnf:*""#, &format!("{resource:?}")));
        assert!(p.allows("DescribeFlow", Some("a"), ACCOUNT));
        assert!(p.allows("ListFlows", None, ACCOUNT));
        assert!(!p.allows("DescribeFlow", Some("a"), "999"));
        assert!(!p.allows("ListFlows", None, "999"));
    }
    // A Deny about another account does not reach this one.
    let p = policy(&doc(r#"{"Effect":"Allow","Action":"*","Resource":"*"},
        {"Effect":"Deny","Action":"*","Resource":"acs:fnf:*:999:*"}"#));
    assert!(p.allows("ListFlows", None, ACCOUNT));
    assert!(!p.allows("ListFlows", None, "999"));
}

#[test]
fn flowless_actions_need_an_all_flows_resource() {
    for (resource, covers) in [
        ("*", true),
        ("flow/*", true),
        ("flow/**", true),
        ("acs:fnf:*:*:flow/*", true),
        ("acs:fnf:*:*:*", true),
        ("flow/orders*", false),
        ("flow/?*", false),
        ("acs:fnf:*:*:flow/a*", false),
    ] {
        let allow = policy(&one("Allow", r#""fnf:*""#, &format!("{resource:?}")));
        assert_eq!(
            allow.allows("ListFlows", None, ACCOUNT),
            covers,
            "{resource}"
        );
        // The same rule decides whether a Deny reaches a flow-less action.
        let deny = format!(r#"{{"Effect":"Deny","Action":"*","Resource":{resource:?}}}"#);
        let p = policy(&doc(&format!(
            r#"{{"Effect":"Allow","Action":"*","Resource":"*"}},{deny}"#
        )));
        assert_eq!(p.allows("ListFlows", None, ACCOUNT), !covers, "{resource}");
    }
}

#[test]
fn full_access_and_round_trip() {
    let full = Policy::full_access();
    assert!(full.allows("CreateFlow", Some("x"), ACCOUNT));
    assert!(full.allows("ListFlows", None, "anyone"));
    let json =
        r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"fnf:*","Resource":"*"}]}"#;
    assert_eq!(full.to_json(), json);
    assert_eq!(full.to_string(), json);
    assert!(format!("{full:#}").contains("\n    {\n      \"Effect\": \"Allow\""));
    let p = policy(EXAMPLE);
    assert_eq!(policy(&p.to_json()), p);
    assert!(
        p.to_json()
            .contains(r#""Action":["fnf:StartExecution","fnf:Describe*"]"#)
    );
    assert!(p.to_json().contains(r#""Action":"fnf:DeleteFlow""#));
}

#[test]
fn glob_is_greedy_and_fast() {
    assert!(glob("a*b?c", "axxbyc", false));
    assert!(glob("*", "", false));
    assert!(!glob("?", "", false));
    assert!(glob("a?c", "aéc", false));
    assert!(!glob("abc", "ABC", false));
    assert!(glob("abc", "ABC", true));
    // Exponential for a naive backtracking matcher; pattern × text steps at worst here.
    let (text, pattern) = ("a".repeat(5_000), "*a".repeat(40));
    assert!(!glob(&format!("{pattern}b"), &text, false));
    assert!(glob(&pattern, &text, false));
}

/// Deterministic xorshift, so the property tests need no new dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[(self.next() % items.len() as u64) as usize]
    }
    fn text(&mut self, pieces: &[&str], max: u64) -> String {
        let n = self.next() % (max + 1);
        (0..n).map(|_| self.pick(pieces)).collect()
    }
}

/// Reference matcher: plain recursion, exponential but fine on short inputs.
fn slow_glob(p: &[char], t: &[char]) -> bool {
    match (p.first(), t.first()) {
        (None, _) => t.is_empty(),
        (Some('*'), _) => slow_glob(&p[1..], t) || (!t.is_empty() && slow_glob(p, &t[1..])),
        (Some('?'), Some(_)) => slow_glob(&p[1..], &t[1..]),
        (Some(a), Some(b)) if a == b => slow_glob(&p[1..], &t[1..]),
        _ => false,
    }
}

#[test]
fn glob_agrees_with_a_reference_matcher() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    for _ in 0..20_000 {
        let (pattern, text) = (
            rng.text(&["a", "b", "*", "?"], 7),
            rng.text(&["a", "b", "é"], 9),
        );
        let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
        assert_eq!(
            glob(&pattern, &text, false),
            slow_glob(&p, &t),
            "{pattern:?} {text:?}"
        );
    }
}

#[test]
fn arbitrary_text_never_panics() {
    // Fragments of JSON and of policy syntax, plus a space and a NUL.
    let fragments = r#"{ } [ ] " : , \ \u00e9 é 1 null true "Version" "1" "Statement" "Effect"
        "Allow" "Deny" "Action" "Resource" "*" "fnf:*" "fnf:Start?x*" "flow/*" "flow/é"
        "acs:fnf:*:*:flow/a*" "acs:fnf:r:1:*" "fnf:é""#;
    let mut pieces: Vec<&str> = fragments.split_whitespace().collect();
    pieces.extend([" ", "\0"]);
    let statements = [
        r#"{"Effect":"Allow","Action":"*","Resource":"*"}"#,
        r#"{"Effect":"Deny","Action":["fnf:?e*"],"Resource":["flow/*a?"]}"#,
        r#"{"Effect":"Allow","Action":"fnf:*S*","Resource":"acs:fnf:*:1:flow/a*"}"#,
    ];
    let actions = [
        "",
        "*",
        "é",
        "StartExecution",
        "ListFlows",
        "s",
        "fnf:x",
        "\0",
    ];
    let flows = ["", "a", "aé", "*", "a?b", "flow/a", "éa", "A"];
    let mut rng = Rng(42);
    let mut parsed = 0;
    for i in 0..20_000 {
        let text = if i % 2 == 0 {
            rng.text(&pieces, 40)
        } else {
            // Close to valid, so the checks past JSON syntax run too.
            let body: Vec<&str> = (0..rng.next() % 4).map(|_| rng.pick(&statements)).collect();
            let mut text = doc(&body.join(","));
            let at = (rng.next() % (text.len() as u64 + 1)) as usize;
            if i % 3 == 0 && text.is_char_boundary(at) {
                text.insert_str(at, rng.pick(&pieces));
            }
            text
        };
        if let Ok(p) = Policy::parse(&text) {
            parsed += 1;
            let flow = (!rng.next().is_multiple_of(3)).then(|| rng.pick(&flows));
            let _ = p.allows(rng.pick(&actions), flow, rng.pick(&["1", "2", ""]));
            let json = p.to_json();
            assert!(json.len() <= text.len(), "{json} is longer than {text}");
            assert_eq!(Policy::parse(&json).as_ref(), Ok(&p), "{text}");
        }
    }
    assert!(
        parsed > 1_000,
        "only {parsed} parsed: the generator drifted"
    );
}
