# Shared helpers of scripts/demo and scripts/test (sourced, not run).
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VENV=$ROOT/.venv
PY=$VENV/bin/python
SAO_VERSION=${SAO_VERSION:-8.0.x}
SAO_DIR=$ROOT/var/sao/node_modules/tryton-sao

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

# Debian's packages the test suite needs (the browser and its driver,
# PostgreSQL's server binaries, npm, CJK fonts for the screenshots, Kannel
# with its fake SMSC), installed when missing: as root, or with sudo.
ensure_test_packages() {
    local need=() sudo=""
    command -v chromium >/dev/null || need+=(chromium)
    command -v chromedriver >/dev/null || need+=(chromium-driver)
    ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
    command -v npm >/dev/null || need+=(npm)
    # grep reads all (-q closing early fails the pipe under pipefail)
    fc-list 2>/dev/null | grep -i "CJK" >/dev/null || need+=(fonts-noto-cjk)
    [ -x /usr/sbin/bearerbox ] || need+=(kannel)
    [ -x /usr/lib/kannel/test/fakesmsc ] || need+=(kannel-extras)
    [ ${#need[@]} -gt 0 ] || return 0
    if [ "$(id -u)" != 0 ]; then
        if ! command -v sudo >/dev/null; then
            echo "missing Debian packages: ${need[*]} (install them as root:" \
                "apt-get install ${need[*]})" >&2
            return 1
        fi
        sudo=sudo
    fi
    log "installing Debian packages: ${need[*]}"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq \
        --no-install-recommends "${need[@]}" >/dev/null
}

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
    # the suite's additions to the web client and its style, loaded by
    # sao's index.html
    cp "$ROOT/config/sao/custom.js" "$SAO_DIR/custom.js"
    cp "$ROOT/config/sao/custom.css" "$SAO_DIR/custom.css"
}

build() {
    build_python
    build_sao
}
