#!/usr/bin/env python3
"""Measures the fnf-lambda binary (issue 7): cold start, peak memory, binary size, and
requests per second on loopback. Python 3.11 standard library only.

    python3 scripts/measure.py [--binary target/release/fnf-lambda] [--runs 20]
                               [--requests 2000] [--threads 8] [--json out.json]

Prints a Markdown section on stdout (progress goes to stderr) and, with --json, writes the
same numbers as JSON.

1. Cold start: a small Lambda Runtime API (the 2018-06-01 interface: invocation/next,
   invocation/<id>/response and /error, init/error) runs in this process on 127.0.0.1:<port>;
   the binary starts in Lambda mode against it (AWS_LAMBDA_RUNTIME_API, embedded store in a
   fresh directory, FNF_CONTINUATION=local, FNF_AUTH=none). "ready" is spawn -> first
   GET invocation/next; "first answer" is spawn -> the response POST for an HTTP API 2.0
   (API Gateway payload 2.0) ListFlows event, queued before the spawn. Then interleaved pairs
   of starts with and without the system's TLS root certificates (SSL_CERT_FILE/SSL_CERT_DIR
   naming an empty file and directory) show what loading them costs. With
   FNF_TEST_DYNAMODB_ENDPOINT set (`make bench` runs this under scripts/with-moto.sh), the same
   starts again with the DynamoDB store against that server.
2. Peak memory: VmHWM (peak resident set) from /proc/<pid>/status just before the process is
   killed, one fresh Lambda-mode process per case: idle after one ListFlows; a 64 KiB input
   through a one-Pass flow; a Map over 10,000 items; the same Map with a 200 ms response
   budget, so that it is checkpointed half-way (and what happens to it then).
3. Binary size: the file, whether it still has a symbol table, and the size of the zip that
   `cargo lambda build --output-format zip` makes of it (the binary as `bootstrap`, deflated),
   built here with zipfile rather than by running cargo-lambda.
4. Requests per second: `fnf-lambda serve` on loopback (embedded store, no auth), a one-Pass
   flow, then StartExecution and DescribeFlow alternately from a pool of threads, each with its
   own keep-alive connection; and the same mix from one client, one request at a time.

Every child process is killed on the way out, whatever happens; every wait has a timeout.
"""

from __future__ import annotations

import argparse
import atexit
import http.client
import http.server
import json
import math
import os
import platform
import queue
import re
import shutil
import signal
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import uuid
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
API_VERSION = "2019-03-15"
LAMBDA_MEMORY_MIB = 128
MAX_INPUT_BYTES = 64 * 1024  # src/service/params.rs MAX_INPUT_BYTES
MAX_STATE_DATA_BYTES = 64 * 1024  # src/flow/mod.rs MAX_STATE_DATA_BYTES
MAX_MAP_ITEMS = 10_000  # src/flow/mod.rs MAX_MAP_ITEMS

PASS_FLOW = """Type: StateMachine
SpecVersion: v1
Name: p
StartAt: pass
States:
  - Type: Pass
    Name: pass
    End: true
"""

# A Map needs object items: ItemConstructor wraps each number. The collected results
# ({"Items": [...]}) must stay within 64 KiB of JSON, so each iteration answers {} (3 bytes
# with its comma: 30 KB for 10,000) and the state's output is only the count.
MAP_FLOW = """Type: StateMachine
SpecVersion: v1
Name: m
StartAt: map
States:
  - Type: Map
    Name: map
    ItemsPath: $Input.xs
    ItemConstructor:
      v.$: $Context.Map.Item.Value
    Processor:
      StartAt: pass
      States:
        - Type: Pass
          Name: pass
          OutputConstructor: {}
          End: true
    OutputConstructor:
      n.$: length($Output.Items)
    End: true
"""


def log(msg: str) -> None:
    print(f"measure: {msg}", file=sys.stderr, flush=True)


class MeasureError(Exception):
    pass


# ---------------------------------------------------------------------------------------------
# Child processes: all tracked, all killed on exit.

_CHILDREN: list[subprocess.Popen] = []
_CHILDREN_LOCK = threading.RLock()  # re-entered by the signal handler


def spawn(args: list[str], env: dict[str, str], stderr_path: Path) -> subprocess.Popen:
    with open(stderr_path, "wb") as err:
        proc = subprocess.Popen(
            args,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=err,
            stderr=err,
            cwd=stderr_path.parent,
            start_new_session=True,  # our Ctrl-C does not reach it; we kill it ourselves
        )
    with _CHILDREN_LOCK:
        _CHILDREN.append(proc)
    return proc


def kill(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        try:
            # its own process group (start_new_session): a wrapper's children go too
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            try:
                proc.kill()
            except ProcessLookupError:
                pass
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        log(f"process {proc.pid} did not exit 10 s after SIGKILL")
    with _CHILDREN_LOCK:
        if proc in _CHILDREN:
            _CHILDREN.remove(proc)


def kill_all() -> None:
    with _CHILDREN_LOCK:
        procs = list(_CHILDREN)
    for proc in procs:
        kill(proc)


atexit.register(kill_all)


def _on_signal(signum, _frame):
    kill_all()
    sys.exit(128 + signum)


def tail(path: Path, n: int = 15) -> str:
    try:
        lines = path.read_text(errors="replace").splitlines()
    except OSError:
        return "(no output)"
    return "\n".join(lines[-n:]) or "(no output)"


def proc_status(pid: int) -> dict[str, int]:
    """VmHWM, VmRSS (kB) and Threads from /proc/<pid>/status."""
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("VmHWM", "VmRSS", "Threads"):
                out[key] = int(value.split()[0])
    return out


def proc_cpu_seconds(pid: int) -> float:
    """utime + stime of a process, in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        stat = f.read()
    fields = stat[stat.rindex(")") + 2 :].split()
    # fields[0] is field 3 (state); utime and stime are fields 14 and 15.
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100)."""
    s = sorted(values)
    if not s:
        return float("nan")
    k = max(1, math.ceil(p / 100 * len(s)))
    return s[min(k, len(s)) - 1]


def summary_ms(values_s: list[float]) -> dict[str, float]:
    ms = [v * 1000 for v in values_s]
    return {
        "n": len(ms),
        "min_ms": round(min(ms), 2),
        "median_ms": round(statistics.median(ms), 2),
        "p90_ms": round(percentile(ms, 90), 2),
        "max_ms": round(max(ms), 2),
    }


# ---------------------------------------------------------------------------------------------
# A Lambda Runtime API (2018-06-01) for one process.


class RuntimeAPI:
    PREFIX = "/2018-06-01/runtime"

    def __init__(self, function_arn: str):
        self.function_arn = function_arn
        self.events: queue.Queue[tuple[str, bytes]] = queue.Queue()
        self.cond = threading.Condition()
        self.results: dict[str, dict] = {}
        self.first_next: float | None = None
        self.init_error: str | None = None
        self.closed = threading.Event()
        api = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *_args):
                pass

            def _reply(self, status: int, body: bytes, headers: dict[str, str] | None = None):
                self.send_response(status)
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                self.wfile.flush()

            def _body(self) -> bytes:
                if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                    chunks = []
                    while True:
                        size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                        if size == 0:
                            # trailers, up to the empty line
                            while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                                pass
                            return b"".join(chunks)
                        chunks.append(self.rfile.read(size))
                        self.rfile.readline()
                return self.rfile.read(int(self.headers.get("Content-Length") or 0))

            def do_GET(self):
                if self.path != f"{api.PREFIX}/invocation/next":
                    self._reply(404, b'{"errorMessage":"unknown path"}')
                    return
                now = time.monotonic()
                with api.cond:
                    if api.first_next is None:
                        api.first_next = now
                        api.cond.notify_all()
                while not api.closed.is_set():
                    try:
                        request_id, payload = api.events.get(timeout=0.1)
                        break
                    except queue.Empty:
                        continue
                else:
                    self.close_connection = True
                    return
                deadline_ms = int(time.time() * 1000) + 30_000
                self._reply(
                    200,
                    payload,
                    {
                        "Lambda-Runtime-Aws-Request-Id": request_id,
                        "Lambda-Runtime-Deadline-Ms": str(deadline_ms),
                        "Lambda-Runtime-Invoked-Function-Arn": api.function_arn,
                        "Lambda-Runtime-Trace-Id": "Root=1-00000000-000000000000000000000000;"
                        "Parent=0000000000000000;Sampled=0",
                    },
                )

            def do_POST(self):
                body = self._body()
                now = time.monotonic()
                path = self.path
                m = re.fullmatch(rf"{api.PREFIX}/invocation/([^/]+)/(response|error)", path)
                if m:
                    with api.cond:
                        api.results[m.group(1)] = {"kind": m.group(2), "body": body, "t": now}
                        api.cond.notify_all()
                    self._reply(202, b'{"status":"OK"}')
                elif path == f"{api.PREFIX}/init/error":
                    with api.cond:
                        api.init_error = body.decode(errors="replace")
                        api.cond.notify_all()
                    self._reply(202, b'{"status":"OK"}')
                else:
                    self._reply(404, b'{"errorMessage":"unknown path"}')

        class Server(http.server.ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request, client_address):
                pass  # a killed function resets its pending GET invocation/next: expected

        self.server = Server(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()

    def enqueue(self, payload: bytes) -> str:
        request_id = str(uuid.uuid4())
        self.events.put((request_id, payload))
        return request_id

    def wait(self, request_id: str, proc: subprocess.Popen, timeout: float) -> dict:
        """The result posted for request_id; raises if the process dies or time runs out."""
        end = time.monotonic() + timeout
        with self.cond:
            while request_id not in self.results:
                if self.init_error is not None:
                    raise MeasureError(f"the function reported an init error: {self.init_error}")
                if proc.poll() is not None:
                    raise MeasureError(f"the function exited with status {proc.returncode}")
                left = end - time.monotonic()
                if left <= 0:
                    raise MeasureError(f"no answer to invocation {request_id} in {timeout:.0f} s")
                self.cond.wait(min(left, 0.05))
            return self.results[request_id]

    def invoke(self, proc: subprocess.Popen, payload: dict, timeout: float = 30) -> dict:
        """One invocation; the parsed answer (an error answer raises)."""
        rid = self.enqueue(json.dumps(payload, separators=(",", ":")).encode())
        result = self.wait(rid, proc, timeout)
        if result["kind"] != "response":
            raise MeasureError(f"invocation error: {result['body'][:500]!r}")
        return json.loads(result["body"])

    def close(self) -> None:
        self.closed.set()
        self.server.shutdown()
        self.server.server_close()


def base_env() -> dict[str, str]:
    """This environment without anything that would steer the binary elsewhere."""
    drop = ("AWS_", "FNF_", "_LAMBDA", "LAMBDA_")
    return {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(drop) and k not in ("TABLE_NAME", "RUST_LOG", "RUST_BACKTRACE")
    }


def lambda_env(port: int, data_dir: Path) -> dict[str, str]:
    env = base_env()
    env.update(
        {
            "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{port}",
            "AWS_LAMBDA_FUNCTION_NAME": "fnf-bench",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(LAMBDA_MEMORY_MIB),
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/fnf-bench",
            "AWS_LAMBDA_LOG_STREAM_NAME": "2026/01/01/[$LATEST]measure",
            "AWS_REGION": "us-east-1",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ACCESS_KEY_ID": "AKIDMEASUREDUMMY",
            "AWS_SECRET_ACCESS_KEY": "measure-dummy-secret",
            "AWS_SESSION_TOKEN": "measure-dummy-token",
            "AWS_EC2_METADATA_DISABLED": "true",
            "FNF_STORE": "embedded",
            "FNF_DATA_DIR": str(data_dir),
            "FNF_CONTINUATION": "local",
            "FNF_AUTH": "none",
        }
    )
    return env


class LambdaProcess:
    """The binary in Lambda mode against its own Runtime API and a fresh data dir."""

    def __init__(
        self,
        binary: Path,
        work: Path,
        first_event: dict | None = None,
        extra_env: dict[str, str] | None = None,
    ):
        self.api = RuntimeAPI("arn:aws:lambda:us-east-1:123456789012:function:fnf-bench")
        self.dir = Path(tempfile.mkdtemp(prefix="run-", dir=work))
        self.stderr = self.dir / "stderr.log"
        data = self.dir / "data"
        data.mkdir()
        self.first_id = (
            self.api.enqueue(json.dumps(first_event).encode()) if first_event is not None else None
        )
        env = lambda_env(self.api.port, data)
        env.update(extra_env or {})
        self.t0 = time.monotonic()
        self.proc = spawn([str(binary)], env, self.stderr)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def wait_ready(self, timeout: float = 20) -> float:
        end = time.monotonic() + timeout
        with self.api.cond:
            while self.api.first_next is None:
                if self.api.init_error is not None or self.proc.poll() is not None:
                    break
                if time.monotonic() > end:
                    break
                self.api.cond.wait(0.05)
        if self.api.first_next is None:
            raise MeasureError(self.failure("never asked for an invocation"))
        return self.api.first_next - self.t0

    def failure(self, what: str) -> str:
        status = self.proc.poll()
        state = "running" if status is None else f"exited with status {status}"
        extra = f"\ninit error: {self.api.init_error}" if self.api.init_error else ""
        return f"the Lambda-mode process {what} ({state}){extra}\nits log:\n{tail(self.stderr)}"

    def invoke(self, payload: dict, timeout: float = 30) -> dict:
        try:
            return self.api.invoke(self.proc, payload, timeout)
        except MeasureError as e:
            raise MeasureError(self.failure(str(e))) from None

    def memory(self) -> dict[str, int]:
        if self.proc.poll() is not None:
            raise MeasureError(self.failure("is gone before its memory could be read"))
        return proc_status(self.proc.pid)

    def close(self) -> None:
        kill(self.proc)
        self.api.close()
        shutil.rmtree(self.dir, ignore_errors=True)


# ---------------------------------------------------------------------------------------------
# Events


def http_api_event(body: dict) -> dict:
    """An HTTP API (payload 2.0) POST / event with a JSON body: the sample
    events/apigw-v2-start-execution.json with `body` in place of its own."""
    text = json.dumps(body, separators=(",", ":"))
    event = json.loads((REPO / "events" / "apigw-v2-start-execution.json").read_text())
    event["body"] = text
    event["isBase64Encoded"] = False
    event["headers"]["content-type"] = "application/json"
    event["headers"]["content-length"] = str(len(text.encode()))
    return event


LIST_FLOWS_BODY = {"Action": "ListFlows", "Version": API_VERSION}


def check_list_flows_answer(answer: dict) -> None:
    if answer.get("statusCode") != 200:
        raise MeasureError(f"ListFlows (HTTP API event) answered {json.dumps(answer)[:500]}")
    body = json.loads(answer.get("body") or "{}")
    if "Flows" not in body:
        raise MeasureError(f"ListFlows answered without Flows: {answer.get('body', '')[:500]}")


def direct(action: str, **params) -> dict:
    return {"Action": action, "Version": API_VERSION, **params}


def expect_ok(answer: dict, what: str) -> dict:
    if "Code" in answer:
        raise MeasureError(f"{what} answered {answer.get('Code')}: {answer.get('Message')}")
    return answer


def largest_input() -> str:
    """A JSON object of exactly MAX_INPUT_BYTES bytes: 500 small records plus padding."""
    records = [{"id": i, "name": f"item-{i}", "tags": ["a", "b"], "ok": i % 2 == 0} for i in range(500)]
    head = json.dumps({"records": records, "pad": ""}, separators=(",", ":"))
    pad = MAX_INPUT_BYTES - len(head.encode())
    if pad < 0:
        raise MeasureError("the records alone are larger than the input limit")
    text = json.dumps({"records": records, "pad": "x" * pad}, separators=(",", ":"))
    assert len(text.encode()) == MAX_INPUT_BYTES
    return text


def map_input(count: int) -> str:
    return json.dumps({"xs": list(range(count))}, separators=(",", ":"))


def largest_map_count(limit: int) -> int:
    """At most MAX_MAP_ITEMS, and the input (and the results, 3 bytes an item) within 64 KiB."""
    n = min(limit, MAX_MAP_ITEMS)
    while n > 0 and (
        len(map_input(n)) > MAX_INPUT_BYTES or len('{"Items":[]}') + 3 * n - 1 > MAX_STATE_DATA_BYTES
    ):
        n -= 100
    return max(n, 1)


# ---------------------------------------------------------------------------------------------
# 1. Cold start


def cold_start_once(binary: Path, work: Path, extra_env: dict[str, str] | None = None) -> tuple[float, float]:
    """(ready, first answer) in seconds from the spawn, for one fresh process."""
    with LambdaProcess(binary, work, first_event=http_api_event(LIST_FLOWS_BODY), extra_env=extra_env) as lp:
        ready = lp.wait_ready(timeout=20)
        try:
            result = lp.api.wait(lp.first_id, lp.proc, timeout=20)
        except MeasureError as e:
            raise MeasureError(lp.failure(str(e))) from None
        if result["kind"] != "response":
            raise MeasureError(f"the first invocation failed: {result['body'][:500]!r}")
        check_list_flows_answer(json.loads(result["body"]))
        return ready, result["t"] - lp.t0


def cold_starts(
    binary: Path, work: Path, runs: int, label: str, extra_env: dict[str, str] | None = None
) -> tuple[list[float], list[float]]:
    """`runs` cold starts, each logged under `label`: (ready, first answer) lists in seconds."""
    ready, answer = [], []
    for i in range(runs):
        r, a = cold_start_once(binary, work, extra_env)
        ready.append(r)
        answer.append(a)
        log(f"{label} {i + 1}/{runs}: ready {r * 1000:.1f} ms, first answer {a * 1000:.1f} ms")
    return ready, answer


def measure_cold_start(binary: Path, work: Path, runs: int) -> dict:
    ready, answer = cold_starts(binary, work, runs, "cold start")

    # What the TLS root store costs: the same start with SSL_CERT_FILE / SSL_CERT_DIR naming an
    # empty file and directory (rustls-native-certs then loads nothing), interleaved with
    # ordinary starts so that both see the same machine.
    empty_dir = work / "no-roots"
    empty_dir.mkdir(exist_ok=True)
    (work / "no-roots.pem").write_text("")
    no_roots = {"SSL_CERT_FILE": str(work / "no-roots.pem"), "SSL_CERT_DIR": str(empty_dir)}
    pairs = max(1, min(runs, 10))
    with_roots, without_roots = [], []
    for _ in range(pairs):
        with_roots.append(cold_start_once(binary, work)[0])
        without_roots.append(cold_start_once(binary, work, no_roots)[0])
    log(
        f"cold start, {pairs} interleaved pairs: ready {statistics.median(with_roots) * 1000:.1f} ms with the "
        f"system roots, {statistics.median(without_roots) * 1000:.1f} ms with an empty root store"
    )
    dynamodb = measure_cold_start_dynamodb(binary, work, runs)
    return {
        "runs": runs,
        "dynamodb": dynamodb,
        "event": "HTTP API (payload 2.0) POST / {\"Action\":\"ListFlows\"}, queued before the spawn",
        "ready": summary_ms(ready),
        "first_answer": summary_ms(answer),
        "first_answer_minus_ready_median_ms": round(
            statistics.median([(a - r) * 1000 for a, r in zip(answer, ready)]), 2
        ),
        "root_store": {
            "pairs": pairs,
            "ready_median_ms_system_roots": round(statistics.median(with_roots) * 1000, 2),
            "ready_median_ms_empty_roots": round(statistics.median(without_roots) * 1000, 2),
            "system_roots": system_roots(),
        },
    }


def measure_cold_start_dynamodb(binary: Path, work: Path, runs: int) -> dict | None:
    """The same cold start with the DynamoDB store (the SDK's configuration and client are made
    before the first event; its ListFlows is a Query), against the DynamoDB-compatible server
    named by FNF_TEST_DYNAMODB_ENDPOINT (`scripts/with-moto.sh` starts moto); None without one."""
    endpoint = os.environ.get("FNF_TEST_DYNAMODB_ENDPOINT")
    if not endpoint:
        log("cold start in DynamoDB mode skipped: FNF_TEST_DYNAMODB_ENDPOINT is not set (make bench sets it)")
        return None
    table = f"fnf-measure-{os.getpid()}"
    aws = {"AWS_ENDPOINT_URL_DYNAMODB": endpoint, "TABLE_NAME": table, "FNF_STORE": "dynamodb"}
    env = lambda_env(0, work)
    env.update(aws)
    made = subprocess.run([str(binary), "create-table", table], env=env, capture_output=True, text=True, timeout=60)
    if made.returncode != 0:
        raise MeasureError(f"create-table failed: {made.stderr[-500:]}")
    ready, answer = cold_starts(binary, work, runs, "cold start (DynamoDB)", aws)
    return {"endpoint": endpoint, "ready": summary_ms(ready), "first_answer": summary_ms(answer)}


def system_roots() -> str:
    """Where this machine's roots are, as rustls-native-certs looks for them (openssl-probe)."""
    found = []
    for f in ("/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt", "/etc/ssl/cert.pem"):
        if os.path.isfile(f):
            found.append(f"{f} ({os.path.getsize(f) // 1024} KiB)")
            break
    d = "/etc/ssl/certs"
    if os.path.isdir(d):
        found.append(f"{d}/ ({len(os.listdir(d))} entries)")
    return ", ".join(found) or "none found"


# ---------------------------------------------------------------------------------------------
# 2. Peak memory


def mem_entry(proc_stat: dict[str, int], **extra) -> dict:
    hwm = proc_stat["VmHWM"] / 1024
    return {
        "peak_rss_mib": round(hwm, 1),
        "rss_now_mib": round(proc_stat["VmRSS"] / 1024, 1),
        "threads": proc_stat.get("Threads"),
        "fits_128_mib": hwm < LAMBDA_MEMORY_MIB,
        **extra,
    }


def run_to_end(
    lp: LambdaProcess, name: str, definition: str, execution: str, input_text: str, start_timeout: float
) -> tuple[str | None, dict, float]:
    """CreateFlow `name`, StartExecution `execution` with `input_text`, then DescribeExecution
    (long polls) while it runs, for at most 90 s from the start. Answers (the status
    StartExecution answered, the last answer, seconds from the start to that answer)."""
    expect_ok(lp.invoke(direct("CreateFlow", Name=name, Type="DEFAULT", Definition=definition)), "CreateFlow")
    t = time.monotonic()
    a = expect_ok(
        lp.invoke(direct("StartExecution", FlowName=name, ExecutionName=execution, Input=input_text), timeout=start_timeout),
        "StartExecution",
    )
    first_status = a.get("Status")
    end = t + 90
    while a.get("Status") == "Running" and time.monotonic() < end:
        a = expect_ok(
            lp.invoke(direct("DescribeExecution", FlowName=name, ExecutionName=execution, WaitTimeSeconds=10), timeout=30),
            "DescribeExecution",
        )
    return first_status, a, time.monotonic() - t


def measure_memory(binary: Path, work: Path, map_items: int) -> dict:
    out = {}

    # (a) idle after the cold start and one ListFlows
    with LambdaProcess(binary, work) as lp:
        lp.wait_ready()
        check_list_flows_answer(lp.invoke(http_api_event(LIST_FLOWS_BODY)))
        time.sleep(0.3)
        out["idle"] = mem_entry(lp.memory(), what="cold start + one ListFlows (HTTP API event)")
    log(f"memory idle: {out['idle']['peak_rss_mib']} MiB")

    # (b) the largest input through a one-Pass flow
    with LambdaProcess(binary, work) as lp:
        lp.wait_ready()
        expect_ok(lp.invoke(direct("CreateFlow", Name="p", Type="DEFAULT", Definition=PASS_FLOW)), "CreateFlow")
        big = largest_input()
        t = time.monotonic()
        a = expect_ok(lp.invoke(direct("StartExecution", FlowName="p", ExecutionName="big0", Input=big)), "StartExecution")
        took = time.monotonic() - t
        if a.get("Status") != "Succeeded" or len(a.get("Output", "")) != len(big):
            raise MeasureError(f"the 64 KiB execution did not succeed with its input as output: {str(a)[:300]}")
        one = lp.memory()
        # one byte more must be refused: this really is the largest input
        over = lp.invoke(direct("StartExecution", FlowName="p", ExecutionName="over", Input=big[:-1] + " }"))
        over_code = over.get("Code")
        for i in range(1, 10):
            expect_ok(lp.invoke(direct("StartExecution", FlowName="p", ExecutionName=f"big{i}", Input=big)), "StartExecution")
        ten = lp.memory()
        out["input_64k"] = mem_entry(
            one,
            what="CreateFlow (one Pass) + StartExecution with a 65,536-byte JSON object input",
            input_bytes=len(big),
            start_execution_ms=round(took * 1000, 1),
            input_65537_bytes_answer=over_code,
            after_10_executions_peak_rss_mib=round(ten["VmHWM"] / 1024, 1),
        )
    log(f"memory 64 KiB input: {out['input_64k']['peak_rss_mib']} MiB (10 runs: {out['input_64k']['after_10_executions_peak_rss_mib']} MiB)")

    # (c) a Map over map_items items
    count = largest_map_count(map_items)
    with LambdaProcess(binary, work) as lp:
        lp.wait_ready()
        text = map_input(count)
        first_status, a, took = run_to_end(lp, "m", MAP_FLOW, "map", text, start_timeout=60)
        if a.get("Status") != "Succeeded":
            raise MeasureError(f"the Map execution ended {a.get('Status')}: {str(a)[:400]}")
        output = json.loads(a.get("Output") or "{}")
        if output.get("n") != count:
            raise MeasureError(f"the Map execution's output is {a.get('Output')!r}, expected n={count}")
        out["map"] = mem_entry(
            lp.memory(),
            what=f"CreateFlow + StartExecution of a Map over {count:,} numbers (Pass processor)",
            items=count,
            input_bytes=len(text),
            start_execution_answer=first_status,
            execution_ms=round(took * 1000, 1),
            requested_items=map_items,
        )
    log(f"memory Map x{count}: {out['map']['peak_rss_mib']} MiB ({out['map']['execution_ms']:.0f} ms)")

    # (d) the same Map when it does not finish within one budget: StartExecution answers Running
    # and the execution is checkpointed in the middle of the Map (what a slower CPU, e.g. the
    # fraction of a vCPU a 128 MB Lambda gets, would meet with the default 5 s budget).
    budget_ms = 2
    with LambdaProcess(binary, work, extra_env={"FNF_RESPONSE_BUDGET_MS": str(budget_ms)}) as lp:
        lp.wait_ready()
        first_status, a, took = run_to_end(lp, "m", MAP_FLOW, "map", map_input(count), start_timeout=60)
        out["map_over_budget"] = mem_entry(
            lp.memory(),
            what=f"the same Map with FNF_RESPONSE_BUDGET_MS={budget_ms} (to be checkpointed mid-Map)",
            items=count,
            response_budget_ms=budget_ms,
            start_execution_answer=first_status,
            status=a.get("Status"),
            error=a.get("ErrorCode"),
            cause=(a.get("ErrorMessage") or "")[:300] or None,
            execution_ms=round(took * 1000, 1),
        )
    e = out["map_over_budget"]
    log(f"Map x{count} over a {budget_ms} ms budget: {e['status']} {e['error'] or ''} {e['cause'] or ''}")

    # (e) the heaviest live state: concurrent Map iterations each holding a copy of a 64 KiB
    # array of small numbers (JSON's densest form: about 16 bytes of memory per input byte)
    # while they all wait. 60 of them (3.9 MB of state) fit the 4 MiB live-state limit; 100
    # (6.4 MB) are refused with FnF.CheckpointTooLarge once the engine measures past it.
    for iterations, key in ((60, "wide_data_fits"), (MAX_MAP_CONCURRENCY, "wide_data_refused")):
        with LambdaProcess(binary, work) as lp:
            lp.wait_ready()
            _, a, took = run_to_end(lp, "w", WIDE_DATA_FLOW, "wide", wide_data_input(iterations), start_timeout=120)
            ended = a.get("Status") + (f" ({a.get('ErrorCode')})" if a.get("ErrorCode") else "")
            out[key] = mem_entry(
                lp.memory(),
                what=f"a Map of {iterations} concurrent iterations, each holding a 64 KiB array of small numbers: {ended}",
                status=a.get("Status"),
                error=a.get("ErrorCode"),
                execution_ms=round(took * 1000, 1),
            )
        log(f"memory, wide live data x{iterations}: {out[key]['peak_rss_mib']} MiB ({ended})")
    return out


# What measure_memory's case (e) runs: every iteration copies the execution input's `list`,
# then all wait one second together (slept out in place), then drop the copy.
WIDE_DATA_FLOW = """Type: StateMachine
SpecVersion: v1
Name: wide
StartAt: fan
States:
  - Type: Map
    Name: fan
    ItemsPath: $Input.items
    MaxConcurrency: 100
    Processor:
      StartAt: load
      States:
        - Type: Pass
          Name: load
          OutputConstructor:
            i.$: $Input.i
            copy.$: $Context.Execution.Input.list
          Next: hold
        - Type: Wait
          Name: hold
          Seconds: 1
          Next: done
        - Type: Pass
          Name: done
          OutputConstructor:
            i.$: $Input.i
          End: true
    End: true
"""
MAX_MAP_CONCURRENCY = 100  # README's limit on Map MaxConcurrency


def wide_data_input(iterations: int) -> str:
    """`items` for `iterations` iterations and `list`, as many 1s as fit the 64 KiB input."""
    doc = {"items": [{"i": i} for i in range(iterations)], "list": []}
    room = MAX_INPUT_BYTES - len(json.dumps(doc, separators=(",", ":"))) - 2
    doc["list"] = [1] * (room // 2)
    text = json.dumps(doc, separators=(",", ":"))
    assert len(text) <= MAX_INPUT_BYTES, len(text)
    return text


# ---------------------------------------------------------------------------------------------
# 3. Binary size


def elf_sections(path: Path) -> set[str] | None:
    """Section names of a 64-bit little-endian ELF file (None if it is not one)."""
    with open(path, "rb") as f:
        ident = f.read(64)
        if len(ident) < 64 or ident[:4] != b"\x7fELF" or ident[4] != 2 or ident[5] != 1:
            return None
        shoff = struct.unpack_from("<Q", ident, 0x28)[0]
        shentsize, shnum, shstrndx = struct.unpack_from("<HHH", ident, 0x3A)
        if shoff == 0 or shnum == 0:
            return set()
        f.seek(shoff)
        table = f.read(shentsize * shnum)
        headers = [struct.unpack_from("<IIQQQQ", table, i * shentsize) for i in range(shnum)]
        _, _, _, _, str_off, str_size = headers[shstrndx]
        f.seek(str_off)
        names = f.read(str_size)
    out = set()
    for name_off, *_ in headers:
        out.add(names[name_off : names.index(b"\0", name_off)].decode(errors="replace"))
    return out


def measure_size(binary: Path, work: Path, zip_it: bool) -> dict:
    size = binary.stat().st_size
    sections = elf_sections(binary)
    out = {
        "path": str(binary),
        "bytes": size,
        "mib": round(size / 2**20, 2),
        "mb": round(size / 1e6, 2),
        "stripped": None if sections is None else not ({".symtab"} | {s for s in sections if s.startswith(".debug")}) & sections,
        "arch": platform.machine(),
    }
    if zip_it:
        z = work / "bootstrap.zip"
        t = time.monotonic()
        with zipfile.ZipFile(z, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as zf:
            info = zipfile.ZipInfo("bootstrap", date_time=(2026, 1, 1, 0, 0, 0))
            info.external_attr = 0o100755 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            with open(binary, "rb") as src, zf.open(info, "w") as dst:
                shutil.copyfileobj(src, dst, 1 << 20)
        out["zip_bytes"] = z.stat().st_size
        out["zip_mib"] = round(out["zip_bytes"] / 2**20, 2)
        out["zip_seconds"] = round(time.monotonic() - t, 2)
        z.unlink()
    log(f"binary: {out['mib']} MiB{', zip ' + str(out.get('zip_mib')) + ' MiB' if zip_it else ''}")
    return out


# ---------------------------------------------------------------------------------------------
# 4. Requests per second on loopback


def wait_for_serve(proc: subprocess.Popen, stderr: Path, timeout: float = 20) -> tuple[str, int]:
    end = time.monotonic() + timeout
    pattern = re.compile(r"serving the fnf API on http://([0-9.]+):([0-9]+)")
    while time.monotonic() < end:
        m = pattern.search(stderr.read_text(errors="replace")) if stderr.exists() else None
        if m:
            return m.group(1), int(m.group(2))
        if proc.poll() is not None:
            break
        time.sleep(0.02)
    status = proc.poll()
    raise MeasureError(
        f"`serve` did not come up ({'running' if status is None else f'exit status {status}'}):\n{tail(stderr)}"
    )


def post_json(conn: http.client.HTTPConnection, body: bytes) -> tuple[int, bytes]:
    conn.request("POST", "/", body=body, headers={"Content-Type": "application/json"})
    resp = conn.getresponse()
    return resp.status, resp.read()


def drive(host: str, port: int, bodies: list[bytes], total: int, threads: int, deadline: float) -> dict:
    """total requests (bodies in turn) from `threads` threads, each on one keep-alive connection."""
    lock = threading.Lock()
    counter = iter(range(total))
    samples: list[tuple[int, float, int]] = []  # (body index, seconds, status)
    errors: list[str] = []

    def worker():
        conn = http.client.HTTPConnection(host, port, timeout=15)
        mine = []
        try:
            while time.monotonic() < deadline:
                with lock:
                    i = next(counter, None)
                if i is None:
                    break
                kind = i % len(bodies)
                t = time.perf_counter()
                try:
                    status, _ = post_json(conn, bodies[kind])
                except (OSError, http.client.HTTPException) as e:
                    conn.close()
                    conn = http.client.HTTPConnection(host, port, timeout=15)
                    with lock:
                        errors.append(f"{type(e).__name__}: {e}")
                    continue
                mine.append((kind, time.perf_counter() - t, status))
        finally:
            conn.close()
            with lock:
                samples.extend(mine)

    pool = [threading.Thread(target=worker, daemon=True) for _ in range(threads)]
    t0 = time.perf_counter()
    for th in pool:
        th.start()
    for th in pool:
        th.join(max(0.0, deadline - time.monotonic()) + 20)
    wall = time.perf_counter() - t0
    return {"samples": samples, "errors": errors, "wall": wall}


def latency_summary(lat_s: list[float]) -> dict:
    ms = sorted(v * 1000 for v in lat_s)
    if not ms:
        return {"n": 0}
    return {
        "n": len(ms),
        "p50_ms": round(percentile(ms, 50), 2),
        "p90_ms": round(percentile(ms, 90), 2),
        "p99_ms": round(percentile(ms, 99), 2),
        "max_ms": round(ms[-1], 2),
    }


def measure_rps(binary: Path, work: Path, total: int, threads: int, time_limit: float) -> dict:
    run_dir = Path(tempfile.mkdtemp(prefix="serve-", dir=work))
    stderr = run_dir / "stderr.log"
    (run_dir / "data").mkdir()
    env = base_env()
    proc = spawn([str(binary), "serve", "--addr", "127.0.0.1:0", "--data-dir", str(run_dir / "data")], env, stderr)
    try:
        host, port = wait_for_serve(proc, stderr)
        conn = http.client.HTTPConnection(host, port, timeout=15)
        status, body = post_json(
            conn,
            json.dumps(direct("CreateFlow", Name="p", Type="DEFAULT", Definition=PASS_FLOW)).encode(),
        )
        if status != 200:
            raise MeasureError(f"CreateFlow over HTTP answered {status}: {body[:300]!r}")
        start = json.dumps(direct("StartExecution", FlowName="p")).encode()
        describe = json.dumps(direct("DescribeFlow", Name="p")).encode()
        status, body = post_json(conn, start)
        if status != 200 or json.loads(body).get("Status") != "Succeeded":
            raise MeasureError(f"StartExecution over HTTP answered {status}: {body[:300]!r}")
        conn.close()
        bodies = [start, describe]
        names = ["StartExecution", "DescribeFlow"]

        warm = drive(host, port, bodies, min(200, total), threads, time.monotonic() + 15)
        if warm["errors"]:
            raise MeasureError(f"warm-up errors: {warm['errors'][:3]}")
        # one client, one request at a time: latency without queueing
        seq = drive(host, port, bodies, min(200, total), 1, time.monotonic() + 15)

        cpu0 = proc_cpu_seconds(proc.pid)
        client0 = time.process_time()
        run = drive(host, port, bodies, total, threads, time.monotonic() + time_limit)
        server_cpu = proc_cpu_seconds(proc.pid) - cpu0
        client_cpu = time.process_time() - client0
        mem = proc_status(proc.pid)
        if proc.poll() is not None:
            raise MeasureError(f"`serve` died during the run:\n{tail(stderr)}")
    finally:
        kill(proc)
        shutil.rmtree(run_dir, ignore_errors=True)

    samples = run["samples"]
    done = len(samples)
    statuses: dict[str, int] = {}
    for _, _, st in samples:
        statuses[str(st)] = statuses.get(str(st), 0) + 1
    out = {
        "requests_planned": total,
        "requests_done": done,
        "threads": threads,
        "mix": "StartExecution (one-Pass flow, generated name, no Input) and DescribeFlow, alternately",
        "wall_s": round(run["wall"], 3),
        "rps": round(done / run["wall"], 1) if run["wall"] > 0 else None,
        "statuses": statuses,
        "transport_errors": len(run["errors"]),
        "all": latency_summary([s for _, s, _ in samples]),
        "server_cpu_s": round(server_cpu, 2),
        "server_cpu_ms_per_request": round(server_cpu * 1000 / done, 3) if done else None,
        "client_cpu_s": round(client_cpu, 2),
        "server_peak_rss_mib": round(mem["VmHWM"] / 1024, 1),
        "cpus": os.cpu_count(),
        "time_limit_s": time_limit,
    }
    for k, name in enumerate(names):
        out[name] = latency_summary([s for kind, s, _ in samples if kind == k])
        out[name]["rps"] = round(out[name]["n"] / run["wall"], 1) if run["wall"] > 0 else None
    out["sequential"] = {
        "requests": len(seq["samples"]),
        "rps": round(len(seq["samples"]) / seq["wall"], 1) if seq["wall"] > 0 else None,
        **{name: latency_summary([s for kind, s, _ in seq["samples"] if kind == k]) for k, name in enumerate(names)},
    }
    if run["errors"]:
        out["first_errors"] = run["errors"][:5]
    log(f"rps: {out['rps']} over {done} requests, p50 {out['all'].get('p50_ms')} ms, p99 {out['all'].get('p99_ms')} ms")
    return out


# ---------------------------------------------------------------------------------------------
# Report


def markdown(r: dict) -> str:
    lines = ["## Measurements", ""]
    meta = r["meta"]
    lines.append(
        f"Binary `{meta['binary']}` on {meta['machine']} ({meta['cpus']} CPUs, Linux {meta['kernel']}), "
        f"{meta['date']}; `scripts/measure.py` took {meta['seconds']:.0f} s."
    )
    lines.append("")
    if "cold_start" in r:
        c = r["cold_start"]
        lines += [
            f"### Cold start (Lambda mode, {c['runs']} runs, fresh embedded store each)",
            "",
            "| | median | p90 | min | max |",
            "|---|---|---|---|---|",
        ]
        for key, label in (("ready", "spawn → first `GET /runtime/invocation/next`"), ("first_answer", "spawn → first response (HTTP API 2.0 ListFlows)")):
            s = c[key]
            lines.append(f"| {label} | {s['median_ms']} ms | {s['p90_ms']} ms | {s['min_ms']} ms | {s['max_ms']} ms |")
        d = c.get("dynamodb")
        if d:
            for key, label in (("ready", "DynamoDB store: spawn → first `GET /runtime/invocation/next`"), ("first_answer", "DynamoDB store: spawn → first response (a Query to moto)")):
                s = d[key]
                lines.append(f"| {label} | {s['median_ms']} ms | {s['p90_ms']} ms | {s['min_ms']} ms | {s['max_ms']} ms |")
        lines += [
            "",
            f"The first invocation itself (answer − ready, median) takes {c['first_answer_minus_ready_median_ms']} ms.",
        ]
        if d:
            lines.append(
                f"DynamoDB mode ran against moto at {d['endpoint']} (a local Python server: its answer time, not "
                "DynamoDB's, dominates the first response)."
            )
        rs = c.get("root_store")
        if rs:
            lines.append(
                f"TLS root certificates are read on the first outbound https call, not at start: over {rs['pairs']} interleaved pairs, ready is "
                f"{rs['ready_median_ms_system_roots']} ms (median) with this machine's roots ({rs['system_roots']}) and "
                f"{rs['ready_median_ms_empty_roots']} ms with `SSL_CERT_FILE`/`SSL_CERT_DIR` naming an empty file and directory."
            )
        lines.append("")
    if "memory" in r:
        m = r["memory"]
        lines += [
            "### Peak memory (VmHWM of the Lambda-mode process, one fresh process per case)",
            "",
            "| case | peak RSS | RSS at the end | fits 128 MB Lambda |",
            "|---|---|---|---|",
        ]
        for key in ("idle", "input_64k", "map", "map_over_budget", "wide_data_fits", "wide_data_refused"):
            if key in m:
                e = m[key]
                lines.append(
                    f"| {e['what']} | {e['peak_rss_mib']} MiB | {e['rss_now_mib']} MiB | {'yes' if e['fits_128_mib'] else '**no**'} |"
                )
        lines.append("")
        if "input_64k" in m:
            e = m["input_64k"]
            lines.append(
                f"64 KiB input: StartExecution took {e['start_execution_ms']} ms; after 10 such executions the peak is "
                f"{e['after_10_executions_peak_rss_mib']} MiB; a 65,537-byte input answers `{e['input_65537_bytes_answer']}`."
            )
        if "map" in m:
            e = m["map"]
            note = "" if e["items"] == e["requested_items"] else f" (asked for {e['requested_items']:,}; the largest that fits the 64 KiB limits)"
            lines.append(
                f"Map: {e['items']:,} items{note}, input {e['input_bytes']:,} bytes; StartExecution answered "
                f"`{e['start_execution_answer']}`, the execution succeeded after {e['execution_ms']:.0f} ms."
            )
        if "map_over_budget" in m:
            e = m["map_over_budget"]
            ended = f"`{e['status']}`" + (f" with `{e['error']}` ({e['cause']})" if e.get("error") else "")
            parked = (
                "so it was checkpointed mid-Map and carried on by a continuation"
                if e["start_execution_answer"] == "Running"
                else "**so it finished within the budget and was never checkpointed: lower the budget**"
            )
            lines.append(
                f"Map over a {e['response_budget_ms']} ms response budget: StartExecution answered "
                f"`{e['start_execution_answer']}`, {parked}; the execution ended {ended} after {e['execution_ms']:.0f} ms."
            )
        lines.append("")
    if "size" in r:
        s = r["size"]
        lines += ["### Binary size", ""]
        stripped = {True: "stripped", False: "**not stripped**", None: "not an ELF64 file"}[s["stripped"]]
        lines.append(f"- `{s['path']}`: {s['bytes']:,} bytes ({s['mib']} MiB, {s['mb']} MB), {stripped}, {s['arch']}")
        if "zip_bytes" in s:
            lines.append(
                f"- as a Lambda zip (`bootstrap`, deflate level 6, what `cargo lambda build --output-format zip` packs): "
                f"{s['zip_bytes']:,} bytes ({s['zip_mib']} MiB)"
            )
        lines.append("")
    if "rps" in r:
        p = r["rps"]
        lines += [
            f"### Requests per second (`serve` on loopback, embedded store, {p['threads']} client threads, keep-alive)",
            "",
            f"{p['requests_done']:,} requests ({p['mix']}) in {p['wall_s']} s: **{p['rps']} requests/s**; "
            f"statuses {p['statuses']}, transport errors {p['transport_errors']}.",
            "",
            "| requests | n | req/s | p50 | p90 | p99 | max |",
            "|---|---|---|---|---|---|---|",
        ]
        for key in ("all", "StartExecution", "DescribeFlow"):
            e = p[key]
            if e.get("n"):
                rps = p["rps"] if key == "all" else e["rps"]
                lines.append(f"| {key} | {e['n']} | {rps} | {e['p50_ms']} ms | {e['p90_ms']} ms | {e['p99_ms']} ms | {e['max_ms']} ms |")
        sq = p.get("sequential")
        if sq:
            for key in ("StartExecution", "DescribeFlow"):
                e = sq[key]
                if e.get("n"):
                    lines.append(
                        f"| {key}, one client, sequential | {e['n']} | {sq['rps']} (both) | {e['p50_ms']} ms | {e['p90_ms']} ms | {e['p99_ms']} ms | {e['max_ms']} ms |"
                    )
        lines += [
            "",
            f"Server CPU: {p['server_cpu_s']} s ({p['server_cpu_ms_per_request']} ms a request); the Python client "
            f"used {p['client_cpu_s']} s of CPU on the same {p['cpus']} cores. Server peak RSS {p['server_peak_rss_mib']} MiB.",
            "",
        ]
    if r.get("errors"):
        lines += ["### Failed measurements", ""]
        for name, err in r["errors"].items():
            lines.append(f"- {name}: {err.splitlines()[0]}")
        lines.append("")
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--binary", default="target/release/fnf-lambda", help="the binary (default: %(default)s, from the repository root)")
    ap.add_argument("--runs", type=int, default=20, help="cold starts (default %(default)s)")
    ap.add_argument("--requests", type=int, default=2000, help="requests for the RPS run (default %(default)s)")
    ap.add_argument("--threads", type=int, default=8, help="client threads for the RPS run (default %(default)s)")
    ap.add_argument("--rps-time-limit", type=float, default=30, help="stop the RPS run after this many seconds (default %(default)s)")
    ap.add_argument("--map-items", type=int, default=MAX_MAP_ITEMS, help="Map items (default %(default)s)")
    ap.add_argument("--no-zip", action="store_true", help="skip the zip size")
    ap.add_argument("--only", default="cold,memory,size,rps", help="comma-separated subset of cold,memory,size,rps")
    ap.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    args = ap.parse_args()

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)

    binary = Path(args.binary)
    if not binary.is_absolute() and not binary.exists():
        binary = REPO / binary
    binary = binary.resolve()
    if not binary.is_file() or not os.access(binary, os.X_OK):
        print(
            f"measure.py: no executable binary at {binary} (build it with `make release`, or pass --binary)",
            file=sys.stderr,
        )
        return 2
    if not Path("/proc/self/status").exists():
        print("measure.py: needs Linux /proc (VmHWM, CPU times)", file=sys.stderr)
        return 2
    wanted = {w.strip() for w in args.only.split(",") if w.strip()}
    unknown = wanted - {"cold", "memory", "size", "rps"}
    if unknown:
        print(f"measure.py: unknown --only part(s): {', '.join(sorted(unknown))}", file=sys.stderr)
        return 2

    started = time.monotonic()
    results: dict = {
        "meta": {
            "binary": os.path.relpath(binary, Path.cwd()) if binary.is_relative_to(Path.cwd()) else str(binary),
            "machine": platform.machine(),
            "kernel": platform.release(),
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        }
    }
    errors = {}
    work = Path(tempfile.mkdtemp(prefix="fnf-measure-"))
    try:
        steps = [
            ("size", "size", lambda: measure_size(binary, work, not args.no_zip)),
            ("cold", "cold_start", lambda: measure_cold_start(binary, work, args.runs)),
            ("memory", "memory", lambda: measure_memory(binary, work, args.map_items)),
            ("rps", "rps", lambda: measure_rps(binary, work, args.requests, args.threads, args.rps_time_limit)),
        ]
        for part, key, fn in steps:
            if part not in wanted:
                continue
            try:
                results[key] = fn()
            except MeasureError as e:
                log(f"{key} failed: {e}")
                errors[key] = str(e)
            except Exception as e:  # noqa: BLE001 - report it, and go on with the other parts
                log(f"{key} failed:\n{traceback.format_exc()}")
                errors[key] = f"{type(e).__name__}: {e}"
    finally:
        kill_all()
        shutil.rmtree(work, ignore_errors=True)
    results["meta"]["seconds"] = round(time.monotonic() - started, 1)
    if errors:
        results["errors"] = errors
    print(markdown(results))
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
