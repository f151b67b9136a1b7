/**
 * Train/val/test split by work (the fork's stage 13), fixed so that every variant of one recording
 * (speed and noise copies share `source_utt`) lands in the same split: the fork splits augmented
 * lines and leaks `sp_0.8-X` into train while `X` is in test.
 *
 * @module
 */
import type { Line } from "../io/lines.ts";
import type { Prng } from "./prng.ts";

/** Split fractions (the data hparams of the same names). */
export interface SplitOptions {
  /** Fraction of each seen work's recordings for val (at least one when > 0). */
  valDataSplit: number;
  /** Fraction of works held out entirely for val (at least one when > 0). */
  valUnseen: number;
  /** Fraction of each seen work's recordings for test (at least one when > 0). */
  testDataSplit: number;
  /** Fraction of works held out entirely for test (at least one when > 0). */
  testDataUnseen: number;
}

/** The split, each list in input order. */
export interface Split {
  train: Line[];
  val: Line[];
  test: Line[];
  /** `song_id`s whose every recording is in test. */
  testOnlySongIds: number[];
  /** `song_id`s whose every recording is in val. */
  valOnlySongIds: number[];
}

/** The recording a line derives from: `source_utt` when set (augmented copies), else `utt`. */
export function sourceUtt(line: Line): string {
  return String(line.source_utt ?? line.utt ?? line.perf);
}

/** Splits `full.txt` lines (with `song_id`) by work and recording. Deterministic for a given prng. */
export function splitByWork(lines: Line[], options: SplitOptions, prng: Prng): Split {
  const { valDataSplit, valUnseen, testDataSplit, testDataUnseen } = options;
  // song_id -> source recording -> line indices, in order of first appearance.
  const works = new Map<number, Map<string, number[]>>();
  lines.forEach((line, i) => {
    const id = Number(line.song_id ?? line.work_id);
    if (!Number.isInteger(id)) throw new TypeError(`line ${i + 1}: missing integer song_id`);
    const recs = works.get(id) ?? new Map<string, number[]>();
    works.set(id, recs);
    const src = sourceUtt(line);
    recs.set(src, [...(recs.get(src) ?? []), i]);
  });
  const where = new Array<"train" | "val" | "test">(lines.length).fill("train");
  const assign = (idx: number[], to: "val" | "test") => idx.forEach((i) => (where[i] = to));

  const remaining = [...works.keys()];
  const takeWorks = (fraction: number): number[] => {
    if (fraction <= 0 || remaining.length < 2) return [];
    const count = Math.min(remaining.length - 1, Math.max(1, Math.floor(works.size * fraction)));
    prng.shuffle(remaining);
    return remaining.splice(0, count).sort((a, b) => a - b);
  };
  const testOnlySongIds = takeWorks(testDataUnseen);
  const valOnlySongIds = takeWorks(valUnseen);
  for (const id of testOnlySongIds) for (const idx of works.get(id)!.values()) assign(idx, "test");
  for (const id of valOnlySongIds) for (const idx of works.get(id)!.values()) assign(idx, "val");

  remaining.sort((a, b) => a - b);
  for (const id of remaining) {
    const recs = prng.shuffle([...works.get(id)!.values()]);
    const n = recs.length;
    let nVal = valDataSplit > 0 ? Math.max(1, Math.floor(n * valDataSplit)) : 0;
    let nTest = testDataSplit > 0 ? Math.max(1, Math.floor(n * testDataSplit)) : 0;
    // Keep at least one recording of every seen work for training (the fork can leave none).
    while (nVal + nTest > n - 1 && nVal + nTest > 0) {
      if (nTest >= nVal) nTest--;
      else nVal--;
    }
    recs.slice(0, nVal).forEach((idx) => assign(idx, "val"));
    recs.slice(nVal, nVal + nTest).forEach((idx) => assign(idx, "test"));
  }
  const pick = (s: string) => lines.filter((_, i) => where[i] === s);
  return { train: pick("train"), val: pick("val"), test: pick("test"), testOnlySongIds, valOnlySongIds };
}
