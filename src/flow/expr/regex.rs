//! A small regular-expression matcher for `regexMatchString` (no regex crate here). Syntax:
//! literals, `.`, `[...]`/`[^...]` with ranges, `\d \w \s \D \W \S`, escapes, `^`, `$`, groups
//! `(...)`/`(?:...)`, `|`, `* + ?` (lazy forms too) and `{m}`, `{m,}`, `{m,n}`. Matching is
//! a Thompson/Pike NFA simulation: no backtracking blow-up, no recursion while matching. Like
//! Go's `regexp.MatchString`, a match anywhere counts.
//!
//! Its time is at most (program size) x (text length) steps, which a 10,000-step program on
//! 64 KiB of text makes minutes; so the calls of one state share a step budget (`max_steps`,
//! `FNF_REGEX_MAX_STEPS`, see `Scope::regex_budget`) and fail with a clear cause past it.
//! Classes are sorted, merged ranges, looked up by binary search and stored once however
//! often a repeat copies them.

use std::cell::Cell;
use std::sync::atomic::{AtomicU64, Ordering};

const MAX_PATTERN_CHARS: usize = 1024;
const MAX_DEPTH: usize = 32;
const MAX_PROGRAM: usize = 10_000;
const MAX_REPEAT: u32 = 1000;

/// Default step budget of one state's matches: about 0.15 s of one core (release build).
pub const DEFAULT_MAX_REGEX_STEPS: u64 = 20_000_000;
static MAX_STEPS: AtomicU64 = AtomicU64::new(DEFAULT_MAX_REGEX_STEPS);

/// Sets the step budget of every later match in this process (`FNF_REGEX_MAX_STEPS`).
pub fn set_max_steps(steps: u64) {
    MAX_STEPS.store(steps.max(1), Ordering::Relaxed);
}

/// The step budget of one state's matches.
pub fn max_steps() -> u64 {
    MAX_STEPS.load(Ordering::Relaxed)
}

#[derive(Debug, Clone)]
enum Inst {
    Char(char),
    Any,
    /// An index into the class table, and whether the class is negated.
    Class(usize, bool),
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
    Class(usize, bool),
    Start,
    End,
    Concat(Vec<Re>),
    Alt(Vec<Re>),
    Repeat(Box<Re>, u32, Option<u32>),
}

/// What a `\\` escape stands for.
enum Esc {
    Char(char),
    Class(&'static [(char, char)], bool),
}

struct P<'a> {
    c: &'a [char],
    i: usize,
    depth: usize,
    /// Each class once, sorted and merged (at most one range per pattern character).
    classes: Vec<Vec<(char, char)>>,
}

/// Whether `pattern` matches anywhere in `input`, spending steps from `budget`.
pub(super) fn is_match(pattern: &str, input: &str, budget: &Cell<u64>) -> Result<bool, String> {
    let chars: Vec<char> = pattern.chars().collect();
    if chars.len() > MAX_PATTERN_CHARS {
        return Err(format!("longer than {MAX_PATTERN_CHARS} characters"));
    }
    let mut p = P {
        c: &chars,
        i: 0,
        depth: 0,
        classes: Vec::new(),
    };
    let re = p.alt()?;
    if p.i < chars.len() {
        return Err(format!("unmatched ')' at {}", p.i));
    }
    let mut prog = Vec::new();
    compile(&re, &mut prog)?;
    prog.push(Inst::Match);
    let text: Vec<char> = input.chars().collect();
    let mut vm = Vm::new(&prog, &p.classes, budget.get());
    let found = vm.run(&text);
    budget.set(budget.get().saturating_sub(vm.steps));
    found.ok_or_else(|| {
        format!(
            "matching needs more than the {} steps left of this state's budget of {} (a \
             {}-step pattern on {} characters); use a simpler pattern or a shorter text",
            vm.budget,
            max_steps(),
            prog.len(),
            text.len()
        )
    })
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
            '\\' => match self.escape(false)? {
                Esc::Char(c) => Re::Char(c),
                Esc::Class(r, neg) => self.intern(r.to_vec(), neg),
            },
            '*' | '+' | '?' => return Err(format!("nothing to repeat at {at}")),
            other => Re::Char(other),
        })
    }

    fn escape(&mut self, in_class: bool) -> Result<Esc, String> {
        let Some(e) = self.peek() else {
            return Err("trailing '\\' in pattern".into());
        };
        self.i += 1;
        Ok(match e {
            'd' => Esc::Class(DIGIT, false),
            'w' => Esc::Class(WORD, false),
            's' => Esc::Class(SPACE, false),
            'D' | 'W' | 'S' if in_class => {
                return Err(format!("'\\{e}' inside [...] is not supported"));
            }
            'D' => Esc::Class(DIGIT, true),
            'W' => Esc::Class(WORD, true),
            'S' => Esc::Class(SPACE, true),
            'n' => Esc::Char('\n'),
            't' => Esc::Char('\t'),
            'r' => Esc::Char('\r'),
            c if c.is_ascii_alphanumeric() => return Err(format!("unsupported escape '\\{c}'")),
            c => Esc::Char(c),
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
                    Esc::Char(ch) => ch,
                    Esc::Class(r, _) => {
                        ranges.extend_from_slice(r);
                        continue;
                    }
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
                            Esc::Char(ch) => ch,
                            Esc::Class(..) => return Err("a class cannot end a range".into()),
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
        Ok(self.intern(ranges, neg))
    }

    /// Sorts and merges `ranges` into a new entry of the class table.
    fn intern(&mut self, mut ranges: Vec<(char, char)>, neg: bool) -> Re {
        ranges.sort_unstable();
        let mut merged: Vec<(char, char)> = Vec::with_capacity(ranges.len());
        for (lo, hi) in ranges {
            match merged.last_mut() {
                Some(last) if u32::from(lo) <= u32::from(last.1).saturating_add(1) => {
                    last.1 = last.1.max(hi);
                }
                _ => merged.push((lo, hi)),
            }
        }
        self.classes.push(merged);
        Re::Class(self.classes.len() - 1, neg)
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
        Re::Class(k, neg) => drop(emit(prog, Inst::Class(*k, *neg))?),
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

fn in_class(ranges: &[(char, char)], c: char) -> bool {
    let i = ranges.partition_point(|&(_, hi)| hi < c);
    ranges.get(i).is_some_and(|&(lo, _)| lo <= c)
}

/// The Pike VM of one match: thread lists, a generation-stamped seen-set (no clearing per
/// character) and the steps spent so far.
struct Vm<'a> {
    prog: &'a [Inst],
    classes: &'a [Vec<(char, char)>],
    seen: Vec<u32>,
    generation: u32,
    stack: Vec<usize>,
    steps: u64,
    budget: u64,
}

impl<'a> Vm<'a> {
    fn new(prog: &'a [Inst], classes: &'a [Vec<(char, char)>], budget: u64) -> Self {
        Vm {
            prog,
            classes,
            seen: vec![0; prog.len()],
            generation: 1,
            stack: Vec::new(),
            steps: 0,
            budget,
        }
    }

    /// Charges `n` steps; false once the budget is spent.
    fn charge(&mut self, n: u64) -> bool {
        self.steps += n;
        self.steps <= self.budget
    }

    /// Follows Jmp/Split/assertions from `pc` at `pos`, adding the threads that consume a
    /// character (or match) to `list`. None once the budget is spent.
    fn add(&mut self, list: &mut Vec<usize>, pc: usize, pos: usize, len: usize) -> Option<()> {
        self.stack.push(pc);
        while let Some(pc) = self.stack.pop() {
            if pc >= self.prog.len() || self.seen[pc] == self.generation {
                continue;
            }
            if !self.charge(1) {
                return None;
            }
            self.seen[pc] = self.generation;
            match &self.prog[pc] {
                Inst::Jmp(t) => self.stack.push(*t),
                Inst::Split(a, b) => {
                    self.stack.push(*b);
                    self.stack.push(*a);
                }
                Inst::Start if pos == 0 => self.stack.push(pc + 1),
                Inst::End if pos == len => self.stack.push(pc + 1),
                Inst::Start | Inst::End => {}
                _ => list.push(pc),
            }
        }
        Some(())
    }

    /// Whether the program matches anywhere in `input`; None once the budget is spent.
    fn run(&mut self, input: &[char]) -> Option<bool> {
        let len = input.len();
        let (mut clist, mut nlist) = (Vec::new(), Vec::new());
        for pos in 0..=len {
            // Unanchored search: a new thread may start at every position.
            self.add(&mut clist, 0, pos, len)?;
            if clist.iter().any(|&pc| matches!(self.prog[pc], Inst::Match)) {
                return Some(true);
            }
            let Some(&c) = input.get(pos) else { break };
            self.generation = self.generation.wrapping_add(1);
            if self.generation == 0 {
                self.seen.iter_mut().for_each(|s| *s = 0);
                self.generation = 1;
            }
            if !self.charge(clist.len() as u64 + 1) {
                return None;
            }
            for &pc in &clist {
                let ok = match &self.prog[pc] {
                    Inst::Char(x) => *x == c,
                    Inst::Any => c != '\n',
                    Inst::Class(k, neg) => in_class(&self.classes[*k], c) != *neg,
                    _ => false,
                };
                if ok {
                    self.add(&mut nlist, pc + 1, pos + 1, len)?;
                }
            }
            std::mem::swap(&mut clist, &mut nlist);
            nlist.clear();
        }
        Some(false)
    }
}
