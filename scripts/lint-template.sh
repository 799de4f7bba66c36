#!/usr/bin/env bash
# Lints template.yaml; exits non-zero on any finding (error, warning or informational).
# Needs no AWS credentials and no network beyond PyPI (for the first install of the tools).
#
# Three checks:
#  1. `cfn-lint template.yaml` (cfn-lint from the repo's .venv, tests/requirements.txt).
#     cfn-lint >= 1.5x no longer runs the SAM transform: it checks AWS::Serverless::* resources
#     against SAM schemas, which misses e.g. a wrong Runtime or a !Ref to nothing inside them.
#  2. `sam validate --lint --template template.yaml`: cfn-lint again, as sam bundles it.
#  3. The SAM transform, run offline with samtranslator (what plain `sam validate` does), and
#     cfn-lint over the expanded CloudFormation template: this one sees the real
#     AWS::Lambda::Function, the generated role and its policy (IAM action names are checked).
#
# Why not plain `sam validate`: it builds a boto3 IAM client to resolve managed policy names;
# with credentials it may call IAM, and without them boto3 probes the EC2 instance metadata
# endpoint (169.254.169.254) for some. Check 3 runs the same translator with a managed policy
# loader that refuses to look anything up, so it never needs AWS. `sam validate --lint` creates
# no AWS client.
#
# aws-sam-cli lives in its own venv, .venv-sam, created here: it pins boto3/botocore exactly
# (aws-sam-cli 1.170.0 wants boto3[crt]==1.43.108) and caps cfn-lint, so installing it into
# .venv would downgrade the boto3/botocore that moto runs on and fight with scripts/venv.sh.
# pip runs only when the pinned version is not installed yet (stamp file, like venv.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

SAM_CLI_VERSION=1.170.0
py=${PYTHON:-python3}

# Offline and quiet: no telemetry, no credential probing, a region for rules that want one.
export SAM_CLI_TELEMETRY=0
export AWS_EC2_METADATA_DISABLED=true
export AWS_DEFAULT_REGION=${AWS_DEFAULT_REGION:-us-east-1}
export AWS_REGION=${AWS_REGION:-$AWS_DEFAULT_REGION}

./scripts/venv.sh

if [ ! -x .venv-sam/bin/python ]; then
  "$py" -m venv .venv-sam
fi
stamp=.venv-sam/.sam-cli-version
if [ "$(cat "$stamp" 2>/dev/null)" != "$SAM_CLI_VERSION" ] || [ ! -x .venv-sam/bin/sam ]; then
  .venv-sam/bin/pip install --quiet --disable-pip-version-check "aws-sam-cli==$SAM_CLI_VERSION"
  echo "$SAM_CLI_VERSION" > "$stamp"
fi

expanded=$(mktemp --suffix=.json)
trap 'rm -f "$expanded"' EXIT

status=0
echo "+ cfn-lint template.yaml"
.venv/bin/cfn-lint template.yaml || status=1

echo "+ sam validate --lint --template template.yaml"
.venv-sam/bin/sam validate --lint --template template.yaml || status=1

echo "+ sam transform (offline) + cfn-lint on the expanded template"
if .venv-sam/bin/python - template.yaml > "$expanded" <<'PY'
import json
import sys

from samcli.lib.translate.sam_template_validator import SamTemplateValidator
from samcli.yamlhelper import yaml_parse


class NoManagedPolicyLookups:
    """Managed policies named by name need IAM to resolve: refuse, stay offline."""

    def load(self):
        sys.exit("template.yaml names a managed policy by name; use its ARN (no IAM lookups here)")


with open(sys.argv[1], encoding="utf-8") as f:
    template = yaml_parse(f.read())
validator = SamTemplateValidator(template, NoManagedPolicyLookups(), region="us-east-1")
try:
    expanded = validator.get_translated_template_if_valid()
except Exception as e:  # InvalidSamDocumentException and friends: report, fail
    sys.exit(f"SAM transform failed: {e}")
json.dump(yaml_parse(expanded), sys.stdout, indent=1)
PY
then
  .venv/bin/cfn-lint "$expanded" || status=1
else
  status=1
fi

if [ "$status" -ne 0 ]; then
  echo "template.yaml: lint FAILED" >&2
else
  echo "template.yaml: lint OK"
fi
exit "$status"
