/**
 * ESPnet/WeNet `PositionwiseFeedForward` with SiLU: w_2(dropout(SiLU(w_1(x)))), D -> attentionDim -> D.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { dropout, type ForwardContext } from "./_context.ts";
import { getParam } from "./params.ts";

/** x (B,T,D) -> (B,T,D), with the weights under `prefix` (`<prefix>.w_1.*`, `<prefix>.w_2.*`). */
export function feedForward(x: tf.Tensor3D, prefix: string, ctx: ForwardContext): tf.Tensor3D {
  const p = (name: string) => getParam(ctx.params, `${prefix}.${name}`);
  return tf.tidy(() => {
    const h = ctx.ops.linear(x, p("w_1.weight"), p("w_1.bias")); // (B,T,A)
    const act = dropout(tf.mul(h, tf.sigmoid(h)), ctx); // SiLU
    return ctx.ops.linear(act, p("w_2.weight"), p("w_2.bias")) as tf.Tensor3D; // (B,T,D)
  });
}
