//! Placeholder: the engine benchmarks (Pass chain, Choice loop, Map) land with the full engine.
fn main() {}
