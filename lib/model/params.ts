/**
 * The model's tensors as tfjs Variables keyed by their PyTorch `state_dict` names (spec §3.6), so that import
 * and export are one-to-one and every layout conversion happens in the forward code. Three groups:
 * `trainable` (gets gradients), `frozen` (a PyTorch parameter with `requires_grad=False`: `_bottleneck.bias`),
 * and `buffers` (BatchNorm running statistics). `num_batches_tracked` is kept as a plain count per BatchNorm.
 *
 * @example
 * ```ts
 * import { createPrng } from "../data/prng.ts";
 * import { initBackend } from "./backend.ts";
 * import { COVERS80_MODEL_CONFIG } from "./config.ts";
 * import { countParams, disposeParams, initParams } from "./params.ts";
 * await initBackend("cpu");
 * console.log(countParams(COVERS80_MODEL_CONFIG).total); // 9910976
 * const params = initParams({ ...COVERS80_MODEL_CONFIG, numBlocks: 1, numClasses: 8 }, createPrng(1));
 * disposeParams(params);
 * ```
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { Prng } from "../data/prng.ts";
import type { ModelConfig } from "./config.ts";
import type { TensorMap } from "./safetensors.ts";

/** How a tensor takes part in training. */
export type ParamKind = "trainable" | "frozen" | "buffer";

/** Initial values (spec §3.7). */
export type ParamInit =
  | { readonly type: "uniform"; readonly bound: number }
  | { readonly type: "constant"; readonly value: number }
  | { readonly type: "normal"; readonly std: number };

/** One state_dict tensor of the model. */
export interface ParamSpec {
  /** PyTorch state_dict name. */
  readonly name: string;
  /** PyTorch shape. */
  readonly shape: readonly number[];
  /** Trainable parameter, frozen parameter or buffer. */
  readonly kind: ParamKind;
  /** Initialisation for training from scratch. */
  readonly init: ParamInit;
}

/** The model's tensors. Dispose with {@linkcode disposeParams}. */
export interface ModelParams {
  /** The config the tensors were built for. */
  readonly config: ModelConfig;
  /** Parameters that receive gradients, by state_dict name (pass `[...trainable.values()]` to tf.variableGrads). */
  readonly trainable: ReadonlyMap<string, tf.Variable>;
  /** Parameters without gradient (`_bottleneck.bias`, fixed at 0 in the reference). */
  readonly frozen: ReadonlyMap<string, tf.Variable>;
  /** BatchNorm running_mean / running_var, by state_dict name. */
  readonly buffers: ReadonlyMap<string, tf.Variable>;
  /** `num_batches_tracked` per BatchNorm module prefix (e.g. `_global_cmvn`). */
  readonly batchesTracked: Map<string, number>;
}

const uniform = (fanIn: number): ParamInit => ({ type: "uniform", bound: 1 / Math.sqrt(fanIn) });
const xavier = (fanIn: number, fanOut: number): ParamInit => ({
  type: "uniform",
  bound: Math.sqrt(6 / (fanIn + fanOut)),
});
const ONE: ParamInit = { type: "constant", value: 1 };
const ZERO: ParamInit = { type: "constant", value: 0 };

/** The BatchNorm module prefixes of a config, in state_dict order. */
export function batchNormPrefixes(config: ModelConfig): string[] {
  const blocks = Array.from({ length: config.numBlocks }, (_, l) => `_encoder.encoders.${l}.conv_module.norm`);
  return ["_global_cmvn", ...blocks, "_bottleneck"];
}

/**
 * Every state_dict tensor of the model, in PyTorch's state_dict order, with shapes and initialisation
 * (PyTorch defaults: Linear/Conv weight and bias U(+-1/sqrt(fan_in)); norms weight 1, bias 0; xavier_uniform for
 * the pooling `_linear`/`_conv` weights and `pos_bias_u/v`; centers N(0, 1)).
 */
export function paramSpecs(config: ModelConfig): ParamSpec[] {
  const { inputDim: f, outputDims: d, attentionDim: a, numHeads: h, cnnKernel: k, embedDim: e, numClasses: n } = config;
  const dk = d / h;
  // Conv2dSubsampling4 output frequency columns: ((F - 1) // 2 - 1) // 2 (96 -> 23).
  const fOut = Math.floor((Math.floor((f - 1) / 2) - 1) / 2);
  const specs: ParamSpec[] = [];
  const add = (name: string, shape: number[], init: ParamInit, kind: ParamKind = "trainable") =>
    specs.push({ name, shape, kind, init });
  const linear = (name: string, out: number, inp: number, bias = true, init = uniform(inp)) => {
    add(`${name}.weight`, [out, inp], init);
    if (bias) add(`${name}.bias`, [out], uniform(inp));
  };
  const norm = (name: string, c: number) => {
    add(`${name}.weight`, [c], ONE);
    add(`${name}.bias`, [c], ZERO);
  };
  const batchNorm = (name: string, c: number, biasKind: ParamKind = "trainable") => {
    add(`${name}.weight`, [c], ONE);
    add(`${name}.bias`, [c], ZERO, biasKind);
    add(`${name}.running_mean`, [c], ZERO, "buffer");
    add(`${name}.running_var`, [c], ONE, "buffer");
  };

  batchNorm("_global_cmvn", f);
  add("_encoder.embed.conv.0.weight", [d, 1, 3, 3], uniform(9));
  add("_encoder.embed.conv.0.bias", [d], uniform(9));
  add("_encoder.embed.conv.2.weight", [d, d, 3, 3], uniform(d * 9));
  add("_encoder.embed.conv.2.bias", [d], uniform(d * 9));
  linear("_encoder.embed.out.0", d, d * fOut);
  norm("_encoder.after_norm", d);
  for (let l = 0; l < config.numBlocks; l++) {
    const p = `_encoder.encoders.${l}.`;
    add(`${p}self_attn.pos_bias_u`, [h, dk], xavier(dk, h));
    add(`${p}self_attn.pos_bias_v`, [h, dk], xavier(dk, h));
    for (const m of ["q", "k", "v", "out"]) linear(`${p}self_attn.linear_${m}`, d, d);
    linear(`${p}self_attn.linear_pos`, d, d, false);
    for (const ff of ["feed_forward", "feed_forward_macaron"]) {
      linear(`${p}${ff}.w_1`, a, d);
      linear(`${p}${ff}.w_2`, d, a);
    }
    add(`${p}conv_module.pointwise_conv1.weight`, [2 * d, d, 1], uniform(d));
    add(`${p}conv_module.pointwise_conv1.bias`, [2 * d], uniform(d));
    add(`${p}conv_module.depthwise_conv.weight`, [d, 1, k], uniform(k));
    add(`${p}conv_module.depthwise_conv.bias`, [d], uniform(k));
    batchNorm(`${p}conv_module.norm`, d);
    add(`${p}conv_module.pointwise_conv2.weight`, [d, d, 1], uniform(d));
    add(`${p}conv_module.pointwise_conv2.bias`, [d], uniform(d));
    for (const m of ["norm_ff", "norm_mha", "norm_ff_macaron", "norm_conv", "norm_final"]) norm(`${p}${m}`, d);
  }
  batchNorm("_bottleneck", e, "frozen");
  linear("_pool_layer._linear.linear_layer", e, 3 * e, true, xavier(3 * e, e));
  add("_pool_layer._conv.conv.weight", [e, e, 1], xavier(e, e));
  add("_pool_layer._conv.conv.bias", [e], uniform(e));
  linear("_pool_layer._final_layer", e, 2 * e, false);
  linear("_ce_layer", n, e, false);
  add("_center_loss.centers", [n, e], { type: "normal", std: 1 });
  return specs;
}

/**
 * Parameter counts as PyTorch's `sum(p.numel() for p in model.parameters())` (buffers excluded, frozen bias
 * included), and the inference path alone (input BatchNorm, encoder, pooling).
 */
export function countParams(config: ModelConfig): { total: number; inferencePath: number } {
  let total = 0, inferencePath = 0;
  for (const s of paramSpecs(config)) {
    if (s.kind === "buffer") continue;
    const n = s.shape.reduce((x, y) => x * y, 1);
    total += n;
    if (/^(_global_cmvn|_encoder|_pool_layer)\./.test(s.name)) inferencePath += n;
  }
  return { total, inferencePath };
}

function build(config: ModelConfig, values: (spec: ParamSpec) => Float32Array, batches: Map<string, number>) {
  const trainable = new Map<string, tf.Variable>();
  const frozen = new Map<string, tf.Variable>();
  const buffers = new Map<string, tf.Variable>();
  const groups = { trainable, frozen, buffer: buffers };
  try {
    for (const spec of paramSpecs(config)) {
      const data = values(spec);
      const v = tf.tidy(() => tf.variable(tf.tensor(data, [...spec.shape], "float32"), spec.kind === "trainable"));
      groups[spec.kind].set(spec.name, v);
    }
  } catch (e) {
    for (const g of [trainable, frozen, buffers]) for (const v of g.values()) v.dispose();
    throw e;
  }
  return { config, trainable, frozen, buffers, batchesTracked: batches } satisfies ModelParams;
}

/**
 * Fresh parameters for training from scratch (spec §3.7), drawn from `prng`.
 *
 * @param config model sizes
 * @param prng the only source of randomness
 */
export function initParams(config: ModelConfig, prng: Prng): ModelParams {
  const batches = new Map(batchNormPrefixes(config).map((p) => [p, 0]));
  return build(config, (spec) => {
    const n = spec.shape.reduce((x, y) => x * y, 1);
    const out = new Float32Array(n);
    const init = spec.init;
    if (init.type === "constant") out.fill(init.value);
    else if (init.type === "uniform") { for (let i = 0; i < n; i++) out[i] = (2 * prng.next() - 1) * init.bound; }
    else for (let i = 0; i < n; i++) out[i] = prng.normal() * init.std;
    return out;
  }, batches);
}

/**
 * Builds parameters from a state_dict (safetensors or an imported PyTorch checkpoint), checking names and
 * shapes first, nanoGPT `from_pretrained` style: every missing, unexpected and mis-shaped tensor is listed in
 * one error. `*.num_batches_tracked` is optional (0 when absent). F64 tensors are converted to float32.
 *
 * @param tensors tensors by PyTorch name
 * @param config the model the tensors must fit
 * @throws {TypeError} listing every missing / unexpected / mis-shaped / wrongly typed tensor
 */
export function paramsFromTensors(tensors: TensorMap, config: ModelConfig): ModelParams {
  const specs = paramSpecs(config);
  const known = new Set(specs.map((s) => s.name));
  const bnPrefixes = batchNormPrefixes(config);
  const counters = new Set(bnPrefixes.map((p) => `${p}.num_batches_tracked`));
  const missing: string[] = [], misshaped: string[] = [], badType: string[] = [];
  for (const s of specs) {
    const t = tensors.get(s.name);
    if (t === undefined) missing.push(s.name);
    else if (t.dtype !== "F32" && t.dtype !== "F64") badType.push(`${s.name} (${t.dtype}, expected F32)`);
    else if (t.shape.length !== s.shape.length || t.shape.some((d, i) => d !== s.shape[i])) {
      misshaped.push(`${s.name} (expected [${s.shape}], got [${t.shape}])`);
    }
  }
  const unexpected = [...tensors.keys()].filter((k) => !known.has(k) && !counters.has(k));
  for (const c of counters) {
    const t = tensors.get(c);
    if (t !== undefined && t.data.length !== 1) misshaped.push(`${c} (expected a scalar, got [${t.shape}])`);
  }
  const problems = [
    missing.length > 0 ? `${missing.length} missing: ${missing.join(", ")}` : "",
    unexpected.length > 0 ? `${unexpected.length} unexpected: ${unexpected.join(", ")}` : "",
    misshaped.length > 0 ? `${misshaped.length} mis-shaped: ${misshaped.join(", ")}` : "",
    badType.length > 0 ? `${badType.length} of the wrong type: ${badType.join(", ")}` : "",
  ].filter((s) => s !== "");
  if (problems.length > 0) {
    throw new TypeError(
      `state_dict does not fit the model (${config.numBlocks} blocks, width ${config.outputDims}, FFN ` +
        `${config.attentionDim}, ${config.numClasses} classes): ${problems.join("; ")}`,
    );
  }
  const batches = new Map(bnPrefixes.map((p) => {
    const t = tensors.get(`${p}.num_batches_tracked`);
    return [p, t === undefined ? 0 : Number(t.data[0]!)];
  }));
  return build(config, (spec) => {
    const data = tensors.get(spec.name)!.data;
    return data instanceof Float32Array ? data : Float32Array.from(data as Float64Array);
  }, batches);
}

/**
 * Exports every tensor under its PyTorch name, in state_dict order (float32 `F32`; `num_batches_tracked` as
 * `I64` scalars, as PyTorch stores them), ready for `encodeSafetensors`.
 */
export async function paramsToTensors(params: ModelParams): Promise<TensorMap> {
  const out: TensorMap = new Map();
  for (const spec of paramSpecs(params.config)) {
    const v = getParam(params, spec.name);
    out.set(spec.name, { dtype: "F32", shape: [...spec.shape], data: (await v.data()) as Float32Array });
    if (spec.name.endsWith(".running_var")) {
      const prefix = spec.name.slice(0, -".running_var".length);
      const count = BigInt(params.batchesTracked.get(prefix) ?? 0);
      out.set(`${prefix}.num_batches_tracked`, { dtype: "I64", shape: [], data: BigInt64Array.of(count) });
    }
  }
  return out;
}

/**
 * The Variable stored under a state_dict name, whatever its group.
 *
 * @throws {RangeError} for an unknown name
 */
export function getParam(params: ModelParams, name: string): tf.Variable {
  const v = params.trainable.get(name) ?? params.frozen.get(name) ?? params.buffers.get(name);
  if (v === undefined) throw new RangeError(`model has no tensor '${name}'`);
  return v;
}

/** Frees every Variable of `params`. */
export function disposeParams(params: ModelParams): void {
  for (const g of [params.trainable, params.frozen, params.buffers]) for (const v of g.values()) v.dispose();
}
