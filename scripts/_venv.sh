# Shared by scripts/run, scripts/test and scripts/torture (sourced, not run): make .venv and keep
# it in step with the requirements. Needs only Python 3.11+ on the machine.
#
#   PYTHON=python3.12 ./scripts/test    # choose the interpreter used to create .venv
#
# requirements.txt is what production runs; requirements-dev.txt adds the test tools (it starts
# with -r requirements.txt). ./scripts/run asks for the first, ./scripts/test for the second.

_timebank_pick_python() {
    local candidate
    for candidate in "${PYTHON:-}" python3 python3.13 python3.12 python3.11; do
        [ -n "$candidate" ] || continue
        command -v "$candidate" >/dev/null 2>&1 || continue
        if "$candidate" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null; then
            echo "$candidate"
            return 0
        fi
    done
    return 1
}

# _timebank_requirements_stamp FILE...: a digest of the files and the venv's Python.
_timebank_requirements_stamp() {
    "$REPO_ROOT/.venv/bin/python" - "$@" <<'PY'
import hashlib
import sys

digest = hashlib.sha256(sys.version.encode())
for path in sys.argv[1:]:
    digest.update(open(path, "rb").read())
print(digest.hexdigest())
PY
}

# ensure_venv [dev]: create .venv if it is missing or broken; (re)install requirements.txt, or with
# "dev" requirements-dev.txt, when the files (or the venv's Python) changed since the last
# successful install. A dev install also satisfies a plain one, so ./scripts/run after
# ./scripts/test installs nothing. A rerun costs well under a second.
ensure_venv() {
    local want="${1:-run}"
    local venv="$REPO_ROOT/.venv"
    local stamp="$venv/.requirements.sha256"
    if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import sys' >/dev/null 2>&1; then
        local python
        if ! python="$(_timebank_pick_python)"; then
            echo "error: Python 3.11 or newer is needed (set PYTHON=/path/to/python3.11+)." >&2
            return 1
        fi
        echo "==> Creating .venv with $python ($("$python" --version 2>&1))"
        rm -rf "$venv"
        if ! "$python" -m venv "$venv"; then
            echo "error: '$python -m venv' failed. On Debian/Ubuntu: apt-get install python3-venv" >&2
            return 1
        fi
    fi
    local run_stamp dev_stamp installed=""
    run_stamp="run $(_timebank_requirements_stamp "$REPO_ROOT/requirements.txt")"
    dev_stamp="dev $(_timebank_requirements_stamp "$REPO_ROOT/requirements.txt" "$REPO_ROOT/requirements-dev.txt")"
    [ -f "$stamp" ] && installed="$(cat "$stamp")"
    local file="requirements.txt" wanted="$run_stamp"
    if [ "$want" = "dev" ]; then
        file="requirements-dev.txt"
        wanted="$dev_stamp"
    fi
    if [ "$installed" != "$wanted" ] && [ "$installed" != "$dev_stamp" ]; then
        echo "==> Installing $file into .venv"
        "$venv/bin/python" -m pip install --disable-pip-version-check --quiet -r "$REPO_ROOT/$file"
        echo "$wanted" >"$stamp"
    fi
    export PATH="$venv/bin:$PATH"
    export VIRTUAL_ENV="$venv"
}
