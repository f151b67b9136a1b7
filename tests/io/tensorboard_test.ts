import { assertAlmostEquals, assertEquals, assertOk, assertRejects, assertThrows } from "../_assert.ts";
import {
  crc32c,
  createEventWriter,
  decodeEvent,
  decodeTfRecords,
  encodeScalarEvent,
  encodeTfRecord,
  FILE_VERSION,
  maskedCrc32c,
  readEvents,
} from "../../lib/io/tensorboard.ts";

const ascii = (s: string) => new TextEncoder().encode(s);

// Bit-by-bit CRC-32C (reflected polynomial 0x82F63B78): an oracle independent of the library's table code.
function bitwiseCrc32c(data: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of data) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
  }
  return (c ^ 0xffffffff) >>> 0;
}
const bitwiseMasked = (data: Uint8Array) => {
  const c = bitwiseCrc32c(data);
  return ((((c >>> 15) | (c << 17)) >>> 0) + 0xa282ead8) >>> 0;
};

async function onlyEventFile(dir: string): Promise<string[]> {
  const names: string[] = [];
  for await (const e of Deno.readDir(dir)) names.push(e.name);
  return names.sort();
}

Deno.test("crc32c() gives the CRC-32C check value of '123456789'", () => {
  assertEquals(crc32c(ascii("123456789")), 0xe3069283);
  assertEquals(crc32c(new Uint8Array(0)), 0);
  const bytes = Uint8Array.from({ length: 1000 }, (_, i) => (i * 7919) & 255);
  assertEquals(crc32c(bytes), bitwiseCrc32c(bytes));
});

Deno.test("maskedCrc32c() rotates right by 15 and adds 0xa282ead8", () => {
  // 0xE3069283: low 15 bits 0x1283 -> << 17 = 0x25060000; >>> 15 = 0x1C60D; OR = 0x2507C60D;
  // + 0xA282EAD8 = 0xC78AB0E5.
  assertEquals(maskedCrc32c(ascii("123456789")), 0xc78ab0e5);
});

Deno.test("encodeTfRecord() frames '123456789' byte for byte", () => {
  const len = new Uint8Array([9, 0, 0, 0, 0, 0, 0, 0]);
  const lenCrc = bitwiseMasked(len); // 0x3971F937
  assertEquals(lenCrc, 0x3971f937);
  const expected = [
    ...len,
    0x37,
    0xf9,
    0x71,
    0x39,
    ...ascii("123456789"),
    0xe5,
    0xb0,
    0x8a,
    0xc7,
  ];
  assertEquals(Array.from(encodeTfRecord(ascii("123456789"))), expected);
});

Deno.test("encodeScalarEvent() writes the tensorflow.Event wire format byte for byte", () => {
  // Event{wall_time=1.5 (field 1, fixed64), step=7 (field 2, varint), summary (field 5, bytes) {
  //   value (field 1) { tag="a" (field 1), simple_value=0.5 (field 2, fixed32) } }}
  const expected = [
    0x09,
    ...[0, 0, 0, 0, 0, 0, 0xf8, 0x3f], // 1.5 as float64 LE
    0x10,
    0x07,
    0x2a,
    0x0a, // summary, 10 bytes
    0x0a,
    0x08, // value, 8 bytes
    0x0a,
    0x01,
    0x61, // tag "a"
    0x15,
    ...[0, 0, 0, 0x3f], // 0.5 as float32 LE
  ];
  const event = encodeScalarEvent(1.5, 7, [{ tag: "a", value: 0.5 }]);
  assertEquals(Array.from(event), expected);
  const record = encodeTfRecord(event);
  const len = new Uint8Array([23, 0, 0, 0, 0, 0, 0, 0]);
  const view = new DataView(record.buffer);
  assertEquals(record.length, 23 + 16);
  assertEquals(Array.from(record.subarray(0, 8)), Array.from(len));
  assertEquals(view.getUint32(8, true), bitwiseMasked(len));
  assertEquals(view.getUint32(12 + 23, true), bitwiseMasked(Uint8Array.from(expected)));
  assertEquals(decodeEvent(event), { wallTime: 1.5, step: 7, values: [{ tag: "a", value: 0.5 }] });
});

Deno.test("createEventWriter() writes scalars that readEvents() reads back, file_version first", async () => {
  const dir = await Deno.makeTempDir();
  try {
    let t = 1700000000.25;
    const tb = await createEventWriter(dir, { hostname: "host/x", clock: () => (t += 1) });
    assertEquals(tb.path, `${dir}/events.out.tfevents.1700000001.host_x`);
    tb.scalar("csi/total", 1.25, 1);
    tb.scalar("csi/lr", 1e-3, 1);
    tb.scalar("mAP/covers80", 0.75, 2 ** 40); // int64 step beyond 32 bits
    await tb.flush();
    tb.scalar("csi/total", Number.NaN, 200);
    await tb.close();
    await tb.close(); // idempotent

    const records = decodeTfRecords(await Deno.readFile(tb.path), tb.path);
    assertEquals(records.length, 5);
    const first = decodeEvent(records[0]!);
    assertEquals(first.fileVersion, FILE_VERSION);
    assertEquals(first.wallTime, 1700000001.25);

    const events = await readEvents(tb.path);
    assertEquals(events.map((e) => [e.tag, e.step]), [
      ["csi/total", 1],
      ["csi/lr", 1],
      ["mAP/covers80", 2 ** 40],
      ["csi/total", 200],
    ]);
    assertEquals(events[0]!.value, 1.25);
    assertAlmostEquals(events[1]!.value, 1e-3, 1e-10); // float32
    assertOk(Number.isNaN(events[3]!.value));
    assertEquals(events.map((e) => e.wallTime), [1700000002.25, 1700000003.25, 1700000004.25, 1700000005.25]);
    assertThrows(() => tb.scalar("x", 1, 1), "after close()");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("createEventWriter() starts a new file beside an old one, even in the same second", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const clock = () => 1234.5;
    const a = await createEventWriter(dir, { hostname: "h", clock });
    a.scalar("loss", 2, 1);
    await a.close();
    const b = await createEventWriter(dir, { hostname: "h", clock, bufferBytes: 0 }); // bufferBytes 0: write at once
    b.scalar("loss", 1, 2);
    await b.flush();
    assertEquals((await readEvents(b.path)).map((e) => e.step), [2]);
    await b.close();
    assertEquals(await onlyEventFile(dir), ["events.out.tfevents.1234.h", "events.out.tfevents.1234.h.1"]);
    assertEquals((await readEvents(a.path)).map((e) => e.value), [2]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("createEventWriter() validates its arguments", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await assertRejects(() => createEventWriter(dir, { bufferBytes: -1 }), "bufferBytes");
    const tb = await createEventWriter(dir, { hostname: "h" });
    assertThrows(() => tb.scalar("", 1, 1), "tag");
    assertThrows(() => tb.scalar("x", 1, -1), "step");
    assertThrows(() => tb.scalar("x", 1, 1.5), "step");
    await tb.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("readEvents() detects data and length CRC mismatches and truncation", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const tb = await createEventWriter(dir, { hostname: "h", clock: () => 10 });
    tb.scalar("a", 1, 1);
    tb.scalar("b", 2, 2);
    await tb.close();
    const good = await Deno.readFile(tb.path);
    const firstLen = 16 + Number(new DataView(good.buffer).getBigUint64(0, true));

    const badData = good.slice();
    badData[firstLen + 12 + 3]! ^= 0x01; // a payload byte of the second record
    await Deno.writeFile(tb.path, badData);
    await assertRejects(() => readEvents(tb.path), `data CRC mismatch in the record at byte ${firstLen}`);

    const badLen = good.slice();
    badLen[firstLen]! ^= 0x01; // the length of the second record
    await Deno.writeFile(tb.path, badLen);
    await assertRejects(() => readEvents(tb.path), "length CRC mismatch");

    const badCrc = good.slice();
    badCrc[good.length - 1]! ^= 0x80; // the stored CRC itself
    await Deno.writeFile(tb.path, badCrc);
    await assertRejects(() => readEvents(tb.path), "data CRC mismatch");

    await Deno.writeFile(tb.path, good.subarray(0, good.length - 5));
    await assertRejects(() => readEvents(tb.path), "truncated record");
    assertEquals((await readEvents(tb.path, { allowTruncatedTail: true })).map((e) => e.tag), ["a"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("createEventWriter() names the file after Deno.hostname(), or 'coverhunter' without --allow-sys", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const tb = await createEventWriter(dir, { clock: () => 42 });
    await tb.close();
    const allowed = Deno.permissions.querySync({ name: "sys", kind: "hostname" }).state === "granted";
    const host = allowed ? Deno.hostname().replace(/[^A-Za-z0-9._-]/g, "_") : "coverhunter";
    assertEquals(tb.path, `${dir}/events.out.tfevents.42.${host}`);
    assertEquals(await readEvents(tb.path), []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
