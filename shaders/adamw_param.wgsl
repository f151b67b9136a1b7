// AdamW parameter update (twin: adamwParamValues in lib/train/adamw_webgpu.ts), one element per invocation, from the
// already-updated moments m and v:
//   out = p * decay - (m / (sqrt(v) / bc2_sqrt + eps)) * step_size
// with decay = 1 - lr * wd, step_size = lr / (1 - beta1^t), bc2_sqrt = sqrt(1 - beta2^t): the tfjs-op path's
// operations in its order. tfjs-webgpu wraps `main` in its elementwise program template.

fn main(index : i32) {
  if (index < uniforms.size) {
    let denom = sqrt(v[index]) / uniforms.bc2_sqrt + uniforms.eps;
    setOutputAtIndex(index, p[index] * uniforms.decay - (m[index] / denom) * uniforms.step_size);
  }
}
