# Sourced by the other scripts: create .venv beside the repo and install mlplab into it, again only when
# pyproject.toml changed. MLPLAB_EXTRAS picks the extras ("test" for the suite; empty for the library alone).
# Needs only python3 (>= 3.11) on the machine.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
PY="${PYTHON:-python3}"
EXTRAS="${MLPLAB_EXTRAS:-}"
if [ ! -x "$VENV/bin/python" ]; then
  echo "mlplab: creating virtual environment in $VENV" >&2
  "$PY" -m venv "$VENV"
fi
HASH="$(sha256sum "$ROOT/pyproject.toml" | cut -d' ' -f1)"
installed() { [ -f "$VENV/.installed-$1" ] && [ "$(cat "$VENV/.installed-$1")" = "$HASH" ]; }
if ! installed "${EXTRAS:-base}" && ! { [ -z "$EXTRAS" ] && installed test; }; then
  echo "mlplab: installing mlplab${EXTRAS:+[$EXTRAS]} and its dependencies into $VENV (once; log: $VENV/install.log)" >&2
  SPEC="$ROOT${EXTRAS:+[$EXTRAS]}"
  if ! { "$VENV/bin/python" -m pip install --upgrade pip && "$VENV/bin/python" -m pip install -e "$SPEC"; } \
      >"$VENV/install.log" 2>&1; then
    tail -n 30 "$VENV/install.log" >&2
    echo "mlplab: installation failed; full log in $VENV/install.log" >&2
    exit 1
  fi
  echo "$HASH" > "$VENV/.installed-${EXTRAS:-base}"
fi
export PATH="$VENV/bin:$PATH"
# numba caches compiled kernels on disk so that a second process pays no compilation.
export NUMBA_CACHE_DIR="${NUMBA_CACHE_DIR:-$ROOT/.cache/numba}"
export MPLBACKEND=Agg
