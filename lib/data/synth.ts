/**
 * Synthetic cover-song material for demos and tests. {@linkcode composeWork} writes a small composition
 * (key, mode, tempo, sections with chord progressions, a motif-based melody, a bass line, a groove), and
 * {@linkcode renderVersion} performs it as one "version": transposed, at another tempo, with other
 * instruments, another arrangement and form, another excerpt, reverb, EQ and noise. Versions of one work
 * share melody, harmony and structure; their surfaces differ a lot.
 *
 * Everything is deterministic: composition and version plans draw from the {@linkcode Prng} they are
 * given, and rendering draws from a generator seeded by the plan. Rendering works note by note on typed
 * arrays (band-limited wavetables for additive, organ, square and saw voices; two-operator FM; Karplus-Strong
 * strings; synthetic drums), keeps the harmonics of pitched voices under 7.6 kHz so nothing folds over at
 * 16 kHz, adds a Schroeder reverb, an EQ tilt and noise, and peak-normalises to 0.9.
 *
 * @example
 * ```ts
 * import { createPrng } from "./prng.ts";
 * import { composeWork, renderVersion } from "./synth.ts";
 *
 * const work = composeWork(createPrng(7), 0);
 * const samples = renderVersion(work, createPrng(8), 1, { seconds: 2 }); // 32000 samples at 16 kHz
 * if (samples.length !== 32000) throw new Error("unexpected length");
 * ```
 *
 * @module
 */
import { createPrng, type Prng } from "./prng.ts";

// ---------------------------------------------------------------------------------------------------
// Composition
// ---------------------------------------------------------------------------------------------------

/** The modes a work can be written in. */
export type ModeName = "major" | "minor" | "dorian" | "mixolydian" | "harmonic_minor" | "lydian";

const SCALES: Readonly<Record<ModeName, readonly number[]>> = {
  major: [0, 2, 4, 5, 7, 9, 11],
  minor: [0, 2, 3, 5, 7, 8, 10],
  dorian: [0, 2, 3, 5, 7, 9, 10],
  mixolydian: [0, 2, 4, 5, 7, 9, 10],
  harmonic_minor: [0, 2, 3, 5, 7, 8, 11],
  lydian: [0, 2, 4, 6, 7, 9, 11],
};

const MODE_WEIGHTS: readonly (readonly [ModeName, number])[] = [
  ["major", 0.34],
  ["minor", 0.24],
  ["dorian", 0.12],
  ["mixolydian", 0.12],
  ["harmonic_minor", 0.1],
  ["lydian", 0.08],
];

/** One chord of a progression, in beats from the start of its section. */
export interface ChordEvent {
  /** Onset in beats from the section start. */
  beat: number;
  /** Length in beats. */
  beats: number;
  /** Scale degree of the root (0 = tonic .. 6). */
  degree: number;
  /** Root in semitones above the tonic (0..11). */
  rootSt: number;
  /** Chord tones in semitones above the root, e.g. `[0, 4, 7]` or `[0, 3, 7, 10]`. */
  tones: number[];
}

/** One note, in beats from the start of its section; `pitch` is in semitones from the work's tonic. */
export interface NoteEvent {
  /** Onset in beats from the section start. */
  beat: number;
  /** Length in beats. */
  beats: number;
  /** Semitones relative to {@linkcode Composition.tonicMidi} (the melody sits around 0..+19, the bass near -24). */
  pitch: number;
  /** Loudness in (0, 1]. */
  velocity: number;
}

/** A section (A, B, C) of a work: its harmony, melody and bass line. */
export interface CompositionSection {
  /** "A", "B" or "C". */
  label: string;
  /** Length in beats (a whole number of bars). */
  beats: number;
  /** The chord progression (4 to 8 chords). */
  chords: ChordEvent[];
  /** The melody, built from the work's motifs. */
  melody: NoteEvent[];
  /** The bass line. */
  bass: NoteEvent[];
}

/** A drum groove on a 16th-note grid: per step, the velocity of each drum (0 = silent). */
export interface DrumPattern {
  /** Pattern name, e.g. "rock". */
  name: string;
  /** Kick velocity per 16th-note step of one bar. */
  kick: number[];
  /** Snare velocity per step. */
  snare: number[];
  /** Hi-hat velocity per step. */
  hat: number[];
}

/** The ways a bass line can follow the chords. */
export type BassPatternName = "root" | "root_fifth" | "pulse8" | "walk" | "syncopated";

/** A composition: everything that all versions of a work share. */
export interface Composition {
  /** Index of the work in its data set. */
  index: number;
  /** Name, e.g. `work_003`. */
  name: string;
  /** Pitch class of the original key (0 = C). */
  tonicPc: number;
  /** MIDI note of the tonic that pitches are relative to (54..65). */
  tonicMidi: number;
  /** Mode of the work. */
  mode: ModeName;
  /** Scale of the mode, semitones above the tonic. */
  scale: readonly number[];
  /** Original tempo in beats per minute. */
  tempoBpm: number;
  /** 3 or 4. */
  beatsPerBar: number;
  /** Two or three sections, A first. */
  sections: CompositionSection[];
  /** Order of sections (indices into `sections`), e.g. `[0, 0, 1, 0]` for AABA. */
  form: number[];
  /** How the composed bass line moves. */
  bassPattern: BassPatternName;
  /** Chord comping onsets within a bar, in beats. */
  compRhythm: number[];
  /** The original groove. */
  drums: DrumPattern;
}

function pickWeighted<T>(prng: Prng, items: readonly (readonly [T, number])[]): T {
  let total = 0;
  for (const [, w] of items) total += w;
  let r = prng.next() * total;
  for (const [item, w] of items) {
    r -= w;
    if (r < 0) return item;
  }
  return items[items.length - 1]![0];
}

/** Semitones above the tonic of scale degree `d` (any integer; 7 is the octave). */
function degreeToSt(scale: readonly number[], d: number): number {
  const oct = Math.floor(d / 7);
  return oct * 12 + scale[d - oct * 7]!;
}

function mod12(x: number): number {
  return ((x % 12) + 12) % 12;
}

function buildChord(scale: readonly number[], degree: number, seventh: boolean): Omit<ChordEvent, "beat" | "beats"> {
  const root = degreeToSt(scale, degree);
  const tones = [0, 2, 4, ...(seventh ? [6] : [])].map((k) => degreeToSt(scale, degree + k) - root);
  return { degree, rootSt: mod12(root), tones };
}

/** Functional harmony as a Markov chain over scale degrees. */
const CHORD_MOVES: readonly (readonly (readonly [number, number])[])[] = [
  [[3, 3], [4, 3], [5, 2], [1, 1.5], [2, 0.5]], // I
  [[4, 4], [6, 1], [3, 1]], // ii
  [[5, 3], [3, 2]], // iii
  [[4, 3], [0, 2], [1, 1.5], [6, 0.5]], // IV
  [[0, 4], [5, 2], [3, 1]], // V
  [[1, 2], [3, 3], [4, 1.5], [2, 1]], // vi
  [[0, 3], [2, 1]], // vii
];

function composeProgression(
  prng: Prng,
  scale: readonly number[],
  opts: { start: number; resolve: boolean; seventhProb: number; secondaryProb: number; beatsPerBar: number },
): { chords: ChordEvent[]; beats: number } {
  const n = prng.int(4, 8);
  const degrees: number[] = [opts.start];
  for (let i = 1; i < n; i++) degrees.push(pickWeighted(prng, CHORD_MOVES[degrees[i - 1]!]!));
  // Cadence: section A closes on I (V-I); the others end on I or on a half cadence (V).
  const cadence = opts.resolve || prng.next() < 0.5 ? 0 : 4;
  degrees[n - 1] = cadence;
  if (cadence === 0 && n >= 3) degrees[n - 2] = 4;
  const base = degrees.map((d) => buildChord(scale, d, prng.next() < opts.seventhProb));
  // Secondary dominants: a chord may become the dominant seventh of the chord after it.
  for (let i = 1; i < n - 1; i++) {
    const next = base[i + 1]!;
    if (next.degree !== 0 && prng.next() < opts.secondaryProb) {
      base[i] = { degree: (next.degree + 4) % 7, rootSt: mod12(next.rootSt + 7), tones: [0, 4, 7, 10] };
    }
  }
  // Rhythm: one chord per bar; in 4/4 two neighbours may share a bar.
  const chords: ChordEvent[] = [];
  let beat = 0;
  for (let i = 0; i < n; i++) {
    const share = opts.beatsPerBar === 4 && i < n - 2 && prng.next() < 0.2;
    const len = share ? 2 : opts.beatsPerBar;
    chords.push({ ...base[i]!, beat, beats: len });
    beat += len;
    if (share) {
      i++;
      chords.push({ ...base[i]!, beat, beats: 2 });
      beat += 2;
    }
  }
  return { chords, beats: beat };
}

const RHYTHMS_4: readonly (readonly number[])[] = [
  [1, 1, 1, 1],
  [2, 1, 1],
  [1, 1, 2],
  [1.5, 0.5, 1, 1],
  [0.5, 0.5, 1, 2],
  [1, 0.5, 0.5, 1, 1],
  [3, 1],
  [0.5, 0.5, 0.5, 0.5, 2],
  [1.5, 0.5, 2],
  [-1, 1, 1, 1],
  [1, 1, -1, 1],
  [0.75, 0.25, 1, 0.5, 0.5, 1],
  [-0.5, 0.5, 1, 1, 1],
  [1, 0.5, 0.5, 0.5, 0.5, 1],
];
const RHYTHMS_3: readonly (readonly number[])[] = [
  [1, 1, 1],
  [2, 1],
  [1.5, 0.5, 1],
  [0.5, 0.5, 1, 1],
  [-1, 1, 1],
  [1, 0.5, 0.5, 1],
  [0.5, 0.5, 0.5, 0.5, 1],
];
const CADENCE_RHYTHMS_4: readonly (readonly number[])[] = [[4], [2, 2], [1, 1, 2], [3, -1]];
const CADENCE_RHYTHMS_3: readonly (readonly number[])[] = [[3], [2, 1], [1, 2]];

/** A melodic motif: a bar of rhythm (negative = rest) and the scale steps between its notes. */
interface Motif {
  rhythm: readonly number[];
  steps: number[];
}

function makeMotif(prng: Prng, beatsPerBar: number): Motif {
  const rhythm = prng.pick(beatsPerBar === 4 ? RHYTHMS_4 : RHYTHMS_3);
  const dir = prng.next() < 0.5 ? 1 : -1;
  const steps = rhythm.map(() => {
    const r = prng.next();
    if (r < 0.45) return dir;
    if (r < 0.65) return -dir;
    if (r < 0.8) return 2 * dir;
    if (r < 0.9) return 0;
    return -2 * dir;
  });
  return { rhythm, steps };
}

/** The scale with any chord tone that is a semitone off a scale note put in its place. */
function localScale(scale: readonly number[], chord: ChordEvent): number[] {
  const out = [...scale];
  for (const t of chord.tones) {
    const pc = mod12(chord.rootSt + t);
    if (out.includes(pc)) continue;
    for (let i = 0; i < 7; i++) {
      const dist = Math.min(mod12(pc - out[i]!), mod12(out[i]! - pc));
      if (dist === 1) {
        out[i] = pc;
        break;
      }
    }
  }
  return out;
}

function chordAt(chords: readonly ChordEvent[], beat: number): ChordEvent {
  for (let i = chords.length - 1; i >= 0; i--) if (chords[i]!.beat <= beat + 1e-9) return chords[i]!;
  return chords[0]!;
}

/** Nearest degree to `d` that is a chord tone (root, third or fifth) of a chord on `root`. */
function nearestChordDegree(d: number, root: number): number {
  let best = d;
  let bestDist = Infinity;
  for (let c = d - 3; c <= d + 3; c++) {
    const rel = (((c - root) % 7) + 7) % 7;
    if (rel !== 0 && rel !== 2 && rel !== 4) continue;
    const dist = Math.abs(c - d);
    if (dist < bestDist) {
      best = c;
      bestDist = dist;
    }
  }
  return best;
}

const PHRASES: readonly (readonly number[])[] = [
  [0, 0, 1, 2],
  [0, 1, 0, 2],
  [0, 1, 0, 1],
  [0, 0, 1, 1],
  [0, 1, 2, 1],
];

function composeMelody(
  prng: Prng,
  work: { scale: readonly number[]; beatsPerBar: number },
  chords: readonly ChordEvent[],
  sectionBeats: number,
  motifs: readonly Motif[],
  phrase: readonly number[],
): NoteEvent[] {
  const { scale, beatsPerBar } = work;
  const bars = sectionBeats / beatsPerBar;
  const notes: NoteEvent[] = [];
  let deg = prng.int(2, 6);
  const lo = -2;
  const hi = 11;
  for (let bar = 0; bar < bars; bar++) {
    const last = bar === bars - 1;
    const motif = motifs[phrase[bar % phrase.length]!]!;
    const rhythm = last ? prng.pick(beatsPerBar === 4 ? CADENCE_RHYTHMS_4 : CADENCE_RHYTHMS_3) : motif.rhythm;
    let pos = 0;
    let first = true;
    for (let k = 0; k < rhythm.length; k++) {
      const dur = rhythm[k]!;
      if (dur < 0) {
        pos -= dur;
        continue;
      }
      const beat = bar * beatsPerBar + pos;
      const chord = chordAt(chords, beat);
      const strong = pos === 0 || (beatsPerBar === 4 && pos === 2);
      if (first) {
        deg = nearestChordDegree(deg + (last ? 0 : prng.int(-1, 1)), chord.degree);
        first = false;
      } else {
        const step = motif.steps[k % motif.steps.length]!;
        let next = deg + step;
        if (next > hi || next < lo) next = deg - step;
        deg = strong ? nearestChordDegree(next, chord.degree) : next;
      }
      if (last && k === rhythm.length - 1) deg = nearestChordDegree(deg, 0);
      deg = Math.max(lo, Math.min(hi, deg));
      const local = localScale(scale, chord);
      notes.push({ beat, beats: dur, pitch: degreeToSt(local, deg), velocity: strong ? 0.9 : 0.72 });
      pos += dur;
    }
  }
  return notes;
}

/** Bass register: the chord root placed between 30 and 19 semitones below the tonic. */
function bassRoot(rootSt: number): number {
  return rootSt <= 5 ? rootSt - 24 : rootSt - 36;
}

/** A bass line over `chords` in the given pattern (semitones from the tonic); versions may re-voice it. */
function bassLine(chords: readonly ChordEvent[], pattern: BassPatternName): NoteEvent[] {
  const out: NoteEvent[] = [];
  const push = (beat: number, beats: number, pitch: number, velocity = 0.85) => {
    if (beats > 0) out.push({ beat, beats, pitch, velocity });
  };
  chords.forEach((c, i) => {
    const r = bassRoot(c.rootSt);
    const fifth = r + 7;
    const third = r + (c.tones[1] ?? 4);
    const D = c.beats;
    switch (pattern) {
      case "root":
        push(c.beat, D, r);
        break;
      case "root_fifth": {
        const h = D >= 4 ? D / 2 : Math.max(1, D - 1);
        push(c.beat, h, r);
        push(c.beat + h, D - h, fifth, 0.7);
        break;
      }
      case "pulse8":
        for (let b = 0; b < D; b += 0.5) push(c.beat + b, 0.45, b % 2 === 1 ? r + 12 : r, b % 1 === 0 ? 0.85 : 0.6);
        break;
      case "walk": {
        const next = chords[i + 1] ?? chords[0]!;
        const target = bassRoot(next.rootSt);
        const line = [r, third, fifth, target + (target > fifth ? -1 : 1)];
        for (let b = 0; b < D; b++) push(c.beat + b, 0.95, line[D - b === 1 ? 3 : b % 3]!, b === 0 ? 0.9 : 0.7);
        break;
      }
      case "syncopated":
        if (D >= 3) {
          push(c.beat, 1.5, r);
          push(c.beat + 1.5, 0.5, r + 12, 0.6);
          push(c.beat + 2, D - 2, D >= 4 ? fifth : r, 0.7);
        } else push(c.beat, D, r);
        break;
    }
  });
  return out;
}

const GROOVES_4: readonly DrumPattern[] = [
  {
    name: "rock",
    kick: steps16([0, 8, 10], [1, 0.9, 0.6]),
    snare: steps16([4, 12]),
    hat: steps16([0, 2, 4, 6, 8, 10, 12, 14], [0.8, 0.5]),
  },
  { name: "four", kick: steps16([0, 4, 8, 12]), snare: steps16([4, 12], [0.8]), hat: steps16([2, 6, 10, 14]) },
  { name: "halftime", kick: steps16([0, 6]), snare: steps16([8]), hat: steps16([0, 2, 4, 6, 8, 10, 12, 14], [0.6]) },
  {
    name: "funk",
    kick: steps16([0, 3, 8, 10], [1, 0.7, 0.9, 0.7]),
    snare: steps16([4, 7, 12, 15], [1, 0.3, 1, 0.3]),
    hat: steps16([...Array(16).keys()], [0.7, 0.35]),
  },
  {
    name: "shuffle",
    kick: steps16([0, 8]),
    snare: steps16([4, 12]),
    hat: steps16([0, 3, 4, 7, 8, 11, 12, 15], [0.8, 0.45]),
  },
];
const GROOVES_3: readonly DrumPattern[] = [
  { name: "waltz", kick: steps12([0]), snare: steps12([4, 8], [0.6]), hat: steps12([0, 2, 4, 6, 8, 10], [0.6, 0.4]) },
  { name: "waltz_rock", kick: steps12([0, 6], [1, 0.6]), snare: steps12([4, 8]), hat: steps12([0, 4, 8], [0.6]) },
];

/** A fresh copy of a groove, so that callers never share (and never mutate) the tables above. */
function copyGroove(g: DrumPattern): DrumPattern {
  return { name: g.name, kick: [...g.kick], snare: [...g.snare], hat: [...g.hat] };
}

function steps16(on: readonly number[], vel: readonly number[] = [1]): number[] {
  return stepsN(16, on, vel);
}
function steps12(on: readonly number[], vel: readonly number[] = [1]): number[] {
  return stepsN(12, on, vel);
}
function stepsN(n: number, on: readonly number[], vel: readonly number[]): number[] {
  const out = new Array<number>(n).fill(0);
  on.forEach((s, i) => (out[s] = vel[i % vel.length]!));
  return out;
}

const COMP_4: readonly (readonly number[])[] = [[0], [0, 2], [0, 1, 2, 3], [0, 1.5, 3], [0, 2.5], [0.5, 1.5, 2.5, 3.5]];
const COMP_3: readonly (readonly number[])[] = [[0], [0, 1, 2], [1, 2]];
const FORMS: Readonly<Record<number, readonly (readonly number[])[]>> = {
  2: [[0, 0, 1, 0], [0, 1, 0, 1], [0, 0, 1, 0, 1], [0, 1, 0, 0, 1], [0, 1, 1, 0]],
  3: [[0, 1, 0, 2, 0], [0, 0, 1, 2, 0], [0, 1, 2, 1, 0], [0, 1, 0, 2, 1], [0, 0, 1, 0, 2, 1]],
};
const BASS_PATTERNS: readonly BassPatternName[] = ["root", "root_fifth", "pulse8", "walk", "syncopated"];

/**
 * Composes one work. All randomness comes from `prng`, so the same generator state gives the same work.
 *
 * @param prng the generator to draw from (seed it per work for reproducible sets)
 * @param workIndex index of the work in its set; names it `work_<index, 3 digits>`
 * @returns the composition shared by all versions
 * @throws {RangeError} if `workIndex` is not a non-negative integer
 */
export function composeWork(prng: Prng, workIndex: number): Composition {
  if (!Number.isInteger(workIndex) || workIndex < 0) {
    throw new RangeError(
      `Cannot compose work as 'workIndex' must be a non-negative integer: current value is ${workIndex}`,
    );
  }
  const mode = pickWeighted(prng, MODE_WEIGHTS);
  const scale = SCALES[mode];
  const tonicPc = prng.int(0, 11);
  const tonicMidi = 60 + (tonicPc > 5 ? tonicPc - 12 : tonicPc);
  const beatsPerBar = prng.next() < 0.2 ? 3 : 4;
  const tempoBpm = prng.int(beatsPerBar === 3 ? 84 : 72, beatsPerBar === 3 ? 168 : 150);
  const seventhProb = prng.pick([0, 0.15, 0.4, 0.8]);
  const secondaryProb = prng.pick([0, 0.1, 0.25]);
  const bassPattern = prng.pick(BASS_PATTERNS);
  const motifs = [makeMotif(prng, beatsPerBar), makeMotif(prng, beatsPerBar), makeMotif(prng, beatsPerBar)];
  const nSections = prng.int(2, 3);
  const sections: CompositionSection[] = [];
  for (let s = 0; s < nSections; s++) {
    const start = s === 0 ? 0 : prng.pick([3, 5, 1, 3]);
    const { chords, beats } = composeProgression(prng, scale, {
      start,
      resolve: s === 0,
      seventhProb,
      secondaryProb,
      beatsPerBar,
    });
    // Later sections reuse one motif of A and bring their own, so they sound related but new.
    const own = s === 0 ? motifs : [motifs[prng.int(0, 2)]!, makeMotif(prng, beatsPerBar), motifs[2]!];
    const melody = composeMelody(prng, { scale, beatsPerBar }, chords, beats, own, prng.pick(PHRASES));
    sections.push({ label: "ABC"[s]!, beats, chords, melody, bass: bassLine(chords, bassPattern) });
  }
  return {
    index: workIndex,
    name: `work_${String(workIndex).padStart(3, "0")}`,
    tonicPc,
    tonicMidi,
    mode,
    scale,
    tempoBpm,
    beatsPerBar,
    sections,
    form: [...prng.pick(FORMS[nSections]!)],
    bassPattern,
    compRhythm: [...prng.pick(beatsPerBar === 4 ? COMP_4 : COMP_3)],
    drums: copyGroove(prng.pick(beatsPerBar === 4 ? GROOVES_4 : GROOVES_3)),
  };
}

// ---------------------------------------------------------------------------------------------------
// Version plans
// ---------------------------------------------------------------------------------------------------

/** The instruments a version can use. */
export type TimbreName =
  | "flute"
  | "clarinet"
  | "saw_lead"
  | "square_lead"
  | "strings"
  | "organ"
  | "saw_pad"
  | "epiano"
  | "brass"
  | "bell"
  | "pluck"
  | "pluck_bass"
  | "saw_bass"
  | "sine_bass"
  | "fm_bass"
  | "square_bass";

const MELODY_TIMBRES: readonly TimbreName[] = [
  "flute",
  "clarinet",
  "saw_lead",
  "square_lead",
  "strings",
  "organ",
  "epiano",
  "brass",
  "bell",
  "pluck",
];
const CHORD_TIMBRES: readonly TimbreName[] = ["organ", "strings", "saw_pad", "epiano", "pluck", "clarinet", "bell"];
const BASS_TIMBRES: readonly TimbreName[] = ["pluck_bass", "saw_bass", "sine_bass", "fm_bass", "square_bass"];

/** How a version plays the chords. */
export type ChordStyle = "block" | "pad" | "pulse" | "arpeggio" | "strum";
const CHORD_STYLES: readonly ChordStyle[] = ["block", "pad", "pulse", "arpeggio", "strum"];

/** One entry of a version's form: a section, with or without its melody (an intro or a break). */
export interface FormEntry {
  /** Index into {@linkcode Composition.sections}. */
  section: number;
  /** Whether the melody plays in this pass. */
  melody: boolean;
}

/** Every choice that makes a version: drawn by {@linkcode planVersion}, rendered by {@linkcode renderPlan}. */
export interface VersionPlan {
  /** Version index; 0 is the "original". */
  versionIndex: number;
  /** Transposition in semitones (-5..+6). */
  transposeSt: number;
  /** Tuning offset in cents. */
  tuningCents: number;
  /** Tempo relative to the work's (0.8..1.2). */
  tempoFactor: number;
  /** Instrument of the melody. */
  melodyTimbre: TimbreName;
  /** Instrument doubling the melody an octave up, if any. */
  doublingTimbre: TimbreName | null;
  /** Instrument of the chords. */
  chordTimbre: TimbreName;
  /** Instrument of the bass. */
  bassTimbre: TimbreName;
  /** How chords are played. */
  chordStyle: ChordStyle;
  /** Step of arpeggios in beats. */
  arpStepBeats: number;
  /** Comping onsets within a bar, in beats. */
  compRhythm: number[];
  /** Whether 7ths are added to triads. */
  addSevenths: boolean;
  /** Bass pattern of this version. */
  bassPattern: BassPatternName;
  /** Octave shifts (semitones, multiples of 12) of melody, chords and bass. */
  melodyShiftSt: number;
  /** Octave shift of the chord voicing centre. */
  chordShiftSt: number;
  /** Octave shift of the bass. */
  bassShiftSt: number;
  /** Chance that a melody note gets a grace note or a passing note. */
  ornamentRate: number;
  /** Swing: delay of off-beat eighths, in beats (0 = straight). */
  swingBeats: number;
  /** Timing jitter in seconds (standard deviation). */
  jitterS: number;
  /** Drum groove, or null for no drums. */
  drums: DrumPattern | null;
  /** Section order of this version, repeated until it covers the excerpt. */
  form: FormEntry[];
  /** Start of the excerpt in seconds from the start of the performance. */
  startS: number;
  /** Levels in dB of melody, chords, bass, drums. */
  gainsDb: { melody: number; chords: number; bass: number; drums: number };
  /** Reverb wet level (0..1) and room size (0.6..1.4). */
  reverb: { wet: number; size: number };
  /** EQ tilt in dB (negative = darker) and a low-pass corner in Hz. */
  eq: { tiltDb: number; lowpassHz: number };
  /** Signal-to-noise ratio of added noise, in dB. */
  snrDb: number;
  /** Seed of the render-time randomness (noise, drum sounds, plucks, humanising). */
  renderSeed: number;
  /**
   * One-line human description, e.g. `v1: +3 st, 0.88x tempo, pluck+organ, fm_bass, arpeggio chords, rock drums,
   * form aABAB from 12.3 s, snr 21 dB` (melody instrument, `&` its octave double, `+` the chord instrument; in the
   * form, a lower-case letter is a pass of that section without melody).
   */
  description: string;
}

/** Options of {@linkcode planVersion}. */
export interface PlanVersionOptions {
  /** Length of the excerpt in seconds. */
  seconds: number;
}

/** Options of {@linkcode renderVersion} and {@linkcode renderPlan}. */
export interface RenderVersionOptions {
  /** Length of the output in seconds. */
  seconds: number;
  /** Output sampling rate. @default 16000 */
  sampleRateHz?: number;
}

function formLabel(work: Composition, form: readonly FormEntry[]): string {
  return form.map((e) => (e.melody ? work.sections[e.section]!.label : work.sections[e.section]!.label.toLowerCase()))
    .join("");
}

function varyForm(prng: Prng, work: Composition): FormEntry[] {
  let form = [...work.form];
  const r = prng.next();
  if (r < 0.25) {
    // Drop the first repeated section.
    const i = form.findIndex((s, k) => form.indexOf(s) !== k);
    if (i > 0) form.splice(i, 1);
  } else if (r < 0.45) {
    // Start from the second section (rotate).
    form = [...form.slice(1), form[0]!];
  } else if (r < 0.65) {
    form.push(form[0]!);
  } else if (r < 0.8) {
    form = [...prng.pick(FORMS[work.sections.length]!)];
  }
  const entries = form.map((section) => ({ section, melody: true }));
  // Instrumental intro, or a melody-less break.
  if (prng.next() < 0.3) entries.unshift({ section: 0, melody: false });
  if (prng.next() < 0.2 && entries.length > 3) entries[prng.int(2, entries.length - 1)]!.melody = false;
  return entries;
}

function octaveShift(prng: Prng, mean: number, lo: number, hi: number): number {
  const ok = [-24, -12, 0, 12, 24].filter((s) => mean + s >= lo && mean + s <= hi);
  // The windows passed in are at least an octave wide, so `ok` is never empty; 0 is a safe fallback.
  return ok.length > 0 ? prng.pick(ok) : 0;
}

function meanPitch(work: Composition, pick: (s: CompositionSection) => NoteEvent[]): number {
  let sum = 0;
  let n = 0;
  for (const s of work.sections) {
    for (const note of pick(s)) {
      sum += note.pitch;
      n++;
    }
  }
  return n > 0 ? sum / n : 0;
}

function signed(x: number): string {
  return x >= 0 ? `+${x}` : `${x}`;
}

/**
 * Draws every choice of one version of `work`. Version 0 is the "original": original key and tempo, the
 * work's form and groove, the excerpt from the start and little noise. Other versions change key, tempo,
 * instruments, arrangement, form, excerpt, room and noise.
 *
 * @param work the composition
 * @param prng the generator to draw from (seed it per version)
 * @param versionIndex 0 for the original
 * @param options the excerpt length
 * @returns the plan, with a one-line description
 * @throws {RangeError} if `versionIndex` is not a non-negative integer or `seconds` is not positive
 */
export function planVersion(
  work: Composition,
  prng: Prng,
  versionIndex: number,
  options: PlanVersionOptions,
): VersionPlan {
  const { seconds } = options;
  if (!Number.isInteger(versionIndex) || versionIndex < 0) {
    throw new RangeError(
      `Cannot plan version as 'versionIndex' must be a non-negative integer: current value is ${versionIndex}`,
    );
  }
  if (!(seconds > 0) || !Number.isFinite(seconds)) {
    throw new RangeError(`Cannot plan version as 'seconds' must be a positive number: current value is ${seconds}`);
  }
  const original = versionIndex === 0;
  let transposeSt = 0;
  if (!original) {
    while (transposeSt === 0) transposeSt = prng.int(-5, 6);
  }
  const tuningCents = original ? 0 : Math.round(prng.normal() * 8);
  const tempoFactor = original ? 1 : Math.round((0.8 + 0.4 * prng.next()) * 100) / 100;
  const melodyTimbre = prng.pick(MELODY_TIMBRES);
  const chordTimbre = prng.pick(CHORD_TIMBRES.filter((t) => t !== melodyTimbre));
  const bassTimbre = prng.pick(BASS_TIMBRES);
  const doublingTimbre = prng.next() < (original ? 0.15 : 0.3) ? prng.pick(MELODY_TIMBRES) : null;
  const chordStyle = prng.pick(CHORD_STYLES);
  const arpStepBeats = work.tempoBpm * tempoFactor > 115 ? 0.5 : prng.pick([0.5, 0.25]);
  const compRhythm = original || prng.next() < 0.4
    ? [...work.compRhythm]
    : [...prng.pick(work.beatsPerBar === 4 ? COMP_4 : COMP_3)];
  const addSevenths = prng.next() < (original ? 0.1 : 0.35);
  const bassPattern = original || prng.next() < 0.5 ? work.bassPattern : prng.pick(BASS_PATTERNS);
  const tonic = work.tonicMidi + transposeSt;
  const melodyShiftSt = octaveShift(prng, tonic + meanPitch(work, (s) => s.melody), 62, 80);
  const chordShiftSt = octaveShift(prng, tonic, 52, 68);
  const bassShiftSt = octaveShift(prng, tonic + meanPitch(work, (s) => s.bass), 31, 46);
  const ornamentRate = original ? 0.03 : prng.pick([0, 0.08, 0.2, 0.35]);
  const swingBeats = prng.next() < (original ? 0.1 : 0.25) ? prng.pick([0.08, 0.12, 0.17]) : 0;
  const jitterS = original ? 0.004 : 0.004 + 0.012 * prng.next();
  const drumsOn = prng.next() < (original ? 0.75 : 0.6);
  const grooves = work.beatsPerBar === 4 ? GROOVES_4 : GROOVES_3;
  const drums = drumsOn ? copyGroove(original || prng.next() < 0.5 ? work.drums : prng.pick(grooves)) : null;
  const form = original ? work.form.map((section) => ({ section, melody: true })) : varyForm(prng, work);
  // Repeat the form until it covers the excerpt, with room for a late start.
  const secPerBeat = 60 / (work.tempoBpm * tempoFactor);
  const formS = form.reduce((t, e) => t + work.sections[e.section]!.beats * secPerBeat, 0);
  const needS = original ? seconds + 1 : seconds * 1.4 + 2;
  const copies = Math.max(1, Math.ceil(needS / formS));
  const fullForm: FormEntry[] = [];
  for (let c = 0; c < copies; c++) fullForm.push(...form.map((e) => ({ ...e })));
  const totalS = formS * copies;
  const startS = original ? 0 : Math.round(prng.next() * Math.max(0, totalS - seconds - 1) * 100) / 100;
  const db = (spread: number) => Math.round(prng.normal() * spread * 10) / 10;
  const gainsDb = { melody: db(1.5), chords: db(2.5) - 3, bass: db(2) - 2, drums: db(2.5) - 4 };
  const reverb = {
    wet: original ? 0.12 : Math.round(prng.next() * 40) / 100,
    size: Math.round((0.6 + 0.8 * prng.next()) * 100) / 100,
  };
  const eq = {
    tiltDb: original ? 0 : Math.round((prng.next() * 12 - 6) * 10) / 10,
    lowpassHz: original || prng.next() < 0.6 ? 7600 : prng.int(2500, 6000),
  };
  const snrDb = original ? 40 : Math.round(10 + prng.next() * 28);
  const renderSeed = Math.floor(prng.next() * 0x100000000);
  const timbres = `${melodyTimbre}${doublingTimbre ? `&${doublingTimbre}` : ""}+${chordTimbre}`;
  const description = `v${versionIndex}${original ? " (original)" : ""}: ${signed(transposeSt)} st, ` +
    `${tempoFactor.toFixed(2)}x tempo, ${timbres}, ${bassTimbre}, ${chordStyle} chords, ` +
    `${drums ? `${drums.name} drums` : "no drums"}, form ${formLabel(work, form)} from ${startS.toFixed(1)} s, ` +
    `snr ${snrDb} dB`;
  return {
    versionIndex,
    transposeSt,
    tuningCents,
    tempoFactor,
    melodyTimbre,
    doublingTimbre,
    chordTimbre,
    bassTimbre,
    chordStyle,
    arpStepBeats,
    compRhythm,
    addSevenths,
    bassPattern,
    melodyShiftSt,
    chordShiftSt,
    bassShiftSt,
    ornamentRate,
    swingBeats,
    jitterS,
    drums,
    form: fullForm,
    startS,
    gainsDb,
    reverb,
    eq,
    snrDb,
    renderSeed,
    description,
  };
}

// ---------------------------------------------------------------------------------------------------
// Instruments
// ---------------------------------------------------------------------------------------------------

interface TimbreSpec {
  kind: "table" | "fm" | "pluck";
  /** Table: amplitude of harmonic h at index h-1. */
  partials: readonly number[];
  attackS: number;
  decayS: number;
  sustain: number;
  releaseS: number;
  /** FM: modulator/carrier frequency ratio, peak index, and the index envelope. */
  fmRatio: number;
  fmIndex: number;
  fmIndexDecayS: number;
  fmIndexSustain: number;
  /** Pluck: 60 dB decay time and brightness of the excitation (0..1). */
  pluckT60S: number;
  pluckBrightness: number;
  /** Vibrato depth in cents (melody only). */
  vibratoCents: number;
  gain: number;
}

function timbre(spec: Partial<TimbreSpec>): TimbreSpec {
  return {
    kind: "table",
    partials: [1],
    attackS: 0.01,
    decayS: 0.3,
    sustain: 0.7,
    releaseS: 0.08,
    fmRatio: 1,
    fmIndex: 0,
    fmIndexDecayS: 0.3,
    fmIndexSustain: 1,
    pluckT60S: 1.5,
    pluckBrightness: 0.6,
    vibratoCents: 0,
    gain: 1,
    ...spec,
  };
}

function harmonics(n: number, amp: (h: number) => number): number[] {
  return Array.from({ length: n }, (_, i) => amp(i + 1));
}

const TIMBRES: Readonly<Record<TimbreName, TimbreSpec>> = {
  flute: timbre({
    partials: [1, 0.3, 0.12, 0.05, 0.02],
    attackS: 0.06,
    sustain: 0.85,
    releaseS: 0.1,
    vibratoCents: 12,
  }),
  clarinet: timbre({
    partials: harmonics(25, (h) => (h % 2 === 1 ? 1 / h : 0.06 / h)),
    attackS: 0.03,
    sustain: 0.8,
    vibratoCents: 5,
  }),
  saw_lead: timbre({ partials: harmonics(48, (h) => 1 / h), decayS: 0.5, sustain: 0.6, vibratoCents: 8, gain: 0.8 }),
  square_lead: timbre({ partials: harmonics(48, (h) => (h % 2 === 1 ? 1 / h : 0)), sustain: 0.6, gain: 0.8 }),
  strings: timbre({
    partials: harmonics(32, (h) => Math.pow(h, -1.3) * (h >= 3 && h <= 6 ? 1.5 : 1)),
    attackS: 0.12,
    sustain: 0.9,
    releaseS: 0.3,
    vibratoCents: 10,
  }),
  organ: timbre({
    partials: [1, 0.8, 0.6, 0.5, 0, 0.3, 0, 0.25, 0, 0.1, 0, 0.1],
    attackS: 0.008,
    sustain: 1,
    releaseS: 0.05,
    gain: 0.8,
  }),
  saw_pad: timbre({
    partials: harmonics(32, (h) => Math.pow(h, -1.6)),
    attackS: 0.25,
    sustain: 0.9,
    releaseS: 0.4,
    gain: 0.9,
  }),
  epiano: timbre({
    kind: "fm",
    attackS: 0.003,
    decayS: 1.2,
    sustain: 0.15,
    releaseS: 0.15,
    fmIndex: 1.8,
    fmIndexDecayS: 0.35,
    fmIndexSustain: 0.15,
  }),
  brass: timbre({
    kind: "fm",
    attackS: 0.06,
    decayS: 0.4,
    sustain: 0.75,
    releaseS: 0.1,
    fmIndex: 2.6,
    fmIndexDecayS: 0.15,
    fmIndexSustain: 0.55,
    vibratoCents: 6,
  }),
  bell: timbre({
    kind: "fm",
    attackS: 0.002,
    decayS: 0.9,
    sustain: 0.05,
    releaseS: 0.4,
    fmRatio: 2,
    fmIndex: 2.2,
    fmIndexDecayS: 0.6,
    fmIndexSustain: 0.3,
  }),
  pluck: timbre({ kind: "pluck", pluckT60S: 1.6, pluckBrightness: 0.65, releaseS: 0.12, gain: 1.3 }),
  pluck_bass: timbre({ kind: "pluck", pluckT60S: 2.5, pluckBrightness: 0.35, releaseS: 0.1, gain: 1.5 }),
  saw_bass: timbre({ partials: harmonics(40, (h) => Math.pow(h, -1.7)), decayS: 0.4, sustain: 0.55, gain: 1 }),
  sine_bass: timbre({ partials: [1, 0.2, 0.08], decayS: 0.5, sustain: 0.8, gain: 1.1 }),
  fm_bass: timbre({
    kind: "fm",
    decayS: 0.5,
    sustain: 0.6,
    fmIndex: 1.5,
    fmIndexDecayS: 0.12,
    fmIndexSustain: 0.3,
    gain: 0.9,
  }),
  square_bass: timbre({ partials: harmonics(30, (h) => (h % 2 === 1 ? Math.pow(h, -1.3) : 0)), sustain: 0.7 }),
};

const TABLE_SIZE = 2048;

/** Wavetables of one render: a sine, and band-limited tables per (timbre, harmonic count). */
interface Tables {
  sine: Float32Array;
  cache: Map<string, Float32Array>;
  maxPartialHz: number;
}

function createTables(sampleRateHz: number): Tables {
  const sine = new Float32Array(TABLE_SIZE + 1);
  for (let i = 0; i <= TABLE_SIZE; i++) sine[i] = Math.sin((2 * Math.PI * i) / TABLE_SIZE);
  return { sine, cache: new Map(), maxPartialHz: Math.min(7600, 0.475 * sampleRateHz) };
}

/** A one-cycle table of `spec` with only the harmonics that stay below the partial limit at `f0`. */
function tableFor(tables: Tables, name: TimbreName, spec: TimbreSpec, f0: number): Float32Array {
  const n = Math.max(1, Math.min(spec.partials.length, Math.floor(tables.maxPartialHz / f0)));
  const key = `${name}:${n}`;
  const hit = tables.cache.get(key);
  if (hit) return hit;
  const t = new Float32Array(TABLE_SIZE + 1);
  let power = 0;
  for (let h = 1; h <= n; h++) {
    const a = spec.partials[h - 1]!;
    if (a === 0) continue;
    power += a * a;
    for (let i = 0, k = 0; i < TABLE_SIZE; i++, k = (k + h) & (TABLE_SIZE - 1)) t[i] = t[i]! + a * tables.sine[k]!;
  }
  const scale = 0.5 / Math.sqrt(Math.max(power, 1e-12)); // equal loudness whatever the harmonic count
  for (let i = 0; i < TABLE_SIZE; i++) t[i] = t[i]! * scale;
  t[TABLE_SIZE] = t[0]!;
  tables.cache.set(key, t);
  return t;
}

/** A note ready to render: times in seconds relative to the render buffer, pitch as a MIDI number. */
interface PlayNote {
  t: number;
  d: number;
  midi: number;
  vel: number;
}

function midiToHz(m: number): number {
  return 440 * Math.pow(2, (m - 69) / 12);
}

/** Renders `notes` with one instrument into `out` (added). */
function renderNotes(
  out: Float32Array,
  notes: readonly PlayNote[],
  name: TimbreName,
  gain: number,
  ctx: { sr: number; tables: Tables; prng: Prng; vibrato: boolean },
): void {
  const spec = TIMBRES[name];
  const { sr, tables } = ctx;
  for (const note of notes) {
    const f0 = midiToHz(note.midi);
    if (f0 >= tables.maxPartialHz) continue;
    const i0 = Math.round(note.t * sr);
    const nOn = Math.max(1, Math.round(note.d * sr));
    const nTotal = nOn + Math.ceil(spec.releaseS * sr * 5); // release down to -43 dB
    if (i0 >= out.length || i0 + nTotal <= 0) continue;
    const amp = gain * spec.gain * note.vel;
    if (spec.kind === "table") {
      const vib = ctx.vibrato ? spec.vibratoCents : 0;
      renderTableNote(out, i0, nOn, nTotal, tableFor(tables, name, spec, f0), f0, amp, spec, vib, sr);
    } else if (spec.kind === "fm") {
      renderFmNote(out, i0, nOn, nTotal, tables, f0, amp, spec, ctx.vibrato ? spec.vibratoCents : 0, sr);
    } else {
      renderPluckNote(out, i0, nOn, nTotal, f0, amp, spec, ctx.prng, sr);
    }
  }
}

/** Phases are 32-bit fixed point: the top 11 bits index the 2048-entry table, the low 21 bits interpolate. */
const FRAC_BITS = 21;
const FRAC_MASK = (1 << FRAC_BITS) - 1;
const PHASE_ONE = 1 << FRAC_BITS;
const INV_PHASE_ONE = 1 / PHASE_ONE;

/** One envelope segment over samples [j0, j1) of a note: e(j0) = e0, then e <- e * m + c per sample. */
type EnvSegment = readonly [j0: number, j1: number, e0: number, m: number, c: number];

/** `n` steps of the affine recurrence e <- e * m + c, in closed form. */
function affineAdvance(e: number, m: number, c: number, n: number): number {
  if (n <= 0) return e;
  if (m === 1) return e + n * c;
  const mn = Math.pow(m, n);
  return mn * e + (c * (1 - mn)) / (1 - m);
}

/**
 * The ADSR envelope of a note as three affine segments: a linear attack to 1, an exponential decay
 * towards the sustain level while the key is held, and an exponential release after `nOn`.
 */
function envelopeSegments(nOn: number, nTotal: number, spec: TimbreSpec, sr: number): EnvSegment[] {
  const attackN = Math.max(1, Math.round(spec.attackS * sr));
  const kd = Math.exp(-1 / (spec.decayS * sr));
  const kr = Math.exp(-1 / (spec.releaseS * sr));
  const sus = spec.sustain;
  const segs: EnvSegment[] = [];
  const aEnd = Math.min(attackN, nOn);
  segs.push([0, aEnd, 1 / attackN, 1, 1 / attackN]);
  let eOff = aEnd / attackN;
  if (nOn > attackN) {
    const e0 = sus + (1 - sus) * kd;
    segs.push([attackN, nOn, e0, kd, sus * (1 - kd)]);
    eOff = affineAdvance(e0, kd, sus * (1 - kd), nOn - 1 - attackN);
  }
  segs.push([nOn, nTotal, eOff * kr, kr, 0]);
  return segs;
}

/** Samples of a note that land in the buffer: [jStart, jEnd). */
function writableRange(out: Float32Array, i0: number, nTotal: number): [number, number] {
  return [Math.max(0, -i0), Math.min(nTotal, out.length - i0)];
}

function renderTableNote(
  out: Float32Array,
  i0: number,
  nOn: number,
  nTotal: number,
  table: Float32Array,
  f0: number,
  amp: number,
  spec: TimbreSpec,
  vibratoCents: number,
  sr: number,
): void {
  const inc = (f0 * TABLE_SIZE) / sr;
  const vibDepth = Math.pow(2, vibratoCents / 1200) - 1;
  const lfoInc = (2 * Math.PI * 5.2) / sr;
  const [jStart, jEnd] = writableRange(out, i0, nTotal);
  let p = Math.floor(((inc * jStart) % TABLE_SIZE) * PHASE_ONE) >>> 0;
  for (const [a, b, e0, m, c] of envelopeSegments(nOn, nTotal, spec, sr)) {
    const s = Math.max(a, jStart);
    const t = Math.min(b, jEnd);
    if (s >= t) continue;
    let e = amp * affineAdvance(e0, m, c, s - a);
    const ca = amp * c;
    for (let j = s; j < t;) {
      // Vibrato changes the phase step once per 32 samples; without vibrato the block is the segment.
      const blockEnd = vibDepth === 0 ? t : Math.min(t, j + 32);
      const step = vibDepth === 0 ? inc : inc * (1 + vibDepth * Math.sin(j * lfoInc));
      const dp = Math.round(step * PHASE_ONE) >>> 0;
      for (let k = i0 + j, kEnd = i0 + blockEnd; k < kEnd; k++) {
        const ip = p >>> FRAC_BITS;
        const v0 = table[ip]!;
        out[k] = out[k]! + e * (v0 + (p & FRAC_MASK) * INV_PHASE_ONE * (table[ip + 1]! - v0));
        e = e * m + ca;
        p = (p + dp) >>> 0;
      }
      j = blockEnd;
    }
  }
}

function renderFmNote(
  out: Float32Array,
  i0: number,
  nOn: number,
  nTotal: number,
  tables: Tables,
  f0: number,
  amp: number,
  spec: TimbreSpec,
  vibratoCents: number,
  sr: number,
): void {
  const sine = tables.sine;
  // Sidebands beyond about (index + 2) * fm stay negligible: cap the index so they stay below the limit.
  const fm = f0 * spec.fmRatio;
  const maxIndex = Math.max(0, tables.maxPartialHz / fm - 2);
  const index0 = Math.min(spec.fmIndex, maxIndex) * (TABLE_SIZE / (2 * Math.PI)); // radians -> table units
  // Index envelope: x = index0 * (isus + (1 - isus) * ki^(j+1)), as an affine recurrence.
  const ki = Math.exp(-1 / (spec.fmIndexDecayS * sr));
  const isus = spec.fmIndexSustain;
  const cx = index0 * isus * (1 - ki);
  const inc = (f0 * TABLE_SIZE) / sr;
  const vibDepth = Math.pow(2, vibratoCents / 1200) - 1;
  const lfoInc = (2 * Math.PI * 5.2) / sr;
  const [jStart, jEnd] = writableRange(out, i0, nTotal);
  let cp = Math.floor(((inc * jStart) % TABLE_SIZE) * PHASE_ONE) >>> 0;
  let mp = Math.floor(((inc * spec.fmRatio * jStart) % TABLE_SIZE) * PHASE_ONE) >>> 0;
  const offset = 16 * TABLE_SIZE; // keeps the modulated phase positive (|index| < 16 tables), so `| 0` floors
  for (const [a, b, e0, m, c] of envelopeSegments(nOn, nTotal, spec, sr)) {
    const s = Math.max(a, jStart);
    const t = Math.min(b, jEnd);
    if (s >= t) continue;
    let e = 0.7 * amp * affineAdvance(e0, m, c, s - a);
    const ca = 0.7 * amp * c;
    let x = affineAdvance(index0 * (isus + (1 - isus) * ki), ki, cx, s);
    for (let j = s; j < t;) {
      const blockEnd = vibDepth === 0 ? t : Math.min(t, j + 32);
      const step = vibDepth === 0 ? inc : inc * (1 + vibDepth * Math.sin(j * lfoInc));
      const dc = Math.round(step * PHASE_ONE) >>> 0;
      const dm = Math.round(step * spec.fmRatio * PHASE_ONE) >>> 0;
      for (let k = i0 + j, kEnd = i0 + blockEnd; k < kEnd; k++) {
        const mi = mp >>> FRAC_BITS;
        const ma = sine[mi]!;
        const mod = ma + (mp & FRAC_MASK) * INV_PHASE_ONE * (sine[mi + 1]! - ma);
        const pos = cp * INV_PHASE_ONE + x * mod + offset;
        const pInt = pos | 0;
        const pi = pInt & (TABLE_SIZE - 1);
        const v0 = sine[pi]!;
        out[k] = out[k]! + e * (v0 + (pos - pInt) * (sine[pi + 1]! - v0));
        e = e * m + ca;
        x = x * ki + cx;
        cp = (cp + dc) >>> 0;
        mp = (mp + dm) >>> 0;
      }
      j = blockEnd;
    }
  }
}

/** Karplus-Strong string with a first-order allpass for the fractional part of the period. */
function renderPluckNote(
  out: Float32Array,
  i0: number,
  nOn: number,
  nTotal: number,
  f0: number,
  amp: number,
  spec: TimbreSpec,
  prng: Prng,
  sr: number,
): void {
  const period = sr / f0;
  // Loop filter (1 - S) + S z^-1. S = 0.5 (the classic two-point average) damps high notes within a few
  // periods, so S shrinks for them until the filter alone gives the wanted T60 (Jaffe & Smith's decay
  // stretching); for low notes the extra loss factor g makes up the rest.
  const lossPerPeriod = 6.91 / (spec.pluckT60S * f0); // nepers per period for -60 dB after T60
  const oneMinusCos = 1 - Math.cos((2 * Math.PI * f0) / sr);
  const sq = lossPerPeriod / oneMinusCos; // S (1 - S) needed, approximately
  const stretch = sq >= 0.25 ? 0.5 : 0.5 - Math.sqrt(0.25 - sq);
  const filterLoss = stretch * (1 - stretch) * oneMinusCos;
  // At least a third of the loss is frequency-independent, so nothing (DC included) rings forever.
  const g = Math.exp(-Math.max(lossPerPeriod / 3, lossPerPeriod - filterLoss));
  // Loop delay = N (line) + S (loop filter) + frac (first-order allpass).
  let n = Math.floor(period - stretch);
  let frac = period - stretch - n;
  if (frac < 0.1) {
    n -= 1;
    frac += 1;
  }
  const c = (1 - frac) / (1 + frac);
  const len = n + 1;
  const line = new Float32Array(len);
  // Excitation: noise through a one-pole low-pass (brightness = how much high end it keeps).
  const b = spec.pluckBrightness;
  let lp = 0;
  let mean = 0;
  for (let i = 0; i < len; i++) {
    lp += b * (prng.next() * 2 - 1 - lp);
    line[i] = lp;
    mean += lp;
  }
  mean /= len;
  let peak = 1e-9;
  for (let i = 0; i < len; i++) {
    line[i] = line[i]! - mean;
    peak = Math.max(peak, Math.abs(line[i]!));
  }
  const norm = 0.6 / peak;
  const kr = Math.exp(-1 / (spec.releaseS * sr));
  // The string is silent (-70 dB) after about 1.2 T60: stop there even if the key is still held.
  const end = Math.min(nTotal, out.length - i0, Math.ceil(1.2 * spec.pluckT60S * sr));
  let w = 0;
  let apIn = 0;
  let apOut = 0;
  let rel = 1;
  let hp = 0;
  let hpIn = 0;
  for (let j = 0; j < end; j++) {
    const w1 = w + 1 === len ? 0 : w + 1;
    const avg = (1 - stretch) * line[w1]! + stretch * line[w]!;
    const y = c * avg + apIn - c * apOut;
    apIn = avg;
    apOut = y;
    const v = g * y;
    line[w] = v;
    w = w1;
    if (j >= nOn) rel *= kr;
    hp = v - hpIn + 0.995 * hp; // DC blocker on the output
    hpIn = v;
    const k = i0 + j;
    if (k >= 0) out[k] = out[k]! + amp * norm * rel * hp;
  }
}

// ---------------------------------------------------------------------------------------------------
// Drums and effects
// ---------------------------------------------------------------------------------------------------

interface DrumKit {
  kick: Float32Array;
  snare: Float32Array;
  hat: Float32Array;
}

function makeDrumKit(prng: Prng, sr: number): DrumKit {
  const kickHz = 45 + 15 * prng.next();
  const kickDecay = 0.09 + 0.08 * prng.next();
  const kick = new Float32Array(Math.round(0.45 * sr));
  let ph = 0;
  for (let i = 0; i < kick.length; i++) {
    const t = i / sr;
    ph += (2 * Math.PI * (kickHz + 110 * Math.exp(-t / 0.03))) / sr;
    kick[i] = Math.sin(ph) * Math.exp(-t / kickDecay) * Math.min(1, i / 16);
  }
  const snareHz = 170 + 60 * prng.next();
  const snareDecay = 0.05 + 0.07 * prng.next();
  const snare = new Float32Array(Math.round(0.3 * sr));
  let prev = 0;
  for (let i = 0; i < snare.length; i++) {
    const t = i / sr;
    const nz = prng.next() * 2 - 1;
    const hp = nz - prev; // first difference: a gentle high-pass on the noise
    prev = nz;
    snare[i] = 0.5 * hp * Math.exp(-t / snareDecay) + 0.5 * Math.sin(2 * Math.PI * snareHz * t) * Math.exp(-t / 0.04);
  }
  const hatDecay = 0.015 + 0.03 * prng.next();
  const hat = new Float32Array(Math.round(0.2 * sr));
  let p1 = 0;
  let p2 = 0;
  for (let i = 0; i < hat.length; i++) {
    const nz = prng.next() * 2 - 1;
    const d1 = nz - p1;
    const d2 = d1 - p2; // second difference: a steeper high-pass
    p1 = nz;
    p2 = d1;
    hat[i] = 0.3 * d2 * Math.exp(-i / sr / hatDecay);
  }
  return { kick, snare, hat };
}

function addHit(out: Float32Array, sound: Float32Array, at: number, gain: number): void {
  const start = Math.max(0, -at);
  const end = Math.min(sound.length, out.length - at);
  for (let j = start; j < end; j++) out[at + j] = out[at + j]! + gain * sound[j]!;
}

/** Tilts the spectrum around ~700 Hz by `tiltDb` and applies a two-pole low-pass at `lowpassHz` (in place). */
function applyEq(x: Float32Array, tiltDb: number, lowpassHz: number, sr: number): void {
  const a = 1 - Math.exp((-2 * Math.PI * 700) / sr);
  const gl = Math.pow(10, -tiltDb / 40);
  const gh = Math.pow(10, tiltDb / 40);
  const b = 1 - Math.exp((-2 * Math.PI * lowpassHz) / sr);
  const useLp = lowpassHz < 0.45 * sr;
  let low = 0;
  let l1 = 0;
  let l2 = 0;
  for (let i = 0; i < x.length; i++) {
    const v = x[i]!;
    low += a * (v - low);
    let y = gl * low + gh * (v - low);
    if (useLp) {
      l1 += b * (y - l1);
      l2 += b * (l1 - l2);
      y = l2;
    }
    x[i] = y;
  }
}

/** Schroeder reverb: four damped feedback combs in parallel, then two allpasses in series; mixed in place. */
function applyReverb(x: Float32Array, wet: number, size: number, sr: number): void {
  if (wet <= 0) return;
  const scale = (sr / 44100) * size;
  const line = (delay: number) => new Float32Array(Math.max(1, Math.round(delay * scale)));
  const fb = 0.72 + 0.1 * Math.min(1, size - 0.6);
  const damp = 0.3;
  const c0 = line(1116), c1 = line(1188), c2 = line(1277), c3 = line(1356);
  const a0 = line(556), a1 = line(441);
  let p0 = 0, p1 = 0, p2 = 0, p3 = 0, q0 = 0, q1 = 0;
  let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  for (let i = 0; i < x.length; i++) {
    const dry = x[i]!;
    const input = 0.25 * dry;
    // Comb: y = line[p]; s = low-passed y; line[p] = input + fb * s.
    const y0 = c0[p0]!, y1 = c1[p1]!, y2 = c2[p2]!, y3 = c3[p3]!;
    s0 = y0 * (1 - damp) + s0 * damp;
    s1 = y1 * (1 - damp) + s1 * damp;
    s2 = y2 * (1 - damp) + s2 * damp;
    s3 = y3 * (1 - damp) + s3 * damp;
    c0[p0] = input + fb * s0;
    c1[p1] = input + fb * s1;
    c2[p2] = input + fb * s2;
    c3[p3] = input + fb * s3;
    if (++p0 === c0.length) p0 = 0;
    if (++p1 === c1.length) p1 = 0;
    if (++p2 === c2.length) p2 = 0;
    if (++p3 === c3.length) p3 = 0;
    // Allpass: out = line[q] - v; line[q] = v + 0.5 * line[q].
    const v0 = y0 + y1 + y2 + y3;
    const b0 = a0[q0]!;
    a0[q0] = v0 + 0.5 * b0;
    if (++q0 === a0.length) q0 = 0;
    const v1 = b0 - v0;
    const b1 = a1[q1]!;
    a1[q1] = v1 + 0.5 * b1;
    if (++q1 === a1.length) q1 = 0;
    x[i] = dry * (1 - 0.5 * wet) + wet * (b1 - v1);
  }
}

// ---------------------------------------------------------------------------------------------------
// Rendering
// ---------------------------------------------------------------------------------------------------

/** Pitches of a chord voiced around `center` (MIDI): each chord tone in the octave nearest the centre. */
function voiceChord(chord: ChordEvent, tonic: number, center: number, addSeventh: boolean): number[] {
  const tones = [...chord.tones];
  if (addSeventh && tones.length === 3) tones.push(tones[1] === 3 && tones[2] === 6 ? 9 : tones[1] === 4 ? 11 : 10);
  const out = tones.map((t) => {
    const pc = tonic + chord.rootSt + t;
    return pc + 12 * Math.round((center - pc) / 12);
  });
  return out.sort((a, b) => a - b);
}

/** Steps `pitch` (semitones from the tonic) one scale note up (`dir` = 1) or down (-1). */
function scaleNeighbour(scale: readonly number[], pitch: number, dir: number): number {
  for (let s = 1; s <= 2; s++) {
    const p = pitch + dir * s;
    if (scale.includes(mod12(p))) return p;
  }
  return pitch + dir;
}

/**
 * Renders a planned version: `seconds * sampleRateHz` samples, peak-normalised to 0.9.
 *
 * @param work the composition
 * @param plan the version's choices (from {@linkcode planVersion})
 * @param options length and sampling rate
 * @returns mono samples in [-0.9, 0.9]
 * @throws {RangeError} if `seconds` or `sampleRateHz` is not positive
 */
export function renderPlan(work: Composition, plan: VersionPlan, options: RenderVersionOptions): Float32Array {
  const { seconds, sampleRateHz = 16000 } = options;
  if (!(seconds > 0) || !Number.isFinite(seconds)) {
    throw new RangeError(`Cannot render as 'seconds' must be a positive number: current value is ${seconds}`);
  }
  if (!Number.isInteger(sampleRateHz) || sampleRateHz < 4000) {
    throw new RangeError(
      `Cannot render as 'sampleRateHz' must be an integer >= 4000: current value is ${sampleRateHz}`,
    );
  }
  const sr = sampleRateHz;
  const prng = createPrng(plan.renderSeed);
  const tables = createTables(sr);
  const nOut = Math.round(seconds * sr);
  // Render from up to 1 s before the excerpt so that notes, tails and reverb are already sounding.
  const prerollS = Math.min(1, plan.startS);
  const bufStartS = plan.startS - prerollS;
  const nPre = Math.round(prerollS * sr);
  const buf = new Float32Array(nPre + nOut);
  const windowEndS = plan.startS + seconds;
  const spb = 60 / (work.tempoBpm * plan.tempoFactor);
  const tonic = work.tonicMidi + plan.transposeSt + plan.tuningCents / 100;
  const melody: PlayNote[] = [];
  const chords: PlayNote[] = [];
  const bass: PlayNote[] = [];
  const hits: { t: number; sound: "kick" | "snare" | "hat"; vel: number }[] = [];
  const swing = (beat: number) => {
    const frac = beat - Math.floor(beat);
    return Math.abs(frac - 0.5) < 1e-6 ? beat + plan.swingBeats : beat;
  };
  const jitter = () => prng.normal() * plan.jitterS;
  const toT = (beat: number) => swing(beat) * spb - bufStartS;
  const inWindow = (t0: number, t1: number) => t1 > -1 && t0 < windowEndS - bufStartS;

  let offset = 0;
  for (const entry of plan.form) {
    const section = work.sections[entry.section]!;
    const secT0 = offset * spb - bufStartS;
    const secT1 = (offset + section.beats) * spb - bufStartS;
    if (!inWindow(secT0, secT1 + 2)) {
      offset += section.beats;
      continue;
    }
    // Melody, with ornaments: grace notes and passing notes.
    if (entry.melody) {
      const notes = section.melody;
      for (let i = 0; i < notes.length; i++) {
        const n = notes[i]!;
        const pitch = n.pitch + plan.melodyShiftSt;
        let t = toT(offset + n.beat) + jitter();
        let d = n.beats * spb * 0.92;
        const vel = Math.min(1, n.velocity * (0.9 + 0.2 * prng.next()));
        const r = prng.next();
        if (r < plan.ornamentRate && d > 0.25) {
          const grace = Math.min(0.09, d * 0.3);
          melody.push({ t, d: grace, midi: tonic + scaleNeighbour(work.scale, pitch, 1), vel: vel * 0.8 });
          t += grace;
          d -= grace;
        }
        const next = notes[i + 1];
        if (r > 1 - plan.ornamentRate && next && Math.abs(next.pitch - n.pitch) >= 3 && n.beats >= 1) {
          const half = d / 2;
          const dir = next.pitch > n.pitch ? 1 : -1;
          melody.push({ t, d: half, midi: tonic + pitch, vel });
          melody.push({ t: t + half, d: half, midi: tonic + scaleNeighbour(work.scale, pitch, dir), vel: vel * 0.85 });
          continue;
        }
        melody.push({ t, d, midi: tonic + pitch, vel });
      }
    }
    // Chords, in the version's style.
    const center = work.tonicMidi + plan.transposeSt + plan.chordShiftSt + 4;
    for (const c of section.chords) {
      const pitches = voiceChord(c, tonic, center, plan.addSevenths);
      const c0 = offset + c.beat;
      const c1 = c0 + c.beats;
      if (plan.chordStyle === "pad") {
        for (const m of pitches) chords.push({ t: toT(c0) + jitter(), d: c.beats * spb, midi: m, vel: 0.7 });
      } else if (plan.chordStyle === "arpeggio") {
        const seq = [...pitches, pitches[0]! + 12, ...pitches.slice(1).reverse()];
        let k = 0;
        for (let b = c0; b < c1 - 1e-9; b += plan.arpStepBeats, k++) {
          const dur = plan.arpStepBeats * spb * 1.6;
          chords.push({ t: toT(b) + jitter(), d: dur, midi: seq[k % seq.length]!, vel: k === 0 ? 0.85 : 0.65 });
        }
      } else {
        const onsets: number[] = [];
        if (plan.chordStyle === "pulse") { for (let b = c0; b < c1 - 1e-9; b += 0.5) onsets.push(b); }
        else {
          for (let bar = Math.floor(c0 / work.beatsPerBar) * work.beatsPerBar; bar < c1; bar += work.beatsPerBar) {
            for (const o of plan.compRhythm) if (bar + o >= c0 - 1e-9 && bar + o < c1 - 1e-9) onsets.push(bar + o);
          }
          if (onsets.length === 0 || onsets[0]! > c0 + 1e-9) onsets.unshift(c0);
        }
        onsets.forEach((b, k) => {
          const nextB = onsets[k + 1] ?? c1;
          const dur = plan.chordStyle === "pulse" ? 0.4 * spb : (nextB - b) * spb * 0.95;
          const t = toT(b) + jitter();
          pitches.forEach((m, v) => {
            const strum = plan.chordStyle === "strum" ? v * 0.022 : 0;
            chords.push({ t: t + strum, d: dur - strum, midi: m, vel: k === 0 ? 0.75 : 0.6 });
          });
        });
      }
    }
    // Bass.
    const line = plan.bassPattern === work.bassPattern ? section.bass : bassLine(section.chords, plan.bassPattern);
    for (const n of line) {
      bass.push({
        t: toT(offset + n.beat) + jitter(),
        d: n.beats * spb * 0.95,
        midi: tonic + n.pitch + plan.bassShiftSt,
        vel: n.velocity,
      });
    }
    // Drums.
    if (plan.drums) {
      const stepsPerBar = plan.drums.kick.length;
      const stepBeats = work.beatsPerBar / stepsPerBar;
      for (let bar = 0; bar < section.beats; bar += work.beatsPerBar) {
        for (let s = 0; s < stepsPerBar; s++) {
          const beat = offset + bar + s * stepBeats;
          const t = toT(beat) + jitter() * 0.5;
          const k = plan.drums.kick[s]!, sn = plan.drums.snare[s]!, h = plan.drums.hat[s]!;
          if (k > 0) hits.push({ t, sound: "kick", vel: k });
          if (sn > 0) hits.push({ t, sound: "snare", vel: sn });
          if (h > 0) hits.push({ t, sound: "hat", vel: h * (0.85 + 0.3 * prng.next()) });
        }
      }
    }
    offset += section.beats;
  }

  const db = (x: number) => Math.pow(10, x / 20);
  const ctx = { sr, tables, prng, vibrato: false };
  renderNotes(buf, chords, plan.chordTimbre, 0.28 * db(plan.gainsDb.chords), ctx);
  renderNotes(buf, bass, plan.bassTimbre, 0.55 * db(plan.gainsDb.bass), ctx);
  ctx.vibrato = true;
  renderNotes(buf, melody, plan.melodyTimbre, 0.6 * db(plan.gainsDb.melody), ctx);
  if (plan.doublingTimbre) {
    const up = melody.map((n) => ({ ...n, midi: n.midi + 12 }));
    renderNotes(buf, up, plan.doublingTimbre, 0.3 * db(plan.gainsDb.melody), ctx);
  }
  if (hits.length > 0) {
    const kit = makeDrumKit(prng, sr);
    const g = 0.8 * db(plan.gainsDb.drums);
    for (const h of hits) addHit(buf, kit[h.sound], Math.round(h.t * sr), g * h.vel);
  }
  applyEq(buf, plan.eq.tiltDb, plan.eq.lowpassHz, sr);
  applyReverb(buf, plan.reverb.wet, plan.reverb.size, sr);
  const out = buf.slice(nPre);
  addNoise(out, plan.snrDb, prng);
  normalizePeak(out, 0.9);
  return out;
}

/** Adds white-plus-rumble noise at `snrDb` below the signal's power (in place). */
function addNoise(x: Float32Array, snrDb: number, prng: Prng): void {
  let power = 0;
  for (let i = 0; i < x.length; i++) power += x[i]! * x[i]!;
  power /= Math.max(1, x.length);
  if (power <= 0) return;
  const noise = new Float32Array(x.length);
  // xorshift32 seeded from `prng`: a per-sample `prng.next()` call would dominate the cost of this pass.
  let state = (Math.floor(prng.next() * 0xffffffff) | 1) >>> 0;
  let low = 0;
  let np = 0;
  for (let i = 0; i < noise.length; i++) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    const w = (state | 0) / 2147483648;
    low += 0.02 * (w - low);
    const v = w + 4 * low;
    noise[i] = v;
    np += v * v;
  }
  np /= Math.max(1, noise.length);
  const g = Math.sqrt((power / np) * Math.pow(10, -snrDb / 10));
  for (let i = 0; i < x.length; i++) x[i] = x[i]! + g * noise[i]!;
}

function normalizePeak(x: Float32Array, target: number): void {
  let peak = 0;
  for (let i = 0; i < x.length; i++) peak = Math.max(peak, Math.abs(x[i]!));
  if (peak === 0) return;
  const g = target / peak;
  for (let i = 0; i < x.length; i++) x[i] = x[i]! * g;
}

/**
 * Renders version `versionIndex` of `work`: {@linkcode planVersion} then {@linkcode renderPlan}.
 *
 * @param work the composition
 * @param prng the generator for the version's choices (seed it per version)
 * @param versionIndex 0 for the original
 * @param options length in seconds and sampling rate (default 16000 Hz)
 * @returns mono samples, `round(seconds * sampleRateHz)` long, peak 0.9
 * @throws {RangeError} on a bad index, length or rate
 */
export function renderVersion(
  work: Composition,
  prng: Prng,
  versionIndex: number,
  options: RenderVersionOptions,
): Float32Array {
  return renderPlan(work, planVersion(work, prng, versionIndex, { seconds: options.seconds }), options);
}
