#!/usr/bin/env bash
# Regenerates the audio test fixtures in this folder (see README.md). Needs ffmpeg (tested with the Debian
# package) and python3. Not used by the tests at run time: the generated files are committed.
set -euo pipefail
cd "$(dirname "$0")"

# Left: 0.4*sin(440 Hz) + 0.3*sin(110 Hz); right: 0.2*sin(440 Hz) + 0.3*sin(110 Hz) (the channels differ on
# purpose, so a decoder that collapses identical stereo to mono cannot hide a channel bug).
L='0.4*sin(2*PI*440*t)+0.3*sin(2*PI*110*t)'
R='0.2*sin(2*PI*440*t)+0.3*sin(2*PI*110*t)'
ff() { ffmpeg -hide_banner -loglevel error -y "$@"; }
clean=(-map_metadata -1 -fflags +bitexact -flags:a +bitexact)

# WAV, every PCM width the project must read, plus IEEE float.
ff -f lavfi -i "aevalsrc=$L|$R:s=22050:d=0.5" -c:a pcm_u8 "${clean[@]}" wav_pcm8_22k05_stereo.wav
ff -f lavfi -i "aevalsrc=$L:s=16000:d=0.8" -c:a pcm_s16le "${clean[@]}" wav_pcm16_16k_mono.wav
ff -f lavfi -i "aevalsrc=$L:s=16000:d=0.5" -c:a pcm_s24le "${clean[@]}" wav_pcm24_16k_mono.wav
ff -f lavfi -i "aevalsrc=$L:s=16000:d=0.45" -c:a pcm_s32le "${clean[@]}" wav_pcm32_16k_mono.wav
ff -f lavfi -i "aevalsrc=$L:s=16000:d=0.45" -c:a pcm_f32le "${clean[@]}" wav_float32_16k_mono.wav

# Compressed and other containers.
ff -f lavfi -i "aevalsrc=$L|$R:s=44100:d=1" -c:a libmp3lame -b:a 64k "${clean[@]}" mp3_44k1_stereo.mp3
ff -f lavfi -i "aevalsrc=$L|$R:s=48000:d=0.5" -sample_fmt s16 -c:a flac -compression_level 12 "${clean[@]}" \
  flac_48k_stereo.flac
ff -f lavfi -i "aevalsrc=$L:s=22050:d=0.6" -sample_fmt s16 -c:a flac -compression_level 12 "${clean[@]}" \
  flac_22k05_mono.flac
ff -f lavfi -i "aevalsrc=$L|$R:s=44100:d=1" -c:a libvorbis -q:a 2 "${clean[@]}" vorbis_44k1_stereo.ogg
ff -f lavfi -i "aevalsrc=$L|$R:s=48000:d=1" -c:a libopus -b:a 48k "${clean[@]}" opus_48k_stereo.opus
ff -f lavfi -i "aevalsrc=$L|$R:s=44100:d=1" -c:a aac -b:a 64k "${clean[@]}" aac_44k1_stereo.m4a
ff -f lavfi -i "aevalsrc=$L:s=16000:d=0.5" -c:a pcm_s16be "${clean[@]}" aiff_16k_mono.aiff

# Broken inputs.
: > empty.wav
# A RIFF/WAVE signature followed by 1000 pseudo-random bytes (fixed seed): no fmt/data chunk can be parsed.
python3 -c "
import random, sys
random.seed(3)
sys.stdout.buffer.write(b'RIFF' + (1008).to_bytes(4, 'little') + b'WAVE' + bytes(random.getrandbits(8) for _ in range(1000)))
" > corrupt.wav
# The first 200 bytes of flac_48k_stereo.flac: a valid header, cut before the first audio frame.
head -c 200 flac_48k_stereo.flac > truncated.flac
# 2000 pseudo-random bytes (fixed seed) with no audio signature.
python3 -c "
import random, sys
random.seed(7)
sys.stdout.buffer.write(bytes(random.getrandbits(8) for _ in range(2000)))
" > not_audio.bin
