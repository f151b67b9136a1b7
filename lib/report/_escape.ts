/**
 * Escaping of text inserted into the report's HTML and SVG (element content and double-quoted attributes).
 *
 * @module
 */

const ENTITIES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

/**
 * Escapes `&`, `<`, `>`, `"` and `'`, so that any string is safe as element content or as a quoted attribute value.
 *
 * @param text any text (numbers are converted with `String`)
 * @returns the escaped text
 */
export function escapeHtml(text: string | number): string {
  return String(text).replace(/[&<>"']/g, (c) => ENTITIES[c]!);
}
