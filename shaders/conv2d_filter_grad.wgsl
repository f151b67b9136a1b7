// Filter gradient of a valid, stride-s NHWC conv2d (twin: conv2dFilterGradValues in
// lib/model/conv2d_filter_grad.ts), as a split-K matrix product computed on the fly by shaders/gemm_tile.wgsl
// (appended by the TS side):
//   dW[r, co] = sum over p of A[p, r] * dy[p, co],   r = (kh * KW + kw) * CI + ci,   p = (b * OH + oh) * OW + ow,
//   A[p, r]   = x[b, oh * s + kh, ow * s + kw, ci]    (the im2col matrix, never stored).
// tfjs-webgpu's own kernel gives one thread per filter element, each looping over all B * OH * OW positions: 1152
// threads for the model's first convolution (CI = 1). Here workgroup z takes one slice of p (k_steps = chunk long);
// the slices' partial sums go to result[(z * M + r) * N + co] and are added up afterwards. tfjs-webgpu prepends the
// bindings (x, dy, result), the uniforms struct and the builtins (localId, workgroupId).

fn k_range() -> vec2<i32> {
  let begin = i32(workgroupId.z) * uniforms.k_steps;
  return vec2<i32>(begin, min(uniforms.p, begin + uniforms.k_steps));
}

fn a_k_contig() -> bool {
  return false; // along r: ci is the fastest axis of x
}

fn b_k_contig() -> bool {
  return false; // along co: dy is (p, co) row-major
}

fn load_a(r : i32, p : i32) -> f32 {
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

fn load_b(p : i32, n : i32) -> f32 {
  return dy[p * uniforms.n + n];
}

fn store(r : i32, n : i32, value : f32) {
  result[(i32(workgroupId.z) * uniforms.m + r) * uniforms.n + n] = value;
}
