"""Callback tasks through the official Python SDK: a flow's HTTP task in WaitForCustomCallback
mode sends its task token to a small HTTP server this test runs on 127.0.0.1; the SDK, as
another client, completes the task with ReportTaskSucceeded (or fails it with
ReportTaskFailed), and the execution goes on. Run by scripts/sdk-test.sh with test_fnf_sdk.py."""

import json
import queue
import threading
import unittest
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from alibabacloud_fnf20190315 import models as fnf_models

from test_fnf_sdk import SdkTestCase

DEFINITION = """Type: StateMachine
SpecVersion: v1
Name: {name}
StartAt: ask
States:
  - Type: Task
    Name: ask
    Action: HTTP:Request
    TaskMode: WaitForCustomCallback
    Timeout: 60
    Parameters:
      url: {url}
      method: POST
      body:
        token.$: $Context.Current.TaskToken
    Catch:
      - Errors: [Rejected]
        Next: refused
        OutputConstructor:
          rejected.$: $Context.Current.Error.Detail
    End: true
  - Type: Pass
    Name: refused
    End: true
"""


class TokenSink(BaseHTTPRequestHandler):
    """Answers 200 and keeps the token of every POST."""

    tokens = queue.Queue()

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("content-length", "0")))
        self.tokens.put((json.loads(body)["token"], self.headers.get("x-fnf-task-token")))
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.end_headers()
        self.wfile.write(b'{"accepted": true}')

    def log_message(self, *args):
        pass


class SdkCallbacksTestCase(SdkTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.sink = ThreadingHTTPServer(("127.0.0.1", 0), TokenSink)
        threading.Thread(target=cls.sink.serve_forever, daemon=True).start()
        cls.url = "http://127.0.0.1:%d/approve" % cls.sink.server_address[1]

    @classmethod
    def tearDownClass(cls):
        cls.sink.shutdown()

    def start_waiting(self):
        name = "sdkcb_" + uuid.uuid4().hex[:8]
        self.create_flow(name, DEFINITION.format(name=name, url=self.url))
        started = self.call("StartExecution", lambda: self.client.start_execution(
            fnf_models.StartExecutionRequest(flow_name=name, execution_name="e")))
        self.assertEqual(started.body.status, "Running")
        token, header = TokenSink.tokens.get(timeout=30)
        self.assertEqual(token, header)
        return name, token

    def wait_for_end(self, flow):
        for _ in range(10):  # bounded: each call long-polls up to 5 s
            d = self.call("DescribeExecution", lambda: self.client.describe_execution(
                fnf_models.DescribeExecutionRequest(
                    flow_name=flow, execution_name="e", wait_time_seconds=5)))
            if d.body.status != "Running":
                return d.body
        self.fail("the execution did not end")

    def test_report_task_succeeded_resumes_the_execution(self):
        flow, token = self.start_waiting()
        r = self.call("ReportTaskSucceeded", lambda: self.client.report_task_succeeded(
            fnf_models.ReportTaskSucceededRequest(
                task_token=token, output='{"approved": true}')))
        self.assertTrue(r.body.request_id)
        ended = self.wait_for_end(flow)
        self.assertEqual((ended.status, json.loads(ended.output)),
                         ("Succeeded", {"approved": True}))
        self.assertApiError(lambda: self.client.report_task_succeeded(
            fnf_models.ReportTaskSucceededRequest(task_token=token, output="{}")),
            "TaskAlreadyCompleted", 400)

    def test_report_task_failed_is_caught(self):
        flow, token = self.start_waiting()
        self.call("ReportTaskFailed", lambda: self.client.report_task_failed(
            fnf_models.ReportTaskFailedRequest(
                task_token=token, error="Rejected", cause="too expensive")))
        ended = self.wait_for_end(flow)
        self.assertEqual((ended.status, json.loads(ended.output)),
                         ("Succeeded", {"rejected": "too expensive"}))

    def test_unknown_and_malformed_tokens_are_invalid(self):
        for token in ["fnf1-" + "0" * 48, "not a token"]:
            self.assertApiError(lambda: self.client.report_task_succeeded(
                fnf_models.ReportTaskSucceededRequest(task_token=token, output="{}")),
                "InvalidTaskToken", 400)
            self.assertApiError(lambda: self.client.report_task_failed(
                fnf_models.ReportTaskFailedRequest(task_token=token, error="E")),
                "InvalidTaskToken", 400)


if __name__ == "__main__":
    unittest.main()
