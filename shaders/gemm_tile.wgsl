// The tiled product core shared by shaders/matmul.wgsl and shaders/conv2d_filter_grad.wgsl (the TS side appends it to
// either): C[m, n] = sum over k in k_range() of load_a(m, k) * load_b(k, n), written through store(m, n, value).
// A 16x16 workgroup computes a 64x64 tile of C, 4x4 per thread, staging 16 values of k of both operands in workgroup
// memory per step (the search kernel's tiling, ~9.5 TFLOP/s on the H100). Consecutive threads load along k when the
// operand says its k stride is 1 (a_k_contig / b_k_contig), along m or n otherwise, so loads stay coalesced. Rows are
// padded to 65 floats against bank conflicts. The including file defines k_range, a_k_contig, b_k_contig, load_a,
// load_b, store and the uniforms m, n and k_steps (the loop's trip count, uniform as the barriers need).

var<workgroup> tileA : array<array<f32, 65>, 16>; // [k][m]
var<workgroup> tileB : array<array<f32, 65>, 16>; // [k][n]

fn main() {
  let tx = i32(localId.x); // n = n0 + tx + 16 * j
  let ty = i32(localId.y); // m = m0 + ty + 16 * i
  let li = i32(localIndex);
  let n0 = i32(workgroupId.x) * 64;
  let m0 = i32(workgroupId.y) * 64;
  let kr = k_range();
  var acc : array<array<f32, 4>, 4>;
  for (var i = 0; i < 4; i++) {
    for (var j = 0; j < 4; j++) {
      acc[i][j] = 0.0;
    }
  }
  for (var k0 = 0; k0 < uniforms.k_steps; k0 += 16) {
    for (var e = li; e < 1024; e += 256) {
      var kk = e / 64;
      var c = e - kk * 64;
      if (a_k_contig()) {
        c = e / 16;
        kk = e - c * 16;
      }
      var v = 0.0;
      var k = kr.x + k0 + kk;
      if (k < kr.y && m0 + c < uniforms.m) {
        v = load_a(m0 + c, k);
      }
      tileA[kk][c] = v;
      kk = e / 64;
      c = e - kk * 64;
      if (b_k_contig()) {
        c = e / 16;
        kk = e - c * 16;
      }
      v = 0.0;
      k = kr.x + k0 + kk;
      if (k < kr.y && n0 + c < uniforms.n) {
        v = load_b(k, n0 + c);
      }
      tileB[kk][c] = v;
    }
    workgroupBarrier();
    for (var k = 0; k < 16; k++) {
      var av : array<f32, 4>;
      var bv : array<f32, 4>;
      for (var i = 0; i < 4; i++) {
        av[i] = tileA[k][ty + 16 * i];
        bv[i] = tileB[k][tx + 16 * i];
      }
      for (var i = 0; i < 4; i++) {
        for (var j = 0; j < 4; j++) {
          acc[i][j] = acc[i][j] + av[i] * bv[j];
        }
      }
    }
    workgroupBarrier();
  }
  for (var i = 0; i < 4; i++) {
    let m = m0 + ty + 16 * i;
    for (var j = 0; j < 4; j++) {
      let n = n0 + tx + 16 * j;
      if (m < uniforms.m && n < uniforms.n) {
        store(m, n, acc[i][j]);
      }
    }
  }
}
