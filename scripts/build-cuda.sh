#!/usr/bin/env bash
# Full CUDA build of the workspace on a machine without a GPU or a system CUDA toolkit:
# CUDA 13.0 from PyPI wheels, link stubs, a fake nvidia-smi (see cuda-build-env.sh).
# Usage: scripts/build-cuda.sh [extra cargo args]   e.g. scripts/build-cuda.sh --tests
set -euo pipefail
cd "$(dirname "$0")/.."
cargo fetch --quiet
# shellcheck source=scripts/cuda-build-env.sh
source scripts/cuda-build-env.sh
cargo build --release --workspace --features cuda "$@"
