#!/usr/bin/env bash
# GPU benchmark for a CUDA machine (random real-size Qwen2-VL-2B; no weights needed).
# Usage: bash benchmarks/gpu.sh            -> benchmarks/results/gpu.json (under 8 minutes on an H100)
#        bash benchmarks/gpu.sh --smoke    -> the same code on the CPU with a small model
# Installs the project into ./.venv if it is not there yet (torch pinned by constraints.txt).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv && .venv/bin/pip install -q -c constraints.txt -e .
fi
timeout 470 .venv/bin/python benchmarks/gpu.py "$@"
