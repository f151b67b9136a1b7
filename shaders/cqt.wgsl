// CQT on WebGPU (host: lib/features/cqt_webgpu.ts): batched FFT of L-sample frames + sparse kernel product.
//
// Precision: every value of the FFT and of the kernel product is a double-float ("df64"): an unevaluated sum
// hi + lo of two f32, ~44 significant bits. Plain f32 is not enough: a 16384-point f32 FFT leaves a noise floor
// ~145 dB under the loudest component, and the reference needs cells at −100 dB to within 0.01 dB. The
// error-free transforms below need IEEE f32 add/mul; reassociation and FMA contraction are blocked by passing the
// intermediates through an integer XOR with a uniform zero (`hide`), and the product split uses a bit mask. The host checks the whole chain against the
// float64 CPU path on a high-dynamic-range probe signal before first use (createCqtPipeline).
//
// Two real frames travel as one complex signal z = a + i·b (frames 2p and 2p+1 of a "pair"); the product pass
// separates them with A[q] = (Z[q] + conj Z[L−q])/2, B[q] = −i·(Z[q] − conj Z[L−q])/2.
//
// Layout: complex df64 = vec4<f32>(re.hi, re.lo, im.hi, im.lo); real df64 = vec2<f32>(hi, lo).
//
// Bindings (group 0, one explicit layout shared by all entry points, in this order):
//   @binding(0) uniform              params      Params (dynamic offset: one 256-byte slot per pass)
//   @binding(1) storage, read        twiddles    array<vec4<f32>>, (L): W^m = exp(−2πi·m/L), complex df64
//   @binding(2) storage, read        samples     array<vec2<f32>>, (S): this chunk's input samples, real df64
//   @binding(3) storage, read        pairs       array<PairInfo>, (P): where each pair's frames read samples
//   @binding(4) storage, read        src         array<vec4<f32>>, (P, L): FFT input of a radix pass / spectra
//   @binding(5) storage, read_write  dst         array<vec4<f32>>, (P, L): FFT output of a radix pass
//   @binding(6) storage, read        kernel      array<u32>: [0..K] CSR row offsets, then per non-zero i at
//                                                (K+1)+3i: column q, bitcast f32 weight hi, bitcast f32 weight lo
//                                                (weight = Re(M[k,q]); M is real, see cqt_kernel.ts)
//   @binding(7) storage, read_write  magnitudes  array<f32>, (2P, K): |C| of frame A (row 2p) and B (row 2p+1)
//
// Override constants: FFT_WG (workgroup size of the FFT passes), PRODUCT_WG (workgroup size of the product).
//
// Entry points, one invocation each computes:
//   load_r4:  one radix-4 Stockham butterfly of the first pass (span ns = 1), reading z straight from `samples`
//             (zero outside the signal: the reference's zero padding) and writing `dst`.
//   fft_r4:   one radix-4 Stockham butterfly with span params.ns, `src` -> `dst`.
//   fft_r2:   one radix-2 Stockham butterfly with span params.ns (last pass when log2 L is odd), `src` -> `dst`.
//   product:  one (pair, bin): U = Σ w·Z[q], V = Σ w·Z[L−q] over the bin's non-zeros, then |A|, |B|.

struct Params {
  fft_length: u32, // L
  ns: u32,         // span of this Stockham pass (product of the radices already applied)
  n_bins: u32,     // K
  pair_count: u32, // P, pairs in this chunk
  hop: u32,        // H, samples between frame A and frame B of a pair
  one: f32,        // always 1.0 (unused since `hide`; kept for the layout)
  zero: u32,       // always 0: `hide` XORs with it, which no floating-point rewrite can see through
  _pad2: u32,
}

struct PairInfo {
  base: i32, // index in `samples` of frame A's first (padded) sample; frame B starts at base + hop
  lo: i32,   // valid sample range of this pair's signal in `samples`: [lo, hi); zero outside
  hi: i32,
  has_b: u32, // 0 when the pair holds a single frame (odd frame count): B is zero and not written
}

override FFT_WG: u32 = 64u;
override PRODUCT_WG: u32 = 64u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> twiddles: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> samples: array<vec2<f32>>;
@group(0) @binding(3) var<storage, read> pairs: array<PairInfo>;
@group(0) @binding(4) var<storage, read> src: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read_write> dst: array<vec4<f32>>;
@group(0) @binding(6) var<storage, read> kernel: array<u32>;
@group(0) @binding(7) var<storage, read_write> magnitudes: array<f32>;

// ---- df64 arithmetic -------------------------------------------------------------------------------------

// Error-free transforms. Shader compilers may rewrite `(a + b) − a` into `b` (llvmpipe does), `s − (s − a)` into `a`,
// distribute or reassociate, or fuse a product into a following add (contraction): each silently turns df64 into f32
// (on NVIDIA's Vulkan compiler the probe was off by 6e-3 with a multiply-by-a-uniform-one guard). `hide` passes every
// intermediate through an integer XOR with a uniform zero: no floating-point rewrite can see through it.
fn hide(x: f32) -> f32 {
  return bitcast<f32>(bitcast<u32>(x) ^ params.zero);
}

fn two_sum(a: f32, b: f32) -> vec2<f32> {
  let s = hide(a + b);
  let bb = hide(s - a);
  let e = (a - hide(s - bb)) + (b - bb);
  return vec2<f32>(s, e);
}

fn quick_two_sum(a: f32, b: f32) -> vec2<f32> {
  let s = hide(a + b);
  let e = b - hide(s - a);
  return vec2<f32>(s, e);
}

fn df_add(a: vec2<f32>, b: vec2<f32>) -> vec2<f32> {
  let s = two_sum(a.x, b.x);
  return quick_two_sum(s.x, s.y + (a.y + b.y));
}

fn df_sub(a: vec2<f32>, b: vec2<f32>) -> vec2<f32> {
  return df_add(a, -b);
}

// Splits a into a 12-bit head (mask off the low 12 mantissa bits) and the exact remainder.
fn split(a: f32) -> vec2<f32> {
  let hi = bitcast<f32>(bitcast<u32>(a) & 0xFFFFF000u);
  return vec2<f32>(hi, a - hi);
}

fn two_prod(a: f32, b: f32) -> vec2<f32> {
  // Dekker's product: the rounded p, then the exact error in the order that keeps each partial sum exact.
  let p = hide(a * b);
  let sa = split(a);
  let sb = split(b);
  let t1 = hide(sa.x * sb.x - p);
  let t2 = hide(t1 + sa.x * sb.y);
  let t3 = hide(t2 + sa.y * sb.x);
  return vec2<f32>(p, t3 + sa.y * sb.y);
}

fn df_mul(a: vec2<f32>, b: vec2<f32>) -> vec2<f32> {
  let p = two_prod(a.x, b.x);
  return quick_two_sum(p.x, p.y + (a.x * b.y + a.y * b.x));
}

fn c_add(a: vec4<f32>, b: vec4<f32>) -> vec4<f32> {
  return vec4<f32>(df_add(a.xy, b.xy), df_add(a.zw, b.zw));
}

fn c_sub(a: vec4<f32>, b: vec4<f32>) -> vec4<f32> {
  return vec4<f32>(df_sub(a.xy, b.xy), df_sub(a.zw, b.zw));
}

fn c_mul(a: vec4<f32>, b: vec4<f32>) -> vec4<f32> {
  let re = df_sub(df_mul(a.xy, b.xy), df_mul(a.zw, b.zw));
  let im = df_add(df_mul(a.xy, b.zw), df_mul(a.zw, b.xy));
  return vec4<f32>(re, im);
}

// −i·z
fn c_mul_neg_i(z: vec4<f32>) -> vec4<f32> {
  return vec4<f32>(z.zw, -z.xy);
}

// ---- Stockham FFT ----------------------------------------------------------------------------------------

// Radix-4 butterfly on v0..v3 (already twiddled), written to dst at idx + r·ns.
fn butterfly4_store(v0: vec4<f32>, v1: vec4<f32>, v2: vec4<f32>, v3: vec4<f32>, idx: u32, ns: u32) {
  let t0 = c_add(v0, v2);
  let t1 = c_sub(v0, v2);
  let t2 = c_add(v1, v3);
  let t3 = c_mul_neg_i(c_sub(v1, v3));
  dst[idx] = c_add(t0, t2);
  dst[idx + ns] = c_add(t1, t3);
  dst[idx + 2u * ns] = c_sub(t0, t2);
  dst[idx + 3u * ns] = c_sub(t1, t3);
}

fn sample_at(i: i32, info: PairInfo) -> vec2<f32> {
  if (i >= info.lo && i < info.hi) {
    return samples[i];
  }
  return vec2<f32>(0.0, 0.0);
}

// z[n] = a[n] + i·b[n] for pair `info`.
fn load_z(n: u32, info: PairInfo) -> vec4<f32> {
  let ia = info.base + i32(n);
  let a = sample_at(ia, info);
  var b = vec2<f32>(0.0, 0.0);
  if (info.has_b != 0u) {
    b = sample_at(ia + i32(params.hop), info);
  }
  return vec4<f32>(a, b);
}

@compute @workgroup_size(FFT_WG)
fn load_r4(@builtin(global_invocation_id) gid: vec3<u32>) {
  let L = params.fft_length;
  let quarter = L / 4u;
  let pair = gid.x / quarter;
  if (pair >= params.pair_count) {
    return;
  }
  let j = gid.x % quarter;
  let info = pairs[pair];
  // ns = 1: no twiddles, output index 4j + r.
  butterfly4_store(
    load_z(j, info),
    load_z(j + quarter, info),
    load_z(j + 2u * quarter, info),
    load_z(j + 3u * quarter, info),
    pair * L + 4u * j,
    1u,
  );
}

@compute @workgroup_size(FFT_WG)
fn fft_r4(@builtin(global_invocation_id) gid: vec3<u32>) {
  let L = params.fft_length;
  let quarter = L / 4u;
  let pair = gid.x / quarter;
  if (pair >= params.pair_count) {
    return;
  }
  let j = gid.x % quarter;
  let ns = params.ns;
  let k = j % ns;
  let base = pair * L;
  let step = k * (L / (4u * ns)); // twiddle W^(r·k·L/(4·ns)) for input r
  let v0 = src[base + j];
  let v1 = c_mul(src[base + j + quarter], twiddles[step]);
  let v2 = c_mul(src[base + j + 2u * quarter], twiddles[2u * step]);
  let v3 = c_mul(src[base + j + 3u * quarter], twiddles[3u * step]);
  butterfly4_store(v0, v1, v2, v3, base + (j / ns) * 4u * ns + k, ns);
}

@compute @workgroup_size(FFT_WG)
fn fft_r2(@builtin(global_invocation_id) gid: vec3<u32>) {
  let L = params.fft_length;
  let half = L / 2u;
  let pair = gid.x / half;
  if (pair >= params.pair_count) {
    return;
  }
  let j = gid.x % half;
  let ns = params.ns;
  let k = j % ns;
  let base = pair * L;
  let v0 = src[base + j];
  let v1 = c_mul(src[base + j + half], twiddles[k * (L / (2u * ns))]);
  let idx = base + (j / ns) * 2u * ns + k;
  dst[idx] = c_add(v0, v1);
  dst[idx + ns] = c_sub(v0, v1);
}

// ---- sparse kernel product -------------------------------------------------------------------------------

// w (real df64) · z (complex df64)
fn c_scale(z: vec4<f32>, w: vec2<f32>) -> vec4<f32> {
  return vec4<f32>(df_mul(z.xy, w), df_mul(z.zw, w));
}

fn magnitude(z: vec4<f32>) -> f32 {
  let re = z.x + z.y;
  let im = z.z + z.w;
  return sqrt(re * re + im * im);
}

@compute @workgroup_size(PRODUCT_WG)
fn product(@builtin(global_invocation_id) gid: vec3<u32>) {
  let K = params.n_bins;
  let L = params.fft_length;
  let pair = gid.x / K;
  if (pair >= params.pair_count) {
    return;
  }
  let k = gid.x % K;
  let base = pair * L;
  let nz0 = K + 1u;
  var u = vec4<f32>(0.0);
  var v = vec4<f32>(0.0);
  for (var i = kernel[k]; i < kernel[k + 1u]; i++) {
    let e = nz0 + 3u * i;
    let q = kernel[e];
    let w = vec2<f32>(bitcast<f32>(kernel[e + 1u]), bitcast<f32>(kernel[e + 2u]));
    u = c_add(u, c_scale(src[base + q], w));
    v = c_add(v, c_scale(src[base + ((L - q) & (L - 1u))], w));
  }
  // A = (U + conj V)/2, B = −i·(U − conj V)/2 (the /2 is folded into the magnitude).
  let vc = vec4<f32>(v.xy, -v.zw);
  let a = c_add(u, vc);
  let b = c_mul_neg_i(c_sub(u, vc));
  magnitudes[(2u * pair) * K + k] = 0.5 * magnitude(a);
  if (pairs[pair].has_b != 0u) {
    magnitudes[(2u * pair + 1u) * K + k] = 0.5 * magnitude(b);
  }
}
