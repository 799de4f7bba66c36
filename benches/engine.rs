//! Engine throughput: state transitions per second for a long Pass chain, a Choice loop of
//! 100,000 iterations and a Map over 10,000 items. Run: `cargo bench --bench engine`.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use fnf_lambda::engine::{self, ExecutionContext, Outcome, Progress};
use fnf_lambda::flow::{self, Flow, FlowType};
use serde_json::{Map, Value, json};

fn ctx() -> ExecutionContext {
    ExecutionContext {
        flow_name: "bench".into(),
        execution_name: "bench-1".into(),
        started_ms: 0,
        secret: String::new(),
        account: String::new(),
    }
}

fn cloudflow(states: &str) -> Flow {
    let def =
        format!("Type: StateMachine\nSpecVersion: v1\nName: b\nStartAt: s0\nStates:\n{states}");
    flow::parse(&def, FlowType::CloudFlow).expect("bench flow is valid")
}

/// Runs to the end in one call, draining events; returns the transitions made.
fn run(flow: &Flow, input: &Map<String, Value>) -> u64 {
    let ctx = ctx();
    let mut cp = engine::start(flow, input.clone());
    // One call runs until its work quota is spent (FNF_STEP_WORK); the run loop calls again.
    let p = loop {
        match engine::advance(flow, &mut cp, &ctx, 0, u32::MAX) {
            Progress::Yielded => continue,
            other => break other,
        }
    };
    assert!(
        matches!(p, Progress::Finished(Outcome::Succeeded { .. })),
        "{p:?}"
    );
    let _ = cp.take_events();
    cp.transitions()
}

fn bench(c: &mut Criterion) {
    let mut chain = String::new();
    for i in 0..1000 {
        let next = if i == 999 {
            "End: true".to_string()
        } else {
            format!("Next: s{}", i + 1)
        };
        chain.push_str(&format!("  - {{Type: Pass, Name: s{i}, {next}}}\n"));
    }
    let chain = cloudflow(&chain);
    let input: Map<String, Value> =
        serde_json::from_value(json!({"k": "v", "n": 1})).unwrap_or_default();
    let mut g = c.benchmark_group("engine");
    g.throughput(Throughput::Elements(run(&chain, &input)));
    g.bench_function("pass_chain_1000", |b| b.iter(|| run(&chain, &input)));

    let looped = cloudflow(
        "  - Type: Pass\n    Name: s0\n    OutputConstructor:\n      n.$: intAdd($Input.n, 1)\n    Next: check\n\
         \x20 - Type: Choice\n    Name: check\n    Branches:\n      - Condition: $Input.n < 100000\n        Next: s0\n    Default: done\n\
         \x20 - Type: Succeed\n    Name: done\n",
    );
    let zero: Map<String, Value> = serde_json::from_value(json!({"n": 0})).unwrap_or_default();
    g.throughput(Throughput::Elements(run(&looped, &zero)));
    g.sample_size(10);
    g.bench_function("choice_loop_100000", |b| b.iter(|| run(&looped, &zero)));

    let map = cloudflow(
        "  - Type: Map\n    Name: s0\n    ItemsPath: $Input.items\n    Processor:\n      StartAt: p\n      States:\n        - Type: Pass\n          Name: p\n          End: true\n    End: true\n",
    );
    let items: Vec<Value> = (0..10_000).map(|_| json!({})).collect();
    let mut big = Map::new();
    big.insert("items".into(), Value::Array(items));
    g.throughput(Throughput::Elements(run(&map, &big)));
    g.bench_function("map_10000", |b| b.iter(|| run(&map, &big)));

    // Numbers wrapped by an ItemConstructor: `$Context.Map.Item.Value` must not cost the
    // width of the input per item (it did: 2.5 s for 10,000 items, quadratic).
    let wrapped = cloudflow(
        "  - Type: Map\n    Name: s0\n    ItemsPath: $Input.items\n    ItemConstructor:\n      v.$: $Context.Map.Item.Value\n    Processor:\n      StartAt: p\n      States:\n        - Type: Pass\n          Name: p\n          OutputConstructor: {}\n          End: true\n    End: true\n",
    );
    let numbers: Vec<Value> = (0..10_000).map(|i| json!(i)).collect();
    let mut wide = Map::new();
    wide.insert("items".into(), Value::Array(numbers));
    g.throughput(Throughput::Elements(run(&wrapped, &wide)));
    g.bench_function("map_10000_item_constructor", |b| {
        b.iter(|| run(&wrapped, &wide))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
