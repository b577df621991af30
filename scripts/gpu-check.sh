#!/usr/bin/env bash
# On a machine with an NVIDIA GPU: siren's CUDA path against its CPU path, and against PyTorch
# on the same GPU. Needs a CUDA build of the binary (scripts/build-cuda.sh with
# CARGO_TARGET_DIR=target/cuda, or SIREN=path) and a python3 with torch for the peer.
# Usage: scripts/gpu-check.sh [output folder]   (prints one table; logs in the folder)
# Then, where present: the CUDA test binary (siren-core/tests/cuda.rs, built with
#   CARGO_TARGET_DIR=target/cuda cargo test --release -p siren-core --features cuda --test cuda --no-run
# or SIREN_CUDA_TEST=path): every jet field and gradient on CUDA in f32 against the CPU in f64;
# and, with PAPER_STEPS=N, N steps of the paper-scale wave (SIREN, uniform medium) on CUDA with
# its errors against the reference.
#
# Correctness: each command's first-step loss (before any update: the forward pass and every
# input derivative the loss reads) on CUDA against the CPU, both f32, and the loss after the
# last step. Speed: the median step time from each run's metrics.jsonl (first and last steps
# left out), beside bench/torch_reference.py --device cuda on the matching workload.
set -u
cd "$(dirname "$0")/.."
S=${SIREN:-target/cuda/release/siren}
out=${1:-/tmp/gpu-check}
mkdir -p "$out"
# cuBLAS and NVRTC 13 from wherever the machine has them (a toolkit, or PyTorch's wheels),
# never a stub or compat libcuda (a driver mismatch: error 803); the driver's own folder first.
for lib in libcublas.so.13 libcublasLt.so.13 libnvrtc.so.13; do
  found=$(find /usr/local /usr/lib /usr/lib64 /opt -name "$lib" -not -path "*stubs*" -not -path "*compat*" 2>/dev/null | head -n 1)
  [ -n "$found" ] && export LD_LIBRARY_PATH="${LD_LIBRARY_PATH:+$LD_LIBRARY_PATH:}$(dirname "$found")"
done
[ -d /usr/local/nvidia/lib64 ] && export LD_LIBRARY_PATH="/usr/local/nvidia/lib64${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
echo "LD_LIBRARY_PATH=$LD_LIBRARY_PATH"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
cam=siren-image/data/camera.png
run() { # name device command args...
  local name=$1 dev=$2; shift 2
  timeout 300 "$S" "$@" --device "$dev" --quiet --overwrite --out "$out/$name" >"$out/$name.log" 2>&1
  echo "$name: exit $?"
}
steps=40
for dev in cpu cuda; do
  run "fit-$dev" "$dev" fit "$cam" --size 256 --steps $steps --eval-every 100000
  run "laplacian-$dev" "$dev" poisson "$cam" --target laplacian --size 256 --steps $steps --eval-every 100000
  run "wave-$dev" "$dev" wave --scale default --models siren --medium uniform --grid 33 --steps $steps --eval-every 100000
done
peer() { python3 bench/torch_reference.py "$1" --device cuda --steps 10 --warmup 3 2>"$out/torch-$1.err" | tail -n 1; }
{ peer fit; peer laplacian; peer wave-default; } >"$out/torch.jsonl"
python3 - "$out" <<'EOF'
import json, os, statistics, sys
out = sys.argv[1]
def log(name):
    path = os.path.join(out, name, "metrics.jsonl")
    if not os.path.exists(path):
        return None
    rows = [json.loads(l) for l in open(path) if l.strip()]
    rows = [r for r in rows if "loss" in r and "wall_s" in r]
    wall = [r["wall_s"] for r in rows]
    steps = [b - a for a, b in zip(wall, wall[1:])][1:-1]
    return rows[0]["loss"], rows[-1]["loss"], statistics.median(steps) if steps else float("nan")
torch = {}
for line in open(os.path.join(out, "torch.jsonl")):
    if line.startswith("{"):
        r = json.loads(line)
        torch[r["workload"]] = r
print("| workload | first loss CPU | first loss CUDA | rel. diff | last loss CPU | last loss CUDA | s/step CPU | s/step CUDA | PyTorch CUDA s/step | PyTorch peak GPU MiB |")
print("|---|---|---|---|---|---|---|---|---|---|")
for name, peer in [("fit", "fit"), ("laplacian", "laplacian"), ("wave", "wave-default")]:
    c, g = log(f"{name}-cpu"), log(f"{name}-cuda")
    if c is None or g is None:
        print(f"| {name} | {'failed' if c is None else 'ok'} (CPU) | {'failed' if g is None else 'ok'} (CUDA) | | | | | | | |")
        continue
    t = torch.get(peer, {})
    print(f"| {name} | {c[0]:.6e} | {g[0]:.6e} | {abs(c[0] - g[0]) / abs(c[0]):.1e} | {c[1]:.4e} | {g[1]:.4e} "
          f"| {c[2]:.4f} | {g[2]:.4f} | {t.get('median_s', float('nan')):.4f} | {t.get('peak_gpu_bytes', 0) / 2**20:.0f} |")
EOF

T=${SIREN_CUDA_TEST:-$(ls -t target/cuda/release/deps/cuda-* 2>/dev/null | grep -v '\.d$' | head -n 1)}
if [ -n "$T" ] && [ -x "$T" ]; then
  echo "CUDA against the CPU in f64 ($T):"
  timeout 300 "$T" --nocapture 2>&1 | grep -E "largest|skipped|panicked|test result" | sed 's/^/  /'
fi
if [ "${PAPER_STEPS:-0}" -gt 0 ]; then
  timeout "${PAPER_TIMEOUT:-400}" "$S" wave --scale paper --device cuda --models siren --medium uniform \
    --steps "$PAPER_STEPS" --quiet --overwrite --out "$out/wave-paper" >"$out/wave-paper.log" 2>&1
  echo "paper-scale wave, $PAPER_STEPS steps on CUDA: exit $?"
  python3 - "$out/wave-paper" <<'EOF2'
import json, os, statistics, sys
d = sys.argv[1]
m = os.path.join(d, "metrics.jsonl")
if os.path.exists(m):
    rows = [json.loads(l) for l in open(m) if l.strip()]
    wall = [r["wall_s"] for r in rows if "wall_s" in r]
    steps = [b - a for a, b in zip(wall, wall[1:])][1:-1]
    if steps:
        print(f"  median s/step {statistics.median(steps):.4f} over {len(wall)} logged steps")
for name in ("errors.md",):
    for root, _, files in os.walk(d):
        if name in files:
            print(open(os.path.join(root, name)).read())
EOF2
fi
