/**
 * Writes RIFF/WAVE files (16-bit PCM or 32-bit float), mono or interleaved multi-channel. Decoding
 * goes through `decode.ts` (audio-decode); this writer exists because no maintained npm encoder
 * is smaller than these 40 lines.
 *
 * @module
 */

/** Options for {@linkcode encodeWav}. */
export interface WavOptions {
  /** Sample format. @default "pcm16" */
  format?: "pcm16" | "float32";
}

/**
 * Encodes channels of equal length as a WAV file.
 *
 * @param channels one Float32Array per channel, samples in [-1, 1] (pcm16 clips outside)
 * @param sampleRateHz sampling rate
 */
export function encodeWav(channels: Float32Array[], sampleRateHz: number, options: WavOptions = {}): Uint8Array {
  const { format = "pcm16" } = options;
  if (channels.length === 0) throw new RangeError("encodeWav: no channels");
  const n = channels[0]!.length;
  if (channels.some((c) => c.length !== n)) throw new RangeError("encodeWav: channels differ in length");
  const bytesPerSample = format === "pcm16" ? 2 : 4;
  const nch = channels.length;
  const dataBytes = n * nch * bytesPerSample;
  const out = new Uint8Array(44 + dataBytes);
  const v = new DataView(out.buffer);
  const ascii = (off: number, s: string) => {
    for (let i = 0; i < s.length; i++) out[off + i] = s.charCodeAt(i);
  };
  ascii(0, "RIFF");
  v.setUint32(4, 36 + dataBytes, true);
  ascii(8, "WAVE");
  ascii(12, "fmt ");
  v.setUint32(16, 16, true);
  v.setUint16(20, format === "pcm16" ? 1 : 3, true);
  v.setUint16(22, nch, true);
  v.setUint32(24, sampleRateHz, true);
  v.setUint32(28, sampleRateHz * nch * bytesPerSample, true);
  v.setUint16(32, nch * bytesPerSample, true);
  v.setUint16(34, bytesPerSample * 8, true);
  ascii(36, "data");
  v.setUint32(40, dataBytes, true);
  let off = 44;
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < nch; c++) {
      const x = channels[c]![i]!;
      if (format === "pcm16") {
        const s = Math.max(-1, Math.min(1, x));
        v.setInt16(off, Math.round(s < 0 ? s * 32768 : s * 32767), true);
        off += 2;
      } else {
        v.setFloat32(off, x, true);
        off += 4;
      }
    }
  }
  return out;
}
