#!/usr/bin/env bash
# Installs lamp (the light runtime: mlflow-skinny + SQLite; uv when it can, see scripts/env.sh)
# and runs the whole workflow on the embedded default store, from a subdirectory of a throwaway
# app in ./quickstart/, so that the repository itself stays clean.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

# shellcheck source=scripts/env.sh
source scripts/env.sh
make_venv .venv
install .venv -e . -c "$LOCK"
export PATH="$ROOT/.venv/bin:$PATH"

# The app: [tool.lamp] in its pyproject.toml, the example specs in its specs/ folder.
rm -rf quickstart && mkdir -p quickstart/app/specs quickstart/app/src
cp specs/examples/serving-model-spec.yaml specs/examples/serving-endpoint-spec.yaml quickstart/app/specs/
cat > quickstart/app/pyproject.toml <<'TOML'
[project]
name = "fraud-detector"
version = "1.4.0"

[tool.lamp]
experiment = "fraud-detector"
project = "fraud-detector-prj"
TOML
cd quickstart/app/src

set -x
lamp experiment create fraud-detector --exist-ok
lamp project create --exist-ok
RUN_ID=$(lamp -o quiet run log-spec)
lamp run show "$RUN_ID"
lamp register "$RUN_ID" --alias staging
lamp version list
lamp version spec @staging --kind endpoint
RUN_ID=$(lamp -o quiet run log-spec --set model.spec.image.tag=1.5.0)
lamp register "$RUN_ID"
lamp run list
lamp version diff @staging 2
lamp version alias set staging 2 --expect-current 1
lamp version list
set +x
echo
echo "Done. The store is quickstart/app/mlflow.db; to browse it: pip install mlflow, then"
echo "cd quickstart/app && mlflow ui"
