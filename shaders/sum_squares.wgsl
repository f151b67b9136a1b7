// Sum of squares of up to GROUP tensors in one dispatch (twin: sumSquaresValues in lib/train/grad_norm_webgpu.ts):
// workgroup w reduces tensor w (256 threads, strided loop, then a tree in workgroup memory) into result[w]. The
// global gradient norm of the clip needs one such sum per parameter; tfjs took two kernels each (Square, Sum).
// The TS side generates the per-tensor branches (`SUMS`, one per bound tensor p0, p1, ...) and tfjs-webgpu prepends the
// bindings, the uniforms struct (n0, n1, ...: the sizes) and the builtins (localIndex, workgroupId).

var<workgroup> partial : array<f32, 256>;

fn main() {
  let li = i32(localIndex);
  let w = i32(workgroupId.x);
  var s = 0.0;
  // SUMS
  partial[li] = s;
  workgroupBarrier();
  for (var k = 128; k > 0; k = k / 2) {
    if (li < k) {
      partial[li] = partial[li] + partial[li + k];
    }
    workgroupBarrier();
  }
  if (li == 0) {
    result[w] = partial[0];
  }
}
