#!/usr/bin/env bash
# GPU benchmark for a CUDA machine: random real-size Qwen2-VL-2B and Qwen3-VL-2B (no weights needed).
# Usage: bash benchmarks/gpu.sh            -> benchmarks/results/gpu.json (Qwen2-VL-2B) and
#                                             benchmarks/results/gpu_qwen3_vl_2b.json, each under
#                                             8 minutes on an H100
#        bash benchmarks/gpu.sh --smoke    -> the same code on the CPU with small models
#        ARCHS=qwen3_vl_2b bash benchmarks/gpu.sh   -> one architecture only
# Installs the project into ./.venv if it is not there yet (torch pinned by constraints.txt).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv && .venv/bin/pip install -q -c constraints.txt -e .
fi
for arch in ${ARCHS:-qwen2_vl_2b qwen3_vl_2b}; do
  timeout 470 .venv/bin/python benchmarks/gpu.py --arch "$arch" "$@"
done
