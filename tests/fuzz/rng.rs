//! A seeded xorshift generator and the case loop every target runs through: no dependency,
//! and a failing case is replayed from the seed its report prints.

use std::cell::RefCell;
use std::panic::{AssertUnwindSafe, catch_unwind};

thread_local! {
    /// The input of the running case, for the report when the code under test panics.
    static INPUT: RefCell<String> = const { RefCell::new(String::new()) };
}

/// Records the input the running case is about to feed (shown if it panics).
/// With `FNF_FUZZ_SHOW` set, also prints it (for a replayed case).
pub fn note(input: &str) {
    if std::env::var_os("FNF_FUZZ_SHOW").is_some() && !input.is_empty() {
        eprintln!("input: {input:?}");
    }
    INPUT.with(|i| *i.borrow_mut() = show(input));
}

/// Cases per target when `FNF_FUZZ_CASES` is unset: the whole binary stays well under a minute
/// in a debug build (`make fuzz` runs many more, optimized).
const DEFAULT_CASES: u64 = 300;

/// xorshift64*: fast, good enough to pick shapes, reproducible from one `u64`.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        // splitmix64 of the seed, so that nearby seeds give unrelated streams (and 0 works).
        let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        Rng((z ^ (z >> 31)) | 1)
    }

    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in `0..n` (`n > 0`).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    /// Uniform in `lo..=hi`.
    pub fn range(&mut self, lo: usize, hi: usize) -> usize {
        lo + self.below(hi - lo + 1)
    }

    /// True with probability `1/n`.
    pub fn one_in(&mut self, n: usize) -> bool {
        self.below(n) == 0
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    /// A short string: ASCII letters mostly, with some of everything a decoder trips on.
    pub fn string(&mut self, max: usize) -> String {
        const ODD: &[&str] = &[
            "%", "%2", "%zz", "%00", "%FF", "&", "=", "+", " ", "\"", "'", "\\", "\n", "\r\n",
            "\t", "\0", "é", "ß", "😀", "\u{202e}", "\u{feff}", "$", "{", "}", "[", "]", ":", ",",
            "*", "?", "/", "~", ".", "-", "_", "\u{7f}", "\u{1c}", "#",
        ];
        let len = self.range(0, max);
        let mut s = String::new();
        for _ in 0..len {
            if self.one_in(4) {
                s.push_str(self.pick::<&str>(ODD));
            } else {
                s.push(char::from(b'a' + (self.below(26) as u8)));
            }
        }
        s
    }

    /// Any `char` (valid scalar values only).
    pub fn any_char(&mut self) -> char {
        loop {
            let n = match self.below(4) {
                0 => self.below(0x80) as u32,
                1 => self.below(0x800) as u32,
                2 => self.below(0x1_0000) as u32,
                _ => self.below(0x11_0000) as u32,
            };
            if let Some(c) = char::from_u32(n) {
                return c;
            }
        }
    }
}

/// The number of cases per target: `FNF_FUZZ_CASES`, scaled by the target's weight (a slow
/// target takes fewer cases than a cheap one).
pub fn cases(weight: f64) -> u64 {
    let base = std::env::var("FNF_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(DEFAULT_CASES);
    ((base as f64 * weight) as u64).max(1)
}

/// Runs `case` once per case seed. The seeds derive from `FNF_FUZZ_SEED` (default fixed, so
/// `make test` is reproducible; set it to explore further); `FNF_FUZZ_REPLAY=<seed>` runs that
/// one case. A panic or an `Err` fails the test with the target name, the case seed and the
/// message (the message carries the input).
pub fn run(target: &str, weight: f64, mut case: impl FnMut(&mut Rng) -> Result<(), String>) {
    let seeds: Vec<u64> = match std::env::var("FNF_FUZZ_REPLAY") {
        Ok(v) => vec![parse_seed(&v)],
        Err(_) => {
            let base = std::env::var("FNF_FUZZ_SEED")
                .ok()
                .map(|v| parse_seed(&v))
                .unwrap_or(0x5EED);
            let mut names = Rng::new(base ^ fnv(target));
            (0..cases(weight)).map(|_| names.next()).collect()
        }
    };
    // The slowest case is reported (not asserted: speed belongs to benchmarks), so that a
    // target creeping towards a hang shows up in the test output.
    let mut slowest = (std::time::Duration::ZERO, 0);
    let count = seeds.len();
    for seed in seeds {
        note("");
        let started = std::time::Instant::now();
        let outcome = catch_unwind(AssertUnwindSafe(|| case(&mut Rng::new(seed))));
        slowest = slowest.max((started.elapsed(), seed));
        let why = match outcome {
            Ok(Ok(())) => continue,
            Ok(Err(why)) => why,
            Err(panic) => format!(
                "panicked: {}; input {}",
                panic_text(&panic),
                INPUT.with(|i| i.borrow().clone())
            ),
        };
        panic!(
            "fuzz target {target}, case seed {seed:#x} (replay: FNF_FUZZ_REPLAY={seed:#x}): {why}"
        );
    }
    eprintln!(
        "fuzz target {target}: {count} cases, slowest {:?} (seed {:#x})",
        slowest.0, slowest.1
    );
}

fn parse_seed(v: &str) -> u64 {
    let v = v.trim();
    match v.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => v.parse(),
    }
    .unwrap_or_else(|_| panic!("not a seed: {v}"))
}

fn fnv(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    })
}

fn panic_text(panic: &Box<dyn std::any::Any + Send>) -> String {
    panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
        .unwrap_or_else(|| "(no message)".into())
}

/// Shortens an input for a report.
pub fn show(s: &str) -> String {
    const MAX: usize = 600;
    match s.char_indices().nth(MAX) {
        Some((at, _)) => format!("{:?}… ({} bytes)", &s[..at], s.len()),
        None => format!("{s:?}"),
    }
}
