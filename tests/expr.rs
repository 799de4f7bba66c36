//! The expression language (src/flow/expr): a table of cases run together (every failure is
//! reported, not just the first), then property tests for robustness.

use fnf_lambda::flow::expr::{self, Dialect, Expr, RootName, Scope};
use proptest::prelude::*;
use serde_json::{Value, json};

struct TestScope {
    input: Value,
    output: Option<Value>,
    context: Value,
    local: Value,
    seed: u64,
}

impl Scope for TestScope {
    fn root(&self, root: RootName) -> Option<&Value> {
        match root {
            RootName::Input => Some(&self.input),
            RootName::Output => self.output.as_ref(),
            RootName::Context => Some(&self.context),
            RootName::Local => Some(&self.local),
        }
    }
    fn seed(&self) -> u64 {
        self.seed
    }
}

fn scope() -> TestScope {
    TestScope {
        input: json!({
            "status": "ready", "n": 5, "f": 2.5, "neg": -3, "s": "abc", "b": true, "nul": null,
            "list": [1, 2, 3], "names": ["Tom", "Jack"], "obj": {"k": "v", "x y": 1},
            "nested": {"a": {"b": [{"c": "deep"}]}}, "username": "Ada",
            "json": "{\"name\": \"Tom\", \"age\": 10}"
        }),
        output: Some(json!({"result": 42})),
        context: json!({"Execution": {"Name": "exec1"}, "execution": {"name": "exec1"}}),
        local: json!({"tmp": 7}),
        seed: 42,
    }
}

const C: Dialect = Dialect::CloudFlow;
const F: Dialect = Dialect::Fdl;

/// Modes: `V` eval (data mapping), `B` eval_condition, `O` eval with `$Output` unavailable.
#[derive(Clone, Copy)]
enum Mode {
    V,
    B,
    O,
}
use Mode::{B, O, V};

/// Expected: JSON text of the value, `parse:<substring>` or `err:<substring>`.
#[rustfmt::skip]
const CASES: &[(Dialect, Mode, &str, &str)] = &[
    // Literals.
    (C, V, r#""hello""#, r#""hello""#),
    (C, V, r#"'single'"#, r#""single""#),
    (C, V, r#"`raw\n`"#, r#""raw\\n""#),
    (C, V, r#""esc \" \\ \n \u00e9 \/""#, r#""esc \" \\ \n é /""#),
    (C, V, r#"'it\'s'"#, r#""it's""#),
    (C, V, r#""\ud83d\ude00""#, r#""😀""#),
    (C, V, "42", "42"),
    (C, V, "-42", "-42"),
    (C, V, "12.5", "12.5"),
    (C, V, "-0.5", "-0.5"),
    (C, V, "1e3", "1000.0"),
    (C, V, "-9223372036854775808", "-9223372036854775808"),
    (C, V, "18446744073709551615", "18446744073709551615"),
    (C, V, "true", "true"),
    (C, V, "false", "false"),
    (C, V, "null", "null"),
    (C, V, r#"[1, "a", true, null]"#, r#"[1, "a", true, null]"#),
    (C, V, r#"{"a": 1, "b": [2], 'c': {}}"#, r#"{"a": 1, "b": [2], "c": {}}"#),
    (C, V, "[]", "[]"),
    (C, V, "{}", "{}"),
    (C, V, r#"{"a": 1, "a": 2}"#, r#"{"a": 2}"#),
    (C, V, "  ( 7 )  ", "7"),
    // Paths, CloudFlow.
    (C, V, "$Input.status", r#""ready""#),
    (C, V, "$Input.list[1]", "2"),
    (C, V, r#"$Input["status"]"#, r#""ready""#),
    (C, V, r#"$Input['obj']["x y"]"#, "1"),
    (C, V, "$Input.nested.a.b[0].c", r#""deep""#),
    (C, V, "$Input.nul", "null"),
    (C, V, "$Output.result", "42"),
    (C, V, "$Context.Execution.Name", r#""exec1""#),
    (C, V, "[$Input.n, $Input.b]", "[5, true]"),
    (C, V, "$Input.missing", "err:path $Input.missing matches nothing: there is no key"),
    (C, V, "$Input.list[9]", "err:index 9 is past the end of an array of 3"),
    (C, V, "$Input.s.x", "err:key \"x\" was looked up in a string"),
    (C, V, "$Input.obj[0]", "err:index 0 was looked up in an object"),
    (C, O, "$Output.result", "err:$Output is not available here"),
    (C, V, "$input.status", "parse:unknown root $input; expected $Input, $Output or $Context"),
    (C, V, "$.status", "parse:unknown root $; expected $Input"),
    (C, V, "$Input.", "parse:at 7: expected a field name after '.', found end of expression"),
    (C, V, "$Input[", "parse:expected an index (digits), '*' or a quoted key"),
    (C, V, "$Input[0", "parse:expected ']' closing the '[' at 6"),
    (C, V, "$Input[99999999999999999999999]", "parse:array index 99999999999999999999999 is too large"),
    (C, V, "$Input[-1]", "parse:expected an index"),
    // Wildcards: `[*]` collects the matches below it, skipping elements without them.
    (C, V, "$Input.list[*]", "[1, 2, 3]"),
    (C, V, "$Input.nested.a.b[*].c", r#"["deep"]"#),
    (C, V, "$Input.obj[*]", r#"["v", 1]"#),
    (C, V, "$Input.names[*].missing", "[]"),
    (C, V, "length($Input.list[*])", "3"),
    (C, V, "$Input.username[*]", "err:[*] was applied to a string"),
    (C, B, "$Input.username[*] == null", "true"),
    (F, V, "$local[*]", "[7]"),
    // Paths, FDL.
    (F, V, "$input.status", r#""ready""#),
    (F, V, "$local.tmp", "7"),
    (F, V, "$context.execution.name", r#""exec1""#),
    (F, V, "$.status", r#""ready""#),
    (F, V, "$.list[0]", "1"),
    (F, V, r#"$["obj"].k"#, r#""v""#),
    (F, V, "$Input.status", "parse:unknown root $Input; expected $input, $local, $context or $"),
    (F, V, "$local.nothing", "err:path $local.nothing matches nothing"),
    (F, B, r#"$.status == "ready""#, "true"),
    (F, B, r#"$.n > 3 && $.s == "abc""#, "true"),
    (F, B, "$.nothing == null", "true"),
    // Missing paths in conditions read as null.
    (C, B, "$Input.missing == null", "true"),
    (C, B, "$Input.missing > 1", "false"),
    (C, B, "$Input.missing <= 1", "false"),
    (C, B, r#"$Input.missing != "a""#, "true"),
    (C, B, r#"$Input.missing == "a""#, "false"),
    (C, B, "$Input.list[7] == null", "true"),
    (C, B, "$Input.s.deeper == null", "true"),
    (C, B, "$Input.missing in [1]", "false"),
    (C, B, "$Input.missing", "err:must evaluate to a boolean, but it gave null"),
    (C, B, r#""x""#, "err:must evaluate to a boolean, but it gave a string"),
    (C, B, "$Input.b", "true"),
    // Comparisons.
    (C, V, "1 == 1.0", "true"),
    (C, V, "1 == 1", "true"),
    (C, V, "1 != 2", "true"),
    (C, V, "2 > 1", "true"),
    (C, V, "2 >= 2", "true"),
    (C, V, "1 < 2", "true"),
    (C, V, "1 <= 0", "false"),
    (C, V, "0.1 < 0.2", "true"),
    (C, V, "-0.0 == 0", "true"),
    (C, V, "-1 < 18446744073709551615", "true"),
    (C, V, "9007199254740993 == 9007199254740992", "false"),
    (C, V, "9007199254740993 > 9007199254740992.0", "true"),
    (C, V, "2.5 > 2", "true"),
    (C, V, "2 < 2.5", "true"),
    (C, V, r#""abc" < "abd""#, "true"),
    (C, V, r#""b" > "a""#, "true"),
    (C, V, r#""a" >= "a""#, "true"),
    (C, V, r#""B" < "a""#, "true"),
    (C, V, r#""a" == "a""#, "true"),
    (C, V, r#"`a` == "a""#, "true"),
    (C, V, r#""1" == 1"#, "false"),
    (C, V, r#""1" != 1"#, "true"),
    (C, V, "true == true", "true"),
    (C, V, "true == 1", "false"),
    (C, V, "null == null", "true"),
    (C, V, "null == false", "false"),
    (C, V, r#""a" < 1"#, "false"),
    (C, V, r#""a" >= 1"#, "false"),
    (C, V, "true > false", "false"),
    (C, V, "null < 1", "false"),
    (C, V, "[1, 2] == [1.0, 2]", "true"),
    (C, V, "[1, 2] == [2, 1]", "false"),
    (C, V, r#"{"a": 1} == {"a": 1.0}"#, "true"),
    (C, V, r#"{"a": 1} == {"a": 2}"#, "false"),
    (C, V, "[1] < [2]", "false"),
    (C, V, "$Input.n == 5", "true"),
    (C, V, "$Input.f > 2", "true"),
    (C, V, "$Input.neg < 0", "true"),
    (C, B, r#"$Input.status=="ready""#, "true"),
    (C, B, r#"$Input.status == `ready`"#, "true"),
    // Logic and precedence.
    (C, V, "true && false", "false"),
    (C, V, "true || false", "true"),
    (C, V, "!true", "false"),
    (C, V, "!!true", "true"),
    (C, V, "!false && true", "true"),
    (C, V, "true || true && false", "true"),
    (C, V, "false && true || true", "true"),
    (C, V, "(true || true) && false", "false"),
    (C, V, "1 < 2 == true", "true"),
    (C, V, "2 == 2 && 3 > 1", "true"),
    (C, V, "!(1 == 2)", "true"),
    (C, V, r#"!"x" == "y""#, "err:operator '!' needs a boolean, but its operand is a string"),
    (C, V, "true || 1", "true"),
    (C, V, "false && 1", "false"),
    (C, V, "false || 1", "err:operator '||' needs booleans, but an operand is a number"),
    (C, V, "1 && true", "err:operator '&&' needs booleans"),
    (C, V, "-$Input.n", "-5"),
    (C, V, "-$Input.f", "-2.5"),
    (C, V, "--5", "5"),
    (C, V, "-(2)", "-2"),
    (C, V, r#"-"a""#, "err:operator '-' needs a number, but its operand is a string"),
    (C, V, r#"$Input.status == "ready" && $Input.n >= 5 || false"#, "true"),
    // in: "whether an array contains a value, or an object contains a key" (Choice page).
    (C, V, "2 in [1, 2, 3]", "true"),
    (C, V, "2.0 in $Input.list", "true"),
    (C, V, "4 in $Input.list", "false"),
    (C, V, r#""Tom" in $Input.names"#, "true"),
    (C, V, r#""k" in $Input.obj"#, "true"),
    (C, V, r#""z" in $Input.obj"#, "false"),
    (C, V, "null in [null]", "true"),
    (C, V, "1 in $Input.obj", "err:operator 'in' looks up object keys"),
    (C, V, r#"1 in "abc""#, "err:operator 'in' needs an array or an object on its right"),
    (C, V, "!(4 in $Input.list)", "true"),
    // Parse errors: offset, what was expected, what was found.
    (C, V, "", "parse:at 0: expected an expression, found end of expression"),
    (C, V, "   ", "parse:expected an expression"),
    (C, V, "(1 == 1", "parse:at 7: expected ')' closing the '(' at 0, found end of expression"),
    (C, V, "1 ==", "parse:at 4: expected a value, found end of expression"),
    (C, V, "1 = 1", "parse:at 2: expected '==' for equality, found '='"),
    (C, V, "true & false", "parse:expected '&&', found a single '&'"),
    (C, V, "true | false", "parse:expected '||', found a single '|'"),
    (C, V, "1 + 2", "parse:at 2: arithmetic operator '+' is not supported"),
    (C, V, "2 * 3", "parse:arithmetic operator '*'"),
    (C, V, "4 / 2", "parse:arithmetic operator '/'"),
    (C, V, "5 % 2", "parse:arithmetic operator '%'"),
    (C, V, r#""abc"#, "parse:at 0: expected a closing \" for the string starting here"),
    (C, V, "`abc", "parse:expected a closing ` for the string"),
    (C, V, r#""\q""#, "parse:unknown escape '\\q'"),
    (C, V, r#""\u12""#, "parse:expected 4 hexadecimal digits"),
    (C, V, r#""\ud800x""#, "parse:expected a low surrogate"),
    (C, V, "1 2", "parse:at 2: expected an operator or end of expression, found number 2"),
    (C, V, "foo(1)", "parse:at 0: unknown function foo; known functions: format"),
    (C, V, "foo", "parse:expected a value, found name foo"),
    (C, V, r#"format("a", )"#, "parse:at 12: expected a value, found ')'"),
    (C, V, r#"format("a""#, "parse:at 10: expected ')' or ',' after the arguments of format, found end of expression"),
    (C, V, "length()", "parse:length takes 1 argument, but 0 were given"),
    (C, V, "uuid(1)", "parse:uuid takes 0 arguments, but 1 were given"),
    (C, V, "hash(1)", "parse:hash takes 2 arguments"),
    (C, V, "[1, 2", "parse:expected ']' or ',' after the items of the array"),
    (C, V, r#"{"a" 1}"#, "parse:expected ':' after the key \"a\""),
    (C, V, "{a: 1}", "parse:expected a quoted key in the object at 0, found name a"),
    (C, V, "1.", "parse:expected digits after the decimal point"),
    (C, V, "12abc", "parse:expected an operator after the number"),
    (C, V, "1e", "parse:expected digits in the exponent"),
    (C, V, "#", "parse:unexpected character '#'"),
    (C, V, ")", "parse:at 0: expected a value, found ')'"),
    (C, V, "length", "parse:at 6: expected '(' after the function name length, found end of expression"),
    (C, V, "1e999", "parse:out of range"),
    // Built-in functions: the documented examples first, with their documented results.
    (C, V, r#"arrayContains(["Tom",10],10)"#, "true"),
    (C, V, r#"arrayContains(["Tom",10],"Jack")"#, "false"),
    (C, V, "arrayContains([1], 1.0)", "true"),
    (C, V, r#"arrayContains("x", 1)"#, "err:arrayContains: argument 1 must be an array, but it is a string"),
    (C, V, "arrayUnique([1, 2, 3, 1])", "[1, 2, 3]"),
    (C, V, r#"arrayUnique([1, 1.0, "1", {"a": 1}, {"a": 1}, [1], [1]])"#, r#"[1, "1", {"a": 1}, [1]]"#),
    (C, V, r#"format("hello {}","world")"#, r#""hello world""#),
    (F, V, "format('Hello, {}', $input.username)", r#""Hello, Ada""#),
    (C, V, r#"format("{} + {} = {}", 1, 2.5, true)"#, r#""1 + 2.5 = true""#),
    (C, V, r#"format("{}|{}", [1, "a"], null)"#, r#""[1,\"a\"]|null""#),
    (C, V, r#"format("no placeholders")"#, r#""no placeholders""#),
    (C, V, r#"format("{} {}", 1)"#, "err:format: the template has more {} placeholders than the 1 argument(s)"),
    (C, V, r#"format("x", 1)"#, "err:format: 1 argument(s) after the template but only 0 {} placeholder(s)"),
    (C, V, "format(1)", "err:format: argument 1 must be a string, but it is a number"),
    (C, V, r#"fromBase64("Rm5G")"#, r#""FnF""#),
    (C, V, r#"fromBase64("Rm4")"#, r#""Fn""#),
    (C, V, r#"fromBase64("***")"#, "err:fromBase64: not valid Base64"),
    (C, V, r#"fromBase64("/w==")"#, "err:fromBase64: the decoded bytes are not UTF-8"),
    (C, V, r#"toBase64("FnF")"#, r#""Rm5G""#),
    (C, V, r#"toBase64("")"#, r#""""#),
    (C, V, "toBase64(1)", "err:toBase64: argument 1 must be a string"),
    (C, V, r#"fromBase64(toBase64("héllo"))"#, r#""héllo""#),
    (C, V, r#"stringToJson('{"name": "Tom", "age": 10}')"#, r#"{"name": "Tom", "age": 10}"#),
    (C, V, "fromJSON('[1, 2]')", "[1, 2]"),
    (C, V, "stringToJson($Input.json).name", "parse:at 25: unexpected character '.'"),
    (C, V, "stringToJson($Input.json)", r#"{"name": "Tom", "age": 10}"#),
    (C, V, r#"stringToJson("{")"#, "err:stringToJson: not valid JSON"),
    (C, V, r#"jsonToString({"a": [1, true]})"#, r#""{\"a\":[1,true]}""#),
    (C, V, r#"toJSON("x")"#, r#""\"x\"""#),
    (C, V, r#"hash("abc","MD5")"#, r#""900150983cd24fb0d6963f7d28e17f72""#),
    (C, V, r#"hash("","MD5")"#, r#""d41d8cd98f00b204e9800998ecf8427e""#),
    (C, V, r#"hash("The quick brown fox jumps over the lazy dog","MD5")"#, r#""9e107d9d372bb6826bd81d3542a419d6""#),
    (C, V, r#"hash("abc","SHA-1")"#, r#""a9993e364706816aba3e25717850c26c9cd0d89d""#),
    (C, V, r#"hash("The quick brown fox jumps over the lazy dog","SHA-1")"#, r#""2fd4e1c67a2d28fced849ee1bb76e7391b93eb12""#),
    (C, V, r#"hash("abc","SHA-256")"#, r#""ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad""#),
    (C, V, r#"hash("","SHA-256")"#, r#""e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855""#),
    (C, V, r#"hash("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq","SHA-256")"#, r#""248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1""#),
    (C, V, r#"hash("abc","sha256")"#, r#""ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad""#),
    (C, V, r#"hash("abc","SHA-512")"#, r#""ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f""#),
    (C, V, r#"hash("","SHA-512")"#, r#""cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e""#),
    (C, V, r#"hash("abc","SHA3")"#, "err:hash: unknown algorithm \"SHA3\""),
    (C, V, r#"jsonMerge({"name": "Tom", "age": 10},{"name": "Tom", "address": "beijing"})"#, r#"{"name": "Tom", "age": 10, "address": "beijing"}"#),
    (C, V, r#"jsonMerge({"a": 1},{"a": 2})"#, r#"{"a": 2}"#),
    (C, V, r#"jsonMerge({"a": 1}, [1])"#, "err:jsonMerge: argument 2 must be an object, but it is an array"),
    (C, V, "length([1, 2, 3])", "3"),
    (C, V, r#"length({"name": "Tom", "age": 10})"#, "2"),
    (C, V, r#"length("name")"#, "4"),
    (C, V, r#"length("héllo")"#, "5"),
    (C, V, "length(1)", "err:length: needs a string, an array or an object, but got a number"),
    (C, V, r#"mapKeys({"b": 1, "a": 2})"#, r#"["a", "b"]"#),
    (C, V, r#"mapValues({"b": 1, "a": 2})"#, "[2, 1]"),
    (C, V, "mapKeys([1])", "err:mapKeys: argument 1 must be an object"),
    (C, V, r#"toArray(1, "a", null)"#, r#"[1, "a", null]"#),
    (C, V, "toArray()", "[]"),
    (C, V, r#"split("a,b,c", ",")"#, r#"["a", "b", "c"]"#),
    (C, V, r#"split("abc", "")"#, r#"["a", "b", "c"]"#),
    (C, V, r#"split("", ",")"#, r#"[""]"#),
    (C, V, r#"split(1, ",")"#, "err:split: argument 1 must be a string"),
    (C, V, "get([1, 2, 3], 1)", "2"),
    (C, V, r#"get({"a": 1}, "a")"#, "1"),
    (C, V, "get([1], 5)", "err:get: index 5 is outside the array of 1 item(s)"),
    (C, B, "get([1], 5) == null", "true"),
    (C, V, "get([1], -1)", "err:get: index -1 is outside"),
    (C, V, r#"get({"a": 1}, 1)"#, "err:get: an object is indexed by a string key, not a number"),
    (C, V, r#"get("s", 0)"#, "err:get: argument 1 must be an array or an object, but it is a string"),
    (C, V, "intAdd(1, 2)", "3"),
    (C, V, "intAdd(-5, 2.0)", "-3"),
    (C, V, "intAdd(1, 1.5)", "err:intAdd: argument 2 must be an integer, but it is 1.5"),
    (C, V, "intAdd(9223372036854775807, 1)", "err:intAdd: 9223372036854775807 + 1 overflows"),
    (C, V, "randomInt(1, 2)", "1"),
    (C, V, "randomInt(5, 5)", "err:randomInt: the range [5, 5) is empty"),
    (C, V, r#"regexMatchString("abc", "^a.c$")"#, "true"),
    (C, V, r#"regexMatchString("abd", "^a.c$")"#, "false"),
    (C, V, r#"regexMatchString("x123y", "\\d+")"#, "true"),
    (C, V, r#"regexMatchString("xy", "\\d")"#, "false"),
    (C, V, r#"regexMatchString("abc", "^(a|b)+c$")"#, "true"),
    (C, V, r#"regexMatchString("aaa", "^a{2,3}$")"#, "true"),
    (C, V, r#"regexMatchString("aaaa", "^a{2,3}$")"#, "false"),
    (C, V, r#"regexMatchString("AB-12", "^[A-Z]+-[0-9]{2}$")"#, "true"),
    (C, V, r#"regexMatchString("a", "[^abc]")"#, "false"),
    (C, V, r#"regexMatchString("a.b", "^a\\.b$")"#, "true"),
    (C, V, r#"regexMatchString("axb", "^a\\.b$")"#, "false"),
    (C, V, r#"regexMatchString("", "")"#, "true"),
    (C, V, r#"regexMatchString("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!", "^(a+)+$")"#, "false"),
    (C, V, r#"regexMatchString("a", "(")"#, "err:regexMatchString: pattern \"(\": missing ')'"),
    (C, V, r#"regexMatchString("a", "a**")"#, "err:repeated quantifier"),
    (C, V, r#"regexMatchString("a", "a{2000}")"#, "err:invalid repeat count"),
    (C, V, "length(uuid())", "36"),
    (C, V, "uuid() == uuid()", "false"),
    (F, V, "length($.list)", "3"),
    (F, B, r#"arrayContains($.names, "Tom")"#, "true"),
    (C, V, r#"length(split(format("{}-{}", "a", "b"), "-"))"#, "2"),
    (C, B, "length($Input.list) > 2 && 3 in $Input.list", "true"),
    (C, B, "length($Input.missing) > 0", "err:length: needs a string, an array or an object, but got null"),
];

fn run_case(dialect: Dialect, mode: Mode, text: &str, want: &str) -> Result<(), String> {
    let mut sc = scope();
    if matches!(mode, O) {
        sc.output = None;
    }
    let parsed = expr::parse(text, dialect);
    if let Some(sub) = want.strip_prefix("parse:") {
        return match parsed {
            Err(e) if e.to_string().contains(sub) => Ok(()),
            Err(e) => Err(format!("parse error {:?} lacks {sub:?}", e.to_string())),
            Ok(_) => Err(format!(
                "parsed, but expected a parse error containing {sub:?}"
            )),
        };
    }
    let e = parsed.map_err(|e| format!("unexpected parse error: {e}"))?;
    let got = match mode {
        B => e.eval_condition(&sc).map(Value::Bool),
        V | O => e.eval(&sc),
    };
    if let Some(sub) = want.strip_prefix("err:") {
        return match got {
            Err(err) if err.0.contains(sub) => Ok(()),
            Err(err) => Err(format!("error {:?} lacks {sub:?}", err.0)),
            Ok(v) => Err(format!("gave {v}, expected an error containing {sub:?}")),
        };
    }
    let want: Value = serde_json::from_str(want).map_err(|e| format!("bad expectation: {e}"))?;
    match got {
        Ok(v) if v == want => Ok(()),
        Ok(v) => Err(format!("gave {v}, expected {want}")),
        Err(err) => Err(format!("failed with {:?}, expected {want}", err.0)),
    }
}

#[test]
fn table() {
    assert!(CASES.len() >= 120, "only {} cases", CASES.len());
    let failures: Vec<String> = CASES
        .iter()
        .filter_map(|(d, m, text, want)| {
            run_case(*d, *m, text, want)
                .err()
                .map(|why| format!("  {d:?} {text:?}: {why}"))
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        CASES.len(),
        failures.join("\n")
    );
}

#[test]
fn limits_are_parse_errors() {
    let cases = [
        format!("{}1{}", "(".repeat(40), ")".repeat(40)),
        format!("{}true", "!".repeat(40)),
        format!("{}1", "-".repeat(40)),
        format!("{}1{}", "[".repeat(40), "]".repeat(40)),
    ];
    for text in &cases {
        let err = expr::parse(text, C).unwrap_err();
        assert!(
            err.message.contains("nested more than 32 levels"),
            "{text}: {err}"
        );
    }
    // 32 levels are fine.
    let ok = format!("{}1{}", "(".repeat(31), ")".repeat(31));
    assert!(expr::parse(&ok, C).is_ok());
    // "A maximum of 10 layers of nested built-in functions" (Built-in functions page).
    let nested = |n: usize| format!("{}1{}", "toArray(".repeat(n), ")".repeat(n));
    assert!(expr::parse(&nested(10), C).is_ok());
    let err = expr::parse(&nested(11), C).unwrap_err();
    assert!(err.message.contains("more than 10 levels"), "{err}");
    let long = format!("\"{}\"", "a".repeat(1023));
    let err = expr::parse(&long, C).unwrap_err();
    assert!(err.message.contains("longer than 1024 characters"), "{err}");
    assert!(expr::parse(&format!("\"{}\"", "a".repeat(1022)), C).is_ok());
}

#[test]
fn huge_nesting_fails_fast_without_overflow() {
    let start = std::time::Instant::now();
    for unit in ["(", "!", "-", "[", "{\"a\":", "length(", "$Input.a[", "\""] {
        let text = unit.repeat(100_000);
        assert!(expr::parse(&text, C).is_err(), "{unit}");
        assert!(expr::parse(&text, F).is_err(), "{unit}");
    }
    // Within the length limit, the depth limit answers.
    assert!(expr::parse(&"(".repeat(1000), C).is_err());
    assert!(start.elapsed().as_secs() < 2, "took {:?}", start.elapsed());
}

#[test]
fn function_output_is_capped() {
    let sc = TestScope {
        input: json!({"big": "x,".repeat(20_000), "long": "y".repeat(70_000)}),
        ..scope()
    };
    let eval = |t: &str| expr::parse(t, C).unwrap().eval(&sc);
    assert!(
        eval(r#"split($Input.big, ",")"#)
            .unwrap_err()
            .0
            .contains("more than 10000 items")
    );
    assert!(
        eval("toBase64($Input.long)")
            .unwrap_err()
            .0
            .contains("longer than 65536 bytes")
    );
    assert!(
        eval(r#"format("{}{}", $Input.long, 1)"#)
            .unwrap_err()
            .0
            .contains("longer than 65536")
    );
    assert!(
        eval("jsonToString($Input)")
            .unwrap_err()
            .0
            .contains("longer than 65536")
    );
    assert!(eval(r#"hash($Input.long, "SHA-256")"#).is_ok());
}

#[test]
fn random_functions_are_deterministic_per_seed() {
    let e = expr::parse("[uuid(), randomInt(0, 1000000), uuid()]", C).unwrap();
    let a = e.eval(&scope()).unwrap();
    assert_eq!(a, e.eval(&scope()).unwrap(), "same seed, same values");
    let b = e
        .eval(&TestScope {
            seed: 43,
            ..scope()
        })
        .unwrap();
    assert_ne!(a, b, "another seed gives other values");
    let u = a[0].as_str().unwrap();
    assert_eq!(u.len(), 36);
    assert_eq!(&u[14..15], "4", "a version-4 UUID: {u}");
    assert!(uuid::Uuid::parse_str(u).is_ok());
    assert_ne!(a[0], a[2], "two calls in one expression differ");
    let r = expr::parse("randomInt(-5, 5)", C).unwrap();
    let mut seen = std::collections::HashSet::new();
    for seed in 0..500 {
        let v = r
            .eval(&TestScope { seed, ..scope() })
            .unwrap()
            .as_i64()
            .unwrap();
        assert!((-5..5).contains(&v), "{v}");
        seen.insert(v);
    }
    assert_eq!(seen.len(), 10, "every value of the range comes up");
}

#[test]
fn roots_text_and_threads() {
    let e = expr::parse(
        r#"$Input.a == $Context.b && length($Input.c) > 0 || $Output.x"#,
        C,
    )
    .unwrap();
    assert_eq!(
        e.roots(),
        vec![RootName::Input, RootName::Context, RootName::Output]
    );
    let f = expr::parse("$.a == 1 && $local.b == $context.c && $input.d", F).unwrap();
    assert_eq!(
        f.roots(),
        vec![RootName::Input, RootName::Local, RootName::Context]
    );
    assert!(expr::parse("1 == 1", C).unwrap().roots().is_empty());
    assert_eq!(
        e.text(),
        r#"$Input.a == $Context.b && length($Input.c) > 0 || $Output.x"#
    );
    fn send_sync<T: Send + Sync + Clone>() {}
    send_sync::<Expr>();
    let err = expr::parse("(1", C).unwrap_err();
    assert_eq!(err.offset, 2);
    assert_eq!(
        err.to_string(),
        "at 2: expected ')' closing the '(' at 0, found end of expression"
    );
    // Offsets count characters, not bytes.
    assert_eq!(expr::parse(r#""é" ="#, C).unwrap_err().offset, 4);
}

const VOCAB: &[&str] = &[
    "(",
    ")",
    "[",
    "]",
    "{",
    "}",
    ",",
    ":",
    "==",
    "!=",
    "<",
    "<=",
    ">",
    ">=",
    "&&",
    "||",
    "!",
    "-",
    "in",
    "true",
    "false",
    "null",
    "1",
    "2.5",
    "-3",
    "\"s\"",
    "'t'",
    "`u`",
    "$Input",
    "$Input.a",
    "$Input.list[0]",
    "$Input[\"k\"]",
    "$Output",
    "$Context.x",
    "$.a",
    "$input.a",
    "$local",
    "format",
    "length",
    "uuid",
    "get",
    "split",
    "hash",
    "toArray",
    "intAdd",
    "randomInt",
    "regexMatchString",
    "arrayUnique",
    "jsonMerge",
    "stringToJson",
    "\"{}\"",
    "=",
    "+",
    "\\",
    "\"",
    "$",
    ".",
    "[0]",
];

fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|i| json!(i)),
        (-1e6f64..1e6).prop_map(|f| json!(f)),
        "[a-z{}\\\\\"^$.*+?()|\\[\\]]{0,8}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 40, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map("[a-c]", inner, 0..5)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Expressions that parse: literals, paths and calls combined by the operators.
fn arb_expr() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        Just("$Input".to_string()),
        "[abc]".prop_map(|k| format!("$Input.{k}")),
        "[abc]".prop_map(|k| format!("$Input.a.{k}")),
        (0usize..4).prop_map(|i| format!("$Input.a[{i}]")),
        Just("$Context".to_string()),
        Just("$Output.b".to_string()),
        any::<i32>().prop_map(|i| i.to_string()),
        "[a-z{}^$.*+]{0,5}".prop_map(|s| format!("{s:?}")),
        Just("true".to_string()),
        Just("null".to_string()),
        Just("uuid()".to_string()),
    ];
    leaf.prop_recursive(5, 48, 3, |inner| {
        let func = prop::sample::select(vec![
            "format",
            "length",
            "get",
            "split",
            "hash",
            "toArray",
            "intAdd",
            "randomInt",
            "regexMatchString",
            "arrayUnique",
            "arrayContains",
            "jsonMerge",
            "stringToJson",
            "jsonToString",
            "mapKeys",
            "mapValues",
            "toBase64",
            "fromBase64",
        ]);
        let op = prop::sample::select(vec!["==", "!=", "<", "<=", ">", ">=", "&&", "||", "in"]);
        prop_oneof![
            (inner.clone(), op, inner.clone()).prop_map(|(a, o, b)| format!("({a} {o} {b})")),
            inner.clone().prop_map(|a| format!("!{a}")),
            inner.clone().prop_map(|a| format!("-{a}")),
            prop::collection::vec(inner.clone(), 0..3).prop_map(|v| format!("[{}]", v.join(", "))),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("{{\"k\": {a}, \"l\": {b}}}")),
            (func, prop::collection::vec(inner, 0..3)).prop_map(|(f, args)| {
                // Give each function an arity it accepts, so most expressions parse.
                let n = match f {
                    "length" | "arrayUnique" | "stringToJson" | "jsonToString" | "mapKeys"
                    | "mapValues" | "toBase64" | "fromBase64" => 1,
                    "format" | "toArray" => args.len().max(1),
                    _ => 2,
                };
                let mut args = args;
                while args.len() < n {
                    args.push("\"x\"".to_string());
                }
                args.truncate(n);
                format!("{f}({})", args.join(", "))
            }),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn parse_never_panics_on_any_text(text in "\\PC{0,120}") {
        let _ = expr::parse(&text, C);
        let _ = expr::parse(&text, F);
    }

    #[test]
    fn token_soup_never_panics(tokens in prop::collection::vec(prop::sample::select(VOCAB), 0..40),
                               spaced in any::<bool>(), input in arb_json()) {
        let text = tokens.join(if spaced { " " } else { "" });
        let sc = TestScope { input, ..scope() };
        for d in [C, F] {
            if let Ok(e) = expr::parse(&text, d) {
                let _ = e.eval(&sc);
                let _ = e.eval_condition(&sc);
                let _ = e.roots();
            }
        }
    }

    #[test]
    fn eval_of_valid_expressions_never_panics(text in arb_expr(), input in arb_json(),
                                               output in arb_json(), seed in any::<u64>()) {
        let sc = TestScope { input, output: Some(output), seed, ..scope() };
        match expr::parse(&text, C) {
            Ok(e) => {
                let a = e.eval(&sc);
                let _ = e.eval_condition(&sc);
                // Pure: the same scope gives the same answer.
                prop_assert_eq!(a, e.eval(&sc));
            }
            // Only the documented limits may refuse a generated expression.
            Err(err) => prop_assert!(
                err.message.contains("nested more than") || err.message.contains("longer than"),
                "{} -> {}", text, err
            ),
        }
    }
}

#[test]
fn long_operator_chains_evaluate_on_a_small_stack() {
    // Chains are not nesting (no depth limit), but they make deep trees: check the stack cost.
    let chains = [
        format!("true{}", "||true".repeat(170)),
        format!("$Input.b{}", "&&$Input.b".repeat(100)),
        format!("1{}", "<1".repeat(31)),
        format!("{}1{}", "(".repeat(31), ")".repeat(31)),
        format!("{}1{}", "toArray([".repeat(10), "])".repeat(10)),
        format!("{}true", "!".repeat(31)),
    ];
    let err = expr::parse(&format!("1{}", "<1".repeat(40)), C).unwrap_err();
    assert!(err.message.contains("nested more than 32"), "{err}");
    let err = expr::parse(&format!("1{}", "==1".repeat(40)), C).unwrap_err();
    assert!(err.message.contains("nested more than 32"), "{err}");
    std::thread::Builder::new()
        .stack_size(512 * 1024)
        .spawn(move || {
            for text in &chains {
                let e = expr::parse(text, C).unwrap();
                let _ = e.eval(&scope());
                let _ = e.eval_condition(&scope());
                assert!(e.roots().len() <= 1);
            }
        })
        .unwrap()
        .join()
        .unwrap();
}
