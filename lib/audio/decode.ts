/**
 * Decodes an audio file held in memory (WAV in 8/16/24/32-bit PCM or float, MP3, FLAC, Ogg Vorbis, Opus,
 * M4A/AAC, AIFF, and the other formats audio-decode knows) to one Float32Array per channel, through the
 * `audio-decode` package (pure JS and inline WebAssembly; no ffmpeg, no permissions of its own).
 *
 * Every failure names the file: an empty file, an unrecognised format, a decoder error, a file that
 * decodes to zero samples (corrupt or truncated), and samples that are not finite. A silent file is
 * not an error here; the caller decides what to do with it.
 *
 * @module
 */

import decode from "audio-decode";

/** Decoded audio: one array per channel, all of the same length, and the sampling rate. */
export interface DecodedAudio {
  /** Samples per channel, nominally in [-1, 1]; at least one channel, all non-empty and equally long. */
  channels: Float32Array[];
  /** Sampling rate in Hz. */
  sampleRateHz: number;
}

function describeHead(bytes: Uint8Array): string {
  const head = bytes.subarray(0, 12);
  const hex = Array.from(head, (b) => b.toString(16).padStart(2, "0")).join(" ");
  const ascii = Array.from(head, (b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : ".")).join("");
  return `first bytes ${hex} "${ascii}"`;
}

/** A compact copy when `a` is a view into a larger buffer (e.g. decoder memory), else `a` itself. */
function owned(a: Float32Array): Float32Array {
  return a.byteOffset === 0 && a.byteLength === a.buffer.byteLength ? a : a.slice();
}

/**
 * Decodes the bytes of an audio file. The format is detected from the content, not from `name`.
 *
 * @param bytes the whole file
 * @param name the file's name or path, used only in error messages
 * @returns the channels and sampling rate
 * @throws {Error} with a message starting `"<name>: "` when the file is empty, not a recognised audio
 *   format, fails to decode, decodes to zero samples, or contains non-finite samples
 *
 * @example
 * ```ts
 * import { decodeAudio } from "./decode.ts";
 * import { encodeWav } from "./wav.ts";
 * const wav = encodeWav([new Float32Array([0, 0.5, -0.5])], 16000);
 * const { channels, sampleRateHz } = await decodeAudio(wav, "in-memory.wav");
 * console.assert(channels.length === 1 && channels[0]!.length === 3 && sampleRateHz === 16000);
 * ```
 */
export async function decodeAudio(bytes: Uint8Array, name: string): Promise<DecodedAudio> {
  if (bytes.length === 0) throw new Error(`${name}: cannot decode audio: the file is empty (0 bytes)`);
  let result: { channelData: Float32Array[]; sampleRate: number };
  try {
    result = await decode(bytes);
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    if (/unknown audio format/i.test(msg)) {
      throw new Error(
        `${name}: cannot decode audio: not a recognised audio format (${bytes.length} bytes, ${describeHead(bytes)})`,
        { cause: e },
      );
    }
    throw new Error(`${name}: cannot decode audio: ${msg} (${bytes.length} bytes, ${describeHead(bytes)})`, {
      cause: e,
    });
  }
  const data = result?.channelData ?? [];
  const length = data[0]?.length ?? 0;
  if (data.length === 0 || length === 0) {
    throw new Error(
      `${name}: cannot decode audio: no samples decoded from ${bytes.length} bytes (the file is corrupt, truncated, ` +
        `or holds no audio; ${describeHead(bytes)})`,
    );
  }
  const sampleRateHz = result.sampleRate;
  if (!Number.isFinite(sampleRateHz) || sampleRateHz <= 0) {
    throw new Error(`${name}: cannot decode audio: invalid sampling rate ${sampleRateHz}`);
  }
  const channels = data.map(owned);
  for (let c = 0; c < channels.length; c++) {
    const ch = channels[c]!;
    if (ch.length !== length) {
      throw new Error(`${name}: cannot decode audio: channel ${c} has ${ch.length} samples, channel 0 has ${length}`);
    }
    for (let i = 0; i < ch.length; i++) {
      if (!Number.isFinite(ch[i]!)) {
        throw new Error(`${name}: cannot decode audio: non-finite sample ${ch[i]} in channel ${c} at index ${i}`);
      }
    }
  }
  return { channels, sampleRateHz };
}
