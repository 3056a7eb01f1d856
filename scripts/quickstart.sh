#!/usr/bin/env bash
# Installs lamp (the light runtime: mlflow-skinny + SQLite) and runs the whole workflow on the
# embedded default store, in ./quickstart/ so that the repository itself stays clean.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e .
export PATH="$ROOT/.venv/bin:$PATH"

rm -rf quickstart && mkdir quickstart && cd quickstart
set -x
lamp experiment create fraud-detector --exist-ok
RUN_ID=$(lamp -o quiet run log-spec --experiment fraud-detector \
    --model-spec "$ROOT/specs/examples/serving-model-spec.yaml" \
    --endpoint-spec "$ROOT/specs/examples/serving-endpoint-spec.yaml")
lamp run show "$RUN_ID"
lamp project create fraud-detector-prj --exist-ok
lamp register "$RUN_ID" fraud-detector-prj --alias staging
lamp version list fraud-detector-prj
lamp version spec fraud-detector-prj @staging --kind endpoint
set +x
echo
echo "Done. The store is quickstart/mlflow.db; to browse it: pip install mlflow, then cd quickstart && mlflow ui"
