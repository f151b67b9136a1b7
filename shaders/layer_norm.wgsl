// LayerNorm over the last axis, forward and backward, one workgroup (64 threads) per row of d values (twins:
// lib/model/layer_norm_webgpu.ts). tfjs's op chain takes ~10 kernels forward and ~20 backward per LayerNorm; here:
//   mode 0 (stats):  result[2r] = mean_r, result[2r + 1] = rstd_r = 1 / sqrt(var_r + eps)   (population variance)
//   mode 1 (y):      y = (x - mean) * rstd * gamma + beta
//   mode 2 (dx):     g = dy * gamma, xhat = (x - mean) * rstd,
//                    dx = rstd * (g - mean_d(g) - xhat * mean_d(g * xhat))
// A workgroup walks rows wg, wg + groups, ... (rows_per_group steps, uniform, as the barriers need). mode 1 and 2 read
// the statistics from `stats` (mode 0's output). tfjs-webgpu prepends the bindings (x, gamma, beta or dy, stats,
// result), the uniforms struct and the builtins (localIndex, workgroupId).

var<workgroup> partial : array<f32, 64>;

// Sum over the workgroup of one value per thread; every thread gets the total.
fn workgroup_sum(v : f32) -> f32 {
  let li = i32(localIndex);
  partial[li] = v;
  workgroupBarrier();
  for (var s = 32; s > 0; s = s / 2) {
    if (li < s) {
      partial[li] = partial[li] + partial[li + s];
    }
    workgroupBarrier();
  }
  let total = partial[0];
  workgroupBarrier();
  return total;
}

fn main() {
  let li = i32(localIndex);
  let d = uniforms.d;
  for (var i = 0; i < uniforms.rows_per_group; i++) {
    let r = i32(workgroupId.x) + i * uniforms.groups;
    let valid = r < uniforms.rows;
    let base = r * d;
    if (uniforms.mode == 0) {
      var s = 0.0;
      for (var c = li; c < d; c += 64) {
        if (valid) {
          s = s + x[base + c];
        }
      }
      let mean = workgroup_sum(s) / f32(d);
      var q = 0.0;
      for (var c = li; c < d; c += 64) {
        if (valid) {
          let t = x[base + c] - mean;
          q = q + t * t;
        }
      }
      let rstd = inverseSqrt(workgroup_sum(q) / f32(d) + uniforms.eps);
      if (valid && li == 0) {
        result[2 * r] = mean;
        result[2 * r + 1] = rstd;
      }
    } else if (uniforms.mode == 1) {
      if (valid) {
        let mean = stats[2 * r];
        let rstd = stats[2 * r + 1];
        for (var c = li; c < d; c += 64) {
          result[base + c] = (x[base + c] - mean) * rstd * gamma[c] + other[c];
        }
      }
    } else {
      var mean = 0.0;
      var rstd = 0.0;
      if (valid) {
        mean = stats[2 * r];
        rstd = stats[2 * r + 1];
      }
      var sg = 0.0;
      var sgx = 0.0;
      for (var c = li; c < d; c += 64) {
        if (valid) {
          let g = other[base + c] * gamma[c];
          sg = sg + g;
          sgx = sgx + g * (x[base + c] - mean) * rstd;
        }
      }
      let a = workgroup_sum(sg) / f32(d);
      let b = workgroup_sum(sgx) / f32(d);
      if (valid) {
        for (var c = li; c < d; c += 64) {
          let xhat = (x[base + c] - mean) * rstd;
          result[base + c] = rstd * (other[base + c] * gamma[c] - a - xhat * b);
        }
      }
    }
  }
}
