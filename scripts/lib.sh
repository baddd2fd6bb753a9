# Shared helpers of scripts/demo and scripts/test (sourced, not run).
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VENV=$ROOT/.venv
PY=$VENV/bin/python
SAO_VERSION=${SAO_VERSION:-8.0.x}
SAO_DIR=$ROOT/var/sao/node_modules/tryton-sao

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

# Virtualenv with the suite installed (editable) and its test extras.
build_python() {
    if [ ! -x "$PY" ]; then
        log "creating virtualenv $VENV"
        python3 -m venv "$VENV"
    fi
    local stamp=$VENV/.crm-installed digest
    digest=$(cat "$ROOT/pyproject.toml" | sha256sum | cut -c1-16)
    if [ "$(cat "$stamp" 2>/dev/null)" != "$digest" ]; then
        log "installing Python packages"
        "$PY" -m pip install -q --upgrade pip
        "$PY" -m pip install -q -e "$ROOT[test]"
        echo "$digest" > "$stamp"
    fi
}

# The sao web client from npm, with the node_modules link its index.html needs.
build_sao() {
    if [ ! -f "$SAO_DIR/index.html" ]; then
        log "installing the web client tryton-sao@$SAO_VERSION"
        mkdir -p "$ROOT/var/sao"
        (cd "$ROOT/var/sao" && npm install --silent --no-audit --no-fund \
            --prefix . "tryton-sao@$SAO_VERSION" >/dev/null)
    fi
    [ -e "$SAO_DIR/node_modules" ] || ln -s .. "$SAO_DIR/node_modules"
    # the suite's additions to the web client, loaded by sao's index.html
    cp "$ROOT/config/sao/custom.js" "$SAO_DIR/custom.js"
}

build() {
    build_python
    build_sao
}
