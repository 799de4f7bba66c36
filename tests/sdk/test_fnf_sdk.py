"""fnf-lambda driven by the official Python SDK `alibabacloud-fnf20190315` (2.x).

Run by scripts/sdk-test.sh, which starts `fnf-lambda serve` and passes its address in
FNF_SDK_ENDPOINT (e.g. `127.0.0.1:18123`). By hand:
    FNF_SDK_ENDPOINT=127.0.0.1:8080 .venv/bin/python -m unittest discover -s tests/sdk -v

What the SDK puts on the wire (alibabacloud-fnf20190315 2.0.1, alibabacloud-tea-openapi 0.4.6,
darabonba-core 1.0.9; watched with a recording HTTP server on 127.0.0.1):

The fnf client sets `_signature_algorithm = 'v2'`, so every call goes through
`OpenApiClient.do_rpcrequest`: RPC style, signature V1 (HMAC-SHA1), path always `/`. The URL is
`<protocol>://<endpoint>/?<query>`: `endpoint` is used verbatim as host[:port] (also sent as the
`host` header); `protocol='http'` from the Config overrides the 'HTTPS' in the generated params.

StartExecution (a write action: POST, API parameters in a form body):
    POST /?Action=StartExecution&Format=json&Version=2019-03-15&Timestamp=2026-11-25T09%3A48%3A31Z
         &SignatureNonce=257976a3f03c077522346bc7c2e65f32&SignatureMethod=HMAC-SHA1
         &SignatureVersion=1.0&AccessKeyId=testid&Signature=3yMaj5rl%2F0Ixa3i%2BjKdeVzW5idw%3D
    Accept-Encoding: identity
    host: 127.0.0.1:45473
    x-acs-version: 2019-03-15
    x-acs-action: StartExecution
    user-agent: AlibabaCloud (Linux; x86_64) Python/3.11.7 Core/0.4.3 TeaDSL/2
    content-type: application/x-www-form-urlencoded
    x-acs-credentials-provider: static_ak
    Content-Length: 63

    ExecutionName=e1&FlowName=f&Input=%7B%22key%22%3A%22value%22%7D

DescribeExecution (a read action: GET, every parameter in the query, no body, no content-type,
no content-length):
    GET /?Action=DescribeExecution&Format=json&Version=2019-03-15&Timestamp=2026-11-25T09%3A48%3A31Z
        &SignatureNonce=893a9c44cbbcecf6d403745b4b8240cb&ExecutionName=e1&FlowName=f
        &SignatureMethod=HMAC-SHA1&SignatureVersion=1.0&AccessKeyId=testid
        &Signature=jtaw88XhZFe7JpaExlK0NqCC7eI%3D
    Accept-Encoding: identity
    host: 127.0.0.1:45473
    x-acs-version: 2019-03-15
    x-acs-action: DescribeExecution
    user-agent: AlibabaCloud (Linux; x86_64) Python/3.11.7 Core/0.4.3 TeaDSL/2
    x-acs-credentials-provider: static_ak

Details:
- No `Accept` header, no `Date`, no `x-acs-date`/`x-acs-signature-nonce`/`Authorization` (those
  are V3 only). `Format` is lowercase `json`. `Timestamp` has no fraction: `%Y-%m-%dT%H:%M:%SZ`.
- Query and form body are encoded with Python's urlencode (quote_plus): a space is `+`, `:` is
  `%3A`, `~` stays, `*` is `%2A`. Form keys are sorted. Numbers are sent as text (`Limit=1`).
  ListExecutions: `...&FlowName=f&Limit=1&NextToken=tok&Status=Succeeded&...` in the query.
  CreateFlow: POST, body `Definition=a%3A+b%0A&Description=d&Name=f&Type=DEFAULT`.
- Signature V1: params = query (everything but Signature) + body params; sort by key; join
  `k=v` with `&` where k and v are percent-encoded with quote(safe='~') (space = %20, not +);
  StringToSign = METHOD + '&%2F&' + quote_plus(that string, safe='~'); key = secret + '&';
  Signature = base64(HMAC-SHA1). Vector: POST, secret `testsecret`, query Action=StartExecution,
  Format=json, Version=2019-03-15, Timestamp=2019-01-01T01:01:01Z, SignatureNonce=abc123,
  SignatureMethod=HMAC-SHA1, SignatureVersion=1.0, AccessKeyId=testid, body ExecutionName=e1,
  FlowName=f, Input={"key":"value"} gives `zNe4A9gyxh5DkxsJbVYjehB30vw=`.
- The client keeps connections alive (requests Session pool, HTTP/1.1) and does not retry.
  Default timeouts: connect 5 s, read 10 s (this test raises read to 30 s).

What the SDK expects back:
- Status 400..599: the body is parsed as JSON whatever the content-type; `Code` (or `code`),
  `Message`/`message`, `RequestId`/`requestId` are read. 4xx raises
  alibabacloud_tea_openapi.exceptions.ClientException, 5xx ServerException, with `.code`,
  `.status_code` (and `.statusCode`), `.message` = "code: <status>, <Message> request id: <id>",
  `.request_id`, `.data` = the parsed body plus `statusCode`. No `Code` in the body: `.code` is
  the string 'None'. A body that is not JSON: darabonba UnretryableException wrapping
  RuntimeError("Failed to parse the value as json format..."), `.code` None, status lost.
  A response header `x-acs-retry-after` with a positive integer turns it into
  ThrottlingException (retry_after); without it a 429 is an ordinary ClientException.
- Any other status (200, but also 201...): the body must be JSON (an empty body fails the same
  way: DeleteFlow must answer `{"RequestId": ...}`); fields are read by their PascalCase names
  into the model; unknown fields are ignored. No response header is required (not even
  Content-Type); header names are lower-cased into `response.headers`.
"""

import json
import os
import re
import time
import unittest
import uuid

# The SDK reads HTTP(S)_PROXY itself and would send loopback traffic through a proxy.
for _var in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY"):
    os.environ.pop(_var, None)

from alibabacloud_fnf20190315 import models as fnf_models  # noqa: E402
from alibabacloud_fnf20190315.client import Client  # noqa: E402
from alibabacloud_tea_openapi import utils_models as open_api_models  # noqa: E402

ENDPOINT = os.environ.get("FNF_SDK_ENDPOINT")

# Unique per run, so the tests also pass against a server that keeps data between runs.
PREFIX = "sdk_%d_%s" % (int(time.time()), uuid.uuid4().hex[:8])

CLOUDFLOW_DEFINITION = """Type: StateMachine
SpecVersion: v1
Name: {name}
StartAt: my_state
States:
  - Type: Pass
    Name: my_state
    End: true
"""

FDL_DEFINITION = """version: v1
type: flow
steps:
  - type: pass
    name: mypass
"""

INPUT = '{"key":"value"}'
TIME_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]{0,127}$")


def cloudflow_definition(flow_name):
    # The documentation says the definition's Name must be the flow's name; keep them equal.
    return CLOUDFLOW_DEFINITION.format(name=flow_name)


# The operator's key the server was started with (scripts/sdk-test.sh); any key works against a
# server without authentication.
ACCESS_KEY_ID = os.environ.get("FNF_SDK_ACCESS_KEY_ID", "testid")
ACCESS_KEY_SECRET = os.environ.get("FNF_SDK_ACCESS_KEY_SECRET", "testsecret")


def make_client(access_key_id=None, access_key_secret=None):
    config = open_api_models.Config(
        access_key_id=access_key_id or ACCESS_KEY_ID,
        access_key_secret=access_key_secret or ACCESS_KEY_SECRET,
        endpoint=ENDPOINT,
        protocol="http",
        region_id="cn-hangzhou",
        connect_timeout=5000,
        read_timeout=30000,
    )
    return Client(config)


def body_of_model(model):
    """What the server sent, for assertion messages (the model's fields, or the raw map when the
    SDK could not read the body into its model)."""
    if model is None:
        return None
    raw = getattr(model, "_map", None)
    return raw if raw is not None else model.to_map()


def body_of(response):
    if response.body is None:
        return getattr(response, "_map", None)
    return body_of_model(response.body)


def describe_error(exc):
    return "%s code=%r status=%r data=%r message=%r" % (
        type(exc).__name__,
        getattr(exc, "code", None),
        getattr(exc, "status_code", getattr(exc, "statusCode", None)),
        getattr(exc, "data", None),
        getattr(exc, "message", str(exc)),
    )


class Fixtures:
    """Flows and executions shared by the tests, created on first use."""

    _cache = {}

    @classmethod
    def get(cls, key, make):
        if key not in cls._cache:
            try:
                cls._cache[key] = ("ok", make())
            except Exception as exc:  # remembered so every dependent test reports it
                cls._cache[key] = ("error", exc)
        state, value = cls._cache[key]
        if state == "error":
            raise AssertionError("fixture %r could not be created: %s" % (key, describe_error(value)))
        return value


@unittest.skipUnless(ENDPOINT, "FNF_SDK_ENDPOINT is not set (scripts/sdk-test.sh sets it)")
class SdkTestCase(unittest.TestCase):
    maxDiff = None

    @classmethod
    def setUpClass(cls):
        cls.client = make_client()

    # --- helpers -------------------------------------------------------------------------

    def call(self, what, fn):
        """Runs an SDK call that must succeed; a failure shows the server's error."""
        try:
            return fn()
        except Exception as exc:
            self.fail("%s raised %s" % (what, describe_error(exc)))

    def assertApiError(self, fn, code, status=None):
        """The call must fail with this fnf error code (and HTTP status when given; an int, or
        '4xx')."""
        try:
            response = fn()
        except Exception as exc:
            got_code = getattr(exc, "code", None)
            got_status = getattr(exc, "status_code", None)
            self.assertEqual(got_code, code, "wrong error: " + describe_error(exc))
            if status == "4xx":
                self.assertTrue(
                    isinstance(got_status, int) and 400 <= got_status < 500,
                    "expected a 4xx status: " + describe_error(exc),
                )
            elif status is not None:
                self.assertEqual(got_status, status, "wrong HTTP status: " + describe_error(exc))
            self.assertTrue(exc.data.get("Message"), "error without Message: " + describe_error(exc))
            self.assertTrue(exc.data.get("RequestId"), "error without RequestId: " + describe_error(exc))
            return exc
        self.fail(
            "expected error %s, got success: status=%r body=%r"
            % (code, response.status_code, body_of(response))
        )

    def create_flow(self, name, definition, flow_type="DEFAULT", client=None,
                    description="sdk test flow"):
        """CreateFlow through `client` (the shared one by default)."""
        return (client or self.client).create_flow(
            fnf_models.CreateFlowRequest(
                name=name, definition=definition, type=flow_type, description=description
            )
        )

    def start(self, flow_name, execution_name=None, input=INPUT):
        return self.client.start_execution(
            fnf_models.StartExecutionRequest(
                flow_name=flow_name, execution_name=execution_name, input=input
            )
        )

    def describe(self, flow_name, execution_name):
        return self.client.describe_execution(
            fnf_models.DescribeExecutionRequest(flow_name=flow_name, execution_name=execution_name)
        )

    def list_executions(self, flow_name, **kw):
        return self.client.list_executions(
            fnf_models.ListExecutionsRequest(flow_name=flow_name, **kw)
        )

    # shared fixtures

    def cloudflow(self):
        """(flow name, definition, CreateFlow response) of the main CloudFlow flow."""

        def make():
            name = PREFIX + "_cloudflow"
            definition = cloudflow_definition(name)
            return name, definition, self.create_flow(name, definition)

        return Fixtures.get("cloudflow", make)

    def first_execution(self):
        """(execution name, StartExecution response) of a named execution of the main flow."""
        flow_name, _, _ = self.cloudflow()

        def make():
            name = "exec_1"
            return name, self.start(flow_name, name)

        return Fixtures.get("first_execution", make)

    def assertExecution(self, body, flow_name, name, definition, what):
        got = body_of_model(body)
        self.assertEqual(body.status, "Succeeded", "%s: Status, body=%r" % (what, got))
        self.assertEqual(body.name, name, "%s: Name, body=%r" % (what, got))
        self.assertEqual(body.flow_name, flow_name, "%s: FlowName, body=%r" % (what, got))
        self.assertIsNotNone(body.input, "%s: Input missing, body=%r" % (what, got))
        self.assertEqual(json.loads(body.input), json.loads(INPUT), "%s: Input, body=%r" % (what, got))
        self.assertIsNotNone(body.output, "%s: Output missing, body=%r" % (what, got))
        self.assertEqual(json.loads(body.output), {"key": "value"}, "%s: Output, body=%r" % (what, got))
        self.assertEqual(body.flow_definition, definition, "%s: FlowDefinition, body=%r" % (what, got))
        self.assertRegex(body.started_time or "", TIME_RE, "%s: StartedTime, body=%r" % (what, got))
        self.assertRegex(body.stopped_time or "", TIME_RE, "%s: StoppedTime, body=%r" % (what, got))
        self.assertLessEqual(body.started_time, body.stopped_time, "%s: times, body=%r" % (what, got))
        self.assertTrue(body.request_id, "%s: RequestId missing, body=%r" % (what, got))


class CreateFlowTest(SdkTestCase):
    def test_create_flow_returns_the_flow(self):
        name, definition, response = self.call("CreateFlow", self.cloudflow)
        body = response.body
        got = body_of(response)
        self.assertEqual(response.status_code, 200, got)
        self.assertEqual(body.name, name, got)
        self.assertEqual(body.definition, definition, got)
        self.assertEqual(body.type, "DEFAULT", got)
        self.assertEqual(body.description, "sdk test flow", got)
        self.assertEqual(body.execution_mode, "Standard", got)
        self.assertTrue(body.id, "Id missing: %r" % got)
        self.assertTrue(body.request_id, "RequestId missing: %r" % got)
        self.assertRegex(body.created_time or "", TIME_RE, got)
        self.assertRegex(body.last_modified_time or "", TIME_RE, got)

    def test_create_flow_twice_is_flow_already_exists(self):
        name, definition, _ = self.cloudflow()
        self.assertApiError(lambda: self.create_flow(name, definition), "FlowAlreadyExists", "4xx")

    def test_create_flow_with_unparsable_definition_is_invalid_argument(self):
        name = PREFIX + "_bad_definition"
        bad = "Type: StateMachine\nStartAt: [unclosed\n  - : : :\n"
        self.assertApiError(lambda: self.create_flow(name, bad), "InvalidArgument", 400)


class StartExecutionTest(SdkTestCase):
    def test_start_execution_succeeds_with_output(self):
        flow_name, definition, _ = self.cloudflow()
        name, response = self.call("StartExecution", self.first_execution)
        self.assertEqual(response.status_code, 200, body_of(response))
        self.assertExecution(response.body, flow_name, name, definition, "StartExecution")

    def test_start_execution_same_name_is_execution_already_exists(self):
        flow_name, _, _ = self.cloudflow()
        name, _ = self.first_execution()
        self.assertApiError(lambda: self.start(flow_name, name), "ExecutionAlreadyExists", 400)

    def test_start_execution_without_name_generates_one(self):
        flow_name, definition, _ = self.cloudflow()
        response = self.call("StartExecution without ExecutionName", lambda: self.start(flow_name))
        body = response.body
        self.assertTrue(body.name, "no generated Name: %r" % body_of(response))
        self.assertRegex(body.name, NAME_RE, body_of(response))
        self.assertExecution(body, flow_name, body.name, definition, "StartExecution (generated name)")
        described = self.call("DescribeExecution", lambda: self.describe(flow_name, body.name))
        self.assertEqual(described.body.status, "Succeeded", body_of(described))

    def test_start_execution_unknown_flow_is_flow_not_exists(self):
        self.assertApiError(
            lambda: self.start(PREFIX + "_no_such_flow", "e1"), "FlowNotExists", 404
        )

    def test_start_execution_input_not_an_object_is_invalid_argument(self):
        flow_name, _, _ = self.cloudflow()
        self.assertApiError(
            lambda: self.start(flow_name, "array_input", input="[1,2]"), "InvalidArgument", 400
        )

    def test_start_execution_bad_name_is_invalid_argument(self):
        flow_name, _, _ = self.cloudflow()
        self.assertApiError(lambda: self.start(flow_name, "1abc"), "InvalidArgument", 400)


class DescribeExecutionTest(SdkTestCase):
    def test_describe_execution_returns_the_execution(self):
        flow_name, definition, _ = self.cloudflow()
        name, started = self.first_execution()
        response = self.call("DescribeExecution", lambda: self.describe(flow_name, name))
        self.assertEqual(response.status_code, 200, body_of(response))
        self.assertExecution(response.body, flow_name, name, definition, "DescribeExecution")
        for field in ("status", "name", "flow_name", "input", "output", "flow_definition",
                      "started_time", "stopped_time"):
            self.assertEqual(
                getattr(response.body, field), getattr(started.body, field),
                "DescribeExecution %s differs from StartExecution: %r vs %r"
                % (field, body_of(response), body_of(started)),
            )

    def test_describe_unknown_execution_is_execution_not_exists(self):
        flow_name, _, _ = self.cloudflow()
        self.assertApiError(
            lambda: self.describe(flow_name, "no_such_execution"), "ExecutionNotExists", 404
        )


class ListExecutionsTest(SdkTestCase):
    COUNT = 3

    def listed_flow(self):
        """A flow of its own with COUNT finished executions."""

        def make():
            name = PREFIX + "_list"
            self.create_flow(name, cloudflow_definition(name))
            names = ["list_exec_%d" % i for i in range(self.COUNT)]
            for execution in names:
                self.start(name, execution)
            return name, names

        return Fixtures.get("listed_flow", make)

    def test_list_executions_pages_with_limit_and_next_token(self):
        flow_name, names = self.listed_flow()
        first = self.call("ListExecutions Limit=1", lambda: self.list_executions(flow_name, limit=1))
        self.assertEqual(len(first.body.executions), 1, body_of(first))
        self.assertTrue(first.body.next_token, "no NextToken after Limit=1 of %d: %r"
                        % (self.COUNT, body_of(first)))
        seen = [first.body.executions[0].name]
        token = first.body.next_token
        for _ in range(self.COUNT + 2):  # bounded: a server that loops fails the test
            if not token:
                break
            page = self.call(
                "ListExecutions NextToken=%r" % token,
                lambda: self.list_executions(flow_name, limit=1, next_token=token),
            )
            self.assertLessEqual(len(page.body.executions), 1, body_of(page))
            seen.extend(e.name for e in page.body.executions)
            token = page.body.next_token
        self.assertFalse(token, "NextToken still set after %d pages: seen %r" % (len(seen), seen))
        self.assertEqual(sorted(seen), sorted(names), "pages gave %r" % seen)

    def test_list_executions_fields(self):
        flow_name, names = self.listed_flow()
        response = self.call("ListExecutions", lambda: self.list_executions(flow_name))
        got = body_of(response)
        self.assertTrue(response.body.request_id, got)
        self.assertEqual(sorted(e.name for e in response.body.executions), sorted(names), got)
        for e in response.body.executions:
            self.assertEqual(e.flow_name, flow_name, got)
            self.assertEqual(e.status, "Succeeded", got)
            self.assertRegex(e.started_time or "", TIME_RE, got)

    def test_list_executions_status_filter(self):
        flow_name, names = self.listed_flow()
        succeeded = self.call(
            "ListExecutions Status=Succeeded",
            lambda: self.list_executions(flow_name, status="Succeeded"),
        )
        self.assertEqual(
            sorted(e.name for e in succeeded.body.executions), sorted(names), body_of(succeeded)
        )
        self.assertTrue(all(e.status == "Succeeded" for e in succeeded.body.executions),
                        body_of(succeeded))
        failed = self.call(
            "ListExecutions Status=Failed", lambda: self.list_executions(flow_name, status="Failed")
        )
        self.assertEqual(failed.body.executions, [], body_of(failed))


class GetExecutionHistoryTest(SdkTestCase):
    def test_history_of_a_flow_with_a_retried_task(self):
        name = PREFIX + "_retry"
        definition = "\n".join([
            "Type: StateMachine", "SpecVersion: v1", "Name: " + name, "StartAt: call", "States:",
            "  - Type: Task", "    Name: call", "    Action: Test:Flaky",
            "    Parameters:", "      Failures: 1", "    Retry:",
            "      - Errors: [FnF.ALL]", "        IntervalSeconds: 0", "        MaxAttempts: 2",
            "    End: true", "",
        ])
        self.call("CreateFlow", lambda: self.create_flow(name, definition))
        started = self.call("StartExecution", lambda: self.start(name, "retried"))
        self.assertEqual(started.body.status, "Succeeded", body_of(started))
        events, token = [], None
        while True:
            page = self.call("GetExecutionHistory", lambda: self.client.get_execution_history(
                fnf_models.GetExecutionHistoryRequest(
                    flow_name=name, execution_name="retried", limit=3, next_token=token)))
            self.assertLessEqual(len(page.body.events), 3, body_of(page))
            events.extend(page.body.events)
            token = page.body.next_token
            if not token:
                break
        self.assertEqual([e.event_id for e in events], list(range(1, len(events) + 1)))
        kinds = [e.type for e in events]
        self.assertEqual(kinds[0], "ExecutionStarted", kinds)
        self.assertEqual(kinds[-1], "ExecutionSucceeded", kinds)
        self.assertEqual(kinds.count("TaskScheduled"), 2, kinds)
        for e in events:
            self.assertRegex(e.time or "", TIME_RE)
            self.assertIsInstance(json.loads(e.event_detail), dict)
        self.assertApiError(
            lambda: self.client.get_execution_history(fnf_models.GetExecutionHistoryRequest(
                flow_name=name, execution_name="nope")),
            "ExecutionNotExists", 404,
        )


class FdlFlowTest(SdkTestCase):
    def test_fdl_flow_runs_and_succeeds(self):
        name = PREFIX + "_fdl"
        created = self.call("CreateFlow FDL", lambda: self.create_flow(name, FDL_DEFINITION, "FDL"))
        self.assertEqual(created.body.name, name, body_of(created))
        self.assertEqual(created.body.type, "FDL", body_of(created))
        self.assertEqual(created.body.definition, FDL_DEFINITION, body_of(created))
        response = self.call("StartExecution FDL", lambda: self.start(name, "fdl_exec"))
        body = response.body
        got = body_of(response)
        self.assertEqual(body.status, "Succeeded", got)
        self.assertEqual(body.name, "fdl_exec", got)
        self.assertEqual(body.flow_definition, FDL_DEFINITION, got)
        self.assertIsInstance(json.loads(body.output or "null"), dict, got)
        self.assertRegex(body.stopped_time or "", TIME_RE, got)


if __name__ == "__main__":
    unittest.main()
