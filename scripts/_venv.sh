# Shared by scripts/run and scripts/test (sourced, not run): make .venv and keep it in step
# with requirements.txt. Needs only Python 3.11+ on the machine.
#
#   PYTHON=python3.12 ./scripts/test    # choose the interpreter used to create .venv

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

# ensure_venv: create .venv if it is missing or broken; (re)install requirements.txt when it
# (or the venv's Python) changed since the last successful install. A rerun costs well under
# a second.
ensure_venv() {
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
    local wanted
    wanted="$("$venv/bin/python" - "$REPO_ROOT/requirements.txt" <<'PY'
import hashlib
import sys

digest = hashlib.sha256(open(sys.argv[1], "rb").read())
digest.update(sys.version.encode())
print(digest.hexdigest())
PY
)"
    if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$wanted" ]; then
        echo "==> Installing requirements.txt into .venv"
        "$venv/bin/python" -m pip install --disable-pip-version-check --quiet -r "$REPO_ROOT/requirements.txt"
        echo "$wanted" >"$stamp"
    fi
    export PATH="$venv/bin:$PATH"
    export VIRTUAL_ENV="$venv"
}
