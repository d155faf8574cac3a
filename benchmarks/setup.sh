#!/usr/bin/env bash
# One-time setup for the benchmarks: wrk (load generator) and benchmarks/.venv with moto (the
# peer server). moto never goes into the project's .venv. Idempotent; safe to re-run.
#
#   benchmarks/setup.sh              # wrk + benchmarks/.venv with moto[server]
#   benchmarks/setup.sh --profiler   # ... and py-spy, for profiling the server under load
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="$here/.venv"
python="${PYTHON:-python3}"
moto_spec="${MOTO_SPEC:-moto[server]==5.2.5}"
profiler=0
for arg in "$@"; do
    case "$arg" in
        --profiler) profiler=1 ;;
        *) echo "usage: $0 [--profiler]" >&2; exit 2 ;;
    esac
done

if ! command -v wrk >/dev/null 2>&1; then
    if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "setup: installing wrk with apt-get" >&2
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null
    else
        echo "setup: wrk is missing; install it (Debian/Ubuntu: sudo apt-get install wrk)" >&2
        exit 1
    fi
fi

if [ ! -x "$venv/bin/python" ]; then
    echo "setup: creating $venv" >&2
    "$python" -m venv "$venv"
    "$venv/bin/pip" install --quiet --upgrade pip
fi
if ! "$venv/bin/python" -c "import moto.server" >/dev/null 2>&1; then
    echo "setup: installing $moto_spec into $venv" >&2
    "$venv/bin/pip" install --quiet "$moto_spec"
fi
if [ "$profiler" -eq 1 ] && [ ! -x "$venv/bin/py-spy" ]; then
    echo "setup: installing py-spy into $venv" >&2
    "$venv/bin/pip" install --quiet py-spy
fi
echo "setup: ok (wrk: $(command -v wrk), moto: $("$venv/bin/python" -c 'import moto; print(moto.__version__)'))" >&2
