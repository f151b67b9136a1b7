// Filter gradient of a valid, stride-s NHWC conv2d (twin: conv2dFilterGradValues in
// lib/model/conv2d_filter_grad.ts), as a split-K matrix product computed on the fly:
//   dW[r, co] = sum over p of A[p, r] * dy[p, co],   r = (kh * KW + kw) * CI + ci,   p = (b * OH + oh) * OW + ow,
//   A[p, r]   = x[b, oh * s + kh, ow * s + kw, ci]    (the im2col matrix, never stored).
// tfjs-webgpu's own kernel gives one thread per filter element, each looping over all B * OH * OW positions: 1152
// threads for the model's first convolution (CI = 1). Here a 16x16 workgroup computes a 64x64 tile of dW (4x4 per
// thread) over one slice of p (workgroup z), staging 16 rows of A and dy in workgroup memory per step; the slices'
// partial sums go to result[(z * M + r) * N + co] and are added up afterwards.
// tfjs-webgpu prepends the bindings (x, dy, result), the uniforms struct and the builtins (localId, workgroupId).

const TILE : i32 = 64;
const TK : i32 = 16;
var<workgroup> tileA : array<array<f32, 64>, 16>; // [k][m]
var<workgroup> tileB : array<array<f32, 64>, 16>; // [k][n]

fn im2col(p : i32, r : i32) -> f32 {
  let area = uniforms.oh * uniforms.ow;
  let b = p / area;
  let rem = p - b * area;
  let oh = rem / uniforms.ow;
  let ow = rem - oh * uniforms.ow;
  let tap = r / uniforms.ci;
  let ci = r - tap * uniforms.ci;
  let kh = tap / uniforms.kw;
  let kw = tap - kh * uniforms.kw;
  let ih = oh * uniforms.stride + kh;
  let iw = ow * uniforms.stride + kw;
  return x[((b * uniforms.h + ih) * uniforms.w + iw) * uniforms.ci + ci];
}

fn main() {
  let tx = i32(localId.x); // column group: n = n0 + tx + 16 * j
  let ty = i32(localId.y); // row group:    m = m0 + ty + 16 * i
  let li = i32(localIndex);
  let n0 = i32(workgroupId.x) * TILE;
  let m0 = i32(workgroupId.y) * TILE;
  let split = i32(workgroupId.z);
  let pBegin = split * uniforms.chunk;
  let pEnd = min(uniforms.p, pBegin + uniforms.chunk);
  var acc : array<array<f32, 4>, 4>;
  for (var i = 0; i < 4; i++) {
    for (var j = 0; j < 4; j++) {
      acc[i][j] = 0.0;
    }
  }
  // Uniform trip count (the barriers need it): the slice's tail is masked by p < pEnd.
  for (var s = 0; s < uniforms.chunk; s += TK) {
    let p0 = pBegin + s;
    // 256 threads stage 16 x 64 values of each operand: 4 apiece, consecutive threads on consecutive columns.
    for (var e = li; e < TK * TILE; e += 256) {
      let k = e / TILE;
      let c = e - k * TILE;
      let p = p0 + k;
      var a = 0.0;
      var d = 0.0;
      if (p < pEnd) {
        if (m0 + c < uniforms.m) {
          a = im2col(p, m0 + c);
        }
        if (n0 + c < uniforms.n) {
          d = dy[p * uniforms.n + n0 + c];
        }
      }
      tileA[k][c] = a;
      tileB[k][c] = d;
    }
    workgroupBarrier();
    for (var k = 0; k < TK; k++) {
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
        result[(split * uniforms.m + m) * uniforms.n + n] = acc[i][j];
      }
    }
  }
}
