import { assertEquals, assertThrows } from "../_assert.ts";
import { formatLine, parseLine, parseLines } from "../../lib/io/lines.ts";

Deno.test("parseLine() reads JSON and TAB key:value lines", () => {
  assertEquals(parseLine('{"utt": "a", "dur_s": 1.5}'), { utt: "a", dur_s: 1.5 });
  assertEquals(parseLine("utt:a\tlen:12\twav:x:y.wav"), { utt: "a", len: 12, wav: "x:y.wav" });
});

Deno.test("parseLines() skips blank lines and reports bad ones with file and line", () => {
  const parsed = parseLines('{"utt": "a"}\n\n   \n{"utt": \n[1]\n', "d.txt");
  assertEquals(parsed.length, 3);
  assertEquals(parsed[0]!.line, { utt: "a" });
  assertEquals(parsed[1]!.error?.message.startsWith("d.txt:4: invalid JSON"), true);
  assertEquals(
    parsed[2]!.error?.message,
    "d.txt:5: expected a JSON object or TAB-separated key:value pairs, got '[1]'",
  );
});

Deno.test("parseLine() rejects JSON that is not an object", () => {
  assertThrows(() => parseLine("{}x", "f", 3), "f:3: invalid JSON");
});

Deno.test("formatLine() writes Python json.dumps spacing and keeps non-ASCII", () => {
  assertEquals(formatLine({ utt: "a▁b", n: [1, 2], s: 'x": "y' }), '{"utt": "a▁b", "n": [1, 2], "s": "x\\": \\"y"}');
});
