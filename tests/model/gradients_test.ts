/**
 * Training-mode gradients of the whole model on wasm (customGrad primitives) and webgpu against cpu (tfjs
 * gradients, customGrad conv2d), on a 1-block model with T = 40, B = 4 and dropout 0.1 with the same seed on both.
 * Loss = Σ embedding·R1 + Σ logits·R2 (random R), so every trainable tensor except the centers gets a gradient.
 *
 * Bound per tensor: max |g_wasm - g_cpu| <= 1e-4 · max |g_cpu|. Three gradients are zero in exact arithmetic
 * (a bias under a training-mode BatchNorm, a key bias under the softmax over keys, a per-channel bias under the
 * softmax over time); for them both backends must give |g| <= 1e-5 instead.
 */
import * as tf from "@tensorflow/tfjs";
import { createPrng } from "../../lib/data/prng.ts";
import { type BackendKind, initBackend } from "../../lib/model/backend.ts";
import { COVERS80_MODEL_CONFIG } from "../../lib/model/config.ts";
import { classify, embed } from "../../lib/model/model.ts";
import { disposeParams, initParams, type ModelParams } from "../../lib/model/params.ts";
import { assertEquals, assertOk } from "../_assert.ts";

const CONFIG = { ...COVERS80_MODEL_CONFIG, numBlocks: 1, numClasses: 8, dropout: 0.1 };
const B = 4, T = 40;
const ZERO_IN_EXACT_ARITHMETIC = [
  "_encoder.encoders.0.self_attn.linear_k.bias",
  "_encoder.encoders.0.conv_module.depthwise_conv.bias",
  "_pool_layer._conv.conv.bias",
];

async function gradients(backend: BackendKind, params: ModelParams, data: Float32Array[]) {
  await initBackend(backend);
  const [xs, r1, r2] = data as [Float32Array, Float32Array, Float32Array];
  const x = tf.tensor3d(xs, [B, T, 96]);
  const R1 = tf.tensor2d(r1, [B, CONFIG.embedDim]), R2 = tf.tensor2d(r2, [B, CONFIG.numClasses]);
  const prng = createPrng(11);
  const { value, grads } = tf.variableGrads(() => {
    const e = embed(params, x, { training: true, prng });
    const c = classify(params, e.embedding, { training: true });
    for (const s of [...Object.values(e.bnStats!), ...Object.values(c.bnStats!)]) tf.dispose([s.mean, s.varUnbiased]);
    return tf.add(tf.sum(tf.mul(e.embedding, R1)), tf.sum(tf.mul(c.logits, R2))) as tf.Scalar;
  }, [...params.trainable.values()]);
  const byVariable = new Map([...params.trainable].map(([name, v]) => [v.name, name]));
  const out = new Map<string, Float32Array>();
  for (const [id, g] of Object.entries(grads)) out.set(byVariable.get(id)!, (await g.data()) as Float32Array);
  const loss = (await value.data())[0]!;
  tf.dispose([value, ...Object.values(grads), x, R1, R2]);
  return { loss, grads: out };
}

const prng = createPrng(5);
const DATA = [B * T * 96, B * CONFIG.embedDim, B * CONFIG.numClasses].map((n) =>
  Float32Array.from({ length: n }, () => prng.normal())
);
DATA[0] = DATA[0]!.map((v) => 10 * v - 40); // dB-like input
const INIT_SEED = 6;

/** cpu reference, computed once per process. */
let cpuReference: Promise<Awaited<ReturnType<typeof gradients>>> | undefined;

async function compareWithCpu(t: Deno.TestContext, backend: BackendKind): Promise<void> {
  cpuReference ??= (async () => {
    await initBackend("cpu");
    const params = initParams(CONFIG, createPrng(INIT_SEED));
    try {
      return await gradients("cpu", params, DATA);
    } finally {
      disposeParams(params);
    }
  })();
  const cpu = await cpuReference;
  await initBackend(backend);
  const params = initParams(CONFIG, createPrng(INIT_SEED));
  const before = tf.memory().numTensors;
  try {
    const other = await gradients(backend, params, DATA);
    assertEquals(tf.memory().numTensors, before, "no tensor leaked");
    const trainable = [...params.trainable.keys()];
    assertEquals([...cpu.grads.keys()].sort(), trainable.filter((n) => n !== "_center_loss.centers").sort());
    assertEquals([...other.grads.keys()].sort(), [...cpu.grads.keys()].sort());
    await t.step(`loss ${cpu.loss.toFixed(6)} (cpu) vs ${other.loss.toFixed(6)} (${backend})`, () => {
      assertOk(Math.abs(cpu.loss - other.loss) <= 1e-4 * Math.abs(cpu.loss));
    });
    let worst = 0, worstName = "";
    for (const [name, a] of cpu.grads) {
      const b = other.grads.get(name)!;
      let diff = 0, scale = 0, scaleB = 0;
      for (let i = 0; i < a.length; i++) {
        diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
        scale = Math.max(scale, Math.abs(a[i]!));
        scaleB = Math.max(scaleB, Math.abs(b[i]!));
      }
      if (ZERO_IN_EXACT_ARITHMETIC.includes(name)) {
        await t.step(
          `${name}: max|g| ${scale.toExponential(1)} (cpu), ${scaleB.toExponential(1)} (${backend}) <= 1e-5`,
          () => {
            assertOk(scale <= 1e-5 && scaleB <= 1e-5);
          },
        );
      } else if (diff / scale > worst) {
        worst = diff / scale;
        worstName = name;
      }
    }
    await t.step(
      `${cpu.grads.size - 3} gradients: worst max|Δ|/max|g| ${worst.toExponential(2)} (${worstName})`,
      () => {
        assertOk(worst <= 1e-4);
      },
    );
  } finally {
    disposeParams(params);
  }
}

Deno.test("wasm gradients equal cpu gradients (1 block, T 40, B 4, dropout 0.1)", async (t) => {
  await compareWithCpu(t, "wasm");
});

const gpu = (globalThis.navigator as { gpu?: GPU } | undefined)?.gpu;
const adapter = gpu === undefined ? null : await gpu.requestAdapter();

Deno.test({
  name: "webgpu gradients equal cpu gradients (1 block, T 40, B 4, dropout 0.1; ignored without an adapter)",
  ignore: adapter === null,
  // The tfjs webgpu backend keeps its device and pipelines for the process.
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    await compareWithCpu(t, "webgpu");
  },
});
