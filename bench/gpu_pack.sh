#!/bin/bash
# Prepares .gpu/ for bench/gpu_session.sh: what ../shared/gpu/pack.sh does, with this project's bundle command
# (`deno task bundle` marks @audio/decode-ape external, which pack.sh's plain `deno bundle` does not).
set -euo pipefail
cd "$(dirname "$0")/.."
if command -v deno >/dev/null; then D=deno; else D="npx -y deno"; fi
mkdir -p .gpu/debs
grep -qx '/.gpu/' .git/info/exclude 2>/dev/null || echo '/.gpu/' >> .git/info/exclude
if ! ls .gpu/debs/libvulkan1_*.deb >/dev/null 2>&1; then
  mkdir -p /tmp/gpu-apt-lists/partial
  o='-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/gpu-apt-lists'
  apt-get $o update -qq >/dev/null 2>&1 || true
  (cd .gpu/debs && apt-get $o download libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2 >/dev/null 2>&1)
fi
$D task bundle >/dev/null
cp dist/coverhunter.js .gpu/app.js
bin=$($D eval 'console.log(Deno.execPath())')
[ .gpu/deno.gz -nt "$bin" ] || gzip -1 -c "$bin" > .gpu/deno.gz
cp ../shared/gpu/remote.sh bench/gpu_session.sh .gpu/
du -sh .gpu
