//! Characters to tokens. Offsets are character (not byte) positions, as error messages show.

use serde_json::Number;

use super::{Dialect, ExprError, RootName};

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Segment {
    Key(String),
    Index(usize),
    /// `[*]`: every element (of an array) or value (of an object); the rest of the path is
    /// applied to each and the matches are collected into an array, as in JSONPath (the FDL
    /// Parallel and Foreach pages use `$local[*].x`).
    Wildcard,
}

/// A path such as `$Input.a[0]["b c"]`; lexed as one token because it has no spaces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct PathExpr {
    pub root: RootName,
    pub segments: Vec<Segment>,
    pub text: String,
}

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Tok {
    Str(String),
    Num(Number),
    Name(String),
    Path(PathExpr),
    LParen,
    RParen,
    LBracket,
    RBracket,
    LBrace,
    RBrace,
    Comma,
    Colon,
    EqEq,
    NotEq,
    Lt,
    Le,
    Gt,
    Ge,
    AndAnd,
    OrOr,
    Bang,
    Minus,
    End,
}

impl Tok {
    /// How error messages show what was found.
    pub fn describe(&self) -> String {
        match self {
            Tok::Str(s) => format!("string {s:?}"),
            Tok::Num(n) => format!("number {n}"),
            Tok::Name(n) => format!("name {n}"),
            Tok::Path(p) => format!("path {}", p.text),
            Tok::End => "end of expression".into(),
            other => format!("'{}'", other.symbol()),
        }
    }

    pub fn symbol(&self) -> &'static str {
        match self {
            Tok::LParen => "(",
            Tok::RParen => ")",
            Tok::LBracket => "[",
            Tok::RBracket => "]",
            Tok::LBrace => "{",
            Tok::RBrace => "}",
            Tok::Comma => ",",
            Tok::Colon => ":",
            Tok::EqEq => "==",
            Tok::NotEq => "!=",
            Tok::Lt => "<",
            Tok::Le => "<=",
            Tok::Gt => ">",
            Tok::Ge => ">=",
            Tok::AndAnd => "&&",
            Tok::OrOr => "||",
            Tok::Bang => "!",
            Tok::Minus => "-",
            _ => "",
        }
    }
}

#[derive(Debug, Clone)]
pub(super) struct Token {
    pub tok: Tok,
    pub offset: usize,
}

fn err(offset: usize, message: impl Into<String>) -> ExprError {
    ExprError {
        offset,
        message: message.into(),
    }
}

fn is_name_start(c: char) -> bool {
    c.is_alphabetic() || c == '_'
}

fn is_name_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

struct Lexer<'a> {
    chars: &'a [char],
    pos: usize,
    dialect: Dialect,
}

pub(super) fn lex(text: &str, dialect: Dialect) -> Result<Vec<Token>, ExprError> {
    let chars: Vec<char> = text.chars().collect();
    let mut lx = Lexer {
        chars: &chars,
        pos: 0,
        dialect,
    };
    let mut out = Vec::new();
    loop {
        while lx.peek().is_some_and(char::is_whitespace) {
            lx.pos += 1;
        }
        let offset = lx.pos;
        let Some(c) = lx.peek() else {
            out.push(Token {
                tok: Tok::End,
                offset,
            });
            return Ok(out);
        };
        let two = (c, lx.chars.get(lx.pos + 1).copied());
        let tok = match two {
            ('=', Some('=')) => lx.take(2, Tok::EqEq),
            ('!', Some('=')) => lx.take(2, Tok::NotEq),
            ('<', Some('=')) => lx.take(2, Tok::Le),
            ('>', Some('=')) => lx.take(2, Tok::Ge),
            ('&', Some('&')) => lx.take(2, Tok::AndAnd),
            ('|', Some('|')) => lx.take(2, Tok::OrOr),
            ('<', _) => lx.take(1, Tok::Lt),
            ('>', _) => lx.take(1, Tok::Gt),
            ('!', _) => lx.take(1, Tok::Bang),
            ('-', _) => lx.take(1, Tok::Minus),
            ('(', _) => lx.take(1, Tok::LParen),
            (')', _) => lx.take(1, Tok::RParen),
            ('[', _) => lx.take(1, Tok::LBracket),
            (']', _) => lx.take(1, Tok::RBracket),
            ('{', _) => lx.take(1, Tok::LBrace),
            ('}', _) => lx.take(1, Tok::RBrace),
            (',', _) => lx.take(1, Tok::Comma),
            (':', _) => lx.take(1, Tok::Colon),
            ('=', _) => return Err(err(offset, "expected '==' for equality, found '='")),
            ('&', _) => return Err(err(offset, "expected '&&', found a single '&'")),
            ('|', _) => return Err(err(offset, "expected '||', found a single '|'")),
            ('+' | '*' | '/' | '%', _) => {
                // "CloudFlow: Choice" lists no arithmetic; intAdd is the documented way.
                return Err(err(
                    offset,
                    format!("arithmetic operator '{c}' is not supported (use intAdd for sums)"),
                ));
            }
            ('"' | '\'', _) => Tok::Str(lx.quoted(c)?),
            ('`', _) => Tok::Str(lx.raw()?),
            ('$', _) => Tok::Path(lx.path()?),
            (d, _) if d.is_ascii_digit() => Tok::Num(lx.number()?),
            (n, _) if is_name_start(n) => {
                let start = lx.pos;
                while lx.peek().is_some_and(is_name_char) {
                    lx.pos += 1;
                }
                Tok::Name(lx.chars[start..lx.pos].iter().collect())
            }
            (other, _) => return Err(err(offset, format!("unexpected character {other:?}"))),
        };
        out.push(Token { tok, offset });
    }
}

impl Lexer<'_> {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn take(&mut self, n: usize, tok: Tok) -> Tok {
        self.pos += n;
        tok
    }

    /// `"..."` or `'...'` with JSON escapes.
    fn quoted(&mut self, quote: char) -> Result<String, ExprError> {
        let start = self.pos;
        self.pos += 1;
        let mut s = String::new();
        loop {
            let Some(c) = self.peek() else {
                return Err(err(
                    start,
                    format!(
                        "expected a closing {quote} for the string starting here, found end of expression"
                    ),
                ));
            };
            self.pos += 1;
            if c == quote {
                return Ok(s);
            }
            if c != '\\' {
                s.push(c);
                continue;
            }
            let at = self.pos - 1;
            let Some(e) = self.peek() else {
                return Err(err(
                    at,
                    "expected an escape after '\\', found end of expression",
                ));
            };
            self.pos += 1;
            s.push(match e {
                '"' | '\'' | '\\' | '/' | '`' => e,
                'b' => '\u{8}',
                'f' => '\u{c}',
                'n' => '\n',
                'r' => '\r',
                't' => '\t',
                'u' => self.unicode_escape(at)?,
                other => return Err(err(at, format!("unknown escape '\\{other}' in string"))),
            });
        }
    }

    fn hex4(&mut self, at: usize) -> Result<u32, ExprError> {
        let mut v = 0u32;
        for _ in 0..4 {
            let d = self
                .peek()
                .and_then(|c| c.to_digit(16))
                .ok_or_else(|| err(at, "expected 4 hexadecimal digits after '\\u'"))?;
            v = v * 16 + d;
            self.pos += 1;
        }
        Ok(v)
    }

    fn unicode_escape(&mut self, at: usize) -> Result<char, ExprError> {
        let hi = self.hex4(at)?;
        let code = if (0xD800..0xDC00).contains(&hi) {
            // A surrogate pair, as JSON writes characters beyond the BMP.
            if self.peek() != Some('\\') || self.chars.get(self.pos + 1) != Some(&'u') {
                return Err(err(
                    at,
                    "expected a low surrogate '\\uDC00'..'\\uDFFF' after a high surrogate",
                ));
            }
            self.pos += 2;
            let lo = self.hex4(at)?;
            if !(0xDC00..0xE000).contains(&lo) {
                return Err(err(
                    at,
                    "expected a low surrogate '\\uDC00'..'\\uDFFF' after a high surrogate",
                ));
            }
            0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)
        } else {
            hi
        };
        char::from_u32(code).ok_or_else(|| err(at, "\\u escape is not a valid character"))
    }

    /// Backquoted raw string: no escapes ("CloudFlow: Choice" allows `foobar`).
    fn raw(&mut self) -> Result<String, ExprError> {
        let start = self.pos;
        self.pos += 1;
        let from = self.pos;
        while let Some(c) = self.peek() {
            if c == '`' {
                let s = self.chars[from..self.pos].iter().collect();
                self.pos += 1;
                return Ok(s);
            }
            self.pos += 1;
        }
        Err(err(
            start,
            "expected a closing ` for the string starting here, found end of expression",
        ))
    }

    fn number(&mut self) -> Result<Number, ExprError> {
        let start = self.pos;
        let digits = |lx: &mut Self| {
            let from = lx.pos;
            while lx.peek().is_some_and(|c| c.is_ascii_digit()) {
                lx.pos += 1;
            }
            lx.pos > from
        };
        digits(self);
        let mut float = false;
        if self.peek() == Some('.') {
            self.pos += 1;
            float = true;
            if !digits(self) {
                return Err(err(self.pos, "expected digits after the decimal point"));
            }
        }
        if matches!(self.peek(), Some('e' | 'E')) {
            self.pos += 1;
            float = true;
            if matches!(self.peek(), Some('+' | '-')) {
                self.pos += 1;
            }
            if !digits(self) {
                return Err(err(self.pos, "expected digits in the exponent"));
            }
        }
        if self.peek().is_some_and(is_name_char) {
            return Err(err(
                self.pos,
                "expected an operator after the number, found a letter",
            ));
        }
        let text: String = self.chars[start..self.pos].iter().collect();
        if !float && let Ok(u) = text.parse::<u64>() {
            return Ok(Number::from(u));
        }
        text.parse::<f64>()
            .ok()
            .and_then(Number::from_f64)
            .ok_or_else(|| err(start, format!("number {text} is out of range")))
    }

    fn path(&mut self) -> Result<PathExpr, ExprError> {
        let start = self.pos;
        self.pos += 1;
        let name_from = self.pos;
        while self.peek().is_some_and(is_name_char) {
            self.pos += 1;
        }
        let name: String = self.chars[name_from..self.pos].iter().collect();
        let root = match (self.dialect, name.as_str()) {
            (Dialect::CloudFlow, "Input") => RootName::Input,
            (Dialect::CloudFlow, "Output") => RootName::Output,
            (Dialect::CloudFlow, "Context") => RootName::Context,
            (Dialect::Fdl, "input" | "") => RootName::Input,
            (Dialect::Fdl, "local") => RootName::Local,
            (Dialect::Fdl, "context") => RootName::Context,
            (d, _) => {
                let expected = match d {
                    Dialect::CloudFlow => "$Input, $Output or $Context",
                    Dialect::Fdl => "$input, $local, $context or $ (the step input, as in $.key)",
                };
                return Err(err(
                    start,
                    format!("unknown root ${name}; expected {expected}"),
                ));
            }
        };
        let mut segments = Vec::new();
        loop {
            match self.peek() {
                Some('.') => {
                    self.pos += 1;
                    let from = self.pos;
                    while self.peek().is_some_and(is_name_char) {
                        self.pos += 1;
                    }
                    if self.pos == from {
                        let found = self
                            .peek()
                            .map_or("end of expression".to_string(), |c| format!("{c:?}"));
                        return Err(err(
                            self.pos,
                            format!("expected a field name after '.', found {found}"),
                        ));
                    }
                    segments.push(Segment::Key(self.chars[from..self.pos].iter().collect()));
                }
                Some('[') => {
                    let open = self.pos;
                    self.pos += 1;
                    match self.peek() {
                        Some(q @ ('"' | '\'')) => segments.push(Segment::Key(self.quoted(q)?)),
                        Some('*') => {
                            self.pos += 1;
                            segments.push(Segment::Wildcard);
                        }
                        Some(d) if d.is_ascii_digit() => {
                            let from = self.pos;
                            while self.peek().is_some_and(|c| c.is_ascii_digit()) {
                                self.pos += 1;
                            }
                            let text: String = self.chars[from..self.pos].iter().collect();
                            let i = text.parse::<usize>().map_err(|_| {
                                err(from, format!("array index {text} is too large"))
                            })?;
                            segments.push(Segment::Index(i));
                        }
                        _ => {
                            return Err(err(
                                self.pos,
                                "expected an index (digits), '*' or a quoted key after '['",
                            ));
                        }
                    }
                    if self.peek() != Some(']') {
                        return Err(err(
                            self.pos,
                            format!("expected ']' closing the '[' at {open}"),
                        ));
                    }
                    self.pos += 1;
                }
                _ => break,
            }
        }
        Ok(PathExpr {
            root,
            segments,
            text: self.chars[start..self.pos].iter().collect(),
        })
    }
}
