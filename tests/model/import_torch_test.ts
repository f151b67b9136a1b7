import { zipSync } from "fflate";
import { importTorchCheckpoint } from "../../lib/model/import_torch.ts";
import { readSafetensors } from "../../lib/model/safetensors.ts";
import { assertEquals, assertThrows } from "../_assert.ts";
import { GOLDEN } from "../_golden.ts";

Deno.test("importTorchCheckpoint() reads g_00000003 exactly as model_tiny.safetensors (+ num_batches_tracked)", async () => {
  const ck = importTorchCheckpoint(await Deno.readFile(GOLDEN("g_00000003")));
  const st = readSafetensors(await Deno.readFile(GOLDEN("model_tiny.safetensors")));
  for (const [name, t] of st) assertEquals(ck.get(name), t, name);
  const extra = [...ck.keys()].filter((k) => !st.has(k));
  assertEquals(extra, [
    "_global_cmvn.num_batches_tracked",
    "_encoder.encoders.0.conv_module.norm.num_batches_tracked",
    "_encoder.encoders.1.conv_module.norm.num_batches_tracked",
    "_bottleneck.num_batches_tracked",
  ]);
  assertEquals(ck.get("_bottleneck.num_batches_tracked"), { dtype: "I64", shape: [], data: BigInt64Array.of(0n) });
});

/** Writes the protocol-2 pickle opcodes torch.save emits, for synthetic checkpoints. */
class PickleWriter {
  #bytes: number[] = [0x80, 2];
  op(...b: number[]): this {
    this.#bytes.push(...b);
    return this;
  }
  str(s: string): this {
    const u = new TextEncoder().encode(s);
    return this.op(0x58, u.length & 255, (u.length >> 8) & 255, 0, 0, ...u); // BINUNICODE
  }
  int(n: number): this {
    return this.op(0x4a, n & 255, (n >> 8) & 255, (n >> 16) & 255, (n >>> 24) & 255); // BININT
  }
  global(module: string, name: string): this {
    return this.op(0x63, ...new TextEncoder().encode(`${module}\n${name}\n`));
  }
  mark(): this {
    return this.op(0x28);
  }
  tuple(): this {
    return this.op(0x74);
  }
  ints(xs: number[]): this {
    this.mark();
    for (const x of xs) this.int(x);
    return this.tuple();
  }
  orderedDict(): this {
    return this.global("collections", "OrderedDict").op(0x29, 0x52); // EMPTY_TUPLE, REDUCE
  }
  /** Pushes _rebuild_tensor_v2(storage(key), offset, size, stride, False, OrderedDict()). */
  tensor(storage: string, key: string, numel: number, offset: number, size: number[], stride: number[]): this {
    this.global("torch._utils", "_rebuild_tensor_v2").mark();
    this.mark().str("storage").global("torch", storage).str(key).str("cpu").int(numel).tuple().op(0x51); // BINPERSID
    this.int(offset).ints(size).ints(stride).op(0x89).orderedDict().tuple();
    return this.op(0x52); // REDUCE
  }
  bytes(): Uint8Array {
    return Uint8Array.from([...this.#bytes, 0x2e]); // STOP
  }
}

function f32bytes(values: number[]): Uint8Array {
  return new Uint8Array(Float32Array.from(values).buffer);
}

function archive(pkl: Uint8Array, storages: Record<string, Uint8Array>, dir = "archive"): Uint8Array {
  const files: Record<string, Uint8Array> = {
    [`${dir}/data.pkl`]: pkl,
    [`${dir}/version`]: new TextEncoder().encode("3\n"),
  };
  for (const [k, v] of Object.entries(storages)) files[`${dir}/data/${k}`] = v;
  return zipSync(files, { level: 0 });
}

/** A state_dict with a transposed view, an offset view sharing its storage, and an int64 scalar. */
function stateDictPickle(w: PickleWriter): PickleWriter {
  w.orderedDict().mark();
  w.str("w").tensor("FloatStorage", "0", 6, 0, [2, 3], [3, 1]);
  w.str("w_t").tensor("FloatStorage", "0", 6, 0, [3, 2], [1, 3]);
  w.str("tail").tensor("FloatStorage", "0", 6, 4, [2], [1]);
  w.str("n").tensor("LongStorage", "1", 1, 0, [], []);
  return w.op(0x75); // SETITEMS
}
const STORAGES = {
  "0": f32bytes([0, 1, 2, 3, 4, 5]),
  "1": new Uint8Array(BigInt64Array.of(7n).buffer),
};

Deno.test("importTorchCheckpoint() rebuilds strided views, storage offsets, shared storages and int64 scalars", () => {
  const w = new PickleWriter().op(0x7d).str("model"); // {"model": state_dict}
  const t = importTorchCheckpoint(archive(stateDictPickle(w).op(0x73).bytes(), STORAGES));
  assertEquals(t.get("w"), { dtype: "F32", shape: [2, 3], data: Float32Array.from([0, 1, 2, 3, 4, 5]) });
  assertEquals(t.get("w_t"), { dtype: "F32", shape: [3, 2], data: Float32Array.from([0, 3, 1, 4, 2, 5]) });
  assertEquals(t.get("tail"), { dtype: "F32", shape: [2], data: Float32Array.from([4, 5]) });
  assertEquals(t.get("n"), { dtype: "I64", shape: [], data: BigInt64Array.of(7n) });
});

Deno.test("importTorchCheckpoint() accepts a bare state_dict and any archive folder name", () => {
  const t = importTorchCheckpoint(archive(stateDictPickle(new PickleWriter()).bytes(), STORAGES, "g_00000042"));
  assertEquals([...t.keys()], ["w", "w_t", "tail", "n"]);
});

Deno.test("importTorchCheckpoint() explains what it cannot read", () => {
  const other = new PickleWriter().op(0x7d).str("optimizer").op(0x7d, 0x73).bytes(); // {"optimizer": {}}
  assertThrows(() => importTorchCheckpoint(archive(other, {})), `top-level keys: "optimizer"`);
  const half = new PickleWriter().orderedDict().str("h").tensor("HalfStorage", "0", 2, 0, [2], [1]).op(0x73).bytes();
  assertThrows(() => importTorchCheckpoint(archive(half, { "0": new Uint8Array(4) })), "torch.HalfStorage");
  const missing = new PickleWriter().orderedDict().str("x").tensor("FloatStorage", "9", 2, 0, [2], [1]).op(0x73);
  assertThrows(() => importTorchCheckpoint(archive(missing.bytes(), {})), "data/9 is missing");
  const outside = new PickleWriter().orderedDict().str("x").tensor("FloatStorage", "0", 6, 5, [2], [1]).op(0x73);
  assertThrows(() => importTorchCheckpoint(archive(outside.bytes(), STORAGES)), "exceeds its storage");
  const evil = new PickleWriter().global("os", "system").str("true").op(0x85, 0x52).bytes(); // os.system(("true",))
  assertThrows(() => importTorchCheckpoint(archive(evil, {})), "unsupported global os.system");
  assertThrows(() => importTorchCheckpoint(Uint8Array.of(0x80, 0x02, 0x8a, 0x0a)), "legacy");
  assertThrows(() => importTorchCheckpoint(new TextEncoder().encode("hello")), "not a zip");
});
