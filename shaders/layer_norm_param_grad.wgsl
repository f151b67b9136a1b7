// LayerNorm's weight and bias gradients (twin: layerNormGradValues in lib/model/layer_norm_webgpu.ts), as partial
// column sums over one chunk of rows per workgroup row (workgroup y), one column per thread:
//   which 0: result[chunk, c] = sum over the chunk's rows of dy[r, c] * (x[r, c] - mean_r) * rstd_r   (d weight)
//   which 1: result[chunk, c] = sum over the chunk's rows of dy[r, c]                                  (d bias)
// The chunks are added up afterwards. tfjs-webgpu prepends the bindings (x, dy, stats, result), the uniforms struct and
// the builtins (localId, workgroupId).

fn main() {
  let c = i32(workgroupId.x) * 64 + i32(localId.x);
  let chunk = i32(workgroupId.y);
  if (c >= uniforms.d) {
    return;
  }
  let begin = chunk * uniforms.rows_per_chunk;
  let end = min(uniforms.rows, begin + uniforms.rows_per_chunk);
  var s = 0.0;
  for (var r = begin; r < end; r++) {
    let g = dy[r * uniforms.d + c];
    if (uniforms.which == 0) {
      s = s + g * (x[r * uniforms.d + c] - stats[2 * r]) * stats[2 * r + 1];
    } else {
      s = s + g;
    }
  }
  result[chunk * uniforms.d + c] = s;
}
