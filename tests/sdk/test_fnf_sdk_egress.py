"""HTTP tasks may not reach the service's own network, through the official Python SDK: a flow
whose HTTP task addresses a loopback server fails with HTTP.EgressDenied, and the server gets no
request. scripts/sdk-test.sh serves with authentication on (the rule's default: loopback denied)
and FNF_HTTP_ALLOW_NETWORKS=127.0.0.1/32 for the callback tests' sink; this test's server
listens on 127.0.0.2, a loopback address that list leaves denied (Linux routes all of
127.0.0.0/8 to loopback; elsewhere the test is skipped)."""

import json
import threading
import unittest
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from alibabacloud_fnf20190315 import models as fnf_models

from test_fnf_sdk import SdkTestCase

DEFINITION = """Type: StateMachine
SpecVersion: v1
Name: {name}
StartAt: call
States:
  - Type: Task
    Name: call
    Action: HTTP:Request
    Parameters:
      url.$: $Input.url
    Catch:
      - Errors: [HTTP.EgressDenied]
        Next: denied
        OutputConstructor:
          error.$: $Context.Current.Error.Code
          cause.$: $Context.Current.Error.Detail
    End: true
  - Type: Pass
    Name: denied
    End: true
"""


class Recorder(BaseHTTPRequestHandler):
    """Answers 200 and counts every request."""

    requests = []

    def do_GET(self):
        self.requests.append(self.path)
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


class SdkEgressTestCase(SdkTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        try:
            cls.server = ThreadingHTTPServer(("127.0.0.2", 0), Recorder)
        except OSError as exc:
            raise unittest.SkipTest("cannot listen on 127.0.0.2: %s" % exc)
        threading.Thread(target=cls.server.serve_forever, daemon=True).start()
        cls.port = cls.server.server_address[1]

    @classmethod
    def tearDownClass(cls):
        cls.server.shutdown()

    def test_http_tasks_to_loopback_are_denied(self):
        name = "sdkeg_" + uuid.uuid4().hex[:8]
        self.create_flow(name, DEFINITION.format(name=name))
        for i, (url, addr) in enumerate([
            ("http://127.0.0.2:%d/x" % self.port, "127.0.0.2"),
            ("http://[::ffff:127.0.0.2]:%d/x" % self.port, "::ffff:127.0.0.2"),
        ]):
            started = self.call("StartExecution", lambda: self.client.start_execution(
                fnf_models.StartExecutionRequest(
                    flow_name=name, execution_name="e%d" % i,
                    input=json.dumps({"url": url}))))
            self.assertEqual(started.body.status, "Succeeded", url)
            output = json.loads(started.body.output)
            self.assertEqual(output.get("error"), "HTTP.EgressDenied", output)
            self.assertIn(addr + " is a loopback address", output["cause"])
            self.assertIn("FNF_HTTP_ALLOW_NETWORKS", output["cause"])
        self.assertEqual(Recorder.requests, [], "a denied task reached the server")


if __name__ == "__main__":
    unittest.main()
