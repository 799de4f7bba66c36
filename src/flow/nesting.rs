//! A linear pre-scan that refuses flow collections (`[...]`, `{...}`) nested deeper than
//! `MAX_FLOW_DEPTH` before the YAML parser sees them: the parser behind `serde_norway` (libyaml)
//! spends time proportional to the flow depth on every token, so 131,000 `[` cost it 45 s.
//!
//! It mirrors libyaml's scanner closely enough to skip quoted scalars, comments, plain and
//! block scalars. The one thing it cannot tell without libyaml's indentation stack is whether a
//! block-context line continues a plain or block scalar; there it follows both readings at once
//! (a small set of states, like an NFA) and refuses if either goes too deep. So a scalar's text
//! can only make it refuse (a false alarm needs 129 unclosed brackets), never hide a real bracket.

use super::DefinitionError;

/// Deepest nesting of flow collections (`[...]`, `{...}`) in a definition: serde_norway's own
/// recursion limit, so nothing it would have read is refused (a definition written as JSON
/// at the deepest legal nesting, 8 Parallels around a 32-deep constructor, needs about 70).
pub const MAX_FLOW_DEPTH: usize = 128;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Mode {
    /// Between tokens.
    Token,
    /// Inside a plain scalar.
    Plain,
    /// Skipping to the end of the line: a comment, a directive, a block scalar header or a line
    /// read as scalar text.
    Skip,
    Single,
    /// Just after a `'` inside a single-quoted scalar: `''` is an escaped quote.
    SingleQuote,
    Double,
    DoubleEscape,
    /// A tag, anchor or alias name.
    Word,
}

/// One reading of the text so far. `cont`: in block context, the next line may continue the
/// current plain or block scalar.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct St {
    depth: usize,
    mode: Mode,
    cont: bool,
}

fn is_break(c: char) -> bool {
    matches!(c, '\n' | '\r' | '\u{85}' | '\u{2028}' | '\u{2029}')
}

fn is_blank(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\u{feff}')
}

fn is_blankz(c: Option<char>) -> bool {
    c.is_none_or(|c| is_blank(c) || is_break(c))
}

fn is_flow_indicator(c: char) -> bool {
    matches!(c, ',' | '[' | ']' | '{' | '}')
}

/// Checks `text` before it is parsed; the error names the line and column (1-based) of the
/// bracket that goes one level too deep.
pub(crate) fn check(text: &str) -> Result<(), DefinitionError> {
    let mut states = vec![St {
        depth: 0,
        mode: Mode::Token,
        cont: false,
    }];
    let mut next_states = Vec::with_capacity(4);
    let (mut line, mut col) = (1usize, 0usize);
    let mut prev_blank = true;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        let next = chars.peek().copied();
        if col == 0 && document_marker(c, &chars) {
            // `---`/`...` at column 0 ends any scalar (or is a libyaml error inside quotes).
            states
                .iter_mut()
                .for_each(|s| (s.mode, s.cont) = (Mode::Token, false));
            chars.nth(1);
            (col, prev_blank) = (3, false);
            continue;
        }
        next_states.clear();
        for &s in &states {
            if is_break(c) {
                on_break(s, &mut next_states);
            } else {
                let s = step(s, c, next, col, prev_blank);
                if s.depth > MAX_FLOW_DEPTH {
                    return Err(too_deep(line, col + 1));
                }
                next_states.push(s);
            }
        }
        if next_states.len() > 1 {
            next_states.sort_unstable();
            next_states.dedup();
        }
        std::mem::swap(&mut states, &mut next_states);
        if is_break(c) {
            // `\r\n` is one line break.
            if !(c == '\r' && next == Some('\n')) {
                line += 1;
            }
            col = 0;
            prev_blank = true;
        } else {
            col += 1;
            prev_blank = is_blank(c);
        }
    }
    Ok(())
}

fn too_deep(line: usize, column: usize) -> DefinitionError {
    DefinitionError::new(
        "Definition",
        format!(
            "flow collections ([...] or {{...}}) are nested more than {MAX_FLOW_DEPTH} deep at \
             line {line} column {column}"
        ),
    )
}

/// Whether `c` and what follows is `---` or `...` then a blank, a line break or the end.
fn document_marker(c: char, rest: &std::iter::Peekable<std::str::Chars>) -> bool {
    if c != '-' && c != '.' {
        return false;
    }
    let mut it = rest.clone();
    it.next() == Some(c) && it.next() == Some(c) && is_blankz(it.next())
}

fn on_break(s: St, out: &mut Vec<St>) {
    let token = St {
        mode: Mode::Token,
        cont: false,
        ..s
    };
    match s.mode {
        Mode::Single | Mode::Double => out.push(s),
        Mode::DoubleEscape => out.push(St {
            mode: Mode::Double,
            ..s
        }),
        Mode::SingleQuote | Mode::Word | Mode::Token => out.push(token),
        // A flow plain scalar goes on across lines whatever the indentation.
        Mode::Plain if s.depth > 0 => out.push(s),
        Mode::Plain | Mode::Skip if s.cont => {
            // The next line either continues the scalar (read as text) or starts afresh.
            out.push(St {
                mode: Mode::Skip,
                cont: true,
                ..s
            });
            out.push(token);
        }
        Mode::Plain | Mode::Skip => out.push(token),
    }
}

fn step(s: St, c: char, next: Option<char>, col: usize, prev_blank: bool) -> St {
    let with = |mode| St { mode, ..s };
    match s.mode {
        Mode::Token => token_start(s, c, next, col),
        Mode::Skip => s,
        Mode::Single if c == '\'' => with(Mode::SingleQuote),
        Mode::Single => s,
        Mode::SingleQuote if c == '\'' => with(Mode::Single),
        Mode::SingleQuote => token_start(s, c, next, col),
        Mode::Double if c == '\\' => with(Mode::DoubleEscape),
        Mode::Double if c == '"' => with(Mode::Token),
        Mode::Double => s,
        Mode::DoubleEscape => with(Mode::Double),
        Mode::Word if is_blank(c) => with(Mode::Token),
        Mode::Word if s.depth > 0 && is_flow_indicator(c) => token_start(s, c, next, col),
        Mode::Word => s,
        Mode::Plain => plain(s, c, next, col, prev_blank),
    }
}

fn plain(s: St, c: char, next: Option<char>, col: usize, prev_blank: bool) -> St {
    let ends_at_colon =
        |n: Option<char>| is_blankz(n) || (s.depth > 0 && n.is_some_and(is_flow_indicator));
    if c == '#' && prev_blank {
        St {
            mode: Mode::Skip,
            cont: false,
            ..s
        }
    } else if c == ':' && ends_at_colon(next) {
        St {
            mode: Mode::Token,
            cont: false,
            ..s
        }
    } else if s.depth > 0 && is_flow_indicator(c) {
        token_start(s, c, next, col)
    } else {
        s
    }
}

/// The first character of a token (libyaml's `fetch_next_token`).
fn token_start(s: St, c: char, next: Option<char>, col: usize) -> St {
    let to = |mode, depth, cont| St { depth, mode, cont };
    let flow = s.depth > 0;
    match c {
        c if is_blank(c) => to(Mode::Token, s.depth, false),
        '#' => to(Mode::Skip, s.depth, false),
        '[' | '{' => to(Mode::Token, s.depth + 1, false),
        ']' | '}' => to(Mode::Token, s.depth.saturating_sub(1), false),
        ',' => to(Mode::Token, s.depth, false),
        '\'' => to(Mode::Single, s.depth, false),
        '"' => to(Mode::Double, s.depth, false),
        '!' | '&' | '*' => to(Mode::Word, s.depth, false),
        '|' | '>' if !flow => to(Mode::Skip, 0, true),
        '%' if !flow && col == 0 => to(Mode::Skip, 0, false),
        // In flow context `?` and `:` are always indicators, as libyaml reads them.
        ':' | '?' if flow || is_blankz(next) => to(Mode::Token, s.depth, false),
        '-' if is_blankz(next) => to(Mode::Token, s.depth, false),
        _ => to(Mode::Plain, s.depth, !flow),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deep(open: &str, n: usize) -> String {
        open.repeat(n)
    }

    #[test]
    fn accepts_the_limit_and_refuses_one_more() {
        assert!(check(&format!("x: {}", deep("[", MAX_FLOW_DEPTH))).is_ok());
        let err = check(&format!("x: {}", deep("[", MAX_FLOW_DEPTH + 1))).unwrap_err();
        assert!(err.message.contains("line 1 column 132"), "{err}");
        let err = check(&format!("a: 1\r\nx: {}", deep("[", 200))).unwrap_err();
        assert!(err.message.contains("line 2 column 132"), "{err}");
    }

    #[test]
    fn brackets_in_scalars_and_comments_do_not_count() {
        let b = deep("[", 200);
        for text in [
            format!("x: '{b}'"),
            format!("x: \"{b}\""),
            format!("x: a{b}"),
            format!("# {b}\nx: 1"),
            format!("x: |\n  a{b}\n"),
            format!("x: 'it''s {b}'"),
            format!("x: \"a\\\"{b}\""),
            format!("x: [a, '{b}', \"{b}\"]"),
            format!("x: {{\"k\":\"{b}\"}}"),
        ] {
            assert!(check(&text).is_ok(), "{text}");
        }
    }

    #[test]
    fn a_quote_inside_a_scalar_cannot_hide_brackets() {
        let b = deep("[", 200);
        for text in [
            // A plain scalar's continuation line that starts with a quote.
            format!("x: a\n  'b\ny: {b}"),
            format!("x: a\n  - 'b\ny: {b}"),
            // A quote in the middle of a plain scalar, in block and in flow context.
            format!("x: it's\ny: {b}"),
            format!("x: [a 'b, {b}"),
            format!("x: [a\n 'b, {b}"),
            format!("x: [?']]]]', {b}"),
            // Line breaks libyaml knows beyond \n and \r end a comment.
            format!("x: 1 # c\u{2028}y: {b}"),
            format!("--- {b}"),
        ] {
            assert!(check(&text).is_err(), "{text:?}");
        }
    }
}
