// Dropout keep-mask (twin: lib/model/dropout_mask.ts). The mask is a pure function of (seed, element index), so it is
// drawn on the GPU with no upload (an upload of a 4.6 MB mask cost ~220 ms through Deno's WebGPU on the H100) and is
// the same on every backend. tfjs-webgpu wraps `main` in its elementwise program template (uniforms: size, seed,
// threshold, scale).

// PCG-style 32-bit integer hash (permuted congruential step, then an xorshift-multiply output function).
fn pcg_hash(x: u32) -> u32 {
  let state = x * 747796405u + 2891336453u;
  let word = ((state >> ((state >> 28u) + 4u)) ^ state) * 277803737u;
  return (word >> 22u) ^ word;
}

fn main(index : i32) {
  if (index < uniforms.size) {
    // Dropped when the hash falls below p * 2^32: keep probability 1 - p, kept values scaled by 1 / (1 - p).
    let h = pcg_hash(u32(index) ^ pcg_hash(uniforms.seed));
    setOutputAtIndex(index, select(0.0, uniforms.scale, h >= uniforms.threshold));
  }
}
