#!/bin/bash
# One prepared session on the lent GPU machine (see ../shared/gpu/README.md): every GPU benchmark in one call, each
# under its own time limit, logs and tables in $OUT. Prepare here first:
#   bash bench/gpu_pack.sh   (bundle, Deno binary, Vulkan loader packages and this script into .gpu/)
# and run it with the device tool: carry [".gpu"], command `bash .gpu/gpu_session.sh`.
set -u
export XDG_RUNTIME_DIR=/tmp
cd "$(dirname "$0")/.."
B() {
  local t=$1
  shift
  echo "=== bench $* (limit ${t}s) $(date +%T)"
  timeout "$t" bash .gpu/remote.sh bench "$@" 2>&1 | grep -v -e XDG_RUNTIME -e "Hi, looks like"
  echo "=== exit ${PIPESTATUS[0]} $(date +%T)"
}
{
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
  # Most informative first: each of our kernels against tfjs's, then the training step with ours and with tfjs's
  # (--kernels tfjs) on the same card, then batch sizes, embedding both ways, and the CQT's phases.
  B 45 kernels --batch 16 --steps 5 --out "$OUT/kernels.md"
  B 100 train --batch 16 --steps 2 --device webgpu --profile --out "$OUT/train.md"
  B 80 train --batch 16 --steps 2 --device webgpu --kernels tfjs --out "$OUT/train.md"
  B 100 train --batch 32,64 --steps 2 --device webgpu --out "$OUT/train.md"
  B 45 embed --batch 128 --steps 3 --device webgpu --out "$OUT/embed.md"
  B 45 embed --batch 128 --steps 3 --device webgpu --kernels tfjs --out "$OUT/embed.md"
  B 70 extract --seconds 600 --device webgpu --profile --out "$OUT/extract.md"
} 2>&1 | tee "$OUT/log.txt"
