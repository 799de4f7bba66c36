"""Authentication, accounts, permissions and throttling through the official Python SDKs,
against `fnf-lambda serve` with FNF_AUTH=signature (scripts/sdk-test.sh starts it with an
operator key). The new SDK (alibabacloud-fnf20190315) signs with V1 by default and with V3
(ACS3-HMAC-SHA256) when asked; the older one (aliyun-python-sdk-fnf) signs with V1 through
aliyun-python-sdk-core. Accounts and keys are made with our own actions (CreateAccount,
CreateAccessKey), called through the SDK's generic `call_api`."""

import json
import threading
import time
import types
import unittest
import uuid
from unittest import mock

from alibabacloud_fnf20190315 import models as fnf_models
from alibabacloud_tea_openapi import utils_models as open_api_util_models
from alibabacloud_tea_openapi.utils import Utils
from darabonba.runtime import RuntimeOptions

import test_fnf_sdk
from test_fnf_sdk import SdkTestCase, make_client

WAITING = """Type: StateMachine
SpecVersion: v1
Name: {name}
StartAt: hold
States:
  - Type: Wait
    Name: hold
    Seconds: 600
    End: true
"""


def call_api(client, action, params, query=None):
    """Calls one of our actions the way the SDK calls its own (RPC, form body, signed); `query`:
    parameters the caller puts in the query instead."""
    req = open_api_util_models.OpenApiRequest(body=Utils.parse_to_map(params), query=query)
    api = open_api_util_models.Params(
        action=action, version="2019-03-15", protocol="HTTPS", pathname="/", method="POST",
        auth_type="AK", style="RPC", req_body_type="formData", body_type="json")
    return client.call_api(api, req, RuntimeOptions())["body"]


def signing(client, v3):
    """`client`, signing with V3 (ACS3-HMAC-SHA256) when asked, else with V1 (the default)."""
    if v3:
        client._signature_algorithm = "ACS3-HMAC-SHA256"
    return client


class SdkAuthTestCase(SdkTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        tag = uuid.uuid4().hex[:8]
        cls.account_a, cls.account_b = "a-" + tag, "b-" + tag
        cls.account_slow = "slow-" + tag
        admin = cls.client
        for account, extra in [(cls.account_a, {}), (cls.account_b, {}),
                               (cls.account_slow, {"RequestsPerSecond": "5"})]:
            call_api(admin, "CreateAccount", dict(AccountId=account, **extra))
        cls.keys = {}
        for name, account, policy in [
            ("a", cls.account_a, None),
            ("b", cls.account_b, None),
            ("a_reader", cls.account_a, json.dumps({"Version": "1", "Statement": [{
                "Effect": "Allow", "Action": ["fnf:Describe*", "fnf:List*"],
                "Resource": "*"}]})),
            ("slow", cls.account_slow, None),
        ]:
            params = {"AccountId": account}
            if policy:
                params["Policy"] = policy
            created = call_api(admin, "CreateAccessKey", params)
            cls.keys[name] = (created["AccessKeyId"], created["AccessKeySecret"])

    def client_of(self, name, v3=False):
        return signing(make_client(*self.keys[name]), v3)

    def assertRefused(self, fn, code, status):
        """assertApiError for `call_api`, whose success is a plain dict."""
        return self.assertApiError(
            lambda: types.SimpleNamespace(status_code=200, body=None, _map=fn()), code, status)

    def operator(self, v3=False):
        return signing(make_client(), v3)

    def key_of(self, account, policy=None, v3=False):
        """A new key of `account` (with `policy`), and its client."""
        params = {"AccountId": account, **({"Policy": json.dumps(policy)} if policy else {})}
        created = call_api(self.client, "CreateAccessKey", params)
        return created["AccessKeyId"], signing(
            make_client(created["AccessKeyId"], created["AccessKeySecret"]), v3)

    def test_every_admin_action_through_both_signatures(self):
        """The operator's V1 calls naming another key used to answer SignatureNotMatch: the
        action's AccessKeyId (in the form body) was taken for the signer's (in the query)."""
        for v3 in (False, True):
            op, account = self.operator(v3), "adm-%s-%s" % ("v3" if v3 else "v1", uuid.uuid4().hex[:6])
            created = self.call("CreateAccount", lambda: call_api(
                op, "CreateAccount", {"AccountId": account, "Description": "new"}))
            self.assertEqual(created["AccountId"], account)
            d = self.call("DescribeAccount", lambda: call_api(op, "DescribeAccount", {"AccountId": account}))
            self.assertEqual(d["Description"], "new")
            u = self.call("UpdateAccount", lambda: call_api(
                op, "UpdateAccount", {"AccountId": account, "Description": "changed"}))
            self.assertEqual(u["Description"], "changed")
            listed = self.call("ListAccounts", lambda: call_api(op, "ListAccounts", {"Limit": "100"}))
            self.assertTrue(listed["Accounts"])
            key = self.call("CreateAccessKey", lambda: call_api(op, "CreateAccessKey", {"AccountId": account}))
            target = key["AccessKeyId"]
            upd = self.call("UpdateAccessKey", lambda: call_api(
                op, "UpdateAccessKey", {"AccessKeyId": target, "Description": "renamed"}))
            self.assertEqual((upd["AccessKeyId"], upd["Description"]), (target, "renamed"))
            keys = self.call("ListAccessKeys", lambda: call_api(op, "ListAccessKeys", {"AccountId": account}))
            self.assertEqual([(k["AccessKeyId"], k["Description"]) for k in keys["AccessKeys"]],
                             [(target, "renamed")])
            self.call("DeleteAccessKey", lambda: call_api(op, "DeleteAccessKey", {"AccessKeyId": target}))
            keys = call_api(op, "ListAccessKeys", {"AccountId": account})
            self.assertEqual(keys.get("AccessKeys") or [], [])
            # The operator's own key is untouched and still signs.
            self.call("ListAccounts", lambda: call_api(op, "ListAccounts", {}))

    def test_the_older_sdk_updates_and_deletes_another_key(self):
        from aliyunsdkcore.client import AcsClient
        from aliyunsdkcore.request import CommonRequest

        target, _ = self.key_of(self.account_a)
        old = AcsClient(test_fnf_sdk.ACCESS_KEY_ID, test_fnf_sdk.ACCESS_KEY_SECRET, "cn-hangzhou")

        def common(action, **body):
            req = CommonRequest(domain=test_fnf_sdk.ENDPOINT, version="2019-03-15",
                                action_name=action)
            req.set_protocol_type("http")
            req.set_method("POST")
            for k, v in body.items():
                req.add_body_params(k, v)
            return json.loads(old.do_action_with_exception(req))

        updated = common("UpdateAccessKey", AccessKeyId=target, Description="old sdk")
        self.assertEqual((updated["AccessKeyId"], updated["Description"]), (target, "old sdk"))
        common("DeleteAccessKey", AccessKeyId=target)
        listed = common("ListAccessKeys", AccountId=self.account_a)
        self.assertNotIn(target, [k["AccessKeyId"] for k in listed["AccessKeys"]])

    def test_a_v1_access_key_id_in_the_query_is_the_signers_never_the_key_acted_on(self):
        """The SDK writes the signer's AccessKeyId over a query one: the key meant is lost, so
        the call is refused rather than run on the signer's own key."""
        signer_id, signer = self.key_of(self.account_b)
        other, _ = self.key_of(self.account_b)
        for action in ("UpdateAccessKey", "DeleteAccessKey"):
            self.assertRefused(lambda: call_api(signer, action, {"Description": "x"},
                                                query={"AccessKeyId": other}),
                               "MissingRequiredParams", 400)
        keys = call_api(self.client, "ListAccessKeys", {"AccountId": self.account_b})["AccessKeys"]
        mine = [k for k in keys if k["AccessKeyId"] in (signer_id, other)]
        self.assertEqual([k["Description"] for k in mine], ["", ""])
        # V3 signs in a header: the query's AccessKeyId is the action's.
        v3 = signing(make_client(*self.keys["b"]), True)
        updated = call_api(v3, "UpdateAccessKey", {"Description": "via v3"}, query={"AccessKeyId": other})
        self.assertEqual((updated["AccessKeyId"], updated["Description"]), (other, "via v3"))

    def test_the_flow_authorized_is_the_flow_acted_on(self):
        """A key allowed only orders-* sent Name=secret&FlowName=orders-1 and read, changed,
        created and deleted flows outside its policy; a key denying `shared` read it so."""
        owner = self.client_of("a")
        tag = uuid.uuid4().hex[:6]
        secret, orders = "secret_" + tag, "orders-" + tag
        for flow in (secret, orders):
            self.call("CreateFlow", lambda: self.create_flow(
                flow, WAITING.format(name=flow), client=owner, description="kept"))
        allow = {"Effect": "Allow", "Action": "fnf:*", "Resource": "flow/orders-*"}
        deny = {"Effect": "Deny", "Action": "fnf:*", "Resource": "flow/" + secret}
        everything = {"Effect": "Allow", "Action": "fnf:*", "Resource": "*"}
        for v3 in (False, True):
            for statements in ([allow], [everything, deny]):
                _, key = self.key_of(self.account_a, {"Version": "1", "Statement": statements}, v3)
                for action, extra in [
                        ("DescribeFlow", {}), ("UpdateFlow", {"Description": "changed"}),
                        ("DeleteFlow", {}),
                        ("CreateFlow", {"Definition": WAITING.format(name="x"), "Type": "DEFAULT"})]:
                    name = secret + "_new" if action == "CreateFlow" else secret
                    params = {"Name": name, "FlowName": orders, **extra}
                    self.assertRefused(lambda: call_api(key, action, params), "InvalidArgument", 400)
                # Named by its own parameter, the flow is what the policy judges.
                self.assertApiError(lambda: key.describe_flow(
                    fnf_models.DescribeFlowRequest(name=secret)), "AccessDenied", 403)
                self.assertRefused(lambda: call_api(
                    key, "StartExecution", {"FlowName": secret}), "AccessDenied", 403)
        d = owner.describe_flow(fnf_models.DescribeFlowRequest(name=secret))
        self.assertEqual(d.body.description, "kept")
        self.assertApiError(lambda: owner.describe_flow(
            fnf_models.DescribeFlowRequest(name=secret + "_new")), "FlowNotExists", 404)

    def test_signed_calls_succeed_v1_and_v3(self):
        for v3 in (False, True):
            c = self.client_of("a", v3=v3)
            flow = "auth_" + uuid.uuid4().hex[:8]
            self.call("CreateFlow", lambda: self.create_flow(
                flow, WAITING.format(name=flow), client=c, description="d"))
            started = self.call("StartExecution", lambda: c.start_execution(
                fnf_models.StartExecutionRequest(flow_name=flow, execution_name="e")))
            self.assertEqual(started.body.status, "Running")
            d = self.call("DescribeExecution", lambda: c.describe_execution(
                fnf_models.DescribeExecutionRequest(flow_name=flow, execution_name="e")))
            self.assertEqual(d.body.flow_name, flow)
            listed = self.call("ListExecutions", lambda: c.list_executions(
                fnf_models.ListExecutionsRequest(flow_name=flow)))
            self.assertEqual([e.name for e in listed.body.executions], ["e"])
            h = self.call("GetExecutionHistory", lambda: c.get_execution_history(
                fnf_models.GetExecutionHistoryRequest(flow_name=flow, execution_name="e")))
            self.assertTrue(h.body.events)
            stopped = self.call("StopExecution", lambda: c.stop_execution(
                fnf_models.StopExecutionRequest(flow_name=flow, execution_name="e")))
            self.assertEqual(stopped.body.status, "Stopped")

    def test_wrong_secret_unknown_key_and_skewed_clock_are_refused(self):
        key_id, _ = self.keys["a"]
        wrong = make_client(key_id, "not-the-secret")
        self.assertApiError(lambda: wrong.list_flows(fnf_models.ListFlowsRequest()),
                            "SignatureNotMatch", 403)
        unknown = make_client("FNFNOSUCHKEY000000000", "whatever-secret")
        self.assertApiError(lambda: unknown.list_flows(fnf_models.ListFlowsRequest()),
                            "InvalidAccessKeyID", 403)
        skewed = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 20 * 60))
        with mock.patch.object(Utils, "get_timestamp", return_value=skewed):
            self.assertApiError(
                lambda: self.client_of("a").list_flows(fnf_models.ListFlowsRequest()),
                "RequestTimeTooSkewed", 403)

    def test_a_key_without_the_permission_is_denied(self):
        owner, reader = self.client_of("a"), self.client_of("a_reader")
        flow = "perm_" + uuid.uuid4().hex[:8]
        self.call("CreateFlow", lambda: self.create_flow(
            flow, WAITING.format(name=flow), client=owner, description="d"))
        self.call("DescribeFlow", lambda: reader.describe_flow(
            fnf_models.DescribeFlowRequest(name=flow)))
        self.assertApiError(lambda: reader.start_execution(
            fnf_models.StartExecutionRequest(flow_name=flow)), "AccessDenied", 403)
        self.assertApiError(lambda: reader.delete_flow(
            fnf_models.DeleteFlowRequest(name=flow)), "AccessDenied", 403)

    def test_accounts_cannot_see_each_other(self):
        a, b = self.client_of("a"), self.client_of("b")
        flow = "mine_" + uuid.uuid4().hex[:8]
        self.call("CreateFlow", lambda: self.create_flow(
            flow, WAITING.format(name=flow), client=a, description="d"))
        self.call("StartExecution", lambda: a.start_execution(
            fnf_models.StartExecutionRequest(flow_name=flow, execution_name="e")))
        self.assertApiError(lambda: b.describe_flow(fnf_models.DescribeFlowRequest(name=flow)),
                            "FlowNotExists", 404)
        self.assertApiError(lambda: b.start_execution(
            fnf_models.StartExecutionRequest(flow_name=flow)), "FlowNotExists", 404)
        self.assertApiError(lambda: b.describe_execution(fnf_models.DescribeExecutionRequest(
            flow_name=flow, execution_name="e")), "ExecutionNotExists", 404)
        self.assertApiError(lambda: b.stop_execution(fnf_models.StopExecutionRequest(
            flow_name=flow, execution_name="e")), "ExecutionNotExists", 404)
        listed = self.call("ListFlows", lambda: b.list_flows(fnf_models.ListFlowsRequest()))
        self.assertNotIn(flow, [f.name for f in (listed.body.flows or [])])
        # b may use the same name for a flow of its own.
        self.call("CreateFlow", lambda: self.create_flow(
            flow, WAITING.format(name=flow), client=b, description="b's"))
        d = self.call("DescribeFlow", lambda: a.describe_flow(
            fnf_models.DescribeFlowRequest(name=flow)))
        self.assertEqual(d.body.description, "d")
        # Only the operator manages accounts.
        self.assertApiError(lambda: call_api(b, "CreateAccount", {"AccountId": "x-" + flow[5:]}),
                            "AccessDenied", 403)

    def test_throttling_answers_429_and_spares_others(self):
        slow, other = self.client_of("slow"), self.client_of("b")
        codes, other_failures = [], []

        def hammer():
            for _ in range(10):
                try:
                    slow.list_flows(fnf_models.ListFlowsRequest())
                    codes.append(200)
                except Exception as exc:  # the SDK raises the fnf error
                    codes.append((getattr(exc, "status_code", None), getattr(exc, "code", None)))

        threads = [threading.Thread(target=hammer) for _ in range(4)]
        began = time.monotonic()
        for t in threads:
            t.start()
        for _ in range(10):  # an account within its limits, meanwhile
            try:
                other.list_flows(fnf_models.ListFlowsRequest())
            except Exception as exc:
                other_failures.append(getattr(exc, "code", exc))
        for t in threads:
            t.join(timeout=60)
        elapsed = time.monotonic() - began
        throttled = [c for c in codes if c == (429, "ResourceThrottled")]
        served = [c for c in codes if c == 200]
        self.assertEqual(len(codes), 40)
        self.assertEqual(len(throttled) + len(served), 40, codes)
        self.assertGreaterEqual(len(throttled), 20, "5 requests/s allowed, 40 sent at once")
        self.assertGreaterEqual(len(served), 5)
        # At the configured rate: a burst of 5, then 5 per second (one spare for rounding).
        self.assertLessEqual(len(served), 5 + 5 * elapsed + 1, (len(served), elapsed))
        self.assertEqual(other_failures, [])


class OlderSdkTestCase(unittest.TestCase):
    """aliyun-python-sdk-fnf signs with V1 through aliyun-python-sdk-core."""

    def test_old_sdk_signs_and_is_verified(self):
        from aliyunsdkcore.client import AcsClient
        from aliyunsdkcore.acs_exception.exceptions import ServerException
        from aliyunsdkfnf.request.v20190315.ListFlowsRequest import ListFlowsRequest

        if not test_fnf_sdk.ENDPOINT:
            self.skipTest("no server")

        def list_flows(secret):
            client = AcsClient(test_fnf_sdk.ACCESS_KEY_ID, secret, "cn-hangzhou")
            req = ListFlowsRequest()
            req.set_endpoint(test_fnf_sdk.ENDPOINT)
            req.set_protocol_type("http")
            return json.loads(client.do_action_with_exception(req))

        self.assertIn("Flows", list_flows(test_fnf_sdk.ACCESS_KEY_SECRET))
        with self.assertRaises(ServerException) as refused:
            list_flows("not-the-secret")
        self.assertEqual(refused.exception.get_error_code(), "SignatureNotMatch")


if __name__ == "__main__":
    unittest.main()
