#!/usr/bin/env bash
# Sets up a virtual environment with lamp and its test extra, then lints, type-checks (mypy
# --strict on lamp_cli/) and runs the tests on the newest MLflow of lamp's supported range.
# The same tests then run on the lowest MLflow of the range, in .venv-lowest, side by side with
# the first run (LAMP_TEST_LOWEST=0 leaves that out).
# Usage: scripts/test.sh [pytest args...]
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
PIP_INSTALL=(-m pip install --quiet --disable-pip-version-check)
LOWEST_TESTS=${LAMP_TEST_LOWEST:-1}

# Waits for the background install into .venv-lowest; its log and exit 1 when it failed.
await_lowest_install() {
    if ! wait "$LOWEST_INSTALL_PID"; then
        cat "$LOWEST_INSTALL_LOG"
        exit 1
    fi
}

if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
if [ "$LOWEST_TESTS" != 0 ]; then
    # The lowest version of the range pyproject.toml declares for mlflow-skinny. Its MLflow
    # (most of the download) installs in the background while .venv is set up.
    LOWEST=$("$PYTHON" scripts/mlflow_range.py --lowest)
    if [ ! -x .venv-lowest/bin/python ]; then
        "$PYTHON" -m venv .venv-lowest
    fi
    LOWEST_INSTALL_LOG=$(mktemp)
    .venv-lowest/bin/python "${PIP_INSTALL[@]}" "mlflow==$LOWEST" "mlflow-skinny==$LOWEST" \
        >"$LOWEST_INSTALL_LOG" 2>&1 &
    LOWEST_INSTALL_PID=$!
fi
.venv/bin/python "${PIP_INSTALL[@]}" -e '.[test]'
# The server of the same version as mlflow-skinny; its dependencies are in the test extra.
.venv/bin/python "${PIP_INSTALL[@]}" --no-deps "mlflow==$(.venv/bin/python scripts/mlflow_range.py --installed)"
if [ "$LOWEST_TESTS" != 0 ]; then
    await_lowest_install
    # lamp itself and the rest of the test extra, once .venv has its own (one build of lamp at
    # a time in this directory; the packages now come from pip's cache), while the checks run.
    .venv-lowest/bin/python "${PIP_INSTALL[@]}" -e '.[test]' \
        "mlflow==$LOWEST" "mlflow-skinny==$LOWEST" >"$LOWEST_INSTALL_LOG" 2>&1 &
    LOWEST_INSTALL_PID=$!
fi

# The real helm for the tests of rendered manifests, into the git-ignored .tools/bin (see
# scripts/get_helm.py). Where it cannot run, it says why, and those tests skip with the reason.
"$PYTHON" scripts/get_helm.py >/dev/null

.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/python -m mypy

if [ "$LOWEST_TESTS" != 0 ]; then
    await_lowest_install
    rm -f "$LOWEST_INSTALL_LOG"
fi

if [ "$LOWEST_TESTS" = 0 ]; then
    exec .venv/bin/python -m pytest "$@"
fi

# Two CPUs are mostly idle while one suite waits on servers and subprocesses: the two runs go
# side by side, the lowest one's report printed after the newest one's.
LOWEST_LOG=$(mktemp)
LOWEST_TMP=$(mktemp -d)
.venv-lowest/bin/python -m pytest --basetemp="$LOWEST_TMP/pytest" "$@" >"$LOWEST_LOG" 2>&1 &
LOWEST_PID=$!
status=0
echo "== tests on mlflow $(.venv/bin/python scripts/mlflow_range.py --installed)"
.venv/bin/python -m pytest "$@" || status=$?
lowest_status=0
wait "$LOWEST_PID" || lowest_status=$?
echo "== tests on mlflow $LOWEST (the lowest supported)"
cat "$LOWEST_LOG"
rm -rf "$LOWEST_LOG" "$LOWEST_TMP"
if [ "$status" != 0 ]; then
    exit "$status"
fi
exit "$lowest_status"
