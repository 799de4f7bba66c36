use super::*;

const T: &str = DEFAULT_NAME_TEMPLATE;

fn target(arn: &str) -> Result<(String, Option<String>), String> {
    lambda_target(arn, T)
}

fn ok(name: &str, qualifier: Option<&str>) -> Result<(String, Option<String>), String> {
    Ok((name.to_owned(), qualifier.map(str::to_owned)))
}

#[test]
fn fc2_arns_follow_the_template() {
    assert_eq!(
        target("acs:fc:cn-hangzhou:123456:services/shop/functions/pay"),
        ok("shop-pay", None)
    );
    assert_eq!(
        target("acs:fc:::services/shop/functions/pay"),
        ok("shop-pay", None)
    );
    assert_eq!(
        target("acs:fc:::services/shop.prod/functions/pay"),
        ok("shop-pay", Some("prod"))
    );
    assert_eq!(
        target("acs:fc:::services/shop.LATEST/functions/pay"),
        ok("shop-pay", None)
    );
    assert_eq!(
        target("acs:fc:::services/shop.3/functions/pay"),
        ok("shop-pay", Some("3"))
    );
    assert_eq!(
        lambda_target("acs:fc:::services/shop/functions/pay", "{function}"),
        ok("pay", None)
    );
    assert_eq!(
        lambda_target(
            "acs:fc:::services/shop/functions/pay",
            "prod_{service}_{function}_fn"
        ),
        ok("prod_shop_pay_fn", None)
    );
    assert_eq!(
        lambda_target("acs:fc:::services/shop/functions/pay", "fixed"),
        ok("fixed", None)
    );
}

#[test]
fn fc3_arns_keep_the_function_name() {
    assert_eq!(
        target("acs:fc:cn-hangzhou:123456:functions/pay"),
        ok("pay", None)
    );
    assert_eq!(target("acs:fc:::functions/pay/LATEST"), ok("pay", None));
    assert_eq!(
        target("acs:fc:::functions/pay/prod"),
        ok("pay", Some("prod"))
    );
    assert_eq!(target("acs:fc:::functions/pay/7"), ok("pay", Some("7")));
    assert_eq!(
        lambda_target("acs:fc:::functions/pay", "x-{service}-{function}"),
        ok("pay", None),
        "the template is for FC 2.0 only"
    );
}

#[test]
fn lambda_arns_and_names_are_used_as_is() {
    for given in [
        "arn:aws:lambda:us-east-1:123456789012:function:pay",
        "arn:aws:lambda:us-east-1:123456789012:function:pay:prod",
        "arn:aws:lambda:us-east-1:123456789012:function:pay:$LATEST",
        "arn:aws-cn:lambda:cn-north-1:123456789012:function:pay:7",
        "123456789012:function:pay",
        "pay",
        "pay:prod",
        "my_function-2",
    ] {
        assert_eq!(target(given), ok(given, None), "{given}");
    }
}

#[test]
fn malformed_resources_are_refused() {
    for given in [
        "",
        "acs:fc",
        "acs:fc:",
        "acs:fc:::",
        "acs:fc:::services/shop",
        "acs:fc:::services/shop/functions",
        "acs:fc:::services/shop/functions/",
        "acs:fc:::services//functions/pay",
        "acs:fc:::services/shop/functions/pay/extra",
        "acs:fc:::services/shop./functions/pay",
        "acs:fc:::services/sh op/functions/pay",
        "acs:fc:::services/shop/function/pay",
        "acs:fc:::functions/",
        "acs:fc:::functions/pay/",
        "acs:fc:::functions/pay/a/b",
        "acs:fc:::functions/pa.y",
        "acs:fc:::functions/pay/bad.q",
        "acs:fc:region:account",
        "acs:fnf:::http",
        "acs:oss:::bucket",
        "arn:aws:lambda:us-east-1:123456789012:layer:pay",
        "arn:aws:lambda:us-east-1:12345:function:pay",
        "arn:aws:lambda:us-east-1:123456789012:function:",
        "arn:aws:lambda:us-east-1:123456789012:function:pay:a:b",
        "arn:aws:states:us-east-1:123456789012:stateMachine:x",
        "pay function",
        "pay/x",
        "pay:",
        ":prod",
        &"x".repeat(65),
    ] {
        assert!(target(given).is_err(), "{given:?} was accepted");
    }
    // Names the template makes must be Lambda names too.
    let long = format!("acs:fc:::services/{}/functions/pay", "s".repeat(61));
    assert!(target(&long).is_err());
    assert!(lambda_target("acs:fc:::services/a/functions/b", "{service}.{function}").is_err());
    assert!(lambda_target("acs:fc:::services/a/functions/b", "{region}-{function}").is_err());
    assert!(lambda_target("acs:fc:::services/a/functions/b", "").is_err());
}

#[test]
fn function_errors_are_named_by_their_type() {
    let e = function_error(
        "Unhandled",
        br#"{"errorType":"ValueError","errorMessage":"bad"}"#,
    );
    assert_eq!((e.name(), e.to_string().as_str()), ("FC.ValueError", "bad"));
    let e = function_error(
        "Unhandled",
        br#"{"errorType":"Sandbox.Timedout","errorMessage":"Task timed out"}"#,
    );
    assert_eq!(e.name(), "FC.Sandbox.Timedout");
    let e = function_error(
        "Unhandled",
        br#"{"errorType":"a b/c<d>","errorMessage":"m"}"#,
    );
    assert_eq!(e.name(), "FC.abcd");
    let e = function_error("Handled", br#"{"errorMessage":"m"}"#);
    assert_eq!(e.name(), HANDLED);
    let e = function_error("Unhandled", b"not json");
    assert_eq!((e.name(), e.to_string().as_str()), (UNHANDLED, "not json"));
    let e = function_error("Unhandled", br#"{"errorType":"!!!"}"#);
    assert_eq!(e.name(), UNHANDLED);
    let long = format!(r#"{{"errorMessage":"{}"}}"#, "m".repeat(1000));
    assert_eq!(
        function_error("Unhandled", long.as_bytes())
            .to_string()
            .len(),
        256
    );
}

#[test]
fn outputs_are_objects() {
    assert_eq!(output(br#"{"a":1}"#), json!({"a": 1}));
    assert_eq!(output(b"[1]"), json!({"Body": [1]}));
    assert_eq!(output(b"null"), json!({"Body": null}));
    assert_eq!(output(b"hello"), json!({"Body": "hello"}));
    assert_eq!(output(b""), json!({"Body": ""}));
}
