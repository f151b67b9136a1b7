// Exact inner-product search (twin: lib/search/exact.ts). Two passes per (query batch, ref shard):
//   scores: S[q][r] = sum_k Q[q][k] * R[r][k]   (register-tiled, 128 queries x 128 refs per workgroup)
//   topk:   per query row of S, the k largest scores (ties: smaller ref index first), one workgroup per query.
// The score matrix of a batch goes through memory once (written, read back once): at 128-d that is 32 FLOP per byte,
// far from the bandwidth limit, and it keeps each kernel simple. Core WGSL only (no subgroups, no f16).

struct Params {
  nq: u32,        // queries in this batch
  nr: u32,        // refs in this shard
  dim4: u32,      // dimension / 4 (vectors are zero-padded to a multiple of 16 values)
  stride: u32,    // row stride of S (a multiple of 128, >= nr)
  k: u32,         // results per query (<= K_MAX)
  ref_offset: u32, // index of this shard's first ref, added to the output indices
  _pad0: u32,
  _pad1: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> queries: array<vec4<f32>>; // (nq, dim4)
@group(0) @binding(2) var<storage, read> refs: array<vec4<f32>>;    // (nr, dim4)
// The same buffer seen as vec4 by the score pass (rows are 128-aligned) and as scalars by the top-k pass.
@group(0) @binding(3) var<storage, read_write> scores4: array<vec4<f32>>; // (nq, stride / 4)
@group(0) @binding(3) var<storage, read_write> scores: array<f32>;        // (nq, stride)

const TILE: u32 = 128u; // queries and refs per workgroup tile
const TK4: u32 = 2u;    // vec4s of the shared dimension per step (8 values)

// Shared tiles, dimension-major so that 4 consecutive queries (refs) are one vec4 read: [8 dims][32 quads].
var<workgroup> q_tile: array<vec4<f32>, 256>;
var<workgroup> r_tile: array<vec4<f32>, 256>;

// Each of the 16 x 16 threads computes 8 queries x 8 refs: quads ty and ty + 16 of the tile's queries, tx and
// tx + 16 of its refs (two quads 64 apart rather than adjacent: fewer shared-memory bank conflicts).
@compute @workgroup_size(16, 16)
fn score_tiles(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
  let tx = lid.x;
  let ty = lid.y;
  let t = ty * 16u + tx;
  let q0 = wid.y * TILE;
  let r0 = wid.x * TILE;
  var acc: array<vec4<f32>, 16>; // [query quad a (0, 1)][query lane i][ref quad b (0, 1)] -> 4 refs
  for (var i = 0u; i < 16u; i++) { acc[i] = vec4<f32>(0.0); }
  // One vec4 of one query row and one of one ref row per thread and step: 128 rows x 2 vec4 = 256 loads each.
  let row = t / TK4;
  let part = t % TK4;
  let quad = row / 4u;
  let lane = row % 4u;
  for (var k4 = 0u; k4 < params.dim4; k4 += TK4) {
    var qv = vec4<f32>(0.0);
    var rv = vec4<f32>(0.0);
    if (q0 + row < params.nq) { qv = queries[(q0 + row) * params.dim4 + k4 + part]; }
    if (r0 + row < params.nr) { rv = refs[(r0 + row) * params.dim4 + k4 + part]; }
    for (var c = 0u; c < 4u; c++) {
      let d = part * 4u + c;
      q_tile[d * 32u + quad][lane] = qv[c];
      r_tile[d * 32u + quad][lane] = rv[c];
    }
    workgroupBarrier();
    for (var d = 0u; d < 8u; d++) {
      let a0 = q_tile[d * 32u + ty];
      let a1 = q_tile[d * 32u + 16u + ty];
      let b0 = r_tile[d * 32u + tx];
      let b1 = r_tile[d * 32u + 16u + tx];
      acc[0] += a0.x * b0;
      acc[1] += a0.x * b1;
      acc[2] += a0.y * b0;
      acc[3] += a0.y * b1;
      acc[4] += a0.z * b0;
      acc[5] += a0.z * b1;
      acc[6] += a0.w * b0;
      acc[7] += a0.w * b1;
      acc[8] += a1.x * b0;
      acc[9] += a1.x * b1;
      acc[10] += a1.y * b0;
      acc[11] += a1.y * b1;
      acc[12] += a1.z * b0;
      acc[13] += a1.z * b1;
      acc[14] += a1.w * b0;
      acc[15] += a1.w * b1;
    }
    workgroupBarrier();
  }
  // Rows of S hold stride >= round_up(nr, 128) values, so whole vec4s are written; the top-k pass reads r < nr only.
  let stride4 = params.stride / 4u;
  for (var a = 0u; a < 2u; a++) {
    for (var i = 0u; i < 4u; i++) {
      let q = q0 + a * 64u + ty * 4u + i;
      if (q < params.nq) {
        let o = q * stride4 + r0 / 4u + tx;
        scores4[o] = acc[a * 8u + i * 2u];
        scores4[o + 16u] = acc[a * 8u + i * 2u + 1u];
      }
    }
  }
}

// The 64 x 64 tile, the default: 4 queries x 4 refs per thread. On the H100 it ran 7.7x faster than the 128 tile
// above (whose 64 accumulators spill); both stay so that `bench search` can compare them on each device.
var<workgroup> q_tile64: array<vec4<f32>, 256>; // [16 dims][16 query quads]
var<workgroup> r_tile64: array<vec4<f32>, 256>; // [16 dims][16 ref quads]

@compute @workgroup_size(16, 16)
fn score_tiles_64(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
  let tx = lid.x;
  let ty = lid.y;
  let t = ty * 16u + tx;
  let q0 = wid.y * 64u;
  let r0 = wid.x * 64u;
  var acc: array<vec4<f32>, 4>; // acc[i]: query q0 + 4 ty + i, refs r0 + 4 tx + (0..3)
  for (var i = 0u; i < 4u; i++) { acc[i] = vec4<f32>(0.0); }
  let row = t / 4u;
  let part = t % 4u;
  let quad = row / 4u;
  let lane = row % 4u;
  for (var k4 = 0u; k4 < params.dim4; k4 += 4u) {
    var qv = vec4<f32>(0.0);
    var rv = vec4<f32>(0.0);
    if (q0 + row < params.nq) { qv = queries[(q0 + row) * params.dim4 + k4 + part]; }
    if (r0 + row < params.nr) { rv = refs[(r0 + row) * params.dim4 + k4 + part]; }
    for (var c = 0u; c < 4u; c++) {
      let d = part * 4u + c;
      q_tile64[d * 16u + quad][lane] = qv[c];
      r_tile64[d * 16u + quad][lane] = rv[c];
    }
    workgroupBarrier();
    for (var d = 0u; d < 16u; d++) {
      let a = q_tile64[d * 16u + ty];
      let b = r_tile64[d * 16u + tx];
      acc[0] += a.x * b;
      acc[1] += a.y * b;
      acc[2] += a.z * b;
      acc[3] += a.w * b;
    }
    workgroupBarrier();
  }
  let stride4 = params.stride / 4u;
  for (var i = 0u; i < 4u; i++) {
    let q = q0 + ty * 4u + i;
    if (q < params.nq) { scores4[q * stride4 + r0 / 4u + tx] = acc[i]; }
  }
}

const K_MAX: u32 = 64u;
const TOPK_WG: u32 = 256u;

@group(0) @binding(4) var<storage, read_write> out_scores: array<f32>; // (nq, k)
@group(0) @binding(5) var<storage, read_write> out_index: array<u32>;  // (nq, k), global ref index

var<workgroup> red_score: array<f32, TOPK_WG>;
var<workgroup> red_index: array<u32, TOPK_WG>;
var<workgroup> red_thread: array<u32, TOPK_WG>;

// (s, i) ranks before (t, j): higher score, then smaller index.
fn better(s: f32, i: u32, t: f32, j: u32) -> bool {
  return s > t || (s == t && i < j);
}

@compute @workgroup_size(256)
fn select_topk(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
  let q = wid.x;
  let tid = lid.x;
  let k = params.k;
  // Each thread keeps its own sorted top-k of the refs it scans (tid, tid + 256, ...): increasing index, so a
  // strictly greater score is needed to enter a full list (equal scores keep the earlier ref).
  var best_s: array<f32, K_MAX>;
  var best_i: array<u32, K_MAX>;
  var n = 0u;
  var worst = -3.0e38; // the list's last score once full, in a register (the lists live in slow private memory)
  let row = q * params.stride;
  for (var r = tid; r < params.nr; r += TOPK_WG) {
    let s = scores[row + r];
    if (n == k && !(s > worst)) { continue; }
    var p = min(n, k - 1u); // insertion point, from the end
    if (n < k) { n += 1u; }
    while (p > 0u && s > best_s[p - 1u]) {
      best_s[p] = best_s[p - 1u];
      best_i[p] = best_i[p - 1u];
      p -= 1u;
    }
    best_s[p] = s;
    best_i[p] = r;
    worst = best_s[k - 1u];
  }
  // k rounds: every thread offers its head, a tree reduction picks the best, its owner advances.
  var head = 0u;
  for (var round = 0u; round < k; round++) {
    if (head < n) {
      red_score[tid] = best_s[head];
      red_index[tid] = best_i[head];
    } else {
      red_score[tid] = -3.0e38;
      red_index[tid] = 0xffffffffu;
    }
    red_thread[tid] = tid;
    workgroupBarrier();
    for (var half = TOPK_WG / 2u; half > 0u; half >>= 1u) {
      if (tid < half) {
        let o = tid + half;
        if (better(red_score[o], red_index[o], red_score[tid], red_index[tid])) {
          red_score[tid] = red_score[o];
          red_index[tid] = red_index[o];
          red_thread[tid] = red_thread[o];
        }
      }
      workgroupBarrier();
    }
    let winner = red_thread[0];
    let win_index = red_index[0];
    if (tid == 0u) {
      out_scores[q * k + round] = red_score[0];
      out_index[q * k + round] = select(0xffffffffu, win_index + params.ref_offset, win_index != 0xffffffffu);
    }
    if (tid == winner) { head += 1u; }
    workgroupBarrier();
  }
}
