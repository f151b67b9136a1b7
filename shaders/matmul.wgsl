// Batched matrix product with strided operands (twin: matMulValues in lib/model/matmul_webgpu.ts); the product itself
// is shaders/gemm_tile.wgsl, appended by the TS side. Workgroup z is the batch element:
//   C[z, m, n] = sum over k of A[z, m, k] * B[z, k, n],
//   A[z, m, k] = a[z * a_batch + m * a_m + k * a_k],   B[z, k, n] = b[z * b_batch + k * b_k + n * b_n],
// so a transposed operand is read in place (tfjs's matMul(a, b, false, true) is wrong at some shapes in 4.22, and the
// model paid a Transpose kernel per product to avoid it). tfjs-webgpu prepends the bindings (a, b, result), the
// uniforms struct and the builtins (localId, workgroupId).

fn k_range() -> vec2<i32> {
  return vec2<i32>(0, uniforms.k_steps);
}

fn a_k_contig() -> bool {
  return uniforms.a_k == 1;
}

fn b_k_contig() -> bool {
  return uniforms.b_k == 1;
}

fn load_a(m : i32, k : i32) -> f32 {
  return a[i32(workgroupId.z) * uniforms.a_batch + m * uniforms.a_m + k * uniforms.a_k];
}

fn load_b(k : i32, n : i32) -> f32 {
  return b[i32(workgroupId.z) * uniforms.b_batch + k * uniforms.b_k + n * uniforms.b_n];
}

fn store(m : i32, n : i32, value : f32) {
  result[(i32(workgroupId.z) * uniforms.m + m) * uniforms.n + n] = value;
}
