/**
 * `MPerClassSampler` (spec §4.5; `src/dataset.py`): batches of `batchSize / m` classes × `m` items each.
 *
 * - `labels_to_indices[song_id]` lists line indices in file order; a class with fewer than `m` indices is expanded
 *   by repeating its whole list until it holds at least `m`.
 * - `sampleLength = Σ expanded lengths`, rounded down to a multiple of `batchSize`; `numIters = sampleLength /
 *   batchSize` batches per epoch.
 * - Each iteration shuffles the class list in place (the order carries over to the next iteration and epoch), takes
 *   its first `batchSize / m` classes, and for each a freshly shuffled copy of its index list, keeping the first `m`.
 *
 * Like the reference, an epoch is one flat list of `sampleLength` indices, pre-filled with 0, that the iterations
 * fill in turn and that is then cut into batches of `batchSize`. When there are fewer classes than `batchSize / m`
 * (e.g. a small validation set with `m = 1`), each iteration fills only `classes·m` slots, so batches straddle
 * iterations and the tail of the list keeps index 0, exactly as in the reference.
 *
 * All randomness comes from the sampler's own {@linkcode Prng}; `state()` captures it together with the class order,
 * so a checkpointed sampler resumes the same sequence.
 *
 * @example
 * ```ts
 * import { MPerClassSampler } from "./sampler.ts";
 * // song_id of each line of full.txt, in file order
 * const sampler = new MPerClassSampler([0, 0, 1, 1, 1, 2], { m: 2, batchSize: 4, seed: 1234 });
 * sampler.numIters; // 1  (expanded sizes 2 + 3 + 2 = 7, rounded down to 4)
 * const [batch] = sampler.epoch(); // e.g. [3, 2, 0, 1]: two items of two classes
 * ```
 *
 * @module
 */
import { createPrng, type Prng } from "./prng.ts";

/** Options of {@linkcode MPerClassSampler}. */
export interface SamplerOptions {
  /** Items per class in a batch (`m_per_class`; 1 for the validation loaders). */
  m: number;
  /** Batch size; must be a multiple of `m`. */
  batchSize: number;
  /** Seed of the sampler's generator (hparams `seed`). */
  seed: number;
  /** Resume from a snapshot taken with `state()` instead of starting fresh from `seed`. */
  state?: SamplerState;
}

/** A sampler's resumable state. */
export interface SamplerState {
  /** The generator's state (`Prng.state()`). */
  prng: number;
  /** The current class order (the reference shuffles its label list in place). */
  labels: number[];
}

/** Draws m-per-class batches of line indices; deterministic given its seed (or state). */
export class MPerClassSampler {
  /** Items per class in a batch. */
  readonly m: number;
  /** Batch size. */
  readonly batchSize: number;
  /** Σ expanded class sizes, rounded down to a multiple of `batchSize`. */
  readonly sampleLength: number;
  /** Batches per epoch (`sampleLength / batchSize`). */
  readonly numIters: number;
  /** Number of distinct classes. */
  readonly numClasses: number;
  #prng: Prng;
  #labels: number[];
  #indices: Map<number, number[]>;

  /**
   * @param songIds the class id of each line, in file order (the line index is what the batches hold)
   * @param options `m`, `batchSize`, `seed` and an optional `state` to resume from
   * @throws {RangeError} when `m` or `batchSize` is not a positive integer, `batchSize % m != 0`, a class id is not
   *   an integer, or `state` does not hold exactly this data's classes
   */
  constructor(songIds: readonly number[], options: SamplerOptions) {
    const { m, batchSize, seed, state } = options;
    if (!Number.isInteger(m) || m < 1) {
      throw new RangeError(`MPerClassSampler: 'm' must be a positive integer: current value is ${m}`);
    }
    if (!Number.isInteger(batchSize) || batchSize < 1) {
      throw new RangeError(`MPerClassSampler: 'batchSize' must be a positive integer: current value is ${batchSize}`);
    }
    if (batchSize % m !== 0) {
      throw new RangeError(
        `MPerClassSampler: m_per_class must divide batch_size without remainder: batch_size ${batchSize}, m ${m}`,
      );
    }
    if (!Number.isInteger(seed)) throw new RangeError(`MPerClassSampler: 'seed' must be an integer, got ${seed}`);
    const indices = new Map<number, number[]>(); // insertion order = first appearance in the file
    songIds.forEach((id, i) => {
      if (!Number.isInteger(id)) throw new RangeError(`MPerClassSampler: line ${i} has class id ${id}`);
      const list = indices.get(id);
      if (list === undefined) indices.set(id, [i]);
      else list.push(i);
    });
    let total = 0;
    for (const [id, list] of indices) {
      const expanded = [...list];
      while (expanded.length < m) expanded.push(...list);
      indices.set(id, expanded);
      total += expanded.length;
    }
    this.m = m;
    this.batchSize = batchSize;
    this.sampleLength = total - (total % batchSize);
    this.numIters = this.sampleLength / batchSize;
    this.numClasses = indices.size;
    this.#indices = indices;
    this.#labels = [...indices.keys()];
    this.#prng = createPrng(seed);
    if (state !== undefined) {
      const known = [...indices.keys()].sort((a, b) => a - b);
      const given = [...state.labels].sort((a, b) => a - b);
      if (known.length !== given.length || known.some((k, i) => k !== given[i])) {
        throw new RangeError("MPerClassSampler: the saved state's classes do not match the data's classes");
      }
      if (!Number.isInteger(state.prng)) throw new RangeError(`MPerClassSampler: bad saved prng state ${state.prng}`);
      this.#labels = [...state.labels];
      this.#prng = createPrng(seed, state.prng);
    }
  }

  /**
   * Draws one epoch: `numIters` batches of `batchSize` line indices.
   *
   * @returns the batches, in order
   */
  epoch(): number[][] {
    const flat = new Array<number>(this.sampleLength).fill(0);
    const perBatch = this.batchSize / this.m;
    let i = 0;
    for (let it = 0; it < this.numIters; it++) {
      this.#prng.shuffle(this.#labels);
      for (const label of this.#labels.slice(0, perBatch)) {
        const t = this.#prng.shuffle([...this.#indices.get(label)!]);
        for (let k = 0; k < this.m; k++) flat[i + k] = t[k]!;
        i += this.m;
      }
    }
    const batches: number[][] = [];
    for (let b = 0; b < this.numIters; b++) batches.push(flat.slice(b * this.batchSize, (b + 1) * this.batchSize));
    return batches;
  }

  /** A snapshot to resume from (pass it as `options.state` with the same data and seed). */
  state(): SamplerState {
    return { prng: this.#prng.state(), labels: [...this.#labels] };
  }
}
