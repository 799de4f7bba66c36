"""Versions, aliases and StartExecution's Qualifier through the official Python SDK: checks the
wire format (RoutingConfigurations sent as JSON text by the "shrink" request models; Describe
and List actions as GET with the query) and that the SDK reads every answer into its models.
Run by scripts/sdk-test.sh with test_fnf_sdk.py."""

import json
import unittest
import uuid

from alibabacloud_fnf20190315 import models as fnf_models

from test_fnf_sdk import SdkTestCase

DEFINITION = """Type: StateMachine
SpecVersion: v1
Name: {name}
StartAt: s
States:
  - Type: Pass
    Name: s
    OutputConstructor:
      v: {v}
    End: true
"""


class SdkVersionsTestCase(SdkTestCase):
    """The shared client and `call` helper come from SdkTestCase (skipped without a server)."""

    def flow_with_two_versions(self):
        name = "sdkver_" + uuid.uuid4().hex[:8]
        c = self.client
        self.call("CreateFlow", lambda: c.create_flow(fnf_models.CreateFlowRequest(
            name=name, definition=DEFINITION.format(name=name, v=1), type="DEFAULT",
            description="d")))
        v1 = self.call("PublishFlowVersion", lambda: c.publish_flow_version(
            fnf_models.PublishFlowVersionRequest(flow_name=name, description="first")))
        self.assertEqual((v1.body.version, v1.body.flow_name, v1.body.description),
                         ("1", name, "first"))
        self.assertTrue(v1.body.created_time)
        self.call("UpdateFlow", lambda: c.update_flow(fnf_models.UpdateFlowRequest(
            name=name, definition=DEFINITION.format(name=name, v=2))))
        self.call("PublishFlowVersion", lambda: c.publish_flow_version(
            fnf_models.PublishFlowVersionRequest(flow_name=name)))
        self.call("UpdateFlow", lambda: c.update_flow(fnf_models.UpdateFlowRequest(
            name=name, definition=DEFINITION.format(name=name, v=3))))
        return name

    def run_version(self, flow, qualifier):
        r = self.call("StartExecution", lambda: self.client.start_execution(
            fnf_models.StartExecutionRequest(flow_name=flow, qualifier=qualifier)))
        self.assertEqual(r.body.status, "Succeeded")
        return json.loads(r.body.output)["v"]

    def test_versions_list_and_qualifier(self):
        flow = self.flow_with_two_versions()
        listed = self.call("ListFlowVersions", lambda: self.client.list_flow_versions(
            fnf_models.ListFlowVersionsRequest(flow_name=flow, limit=1)))
        self.assertEqual([v.version for v in listed.body.flow_versions], ["1"])
        self.assertTrue(listed.body.next_token)
        rest = self.call("ListFlowVersions", lambda: self.client.list_flow_versions(
            fnf_models.ListFlowVersionsRequest(flow_name=flow, limit=1,
                                               next_token=listed.body.next_token)))
        self.assertEqual([v.version for v in rest.body.flow_versions], ["2"])
        self.assertEqual(self.run_version(flow, "1"), 1)
        self.assertEqual(self.run_version(flow, None), 3)
        with self.assertRaises(Exception) as caught:
            self.client.start_execution(
                fnf_models.StartExecutionRequest(flow_name=flow, qualifier="9"))
        self.assertEqual(getattr(caught.exception, "code", None), "FlowVersionNotExists")

    def test_alias_lifecycle(self):
        flow = self.flow_with_two_versions()
        c = self.client
        route = fnf_models.CreateFlowAliasRequestRoutingConfigurations
        created = self.call("CreateFlowAlias", lambda: c.create_flow_alias(
            fnf_models.CreateFlowAliasRequest(
                flow_name=flow, name="prod", description="p",
                routing_configurations=[route(version="1", weight=100)])))
        self.assertEqual(created.body.name, "prod")
        self.assertEqual([(r.version, r.weight) for r in created.body.routing_configurations],
                         [("1", 100)])
        self.assertEqual(self.run_version(flow, "prod"), 1)
        uroute = fnf_models.UpdateFlowAliasRequestRoutingConfigurations
        updated = self.call("UpdateFlowAlias", lambda: c.update_flow_alias(
            fnf_models.UpdateFlowAliasRequest(
                flow_name=flow, name="prod",
                routing_configurations=[uroute(version="1", weight=50),
                                        uroute(version="2", weight=50)])))
        self.assertEqual(len(updated.body.alias.routing_configurations), 2)
        described = self.call("DescribeFlowAlias", lambda: c.describe_flow_alias(
            fnf_models.DescribeFlowAliasRequest(flow_name=flow, name="prod")))
        self.assertEqual(described.body.alias.description, "p")
        self.assertEqual(sorted(r.weight for r in described.body.alias.routing_configurations),
                         [50, 50])
        listed = self.call("ListFlowAliases", lambda: c.list_flow_aliases(
            fnf_models.ListFlowAliasesRequest(flow_name=flow)))
        self.assertEqual([a.name for a in listed.body.aliases], ["prod"])
        with self.assertRaises(Exception) as caught:
            c.delete_flow_version(fnf_models.DeleteFlowVersionRequest(
                flow_name=flow, flow_version="2"))
        self.assertEqual(getattr(caught.exception, "code", None), "FlowVersionInUse")
        self.call("DeleteFlowAlias", lambda: c.delete_flow_alias(
            fnf_models.DeleteFlowAliasRequest(flow_name=flow, name="prod")))
        self.call("DeleteFlowVersion", lambda: c.delete_flow_version(
            fnf_models.DeleteFlowVersionRequest(flow_name=flow, flow_version="2")))
        with self.assertRaises(Exception) as caught:
            c.describe_flow_alias(fnf_models.DescribeFlowAliasRequest(flow_name=flow, name="prod"))
        self.assertEqual(getattr(caught.exception, "code", None), "FlowAliasNotExists")


if __name__ == "__main__":
    unittest.main()
