/**
 * Gradients of `Sum` and `Mean` that stay on the device. tfjs 4.22's own versions multiply the upstream gradient
 * by `ones(x.shape)`, a tensor filled on the host: under webgpu every LayerNorm, BatchNorm and loss reduction
 * uploaded a full activation-sized block of ones per backward pass (4.6 MB each at B = 16, T = 1125; 222 ms
 * apiece on the H100 through Deno's mapped staging buffers). Broadcasting the gradient gives the same values
 * (`dy·1 = dy` exactly) with no host data.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";

/** x's shape with the reduced axes set to 1: where the reduction's gradient is broadcast from. */
function expandedShape(x: tf.Tensor, axis: number | number[]): number[] {
  const shape = x.shape.slice();
  for (const a of tf.util.parseAxisParam(axis, x.shape)) shape[a] = 1;
  return shape;
}

/**
 * `dy` (already reshaped to x's rank) spread over x's shape: one Tile kernel under webgpu; elsewhere a broadcasting
 * multiply by `onesLike(x)` (tfjs-wasm's Tile is a slow generic loop: 34 ms against 0.3 ms for (4, 281, 256)).
 */
function spread(dy: tf.Tensor, x: tf.Tensor): tf.Tensor {
  return tf.getBackend() === "webgpu" ? tf.broadcastTo(dy, x.shape) : tf.mul(dy, tf.onesLike(x));
}

let registered = false;

/**
 * Replaces the tfjs gradients of `Sum` and `Mean` with broadcasting ones (all backends; idempotent).
 * Values are identical to tfjs's: Sum gives `dy` at every reduced position, Mean `dy / n`.
 */
export function registerDeviceGradients(): void {
  if (registered) return;
  registered = true;
  tf.registerGradient({
    kernelName: tf.Sum,
    inputsToSave: ["x"],
    gradFunc: (dy, saved, attrs) => {
      const x = saved[0]!;
      const { axis } = attrs as unknown as { axis: number | number[] };
      const g = dy as tf.Tensor;
      return { x: () => spread(tf.reshape(g, expandedShape(x, axis)), x) };
    },
  });
  tf.registerGradient({
    kernelName: tf.Mean,
    inputsToSave: ["x"],
    gradFunc: (dy, saved, attrs) => {
      const x = saved[0]!;
      const { axis } = attrs as unknown as { axis: number | number[] };
      const shape = expandedShape(x, axis);
      const n = x.size / shape.reduce((a, b) => a * b, 1);
      const g = dy as tf.Tensor;
      return { x: () => spread(tf.div(tf.reshape(g, shape), n), x) };
    },
  });
}
