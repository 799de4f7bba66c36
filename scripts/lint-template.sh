#!/usr/bin/env bash
# Lints template.yaml with cfn-lint and `sam validate --lint`; exits non-zero on any finding
# (error, warning or informational). Needs no AWS credentials and no network beyond PyPI.
#
# - cfn-lint comes from the repo's .venv (tests/requirements.txt, installed by scripts/venv.sh).
# - aws-sam-cli lives in its own venv, .venv-sam, created here: it pins boto3/botocore exactly
#   (aws-sam-cli 1.170.0 wants boto3[crt]==1.43.108) and caps cfn-lint, so installing it into
#   .venv would downgrade the boto3/botocore that moto runs on and fight with venv.sh.
#   pip runs only when the pinned version is not yet installed (stamp file, like venv.sh).
# - Only `sam validate --lint` is run: it is cfn-lint inside sam, fully offline. Plain
#   `sam validate` (without --lint) builds an IAM client to resolve managed policies: with
#   credentials it may call IAM, without them boto3 still probes the EC2 instance metadata
#   endpoint for some. The --lint path creates no AWS client at all. The SAM transform itself is
#   still exercised: cfn-lint expands the template with samtranslator before checking it.
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

status=0
echo "+ cfn-lint template.yaml"
.venv/bin/cfn-lint template.yaml || status=1
echo "+ sam validate --lint --template template.yaml"
.venv-sam/bin/sam validate --lint --template template.yaml || status=1

if [ "$status" -ne 0 ]; then
  echo "template.yaml: lint FAILED" >&2
else
  echo "template.yaml: lint OK"
fi
exit "$status"
