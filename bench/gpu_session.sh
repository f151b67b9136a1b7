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
  # Most informative first: the training step after session 3's upload/AdamW/filter-gradient changes.
  B 120 train --batch 16 --steps 2 --device webgpu --profile --out "$OUT/train.md"
  B 60 kernels --batch 16,32 --steps 5 --out "$OUT/kernels.md"
  B 150 train --batch 32,64 --steps 2 --device webgpu --out "$OUT/train.md"
  B 80 embed --batch 128,16 --steps 3 --device webgpu --out "$OUT/embed.md"
  B 90 extract --seconds 600 --device webgpu --profile --out "$OUT/extract.md"
  B 40 search --refs 1000000 --queries 8192 --device webgpu --out "$OUT/search.md"
} 2>&1 | tee "$OUT/log.txt"
