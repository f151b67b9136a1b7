/**
 * Colours of the report: one distinct colour per work, a categorical palette for curves, and a viridis-like
 * sequential map for the distance matrix.
 *
 * @module
 */

/** Curve colours (distinguishable, colour-blind friendly order). */
export const SERIES_COLOURS = [
  "#1f6fb4",
  "#e07b00",
  "#2a9d3a",
  "#c8303a",
  "#8256b8",
  "#8a5a44",
  "#d45ba8",
  "#6f6f6f",
  "#a9a800",
  "#16a5b8",
] as const;

/** The colour of the `i`-th series (cycling through {@linkcode SERIES_COLOURS}). */
export function seriesColour(i: number): string {
  return SERIES_COLOURS[i % SERIES_COLOURS.length]!;
}

/**
 * A colour for the `i`-th work: hues a golden angle apart (so neighbouring indices differ strongly), with three
 * lightness levels so that close hues of far-apart indices still differ.
 *
 * @param i 0-based work index
 * @returns a CSS `hsl(...)` colour
 */
export function workColour(i: number): string {
  const hue = (i * 137.508) % 360;
  const light = [45, 33, 58][i % 3]!;
  return `hsl(${hue.toFixed(1)} 70% ${light}%)`;
}

// Viridis sampled at 9 evenly spaced points (sRGB, 0-255), interpolated linearly in between.
const VIRIDIS: readonly (readonly [number, number, number])[] = [
  [68, 1, 84],
  [71, 44, 122],
  [59, 81, 139],
  [44, 113, 142],
  [33, 144, 141],
  [39, 173, 129],
  [92, 200, 99],
  [170, 220, 50],
  [253, 231, 37],
];

/**
 * The sequential colour map: `t = 0` dark purple, `t = 1` yellow.
 *
 * @param t position in [0, 1] (clamped; NaN gives 0)
 * @returns `[r, g, b]`, each 0-255
 */
export function viridis(t: number): [number, number, number] {
  const x = Number.isFinite(t) ? Math.min(1, Math.max(0, t)) * (VIRIDIS.length - 1) : 0;
  const i = Math.min(VIRIDIS.length - 2, Math.floor(x));
  const f = x - i;
  const a = VIRIDIS[i]!, b = VIRIDIS[i + 1]!;
  return [0, 1, 2].map((k) => Math.round(a[k]! + f * (b[k]! - a[k]!))) as [number, number, number];
}
