#!/usr/bin/env bash
# The whole test suite: ruff, lint-imports, mypy, then pytest on two workers. Installs Fashion-MNIST and Chromium (for the
# playground's browser tests) from Debian when root.
MLPLAB_EXTRAS=test source "$(dirname "${BASH_SOURCE[0]}")/_env.sh"
cd "$ROOT"
if [ ! -d /usr/share/datasets/fashion-mnist ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "mlplab: installing dataset-fashion-mnist (Debian package)" >&2
  (apt-get install -y -qq dataset-fashion-mnist >/dev/null 2>&1 \
    || { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq dataset-fashion-mnist >/dev/null 2>&1; }) \
    || echo "mlplab: could not install dataset-fashion-mnist; real-data tests will fail" >&2
fi
if [ ! -x /usr/bin/chromium ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "mlplab: installing chromium (Debian package) for the playground's browser tests" >&2
  (apt-get install -y -qq chromium >/dev/null 2>&1 \
    || { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq chromium >/dev/null 2>&1; }) \
    || echo "mlplab: could not install chromium; the playground's browser tests will fail" >&2
fi
# In order: lint, the import contract, the type check, the tests. Every step runs; any failure fails the script.
failed=()
ruff check . || failed+=(ruff)
lint-imports || failed+=(lint-imports)
mypy || failed+=(mypy)
python -m pytest -n 2 "$@" || failed+=(pytest)
if [ "${#failed[@]}" -ne 0 ]; then echo "mlplab: failed: ${failed[*]} (see above)" >&2; exit 1; fi
