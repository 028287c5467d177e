#!/usr/bin/env bash
# Installs the peers the benchmark compares httpdw with, and the tools it measures with.
# Idempotent: anything already present is left alone. Anything that cannot be installed is
# reported, and bench/run.py then skips that peer with a clear line instead of failing.
#
#   bash bench/setup.sh            # apt packages + pip packages into the interpreter that runs bench/run.py
#   PYTHON=/path/to/python bash bench/setup.sh
set -u
PYTHON="${PYTHON:-python3}"
missing_apt=()
for pair in nginx:nginx wrk:wrk apache2:apache2 ab:apache2-utils; do
    bin="${pair%%:*}"; pkg="${pair##*:}"
    command -v "$bin" >/dev/null 2>&1 || [ -x "/usr/sbin/$bin" ] || missing_apt+=("$pkg")
done
if [ "${#missing_apt[@]}" -gt 0 ]; then
    if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
    echo "setup: installing ${missing_apt[*]} with apt-get"
    $SUDO apt-get update -qq || echo "setup: apt-get update failed (continuing)"
    # DEBIAN_FRONTEND: no prompts; policy-rc.d-free environments may try to start nginx/apache: harmless.
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing_apt[@]}" \
        || echo "setup: apt-get install ${missing_apt[*]} failed; bench/run.py will skip what is missing"
    # Debian starts the packaged services on install; the bench uses its own instances on free ports,
    # so stop the system ones (by their init script, never by process name) to keep port 80 and CPU free.
    for svc in nginx apache2; do
        if command -v service >/dev/null 2>&1; then $SUDO service "$svc" stop >/dev/null 2>&1 || true; fi
    done
else
    echo "setup: nginx, wrk, apache2, ab already installed"
fi

pip_missing=()
"$PYTHON" -c "import gunicorn" 2>/dev/null || pip_missing+=(gunicorn)
"$PYTHON" -c "import matplotlib" 2>/dev/null || pip_missing+=(matplotlib)
# run.py looks for py-spy beside the interpreter first, then on PATH.
py_bin="$(dirname "$("$PYTHON" -c 'import sys; print(sys.executable)')")"
[ -x "$py_bin/py-spy" ] || command -v py-spy >/dev/null 2>&1 || pip_missing+=(py-spy)
"$PYTHON" -c "import psutil" 2>/dev/null || pip_missing+=(psutil)
if [ "${#pip_missing[@]}" -gt 0 ]; then
    echo "setup: pip installing ${pip_missing[*]} into $("$PYTHON" -c 'import sys; print(sys.prefix)')"
    "$PYTHON" -m pip install -q "${pip_missing[@]}" \
        || echo "setup: pip install ${pip_missing[*]} failed; run.py skips gunicorn / the chart / --profile accordingly"
else
    echo "setup: gunicorn, matplotlib, py-spy, psutil already installed"
fi
echo "setup: done"
