//! Tokens to a tree, by recursive descent with an explicit depth limit (never a stack overflow).

use serde_json::{Number, Value};

use super::functions::Func;
use super::lexer::{PathExpr, Tok, Token};
use super::{ExprError, MAX_EXPRESSION_DEPTH, MAX_FUNCTION_NESTING, RootName};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

#[derive(Debug, Clone)]
pub(super) enum Node {
    Lit(Value),
    Path(PathExpr),
    Not(Box<Node>),
    Neg(Box<Node>),
    Cmp(CmpOp, Box<Node>, Box<Node>),
    In(Box<Node>, Box<Node>),
    /// n-ary, so a long `a || b || c ...` stays a shallow tree.
    And(Vec<Node>),
    Or(Vec<Node>),
    /// The offset tells calls apart, so two `uuid()` in one expression differ.
    Call(Func, Vec<Node>, usize),
    Array(Vec<Node>),
    Object(Vec<(String, Node)>),
}

impl Node {
    pub fn collect_roots(&self, out: &mut Vec<RootName>) {
        match self {
            Node::Lit(_) => {}
            Node::Path(p) => {
                if !out.contains(&p.root) {
                    out.push(p.root);
                }
            }
            Node::Not(a) | Node::Neg(a) => a.collect_roots(out),
            Node::Cmp(_, a, b) | Node::In(a, b) => {
                a.collect_roots(out);
                b.collect_roots(out);
            }
            Node::Call(_, items, _) | Node::Array(items) | Node::And(items) | Node::Or(items) => {
                items.iter().for_each(|n| n.collect_roots(out))
            }
            Node::Object(fields) => fields.iter().for_each(|(_, n)| n.collect_roots(out)),
        }
    }
}

struct Parser<'a> {
    tokens: &'a [Token],
    pos: usize,
    depth: usize,
    calls: usize,
}

pub(super) fn parse_tokens(tokens: &[Token]) -> Result<Node, ExprError> {
    let mut p = Parser {
        tokens,
        pos: 0,
        depth: 0,
        calls: 0,
    };
    if p.peek() == &Tok::End {
        return Err(p.error("expected an expression, found end of expression"));
    }
    let node = p.expr()?;
    if p.peek() != &Tok::End {
        let found = p.peek().describe();
        return Err(p.error(format!(
            "expected an operator or end of expression, found {found}"
        )));
    }
    Ok(node)
}

static END: Token = Token {
    tok: Tok::End,
    offset: 0,
};

impl Parser<'_> {
    fn token(&self) -> &Token {
        // The lexer always ends with End; past it (never expected) we keep answering End.
        self.tokens
            .get(self.pos)
            .or(self.tokens.last())
            .unwrap_or(&END)
    }

    fn peek(&self) -> &Tok {
        &self.token().tok
    }

    fn offset(&self) -> usize {
        self.token().offset
    }

    fn bump(&mut self) -> Token {
        let t = self.token().clone();
        if self.pos < self.tokens.len() {
            self.pos += 1;
        }
        t
    }

    fn error(&self, message: impl Into<String>) -> ExprError {
        ExprError {
            offset: self.offset(),
            message: message.into(),
        }
    }

    fn expect(&mut self, tok: Tok, context: &str) -> Result<(), ExprError> {
        if *self.peek() == tok {
            self.bump();
            return Ok(());
        }
        let found = self.peek().describe();
        Err(self.error(format!(
            "expected '{}' {context}, found {found}",
            tok.symbol()
        )))
    }

    fn enter(&mut self) -> Result<(), ExprError> {
        self.depth += 1;
        if self.depth > MAX_EXPRESSION_DEPTH {
            return Err(self.error(format!(
                "expression is nested more than {MAX_EXPRESSION_DEPTH} levels deep"
            )));
        }
        Ok(())
    }

    fn expr(&mut self) -> Result<Node, ExprError> {
        self.enter()?;
        let n = self.or();
        self.depth -= 1;
        n
    }

    fn or(&mut self) -> Result<Node, ExprError> {
        self.joined(&Tok::OrOr, Self::and, Node::Or)
    }

    fn and(&mut self) -> Result<Node, ExprError> {
        self.joined(&Tok::AndAnd, Self::eq, Node::And)
    }

    /// `operand { op operand }`: a lone operand as it is, several under `wrap` (flat, so a
    /// long `||`/`&&` chain does not deepen the tree).
    fn joined(
        &mut self,
        op: &Tok,
        operand: fn(&mut Self) -> Result<Node, ExprError>,
        wrap: fn(Vec<Node>) -> Node,
    ) -> Result<Node, ExprError> {
        let mut items = vec![operand(self)?];
        while self.peek() == op {
            self.bump();
            items.push(operand(self)?);
        }
        Ok(if items.len() == 1 {
            items.remove(0)
        } else {
            wrap(items)
        })
    }

    /// `a == b == c` nests to the left, so each operator after the first counts as a level:
    /// long chains are refused instead of making trees too deep for a small stack.
    fn eq(&mut self) -> Result<Node, ExprError> {
        let saved = self.depth;
        let result = self.chain(Self::rel, |t| match t {
            Tok::EqEq => Some(Some(CmpOp::Eq)),
            Tok::NotEq => Some(Some(CmpOp::Ne)),
            _ => None,
        });
        self.depth = saved;
        result
    }

    fn rel(&mut self) -> Result<Node, ExprError> {
        let saved = self.depth;
        let result = self.chain(Self::unary, |t| match t {
            Tok::Lt => Some(Some(CmpOp::Lt)),
            Tok::Le => Some(Some(CmpOp::Le)),
            Tok::Gt => Some(Some(CmpOp::Gt)),
            Tok::Ge => Some(Some(CmpOp::Ge)),
            Tok::Name(n) if n == "in" => Some(None), // None: the `in` operator.
            _ => None,
        });
        self.depth = saved;
        result
    }

    fn chain(
        &mut self,
        operand: fn(&mut Self) -> Result<Node, ExprError>,
        op_of: fn(&Tok) -> Option<Option<CmpOp>>,
    ) -> Result<Node, ExprError> {
        let mut left = operand(self)?;
        let mut first = true;
        while let Some(op) = op_of(self.peek()) {
            if !first {
                self.enter()?;
            }
            first = false;
            self.bump();
            let right = Box::new(operand(self)?);
            left = match op {
                Some(op) => Node::Cmp(op, Box::new(left), right),
                None => Node::In(Box::new(left), right),
            };
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<Node, ExprError> {
        let neg = match self.peek() {
            Tok::Bang => false,
            Tok::Minus => true,
            _ => return self.primary(),
        };
        self.bump();
        self.enter()?;
        let inner = self.unary();
        self.depth -= 1;
        let inner = inner?;
        Ok(match (neg, inner) {
            (true, Node::Lit(Value::Number(n))) => Node::Lit(Value::Number(negate(&n))),
            (true, other) => Node::Neg(Box::new(other)),
            (false, other) => Node::Not(Box::new(other)),
        })
    }

    fn primary(&mut self) -> Result<Node, ExprError> {
        let offset = self.offset();
        let t = self.bump();
        Ok(match t.tok {
            Tok::Str(s) => Node::Lit(Value::String(s)),
            Tok::Num(n) => Node::Lit(Value::Number(n)),
            Tok::Path(p) => Node::Path(p),
            Tok::Name(n) => match n.as_str() {
                "true" => Node::Lit(Value::Bool(true)),
                "false" => Node::Lit(Value::Bool(false)),
                "null" => Node::Lit(Value::Null),
                _ => self.call(n, offset)?,
            },
            Tok::LParen => {
                let inner = self.expr()?;
                self.expect(Tok::RParen, &format!("closing the '(' at {offset}"))?;
                inner
            }
            Tok::LBracket => {
                self.enter()?;
                let items = self.list(Tok::RBracket, "after the items of the array")?;
                self.depth -= 1;
                Node::Array(items)
            }
            Tok::LBrace => {
                self.enter()?;
                let fields = self.object(offset);
                self.depth -= 1;
                Node::Object(fields?)
            }
            other => {
                self.pos = self.pos.saturating_sub(1);
                return Err(self.error(format!("expected a value, found {}", other.describe())));
            }
        })
    }

    fn call(&mut self, name: String, offset: usize) -> Result<Node, ExprError> {
        let Some(func) = Func::by_name(&name) else {
            let hint = if *self.peek() == Tok::LParen {
                format!(
                    "unknown function {name}; known functions: {}",
                    Func::names()
                )
            } else {
                format!(
                    "expected a value, found name {name} (strings need quotes, paths start with $)"
                )
            };
            return Err(ExprError {
                offset,
                message: hint,
            });
        };
        self.expect(Tok::LParen, &format!("after the function name {name}"))?;
        self.calls += 1;
        if self.calls > MAX_FUNCTION_NESTING {
            return Err(ExprError {
                offset,
                message: format!(
                    "built-in functions are nested more than {MAX_FUNCTION_NESTING} levels deep"
                ),
            });
        }
        self.enter()?;
        let args = self.list(Tok::RParen, &format!("after the arguments of {name}"));
        self.depth -= 1;
        self.calls -= 1;
        let args = args?;
        func.check_arity(args.len())
            .map_err(|message| ExprError { offset, message })?;
        Ok(Node::Call(func, args, offset))
    }

    /// Comma-separated expressions up to `close` (the opening token is already consumed).
    fn list(&mut self, close: Tok, context: &str) -> Result<Vec<Node>, ExprError> {
        let mut items = Vec::new();
        if *self.peek() == close {
            self.bump();
            return Ok(items);
        }
        loop {
            items.push(self.or()?); // The enclosing call/array counted the level.
            if *self.peek() == Tok::Comma {
                self.bump();
                continue;
            }
            self.expect(close, &format!("or ',' {context}"))?;
            return Ok(items);
        }
    }

    fn object(&mut self, open: usize) -> Result<Vec<(String, Node)>, ExprError> {
        let mut fields: Vec<(String, Node)> = Vec::new();
        if *self.peek() == Tok::RBrace {
            self.bump();
            return Ok(fields);
        }
        loop {
            let Tok::Str(key) = self.peek().clone() else {
                let found = self.peek().describe();
                return Err(self.error(format!(
                    "expected a quoted key in the object at {open}, found {found}"
                )));
            };
            self.bump();
            self.expect(Tok::Colon, &format!("after the key {key:?}"))?;
            let value = self.or()?;
            // A repeated key keeps the last value, as JSON decoders do.
            fields.retain(|(k, _)| *k != key);
            fields.push((key, value));
            if *self.peek() == Tok::Comma {
                self.bump();
                continue;
            }
            self.expect(
                Tok::RBrace,
                &format!("or ',' after the fields of the object at {open}"),
            )?;
            return Ok(fields);
        }
    }
}

/// `-literal`, folded at parse time so `-9223372036854775808` stays an exact integer.
fn negate(n: &Number) -> Number {
    if let Some(u) = n.as_u64() {
        if u <= i64::MAX as u64 {
            return Number::from(-(u as i64));
        }
        if u == i64::MAX as u64 + 1 {
            return Number::from(i64::MIN);
        }
    }
    if let Some(i) = n.as_i64()
        && let Some(neg) = i.checked_neg()
    {
        return Number::from(neg);
    }
    let f = n.as_f64().unwrap_or(0.0);
    Number::from_f64(-f).unwrap_or_else(|| Number::from(0))
}
