/**
 * A minimal pickle virtual machine for `torch.save` archives (protocol 2, plus the few protocol-4 opcodes
 * newer writers emit). Python values map to: dict -> `Map`, list and tuple -> `Array`, str -> string,
 * int -> number (or bigint beyond 2^53), float -> number, None -> null, bool -> boolean. Globals are
 * resolved through `findClass`, persistent ids through `persistentLoad`; anything else is an error that names
 * the opcode and its byte offset. No code is ever executed.
 *
 * @module
 */

/** A `module.name` reference pushed by GLOBAL, before it is resolved. */
export interface PyGlobal {
  readonly module: string;
  readonly name: string;
}

/** Hooks that give meaning to globals and persistent ids. */
export interface UnpickleHooks {
  /** Returns the callable behind `module.name` (called by REDUCE), or undefined when it is not supported. */
  findClass(module: string, name: string): ((args: unknown[]) => unknown) | undefined;
  /** Resolves a persistent id (BINPERSID); for torch: `('storage', type, key, location, numel)`. */
  persistentLoad(pid: unknown): unknown;
}

/**
 * Runs a pickle program and returns the value it builds.
 *
 * @param bytes the pickle (e.g. `archive/data.pkl` of a torch zip)
 * @param hooks global and persistent-id resolution
 * @throws {SyntaxError} for an unknown opcode, a truncated program or a malformed stack
 * @throws {TypeError} for a global that `findClass` does not support
 */
export function unpickle(bytes: Uint8Array, hooks: UnpickleHooks): unknown {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const text = new TextDecoder("utf-8", { fatal: true });
  const memo = new Map<number, unknown>();
  let stack: unknown[] = [];
  const marks: unknown[][] = [];
  let pos = 0;

  const fail = (msg: string): never => {
    throw new SyntaxError(`pickle: ${msg} (byte ${pos})`);
  };
  const need = (n: number): void => {
    if (pos + n > bytes.length) fail("truncated program");
  };
  const u8 = (): number => {
    need(1);
    return bytes[pos++]!;
  };
  const u16 = (): number => {
    need(2);
    const v = view.getUint16(pos, true);
    pos += 2;
    return v;
  };
  const u32 = (): number => {
    need(4);
    const v = view.getUint32(pos, true);
    pos += 4;
    return v;
  };
  const raw = (n: number): Uint8Array => {
    need(n);
    const v = bytes.subarray(pos, pos + n);
    pos += n;
    return v;
  };
  const line = (): string => {
    const end = bytes.indexOf(0x0a, pos);
    if (end < 0) fail("unterminated text line");
    const s = text.decode(bytes.subarray(pos, end));
    pos = end + 1;
    return s;
  };
  const pop = (): unknown => {
    if (stack.length === 0) fail("pop from an empty stack");
    return stack.pop();
  };
  const top = (): unknown => {
    if (stack.length === 0) fail("empty stack");
    return stack[stack.length - 1];
  };
  const popMark = (): unknown[] => {
    const items = stack;
    const prev = marks.pop();
    if (prev === undefined) fail("no MARK on the stack");
    stack = prev!;
    return items;
  };
  const call = (fn: unknown, args: unknown): unknown => {
    if (!isGlobal(fn)) return fail("REDUCE on a value that is not a global");
    const g = fn as PyGlobal;
    const impl = hooks.findClass(g.module, g.name);
    if (impl === undefined) throw new TypeError(`pickle: unsupported global ${g.module}.${g.name} (byte ${pos})`);
    if (!Array.isArray(args)) return fail(`REDUCE of ${g.module}.${g.name} without an argument tuple`);
    return impl(args);
  };
  const setItems = (dict: unknown, items: unknown[]): void => {
    if (!(dict instanceof Map)) fail("SETITEM(S) on a value that is not a dict");
    if (items.length % 2 !== 0) fail("SETITEMS with an odd number of items");
    for (let i = 0; i < items.length; i += 2) (dict as Map<unknown, unknown>).set(items[i], items[i + 1]);
  };
  const int64 = (b: Uint8Array): number | bigint => {
    let v = 0n;
    for (let i = b.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]!);
    if (b.length > 0 && (b[b.length - 1]! & 0x80) !== 0) v -= 1n << BigInt(8 * b.length);
    return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  };

  while (true) {
    const at = pos;
    const op = u8();
    switch (op) {
      case 0x80: // PROTO
        if (u8() > 5) fail("unsupported pickle protocol");
        break;
      case 0x95: // FRAME (8-byte length; frames are only a read-ahead hint)
        raw(8);
        break;
      case 0x2e: // STOP
        if (stack.length !== 1) fail(`STOP with ${stack.length} values on the stack`);
        return stack[0];
      case 0x28: // MARK
        marks.push(stack);
        stack = [];
        break;
      case 0x7d: // EMPTY_DICT
        stack.push(new Map());
        break;
      case 0x5d: // EMPTY_LIST
      case 0x29: // EMPTY_TUPLE
        stack.push([]);
        break;
      case 0x74: { // TUPLE
        const items = popMark(); // before `stack.push`: popMark replaces `stack`
        stack.push(items);
        break;
      }
      case 0x85: // TUPLE1
        stack.push([pop()]);
        break;
      case 0x86: { // TUPLE2
        const b = pop(), a = pop();
        stack.push([a, b]);
        break;
      }
      case 0x87: { // TUPLE3
        const c = pop(), b = pop(), a = pop();
        stack.push([a, b, c]);
        break;
      }
      case 0x71: // BINPUT
        memo.set(u8(), top());
        break;
      case 0x72: // LONG_BINPUT
        memo.set(u32(), top());
        break;
      case 0x94: // MEMOIZE
        memo.set(memo.size, top());
        break;
      case 0x68: // BINGET
      case 0x6a: { // LONG_BINGET
        const k = op === 0x68 ? u8() : u32();
        if (!memo.has(k)) fail(`memo key ${k} not set`);
        stack.push(memo.get(k));
        break;
      }
      case 0x58: // BINUNICODE
        stack.push(text.decode(raw(u32())));
        break;
      case 0x8c: // SHORT_BINUNICODE
        stack.push(text.decode(raw(u8())));
        break;
      case 0x8d: { // BINUNICODE8
        const n = new DataView(raw(8).slice().buffer).getBigUint64(0, true);
        stack.push(text.decode(raw(Number(n))));
        break;
      }
      case 0x55: // SHORT_BINSTRING (py2 str)
        stack.push(new TextDecoder("latin1").decode(raw(u8())));
        break;
      case 0x54: // BINSTRING
        stack.push(new TextDecoder("latin1").decode(raw(u32())));
        break;
      case 0x43: // SHORT_BINBYTES
        stack.push(raw(u8()).slice());
        break;
      case 0x42: // BINBYTES
        stack.push(raw(u32()).slice());
        break;
      case 0x63: { // GLOBAL
        const module = line();
        stack.push({ module, name: line() } satisfies PyGlobal);
        break;
      }
      case 0x93: { // STACK_GLOBAL
        const name = pop(), module = pop();
        if (typeof module !== "string" || typeof name !== "string") fail("STACK_GLOBAL needs two strings");
        stack.push({ module: module as string, name: name as string } satisfies PyGlobal);
        break;
      }
      case 0x52: { // REDUCE
        const args = pop();
        stack.push(call(pop(), args));
        break;
      }
      case 0x4a: // BININT
        stack.push(new DataView(raw(4).slice().buffer).getInt32(0, true));
        break;
      case 0x4b: // BININT1
        stack.push(u8());
        break;
      case 0x4d: // BININT2
        stack.push(u16());
        break;
      case 0x8a: // LONG1
        stack.push(int64(raw(u8())));
        break;
      case 0x47: // BINFLOAT (big-endian double)
        stack.push(new DataView(raw(8).slice().buffer).getFloat64(0, false));
        break;
      case 0x4e: // NONE
        stack.push(null);
        break;
      case 0x88: // NEWTRUE
        stack.push(true);
        break;
      case 0x89: // NEWFALSE
        stack.push(false);
        break;
      case 0x51: // BINPERSID
        stack.push(hooks.persistentLoad(pop()));
        break;
      case 0x73: { // SETITEM
        const v = pop(), k = pop();
        setItems(top(), [k, v]);
        break;
      }
      case 0x75: { // SETITEMS
        const items = popMark();
        setItems(top(), items);
        break;
      }
      case 0x61: { // APPEND
        const v = pop();
        const list = top();
        if (!Array.isArray(list)) fail("APPEND to a value that is not a list");
        (list as unknown[]).push(v);
        break;
      }
      case 0x65: { // APPENDS
        const items = popMark();
        const list = top();
        if (!Array.isArray(list)) fail("APPENDS to a value that is not a list");
        (list as unknown[]).push(...items);
        break;
      }
      case 0x62: { // BUILD: only the OrderedDict `_metadata` attribute appears in state_dicts; it is dropped
        pop();
        if (!(top() instanceof Map)) fail("BUILD on an object other than an OrderedDict");
        break;
      }
      default:
        pos = at;
        fail(`unsupported opcode 0x${op.toString(16).padStart(2, "0")}`);
    }
  }
}

/** True for a value pushed by GLOBAL / STACK_GLOBAL. */
export function isGlobal(v: unknown): v is PyGlobal {
  return v !== null && typeof v === "object" && !Array.isArray(v) && !(v instanceof Map) &&
    typeof (v as PyGlobal).module === "string" && typeof (v as PyGlobal).name === "string";
}
