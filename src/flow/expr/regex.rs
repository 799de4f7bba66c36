//! A small regular-expression matcher for `regexMatchString` (no regex crate here). Syntax:
//! literals, `.`, `[...]`/`[^...]` with ranges, `\d \w \s \D \W \S`, escapes, `^`, `$`, groups
//! `(...)`/`(?:...)`, `|`, `* + ?` (lazy forms too) and `{m}`, `{m,}`, `{m,n}`. Matching is
//! a Thompson/Pike NFA simulation: time linear in the input, no backtracking blow-up, no
//! recursion while matching. Like Go's `regexp.MatchString`, a match anywhere counts.

const MAX_PATTERN_CHARS: usize = 1024;
const MAX_DEPTH: usize = 32;
const MAX_PROGRAM: usize = 10_000;
const MAX_REPEAT: u32 = 1000;

#[derive(Debug, Clone)]
enum Inst {
    Char(char),
    Any,
    Class(Vec<(char, char)>, bool),
    Split(usize, usize),
    Jmp(usize),
    Start,
    End,
    Match,
}

#[derive(Debug, Clone)]
enum Re {
    Char(char),
    Any,
    Class(Vec<(char, char)>, bool),
    Start,
    End,
    Concat(Vec<Re>),
    Alt(Vec<Re>),
    Repeat(Box<Re>, u32, Option<u32>),
}

struct P<'a> {
    c: &'a [char],
    i: usize,
    depth: usize,
}

pub(super) fn is_match(pattern: &str, input: &str) -> Result<bool, String> {
    let chars: Vec<char> = pattern.chars().collect();
    if chars.len() > MAX_PATTERN_CHARS {
        return Err(format!("longer than {MAX_PATTERN_CHARS} characters"));
    }
    let mut p = P {
        c: &chars,
        i: 0,
        depth: 0,
    };
    let re = p.alt()?;
    if p.i < chars.len() {
        return Err(format!("unmatched ')' at {}", p.i));
    }
    let mut prog = Vec::new();
    compile(&re, &mut prog)?;
    prog.push(Inst::Match);
    Ok(run(&prog, &input.chars().collect::<Vec<_>>()))
}

const DIGIT: &[(char, char)] = &[('0', '9')];
const WORD: &[(char, char)] = &[('0', '9'), ('A', 'Z'), ('_', '_'), ('a', 'z')];
const SPACE: &[(char, char)] = &[('\t', '\n'), ('\u{c}', '\r'), (' ', ' ')];

impl P<'_> {
    fn peek(&self) -> Option<char> {
        self.c.get(self.i).copied()
    }

    fn alt(&mut self) -> Result<Re, String> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(format!("nested more than {MAX_DEPTH} levels deep"));
        }
        let mut alts = vec![self.concat()?];
        while self.peek() == Some('|') {
            self.i += 1;
            alts.push(self.concat()?);
        }
        self.depth -= 1;
        Ok(if alts.len() == 1 {
            alts.remove(0)
        } else {
            Re::Alt(alts)
        })
    }

    fn concat(&mut self) -> Result<Re, String> {
        let mut items = Vec::new();
        while let Some(c) = self.peek() {
            if c == '|' || c == ')' {
                break;
            }
            let atom = self.atom()?;
            items.push(self.quantified(atom)?);
        }
        Ok(Re::Concat(items))
    }

    fn quantified(&mut self, atom: Re) -> Result<Re, String> {
        let (min, max) = match self.peek() {
            Some('*') => (0, None),
            Some('+') => (1, None),
            Some('?') => (0, Some(1)),
            Some('{') => match self.counted()? {
                Some(r) => r,
                None => return Ok(atom),
            },
            _ => return Ok(atom),
        };
        self.i += 1; // The quantifier character, or the '}' of a count.
        if self.peek() == Some('?') {
            self.i += 1; // Lazy and greedy agree on whether a match exists.
        }
        if matches!(atom, Re::Start | Re::End) {
            return Err("a quantifier cannot follow '^' or '$'".into());
        }
        if matches!(self.peek(), Some('*' | '+' | '?')) {
            return Err(format!("repeated quantifier at {}", self.i));
        }
        Ok(Re::Repeat(Box::new(atom), min, max))
    }

    /// `{m}`, `{m,}`, `{m,n}`; leaves `i` on the closing brace. A `{` that does not start a
    /// valid count is a literal, as in Go.
    fn counted(&mut self) -> Result<Option<(u32, Option<u32>)>, String> {
        let start = self.i;
        let mut j = start + 1;
        let num = |j: &mut usize| -> Option<u32> {
            let from = *j;
            while self.c.get(*j).is_some_and(|c| c.is_ascii_digit()) {
                *j += 1;
            }
            self.c[from..*j].iter().collect::<String>().parse().ok()
        };
        let Some(min) = num(&mut j) else {
            return Ok(None);
        };
        let max = if self.c.get(j) == Some(&',') {
            j += 1;
            if self.c.get(j) == Some(&'}') {
                None
            } else {
                let Some(m) = num(&mut j) else {
                    return Ok(None);
                };
                Some(m)
            }
        } else {
            Some(min)
        };
        if self.c.get(j) != Some(&'}') {
            return Ok(None);
        }
        if min > MAX_REPEAT || max.is_some_and(|m| m > MAX_REPEAT || m < min) {
            return Err(format!(
                "invalid repeat count at {start} (at most {MAX_REPEAT}, min <= max)"
            ));
        }
        self.i = j;
        Ok(Some((min, max)))
    }

    fn atom(&mut self) -> Result<Re, String> {
        let at = self.i;
        let Some(c) = self.peek() else {
            return Err("unexpected end of pattern".into());
        };
        self.i += 1;
        Ok(match c {
            '.' => Re::Any,
            '^' => Re::Start,
            '$' => Re::End,
            '(' => {
                if self.peek() == Some('?') {
                    if self.c.get(self.i + 1) != Some(&':') {
                        return Err(format!("unsupported group syntax '(?' at {at}"));
                    }
                    self.i += 2;
                }
                let inner = self.alt()?;
                if self.peek() != Some(')') {
                    return Err(format!("missing ')' for the '(' at {at}"));
                }
                self.i += 1;
                inner
            }
            '[' => self.class(at)?,
            '\\' => self.escape(false)?,
            '*' | '+' | '?' => return Err(format!("nothing to repeat at {at}")),
            other => Re::Char(other),
        })
    }

    fn escape(&mut self, in_class: bool) -> Result<Re, String> {
        let Some(e) = self.peek() else {
            return Err("trailing '\\' in pattern".into());
        };
        self.i += 1;
        let class = |r: &[(char, char)], neg| Re::Class(r.to_vec(), neg);
        Ok(match e {
            'd' => class(DIGIT, false),
            'w' => class(WORD, false),
            's' => class(SPACE, false),
            'D' | 'W' | 'S' if in_class => {
                return Err(format!("'\\{e}' inside [...] is not supported"));
            }
            'D' => class(DIGIT, true),
            'W' => class(WORD, true),
            'S' => class(SPACE, true),
            'n' => Re::Char('\n'),
            't' => Re::Char('\t'),
            'r' => Re::Char('\r'),
            c if c.is_ascii_alphanumeric() => return Err(format!("unsupported escape '\\{c}'")),
            c => Re::Char(c),
        })
    }

    fn class(&mut self, at: usize) -> Result<Re, String> {
        let neg = self.peek() == Some('^');
        if neg {
            self.i += 1;
        }
        let mut ranges = Vec::new();
        let mut first = true;
        loop {
            let Some(c) = self.peek() else {
                return Err(format!("missing ']' for the '[' at {at}"));
            };
            if c == ']' && !first {
                self.i += 1;
                break;
            }
            first = false;
            let lo = if c == '\\' {
                self.i += 1;
                match self.escape(true)? {
                    Re::Char(ch) => ch,
                    Re::Class(r, _) => {
                        ranges.extend(r);
                        continue;
                    }
                    _ => return Err("bad escape in [...]".into()),
                }
            } else {
                self.i += 1;
                c
            };
            if self.peek() == Some('-') && self.c.get(self.i + 1).is_some_and(|&n| n != ']') {
                self.i += 1;
                let hi = match self.peek() {
                    Some('\\') => {
                        self.i += 1;
                        match self.escape(true)? {
                            Re::Char(ch) => ch,
                            _ => return Err("a class cannot end a range".into()),
                        }
                    }
                    Some(h) => {
                        self.i += 1;
                        h
                    }
                    None => return Err(format!("missing ']' for the '[' at {at}")),
                };
                if hi < lo {
                    return Err(format!("invalid range {lo}-{hi}"));
                }
                ranges.push((lo, hi));
            } else {
                ranges.push((lo, lo));
            }
        }
        Ok(Re::Class(ranges, neg))
    }
}

fn emit(prog: &mut Vec<Inst>, inst: Inst) -> Result<usize, String> {
    if prog.len() >= MAX_PROGRAM {
        return Err(format!(
            "pattern is too large once expanded (more than {MAX_PROGRAM} steps)"
        ));
    }
    prog.push(inst);
    Ok(prog.len() - 1)
}

fn compile(re: &Re, prog: &mut Vec<Inst>) -> Result<(), String> {
    match re {
        Re::Char(c) => drop(emit(prog, Inst::Char(*c))?),
        Re::Any => drop(emit(prog, Inst::Any)?),
        Re::Class(r, neg) => drop(emit(prog, Inst::Class(r.clone(), *neg))?),
        Re::Start => drop(emit(prog, Inst::Start)?),
        Re::End => drop(emit(prog, Inst::End)?),
        Re::Concat(items) => {
            for r in items {
                compile(r, prog)?;
            }
        }
        Re::Alt(alts) => {
            let mut jumps = Vec::new();
            for (k, r) in alts.iter().enumerate() {
                if k + 1 == alts.len() {
                    compile(r, prog)?;
                } else {
                    let split = emit(prog, Inst::Split(0, 0))?;
                    compile(r, prog)?;
                    jumps.push(emit(prog, Inst::Jmp(0))?);
                    let next = prog.len();
                    prog[split] = Inst::Split(split + 1, next);
                }
            }
            let end = prog.len();
            for j in jumps {
                prog[j] = Inst::Jmp(end);
            }
        }
        Re::Repeat(inner, min, max) => {
            for _ in 0..*min {
                compile(inner, prog)?;
            }
            match max {
                None => {
                    let split = emit(prog, Inst::Split(0, 0))?;
                    compile(inner, prog)?;
                    emit(prog, Inst::Jmp(split))?;
                    let end = prog.len();
                    prog[split] = Inst::Split(split + 1, end);
                }
                Some(m) => {
                    for _ in *min..*m {
                        let split = emit(prog, Inst::Split(0, 0))?;
                        compile(inner, prog)?;
                        let end = prog.len();
                        prog[split] = Inst::Split(split + 1, end);
                    }
                }
            }
        }
    }
    Ok(())
}

/// Follow Jmp/Split/assertions from `pc` at position `pos`, adding the threads that consume a
/// character (or match) to `list`. An explicit stack and a seen-set keep it bounded.
fn add(prog: &[Inst], list: &mut Vec<usize>, seen: &mut [bool], pc: usize, pos: usize, len: usize) {
    let mut stack = vec![pc];
    while let Some(pc) = stack.pop() {
        if pc >= prog.len() || seen[pc] {
            continue;
        }
        seen[pc] = true;
        match &prog[pc] {
            Inst::Jmp(t) => stack.push(*t),
            Inst::Split(a, b) => {
                stack.push(*b);
                stack.push(*a);
            }
            Inst::Start => {
                if pos == 0 {
                    stack.push(pc + 1);
                }
            }
            Inst::End => {
                if pos == len {
                    stack.push(pc + 1);
                }
            }
            _ => list.push(pc),
        }
    }
}

fn run(prog: &[Inst], input: &[char]) -> bool {
    let len = input.len();
    let mut clist = Vec::new();
    let mut seen = vec![false; prog.len()];
    for pos in 0..=len {
        // Unanchored search: a new thread may start at every position.
        add(prog, &mut clist, &mut seen, 0, pos, len);
        if clist.iter().any(|&pc| matches!(prog[pc], Inst::Match)) {
            return true;
        }
        let Some(&c) = input.get(pos) else { break };
        let mut nlist = Vec::new();
        seen.iter_mut().for_each(|s| *s = false);
        for &pc in &clist {
            let ok = match &prog[pc] {
                Inst::Char(x) => *x == c,
                Inst::Any => c != '\n',
                Inst::Class(r, neg) => r.iter().any(|&(lo, hi)| lo <= c && c <= hi) != *neg,
                _ => false,
            };
            if ok {
                add(prog, &mut nlist, &mut seen, pc + 1, pos + 1, len);
            }
        }
        clist = nlist;
    }
    false
}
