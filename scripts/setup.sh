# Sourced by scripts/run and scripts/test: installs what a fresh Debian + Python 3.11 machine lacks.
# Idempotent and quick on a machine that already has everything.
set -euo pipefail

need_apt=()
command -v redis-server >/dev/null 2>&1 || need_apt+=(redis-server)
# nginx in front of the app instances (deploy/, devstack/topology.py, tests/topology), with
# Debian's Brotli module so nginx can send the precompressed .br static files.
[ -x /usr/sbin/nginx ] || need_apt+=(nginx)
[ -e /usr/lib/nginx/modules/ngx_http_brotli_static_module.so ] ||
  need_apt+=(libnginx-mod-http-brotli-static)
if [ "${1:-}" = "--browser" ] && [ ! -x /usr/bin/chromium ]; then
  need_apt+=(chromium fonts-dejavu-core)
fi
if [ "${#need_apt[@]}" -gt 0 ]; then
  echo "setup: apt-get install ${need_apt[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi

# One virtualenv per checkout; reinstalled only when pyproject.toml changes.
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
stamp=".venv/.installed-$(sha256sum pyproject.toml | cut -c1-16)"
if [ ! -f "$stamp" ]; then
  echo "setup: pip install -e .[test]"
  .venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip >/dev/null
  .venv/bin/python -m pip install -q --disable-pip-version-check -e ".[test]"
  rm -f .venv/.installed-*
  touch "$stamp"
fi
export PATH="$PWD/.venv/bin:$PATH"
