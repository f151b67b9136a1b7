/**
 * WeNet's `RelPositionalEncoding` as CoverHunter uses it (spec §3.1 row 3, §3.2): the subsampled features are
 * scaled by sqrt(d) and nothing is added to them; the sinusoidal table is returned separately and enters only
 * through `linear_pos` inside attention. Dropout applies to both outputs in training mode.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { dropout, type ForwardContext } from "./_context.ts";

/** Length of the reference's precomputed table; longer inputs are refused, as in the reference. */
export const MAX_POSITIONS = 5000;

/**
 * The sinusoidal table rows 0..length-1: `pe[pos, 2i] = sin(pos·exp(-2i·ln(10000)/d))`, `pe[pos, 2i+1] = cos(...)`,
 * with the reference's float32 rounding of the frequency and the angle.
 *
 * @param length number of positions (T')
 * @param d model width (even)
 * @returns row-major (length, d) values
 * @throws {RangeError} when `length` exceeds {@linkcode MAX_POSITIONS} or `d` is odd
 */
export function sinusoidTable(length: number, d: number): Float32Array {
  if (length > MAX_POSITIONS) {
    throw new RangeError(`positional encoding: ${length} frames exceed the table of ${MAX_POSITIONS}`);
  }
  if (d % 2 !== 0) throw new RangeError(`positional encoding: width ${d} must be even`);
  const f = Math.fround;
  const factor = f(-Math.log(10000) / d);
  const freq = Array.from({ length: d / 2 }, (_, i) => f(Math.exp(f(2 * i * factor))));
  const out = new Float32Array(length * d);
  for (let pos = 0; pos < length; pos++) {
    for (let i = 0; i < d / 2; i++) {
      const angle = f(pos * freq[i]!);
      out[pos * d + 2 * i] = Math.sin(angle);
      out[pos * d + 2 * i + 1] = Math.cos(angle);
    }
  }
  return out;
}

/**
 * x (B,T',D) -> { x: dropout(x·sqrt(D)) (B,T',D), posEmb: dropout(pe[0:T']) (1,T',D) }.
 */
export function relPositionalEncoding(x: tf.Tensor3D, ctx: ForwardContext): { x: tf.Tensor3D; posEmb: tf.Tensor3D } {
  const [, t, d] = x.shape;
  const scaled = dropout(tf.mul(x, Math.sqrt(d)), ctx) as tf.Tensor3D;
  const posEmb = dropout(tf.tensor3d(sinusoidTable(t, d), [1, t, d]), ctx) as tf.Tensor3D;
  return { x: scaled, posEmb };
}
