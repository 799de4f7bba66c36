"""Issue 12 as a client meets it, through the official SDK against `fnf-lambda serve`
(scripts/sdk-test.sh): a flow that nests its data ever deeper fails its execution and the
server goes on answering; a definition of 131,000 `[` is refused at once; a regular expression
built to backtrack fails its step at the step budget; a key that may run only `orders-*` cannot
start another flow through a nested-flow task, inline or after the execution parked."""

import json
import time
import unittest
import uuid

from alibabacloud_fnf20190315 import models as fnf_models

from test_fnf_sdk import SdkTestCase, make_client
from test_fnf_sdk_auth import call_api

WRAPPING = """Type: StateMachine
SpecVersion: v1
Name: wrap
StartAt: init
States:
  - Type: Pass
    Name: init
    OutputConstructor:
      i: 0
      x: 1
    Next: check
  - Type: Choice
    Name: check
    Branches:
      - Condition: $Input.i < 400
        Next: wrap
    Default: done
  - Type: Pass
    Name: wrap
    OutputConstructor:
      i.$: intAdd($Input.i, 1)
      x.$: "%s$Input.x%s"
    Next: check
  - Type: Pass
    Name: done
    End: true
""" % ("[" * 30, "]" * 30)

# The regex bomb: a 300-range class, optional, `{60}` inside `{60}`, on 60 KB of text.
CLASS = "".join("%s-%s" % (chr(0x100 + 2 * k), chr(0x100 + 2 * k)) for k in range(300))
REGEX_BOMB = """Type: StateMachine
SpecVersion: v1
Name: regex
StartAt: match
States:
  - Type: Pass
    Name: match
    OutputConstructor:
      matched.$: regexMatchString($Input.text, $Input.pattern)
    End: true
"""

SECRET = """Type: StateMachine
SpecVersion: v1
Name: secret
StartAt: done
States:
  - Type: Pass
    Name: done
    End: true
"""

# Waits {wait} s (6: longer than the 5 s response budget, so it parks), then starts {child}.
PARENT = """Type: StateMachine
SpecVersion: v1
Name: parent
StartAt: pause
States:
  - Type: Wait
    Name: pause
    Seconds: {wait}
    Next: start child
  - Type: Task
    Name: start child
    Action: FNF:StartExecution
    Parameters:
      FlowName: {child}
      ExecutionName: from-parent
    End: true
"""


def describe_raw(client, flow, name):
    return call_api(client, "DescribeExecution", {"FlowName": flow, "ExecutionName": name})


class SafetyTestCase(SdkTestCase):
    def test_data_nested_12000_levels_fails_the_execution_not_the_server(self):
        flow = "wrap_" + uuid.uuid4().hex[:8]
        self.call("CreateFlow", lambda: self.create_flow(flow, WRAPPING))
        started = self.call("StartExecution", lambda: self.start(flow, "deep"))
        self.assertEqual(started.body.status, "Failed")
        # The SDK's model has no error fields: the generic call shows the whole answer.
        d = describe_raw(self.client, flow, "deep")
        self.assertEqual(d["ErrorCode"], "FnF.RuntimeError", d)
        self.assertIn("more than 64 levels", d["ErrorMessage"])
        listed = self.call("ListFlows", lambda: self.client.list_flows(
            fnf_models.ListFlowsRequest(limit=1000)))
        self.assertIn(flow, [f.name for f in listed.body.flows])

    def test_a_definition_of_131000_brackets_is_refused_at_once(self):
        bomb = "Type: StateMachine\nx: " + "[" * 131000 + "\n"
        err = self.assertApiError(lambda: self.create_flow("bomb_" + uuid.uuid4().hex[:8], bomb),
                                  "InvalidArgument", 400)
        self.assertIn("nested more than 128 deep", err.data["Message"])

    def test_a_backtracking_regex_fails_at_its_step_budget(self):
        flow = "regex_" + uuid.uuid4().hex[:8]
        self.call("CreateFlow", lambda: self.create_flow(flow, REGEX_BOMB))
        text = json.dumps({"text": "a" * 60000, "pattern": "(?:(?:[%s]?){60}){60}b" % CLASS})
        started = self.call("StartExecution", lambda: self.start(flow, "bomb", input=text))
        self.assertEqual(started.body.status, "Failed")
        d = describe_raw(self.client, flow, "bomb")
        self.assertEqual(d["ErrorCode"], "FnF.RuntimeError", d)
        self.assertIn("steps", d["ErrorMessage"])

    def test_a_nested_flow_task_starts_only_what_its_starter_may_start(self):
        tag = uuid.uuid4().hex[:8]
        account = "orders-" + tag
        call_api(self.client, "CreateAccount", {"AccountId": account})
        policy = json.dumps({"Version": "1", "Statement": [{
            "Effect": "Allow", "Action": ["fnf:*"], "Resource": ["flow/orders-*"]}]})
        owner = call_api(self.client, "CreateAccessKey", {"AccountId": account})
        limited = call_api(self.client, "CreateAccessKey",
                           {"AccountId": account, "Policy": policy})
        owner = make_client(owner["AccessKeyId"], owner["AccessKeySecret"])
        limited = make_client(limited["AccessKeyId"], limited["AccessKeySecret"])
        self.call("CreateFlow", lambda: self.create_flow("secret", SECRET, client=owner))
        for wait in (0, 6):
            flow = "orders-%d" % wait
            self.call("CreateFlow", lambda: self.create_flow(
                flow, PARENT.format(wait=wait, child="secret"), client=owner))
            self.call("StartExecution", lambda: limited.start_execution(
                fnf_models.StartExecutionRequest(flow_name=flow, execution_name="p")))
            deadline = time.monotonic() + 30
            while True:
                d = self.call("DescribeExecution", lambda: limited.describe_execution(
                    fnf_models.DescribeExecutionRequest(
                        flow_name=flow, execution_name="p", wait_time_seconds=5)))
                if d.body.status != "Running" or time.monotonic() > deadline:
                    break
            self.assertEqual(d.body.status, "Failed", "wait %d" % wait)
            d = describe_raw(limited, flow, "p")
            self.assertEqual(d["ErrorCode"], "FnF.StartExecutionFailed", d)
            self.assertIn("AccessDenied", d["ErrorMessage"])
            self.assertApiError(lambda: owner.describe_execution(
                fnf_models.DescribeExecutionRequest(
                    flow_name="secret", execution_name="from-parent")),
                "ExecutionNotExists", 404)


if __name__ == "__main__":
    unittest.main()
