/**
 * Test assertions (JSR's @std/assert is not reachable from here; these wrap node:assert with the
 * same names and argument order).
 *
 * @module
 */
import assert from "node:assert/strict";

/** Deep strict equality. */
export function assertEquals<T>(actual: T, expected: T, msg?: string): void {
  assert.deepStrictEqual(actual, expected, msg);
}

/** Truthiness. */
export function assertOk(value: unknown, msg?: string): asserts value {
  assert.ok(value, msg);
}

/** |actual - expected| <= tolerance. */
export function assertAlmostEquals(actual: number, expected: number, tolerance = 1e-7, msg?: string): void {
  if (!(Math.abs(actual - expected) <= tolerance)) {
    throw new assert.AssertionError({
      message: msg ??
        `expected ${actual} to be within ${tolerance} of ${expected} (diff ${Math.abs(actual - expected)})`,
    });
  }
}

/** `fn` throws an error whose message includes `includes` (when given). */
export function assertThrows(fn: () => unknown, includes?: string): Error {
  try {
    fn();
  } catch (e) {
    if (includes !== undefined && !String((e as Error).message).includes(includes)) {
      throw new assert.AssertionError({ message: `error '${(e as Error).message}' does not include '${includes}'` });
    }
    return e as Error;
  }
  throw new assert.AssertionError({ message: "expected the function to throw" });
}

/** The promise rejects with an error whose message includes `includes` (when given). */
export async function assertRejects(fn: () => Promise<unknown>, includes?: string): Promise<Error> {
  try {
    await fn();
  } catch (e) {
    if (includes !== undefined && !String((e as Error).message).includes(includes)) {
      throw new assert.AssertionError({ message: `error '${(e as Error).message}' does not include '${includes}'` });
    }
    return e as Error;
  }
  throw new assert.AssertionError({ message: "expected the promise to reject" });
}

/** Largest |a − b| relative to the largest |b| (for kernels that sum in another order than their twins). */
export function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let worst = 0, scale = 0;
  for (let i = 0; i < b.length; i++) {
    worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  return worst / Math.max(scale, 1e-30);
}
