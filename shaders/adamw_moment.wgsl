// AdamW moment update (twin: adamwMomentValues in lib/train/adamw_webgpu.ts), one element per invocation:
//   x   = g * scale            (scale: the clip coefficient, a 1-element tensor computed on the GPU)
//   out = prev * beta + (x * one_minus_beta)          first moment  (square = 0)
//   out = prev * beta + ((x * x) * one_minus_beta)    second moment (square = 1)
// The same operations in the same order as the tfjs-op path, so the backends agree to rounding. tfjs-webgpu wraps
// `main` in its elementwise program template (uniforms: size, beta, one_minus_beta, square).

fn main(index : i32) {
  if (index < uniforms.size) {
    let x = g[index] * scale[0];
    let y = select(x, x * x, uniforms.square != 0u);
    setOutputAtIndex(index, prev[index] * uniforms.beta + y * uniforms.one_minus_beta);
  }
}
