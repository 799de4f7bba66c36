# fnf-lambda: the two commands a newcomer needs are `make run` and `make test`.
CARGO ?= cargo
ADDR ?= 127.0.0.1:8080
BIN := target/debug/fnf-lambda

.PHONY: run test test-rust test-sdk test-lambda lint fmt-check clippy fuzz soak bench measure release venv clean

## Build and start the service locally on $(ADDR) with the embedded store (./.fnf-data).
run:
	$(CARGO) build --bin fnf-lambda
	$(BIN) serve --addr $(ADDR)

## Everything CI checks: formatting, lints, Rust tests (moto for DynamoDB), template lint,
## the official Python SDK against a live server, README's curl session, and the binary
## under `cargo lambda watch`.
test: venv fmt-check clippy test-rust lint test-sdk test-lambda

venv:
	./scripts/venv.sh

fmt-check:
	$(CARGO) fmt --all -- --check

clippy:
	$(CARGO) clippy --all-targets -- -D warnings

test-rust:
	./scripts/with-moto.sh $(CARGO) test --all-targets

test-sdk:
	$(CARGO) build --bin fnf-lambda
	./scripts/sdk-test.sh $(BIN)
	./scripts/readme-session.sh $(BIN)

## The fuzz targets of tests/fuzz.rs with FUZZ_CASES cases per target (50 times what `make
## test` runs), optimized but with overflow checks and unwinding, in target/fuzz (the `fuzz`
## profile is defined here, so `make release` keeps its own build). A failure prints the seed to
## replay: `FNF_FUZZ_REPLAY=<seed> cargo test --test fuzz`. FUZZ_SEED explores other cases.
FUZZ_CASES ?= 15000
FUZZ_SEED ?= 0x5EED
fuzz:
	CARGO_PROFILE_FUZZ_INHERITS=release CARGO_PROFILE_FUZZ_OPT_LEVEL=2 \
	CARGO_PROFILE_FUZZ_LTO=false CARGO_PROFILE_FUZZ_CODEGEN_UNITS=16 CARGO_PROFILE_FUZZ_STRIP=false \
	CARGO_PROFILE_FUZZ_PANIC=unwind CARGO_PROFILE_FUZZ_DEBUG_ASSERTIONS=true \
	CARGO_PROFILE_FUZZ_OVERFLOW_CHECKS=true FNF_FUZZ_CASES=$(FUZZ_CASES) FNF_FUZZ_SEED=$(FUZZ_SEED) \
	$(CARGO) test --profile fuzz --test fuzz -- --nocapture

## The store-fault soak of tests/soak.rs at full size: SOAK_EXECUTIONS executions (`make
## test` runs 80) on moto behind the fault proxy at SOAK_FAULT_RATE, every continuation
## delivered twice; prints the table of executions, faults by kind, retries, lost, doubled.
SOAK_EXECUTIONS ?= 500
SOAK_FAULT_RATE ?= 0.10
soak: venv
	FNF_SOAK_EXECUTIONS=$(SOAK_EXECUTIONS) FNF_SOAK_FAULT_RATE=$(SOAK_FAULT_RATE) \
	./scripts/with-moto.sh $(CARGO) test --test soak -- --nocapture

## The binary under `cargo lambda watch` (function URL and sample events) against moto.
test-lambda:
	./scripts/lambda-watch-test.sh

## cfn-lint and sam validate on template.yaml.
lint:
	./scripts/lint-template.sh

## Every benchmark, then one summary a user can read (target/bench-summary.md): criterion
## (engine transitions/s, StartExecution embedded and moto, p50/p99 per call), the process
## (cold start, peak memory, size, loopback requests/s) and the peer comparison.
bench: measure
	./scripts/with-moto.sh $(CARGO) bench
	./scripts/peer-bench.sh > target/peer.md
	.venv/bin/python scripts/bench-summary.py

## The optimized, stripped binary (what Lambda runs).
release:
	$(CARGO) build --release --bin fnf-lambda

## Cold start, peak memory, binary size and loopback requests/s of the release binary
## (scripts/measure.py): Markdown in target/measure.md, numbers in target/measure.json.
measure: venv release
	./scripts/with-moto.sh .venv/bin/python scripts/measure.py --json target/measure.json > target/measure.md

clean:
	$(CARGO) clean
	rm -rf .venv .venv-sam .fnf-data
