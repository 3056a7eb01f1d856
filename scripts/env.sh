# shellcheck shell=bash disable=SC2034
# Sourced by scripts/quickstart.sh and scripts/test.sh: how they make virtual environments and
# install into them.
#
# uv when it is on PATH or can be installed once into .tools/uv (it ignores pip's configuration
# files: give it an index through UV_DEFAULT_INDEX), else pip. The versions are those of
# requirements/test.txt (uv pip compile of the test extra), so every run installs the same.

PYTHON=${PYTHON:-python3}
LOCK=requirements/test.txt

UV=""
if command -v uv >/dev/null 2>&1; then
    UV=$(command -v uv)
elif [ -x .tools/uv/bin/uv ]; then
    UV=.tools/uv/bin/uv
elif "$PYTHON" -m venv .tools/uv >/dev/null 2>&1 &&
    .tools/uv/bin/python -m pip install --quiet --disable-pip-version-check "uv>=0.13,<0.14" \
        >/dev/null 2>&1; then
    UV=.tools/uv/bin/uv
fi

# make_venv DIR: a virtual environment at DIR, unless there is one.
make_venv() {
    if [ -x "$1/bin/python" ]; then
        return
    fi
    if [ -n "$UV" ]; then
        "$UV" venv --quiet --python "$PYTHON" "$1"
    else
        "$PYTHON" -m venv "$1"
    fi
}

# install DIR ARGS...: pip install ARGS into the environment DIR, compiled to bytecode (as pip
# does; uv does not unless asked): every process the tests start imports MLflow from it.
install() {
    local dir=$1
    shift
    if [ -n "$UV" ]; then
        "$UV" pip install --quiet --compile-bytecode --python "$dir/bin/python" "$@"
    else
        "$dir/bin/python" -m pip install --quiet --disable-pip-version-check "$@"
    fi
}
