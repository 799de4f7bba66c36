//! Fuzz and property targets over every decoder and evaluator (issue 12): the HTTP decoder and
//! handler, the Lambda event classifier, both definition parsers, the expression evaluator, the
//! signature verifier and the policy evaluator. One binary; seeded and reproducible.
//!
//! `FNF_FUZZ_CASES` sets the cases per target (default in `fuzz/rng.rs`; `make fuzz` runs many
//! more, optimized), `FNF_FUZZ_SEED` the base seed, `FNF_FUZZ_REPLAY=<seed>` one failing case.
//! Whatever a target finds becomes a named test in `fuzz/regressions.rs`.

mod common;

#[path = "fuzz/definitions.rs"]
mod definitions;
#[path = "fuzz/events.rs"]
mod events;
#[path = "fuzz/expr.rs"]
mod expr;
#[path = "fuzz/harness.rs"]
mod harness;
#[path = "fuzz/http.rs"]
mod http;
#[path = "fuzz/json.rs"]
mod json;
#[path = "fuzz/policy.rs"]
mod policy;
#[path = "fuzz/regressions.rs"]
mod regressions;
#[path = "fuzz/rng.rs"]
mod rng;
#[path = "fuzz/signature.rs"]
mod signature;
