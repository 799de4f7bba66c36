//! Path expressions: `$Input.a.b`, `$Input.list[0]`, `$Input["key with space"]` (CloudFlow),
//! `$input.a`, `$local.x`, `$context.execution.name` (FDL mappings) and `$.key` (FDL wait).
//! Anything beyond a plain path is the expression language's (`super::expr`).

use serde_json::Value;

use super::MAX_EXPRESSION_CHARS;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Root {
    Input,
    Output,
    Context,
    Local,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Segment {
    Key(String),
    Index(usize),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Path {
    pub root: Root,
    pub segments: Vec<Segment>,
    /// The expression as written, for error messages.
    pub text: String,
}

/// Which spelling of roots a path uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Syntax {
    /// `$Input`, `$Output`, `$Context` ("Inputs and outputs", CloudFlow).
    CloudFlow,
    /// `$input`, `$local`, `$context` (FDL "Inputs and outputs" mappings).
    FdlMapping,
    /// `$` is the step input, as in `duration: $.wait` (FDL "Wait step").
    FdlInput,
}

impl Syntax {
    fn example(self) -> &'static str {
        match self {
            Syntax::CloudFlow => "$Input.a.b, $Input.list[0] or $Input[\"key\"]",
            Syntax::FdlMapping => "$input.a.b, $local.list[0] or $context.execution.name",
            Syntax::FdlInput => "$.a.b or $.list[0]",
        }
    }

    fn root(self, name: &str) -> Option<Root> {
        match (self, name) {
            (Syntax::CloudFlow, "Input") => Some(Root::Input),
            (Syntax::CloudFlow, "Output") => Some(Root::Output),
            (Syntax::CloudFlow, "Context") => Some(Root::Context),
            (Syntax::FdlMapping, "input") => Some(Root::Input),
            (Syntax::FdlMapping, "local") => Some(Root::Local),
            (Syntax::FdlMapping, "context") => Some(Root::Context),
            (Syntax::FdlInput, "") => Some(Root::Input),
            _ => None,
        }
    }

    fn roots(self) -> &'static str {
        match self {
            Syntax::CloudFlow => "$Input, $Output or $Context",
            Syntax::FdlMapping => "$input, $local or $context",
            Syntax::FdlInput => "$ (the step input, as in $.key)",
        }
    }
}

fn is_ident(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Parse a path expression; the error is a message for `DefinitionError`.
pub(crate) fn parse(text: &str, syntax: Syntax) -> Result<Path, String> {
    if text.chars().count() > MAX_EXPRESSION_CHARS {
        return Err(format!(
            "expression is longer than {MAX_EXPRESSION_CHARS} characters"
        ));
    }
    let beyond = || {
        format!(
            "expression {text:?} is not a plain path such as {} (the expression language \
             takes the rest)",
            syntax.example()
        )
    };
    let trimmed = text.trim();
    let Some(rest) = trimmed.strip_prefix('$') else {
        if trimmed.contains(['$', '(']) {
            return Err(beyond());
        }
        return Err(format!(
            "expression {text:?} must start with {}",
            syntax.roots()
        ));
    };
    let chars: Vec<char> = rest.chars().collect();
    let mut i = 0;
    while i < chars.len() && is_ident(chars[i]) {
        i += 1;
    }
    let root_name: String = chars[..i].iter().collect();
    let Some(root) = syntax.root(&root_name) else {
        return Err(format!(
            "unknown root \"${root_name}\" in expression {text:?}; expected {}",
            syntax.roots()
        ));
    };
    let mut segments = Vec::new();
    while i < chars.len() {
        match chars[i] {
            '.' => {
                let start = i + 1;
                i = start;
                while i < chars.len() && is_ident(chars[i]) {
                    i += 1;
                }
                if i == start {
                    return Err(beyond());
                }
                segments.push(Segment::Key(chars[start..i].iter().collect()));
            }
            '[' => {
                i += 1;
                match chars.get(i) {
                    Some(q @ ('"' | '\'')) => {
                        let quote = *q;
                        i += 1;
                        let mut key = String::new();
                        loop {
                            match chars.get(i) {
                                None => return Err(beyond()),
                                Some('\\') => {
                                    let Some(c) = chars.get(i + 1) else {
                                        return Err(beyond());
                                    };
                                    key.push(*c);
                                    i += 2;
                                }
                                Some(c) if *c == quote => {
                                    i += 1;
                                    break;
                                }
                                Some(c) => {
                                    key.push(*c);
                                    i += 1;
                                }
                            }
                        }
                        segments.push(Segment::Key(key));
                    }
                    Some(c) if c.is_ascii_digit() => {
                        let start = i;
                        while i < chars.len() && chars[i].is_ascii_digit() {
                            i += 1;
                        }
                        let digits: String = chars[start..i].iter().collect();
                        let index = digits
                            .parse::<usize>()
                            .map_err(|_| format!("array index {digits} is too large"))?;
                        segments.push(Segment::Index(index));
                    }
                    _ => return Err(beyond()),
                }
                if chars.get(i) != Some(&']') {
                    return Err(beyond());
                }
                i += 1;
            }
            _ => return Err(beyond()),
        }
    }
    Ok(Path {
        root,
        segments,
        text: trimmed.to_string(),
    })
}

/// Follow `segments` from a value; `None` when a key or index is missing.
pub(crate) fn lookup<'v>(mut value: &'v Value, segments: &[Segment]) -> Option<&'v Value> {
    for seg in segments {
        value = match (seg, value) {
            (Segment::Key(k), Value::Object(m)) => m.get(k)?,
            (Segment::Index(i), Value::Array(a)) => a.get(*i)?,
            _ => return None,
        };
    }
    Some(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_paths() {
        let p = parse("$Input.a.list[2][\"k y\"]", Syntax::CloudFlow).unwrap();
        assert_eq!(p.root, Root::Input);
        assert_eq!(
            p.segments,
            vec![
                Segment::Key("a".into()),
                Segment::Key("list".into()),
                Segment::Index(2),
                Segment::Key("k y".into())
            ]
        );
        assert_eq!(parse("$.wait", Syntax::FdlInput).unwrap().root, Root::Input);
        assert!(
            parse("$Input.a + 1", Syntax::CloudFlow)
                .unwrap_err()
                .contains("not a plain path")
        );
        assert!(parse("length($Input)", Syntax::CloudFlow).is_err());
        assert!(
            parse("$input.a", Syntax::CloudFlow)
                .unwrap_err()
                .contains("unknown root")
        );
        assert!(parse("$Input.", Syntax::CloudFlow).is_err());
        assert!(parse("$Input[99999999999999999999999]", Syntax::CloudFlow).is_err());
    }
}
