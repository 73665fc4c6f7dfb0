// A baseline JPEG encoder that re-encodes only the MCU rows a frame changed.
//
// Why hand-written: a simulated camera's frame is a static background with a few moving shapes
// over it (about 4 % of the MCUs of a 1280×720 frame), yet a full libjpeg-turbo encode (sharp)
// costs ~4 ms of CPU per HD frame, and 16 cameras × 10 fps of that fill a core of this shared
// machine. A real camera encodes in hardware on its own chip; the simulator is test equipment.
// No JPEG library offers what this needs (restart intervals of one MCU row, entropy-coded rows kept
// and spliced between frames, cached quantised coefficients), so it is written here.
//
// The output is an ordinary baseline JPEG (SOF0, 4:2:0, Annex K standard quantisation scaled by
// quality as libjpeg does, Annex K standard Huffman tables, no optimised coding) with DRI = one MCU
// row: the decoder resets DC prediction at every RSTn, so a row's entropy-coded bytes depend on
// that row's pixels only. The background's rows are encoded once; per frame, a row no shape
// touches is copied, and a touched row is Huffman-coded again from the background's cached
// coefficients with fresh DCTs for the touched MCUs only. Every frame is complete and decodes on
// its own (nothing refers to earlier frames).

/** A region the frame drew over the background, in pixels, end-exclusive. */
export interface DirtyRect {
  xa: number;
  xb: number;
  ya: number;
  yb: number;
}

// Annex K.1 quantisation tables, natural (row-major) order.
const STD_LUMA_Q = [
  16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55, 14, 13, 16, 24, 40, 57, 69, 56, 14, 17, 22, 29, 51, 87, 80, 62, 18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92, 49, 64,
  78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99,
];
const STD_CHROMA_Q = [
  17, 18, 24, 47, 99, 99, 99, 99, 18, 21, 26, 66, 99, 99, 99, 99, 24, 26, 56, 99, 99, 99, 99, 99, 47, 66, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99,
  99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99,
];
/** ZIGZAG[k] = natural index of the k-th coefficient in zigzag order. */
const ZIGZAG = [
  0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13, 6, 7, 14, 21, 28, 35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51, 58, 59, 52, 45, 38, 31,
  39, 46, 53, 60, 61, 54, 47, 55, 62, 63,
];

const ZIGZAG_I32 = Int32Array.from(ZIGZAG);

// Annex K.3 Huffman tables: code counts per length 1..16, then the symbols.
interface HuffSpec {
  bits: number[];
  vals: number[];
}
const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);
const DC_LUMA: HuffSpec = { bits: [0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0], vals: range(12) };
const DC_CHROMA: HuffSpec = { bits: [0, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0], vals: range(12) };
const AC_LUMA: HuffSpec = {
  bits: [0, 2, 1, 3, 3, 2, 4, 3, 5, 5, 4, 4, 0, 0, 1, 0x7d],
  vals: [
    0x01, 0x02, 0x03, 0x00, 0x04, 0x11, 0x05, 0x12, 0x21, 0x31, 0x41, 0x06, 0x13, 0x51, 0x61, 0x07, 0x22, 0x71, 0x14, 0x32, 0x81, 0x91, 0xa1, 0x08, 0x23, 0x42, 0xb1, 0xc1, 0x15, 0x52, 0xd1, 0xf0, 0x24, 0x33,
    0x62, 0x72, 0x82, 0x09, 0x0a, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x25, 0x26, 0x27, 0x28, 0x29, 0x2a, 0x34, 0x35, 0x36, 0x37, 0x38, 0x39, 0x3a, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48, 0x49, 0x4a, 0x53, 0x54, 0x55,
    0x56, 0x57, 0x58, 0x59, 0x5a, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6a, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78, 0x79, 0x7a, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8a, 0x92, 0x93, 0x94, 0x95, 0x96,
    0x97, 0x98, 0x99, 0x9a, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8, 0xa9, 0xaa, 0xb2, 0xb3, 0xb4, 0xb5, 0xb6, 0xb7, 0xb8, 0xb9, 0xba, 0xc2, 0xc3, 0xc4, 0xc5, 0xc6, 0xc7, 0xc8, 0xc9, 0xca, 0xd2, 0xd3, 0xd4,
    0xd5, 0xd6, 0xd7, 0xd8, 0xd9, 0xda, 0xe1, 0xe2, 0xe3, 0xe4, 0xe5, 0xe6, 0xe7, 0xe8, 0xe9, 0xea, 0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8, 0xf9, 0xfa,
  ],
};
const AC_CHROMA: HuffSpec = {
  bits: [0, 2, 1, 2, 4, 4, 3, 4, 7, 5, 4, 4, 0, 1, 2, 0x77],
  vals: [
    0x00, 0x01, 0x02, 0x03, 0x11, 0x04, 0x05, 0x21, 0x31, 0x06, 0x12, 0x41, 0x51, 0x07, 0x61, 0x71, 0x13, 0x22, 0x32, 0x81, 0x08, 0x14, 0x42, 0x91, 0xa1, 0xb1, 0xc1, 0x09, 0x23, 0x33, 0x52, 0xf0, 0x15, 0x62,
    0x72, 0xd1, 0x0a, 0x16, 0x24, 0x34, 0xe1, 0x25, 0xf1, 0x17, 0x18, 0x19, 0x1a, 0x26, 0x27, 0x28, 0x29, 0x2a, 0x35, 0x36, 0x37, 0x38, 0x39, 0x3a, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48, 0x49, 0x4a, 0x53, 0x54,
    0x55, 0x56, 0x57, 0x58, 0x59, 0x5a, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6a, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78, 0x79, 0x7a, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8a, 0x92, 0x93, 0x94,
    0x95, 0x96, 0x97, 0x98, 0x99, 0x9a, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8, 0xa9, 0xaa, 0xb2, 0xb3, 0xb4, 0xb5, 0xb6, 0xb7, 0xb8, 0xb9, 0xba, 0xc2, 0xc3, 0xc4, 0xc5, 0xc6, 0xc7, 0xc8, 0xc9, 0xca, 0xd2,
    0xd3, 0xd4, 0xd5, 0xd6, 0xd7, 0xd8, 0xd9, 0xda, 0xe2, 0xe3, 0xe4, 0xe5, 0xe6, 0xe7, 0xe8, 0xe9, 0xea, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8, 0xf9, 0xfa,
  ],
};

/** Code and length per symbol (Annex C: canonical codes in order of length). */
interface HuffTable {
  code: Uint16Array;
  size: Uint8Array;
}
function huffTable(spec: HuffSpec): HuffTable {
  const total = spec.bits.reduce((s, n) => s + n, 0);
  if (total !== spec.vals.length) throw new Error(`Huffman table lists ${total} codes for ${spec.vals.length} symbols`);
  const code = new Uint16Array(256);
  const size = new Uint8Array(256);
  let c = 0;
  let k = 0;
  for (let len = 1; len <= 16; len++) {
    for (let i = 0; i < spec.bits[len - 1]!; i++) {
      const sym = spec.vals[k++]!;
      code[sym] = c++;
      size[sym] = len;
    }
    c <<= 1;
  }
  return { code, size };
}
const H_DC_LUMA = huffTable(DC_LUMA);
const H_DC_CHROMA = huffTable(DC_CHROMA);
const H_AC_LUMA = huffTable(AC_LUMA);
const H_AC_CHROMA = huffTable(AC_CHROMA);

/** A standard table scaled for a libjpeg quality 1..100 (jpeg_quality_scaling, baseline: capped at 255). */
export function scaledQuant(base: readonly number[], quality: number): number[] {
  const q = Math.max(1, Math.min(100, Math.round(quality)));
  const scale = q < 50 ? Math.floor(5000 / q) : 200 - q * 2;
  return base.map((v) => Math.max(1, Math.min(255, Math.floor((v * scale + 50) / 100))));
}

// Forward DCT: the Arai–Agui–Nakajima factorisation (as libjpeg's float DCT), 5 multiplications per
// 8 samples; its outputs are the JPEG coefficients times 8·s(u)·s(v), which the quantiser divides out.
const AAN_SCALE = [1, 1.387039845, 1.306562965, 1.175875602, 1, 0.785694958, 0.5411961, 0.275899379];

/** 1 / (8 · s(u) · s(v) · quantiser) per zigzag position, for fdctQuant. */
function aanDivisors(quant: readonly number[]): Float64Array {
  const r = new Float64Array(64);
  for (let z = 0; z < 64; z++) {
    const i = ZIGZAG[z]!;
    r[z] = 1 / (8 * AAN_SCALE[i >> 3]! * AAN_SCALE[i & 7]! * quant[i]!);
  }
  return r;
}

/** One 8-point AAN pass over d[at], d[at+S], … d[at+7·S], in place (S = 1 for rows, 8 for columns). */
function aan8(d: Float64Array, at: number, S: 1 | 8): void {
  const i1 = at + S, i2 = at + 2 * S, i3 = at + 3 * S, i4 = at + 4 * S, i5 = at + 5 * S, i6 = at + 6 * S, i7 = at + 7 * S;
  const d0 = d[at]!, d1 = d[i1]!, d2 = d[i2]!, d3 = d[i3]!, d4 = d[i4]!, d5 = d[i5]!, d6 = d[i6]!, d7 = d[i7]!;
  const t0 = d0 + d7, t7 = d0 - d7, t1 = d1 + d6, t6 = d1 - d6, t2 = d2 + d5, t5 = d2 - d5, t3 = d3 + d4, t4 = d3 - d4;
  // Even part.
  const e10 = t0 + t3, e13 = t0 - t3, e11 = t1 + t2, e12 = t1 - t2;
  d[at] = e10 + e11;
  d[i4] = e10 - e11;
  const z1 = (e12 + e13) * 0.707106781;
  d[i2] = e13 + z1;
  d[i6] = e13 - z1;
  // Odd part.
  const o10 = t4 + t5, o11 = t5 + t6, o12 = t6 + t7;
  const z5 = (o10 - o12) * 0.382683433;
  const z2 = 0.5411961 * o10 + z5;
  const z4 = 1.306562965 * o12 + z5;
  const z3 = o11 * 0.707106781;
  const z11 = t7 + z3, z13 = t7 - z3;
  d[i5] = z13 + z2;
  d[i3] = z13 - z2;
  d[i1] = z11 + z4;
  d[i7] = z11 - z4;
}

/** Forward DCT of 64 level-shifted samples (row-major), quantised, written in zigzag order to out[at..at+64). */
function fdctQuant(block: Float64Array, divisors: Float64Array, out: Int16Array, at: number): void {
  for (let y = 0; y < 64; y += 8) aan8(block, y, 1);
  for (let x = 0; x < 8; x++) aan8(block, x, 8);
  for (let z = 0; z < 64; z++) {
    // Round half away from zero, as libjpeg's quantiser does (the +0.5 then truncation toward zero).
    const f = block[ZIGZAG_I32[z]!]! * divisors[z]!;
    out[at + z] = f < 0 ? -((0.5 - f) | 0) : (f + 0.5) | 0;
  }
}

/** Bits into bytes (unstuffed: `stuffed()` adds the 0x00 after each 0xFF); the buffer grows when a row needs more. */
class BitWriter {
  buf = new Uint8Array(1 << 16);
  len = 0;
  private acc = 0;
  private n = 0;
  reset(): void {
    this.len = 0;
    this.acc = 0;
    this.n = 0;
  }
  /** Bits written so far. */
  get bitLength(): number {
    return this.len * 8 + this.n;
  }
  /** Append `size` (≤ 16) low bits of `value`. */
  put(value: number, size: number): void {
    this.acc = (this.acc << size) | (value & ((1 << size) - 1));
    this.n += size;
    if (this.n >= 8) {
      if (this.len + 4 > this.buf.length) {
        const b = new Uint8Array(this.buf.length * 2);
        b.set(this.buf.subarray(0, this.len));
        this.buf = b;
      }
      while (this.n >= 8) {
        this.n -= 8;
        this.buf[this.len++] = (this.acc >>> this.n) & 0xff;
      }
      this.acc &= (1 << this.n) - 1;
    }
  }
  /** Append bits [from, to) of an unstuffed bit string (whole bytes at a time: rows are mostly copied). */
  copy(src: Uint8Array, from: number, to: number): void {
    let i = from;
    while (i < to && i & 7) {
      this.put((src[i >> 3]! >> (7 - (i & 7))) & 1, 1);
      i++;
    }
    const whole = (to - i) >> 3;
    if (whole > 0) {
      if (this.len + whole + 4 > this.buf.length) {
        const b = new Uint8Array(Math.max(this.buf.length * 2, this.len + whole + 4));
        b.set(this.buf.subarray(0, this.len));
        this.buf = b;
      }
      const first = i >> 3;
      if (this.n === 0) {
        this.buf.set(src.subarray(first, first + whole), this.len);
        this.len += whole;
      } else {
        // Each source byte lands across two output bytes: keep the n pending bits in front.
        const n = this.n;
        let acc = this.acc;
        const buf = this.buf;
        let len = this.len;
        for (let j = first; j < first + whole; j++) {
          const v = src[j]!;
          buf[len++] = ((acc << (8 - n)) | (v >> n)) & 0xff;
          acc = v & ((1 << n) - 1);
        }
        this.acc = acc;
        this.len = len;
      }
      i += whole * 8;
    }
    if (i < to) this.put(src[i >> 3]! >> (8 - (to - i)), to - i);
  }
  /** Pad the last byte with 1-bits (as the standard asks before a marker). */
  flush(): void {
    if (this.n > 0) this.put(0x7f, 8 - this.n);
  }
  /** The bytes as they go into the file: every 0xFF followed by a stuffed 0x00. */
  stuffed(): Uint8Array {
    let ff = 0;
    for (let i = 0; i < this.len; i++) if (this.buf[i] === 0xff) ff++;
    if (!ff) return this.buf.slice(0, this.len);
    const out = new Uint8Array(this.len + ff);
    let o = 0;
    for (let i = 0; i < this.len; i++) {
      const b = this.buf[i]!;
      out[o++] = b;
      if (b === 0xff) out[o++] = 0;
    }
    return out;
  }
}

function encodeBlock(w: BitWriter, coef: Int16Array, at: number, prevDc: number, dc: HuffTable, ac: HuffTable): number {
  const d = coef[at]!;
  const diff = d - prevDc;
  let mag = diff < 0 ? -diff : diff;
  let nbits = 0;
  while (mag) {
    nbits++;
    mag >>= 1;
  }
  w.put(dc.code[nbits]!, dc.size[nbits]!);
  if (nbits) w.put(diff < 0 ? diff - 1 : diff, nbits);
  let last = 63;
  while (last > 0 && coef[at + last] === 0) last--;
  let run = 0;
  for (let k = 1; k <= last; k++) {
    const v = coef[at + k]!;
    if (v === 0) {
      run++;
      continue;
    }
    while (run > 15) {
      w.put(ac.code[0xf0]!, ac.size[0xf0]!);
      run -= 16;
    }
    mag = v < 0 ? -v : v;
    nbits = 0;
    while (mag) {
      nbits++;
      mag >>= 1;
    }
    const sym = (run << 4) | nbits;
    w.put(ac.code[sym]!, ac.size[sym]!);
    w.put(v < 0 ? v - 1 : v, nbits);
    run = 0;
  }
  if (last < 63) w.put(ac.code[0]!, ac.size[0]!);
  return d;
}

const BLOCKS_PER_MCU = 6; // 4 Y (2×2), Cb, Cr
const MCU_COEFS = BLOCKS_PER_MCU * 64;

export interface SplicedJpegEncoder {
  readonly width: number;
  readonly height: number;
  readonly quality: number;
  /** MCU rows (16 px each) and restart interval (MCUs per row). */
  readonly mcuRows: number;
  readonly mcusPerRow: number;
  /**
   * The JPEG of `rgb`, which must equal the background outside `dirty` (the regions drawn over it).
   * Rows no rect touches reuse the background's entropy-coded bytes.
   */
  encode(rgb: Uint8Array, dirty: readonly DirtyRect[]): Buffer;
  /** Statistics of the last encode: MCU rows and MCUs coded again. */
  readonly last: { rows: number; mcus: number };
}

/**
 * An encoder for one stream size and quality over one background (RGB, width × height × 3).
 * Construction encodes the whole background once (a full-frame cost).
 */
export function splicedJpegEncoder(background: Uint8Array, width: number, height: number, quality: number): SplicedJpegEncoder {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1 || width > 65535 || height > 65535) throw new Error(`bad JPEG size ${width}×${height}`);
  if (background.length !== width * height * 3) throw new Error(`background is ${background.length} bytes, not ${width}×${height}×3`);
  const lq = scaledQuant(STD_LUMA_Q, quality);
  const cq = scaledQuant(STD_CHROMA_Q, quality);
  const lRecip = aanDivisors(lq);
  const cRecip = aanDivisors(cq);
  const mcusPerRow = Math.ceil(width / 16);
  const mcuRows = Math.ceil(height / 16);
  if (mcusPerRow > 65535) throw new Error('too wide for a one-row restart interval');

  const header = buildHeader(width, height, mcusPerRow, lq, cq);
  const block = new Float64Array(64);
  const cb = new Float64Array(64);
  const cr = new Float64Array(64);

  const ys = new Float64Array(256);
  /** DCT + quantisation of MCU (mx, my) of `rgb` into out[at..at+384). Edge MCUs repeat the last column/row. */
  const mcuCoefs = (rgb: Uint8Array, mx: number, my: number, out: Int16Array, at: number): void => {
    const x0 = mx * 16;
    const inside = x0 + 16 <= width;
    // Per 2×2 pixels: four Y samples, and Cb/Cr of their summed RGB (the colour transform is linear, so this is the 2×2 average).
    for (let cy = 0; cy < 8; cy++) {
      const rowA = Math.min(height - 1, my * 16 + 2 * cy) * width;
      const rowB = Math.min(height - 1, my * 16 + 2 * cy + 1) * width;
      for (let cx = 0; cx < 8; cx++) {
        const xa = inside ? x0 + 2 * cx : Math.min(width - 1, x0 + 2 * cx);
        const xb = inside ? xa + 1 : Math.min(width - 1, x0 + 2 * cx + 1);
        const o00 = (rowA + xa) * 3, o01 = (rowA + xb) * 3, o10 = (rowB + xa) * 3, o11 = (rowB + xb) * 3;
        const r00 = rgb[o00]!, g00 = rgb[o00 + 1]!, b00 = rgb[o00 + 2]!;
        const r01 = rgb[o01]!, g01 = rgb[o01 + 1]!, b01 = rgb[o01 + 2]!;
        const r10 = rgb[o10]!, g10 = rgb[o10 + 1]!, b10 = rgb[o10 + 2]!;
        const r11 = rgb[o11]!, g11 = rgb[o11 + 1]!, b11 = rgb[o11 + 2]!;
        const yi = 32 * cy + 2 * cx;
        ys[yi] = 0.299 * r00 + 0.587 * g00 + 0.114 * b00 - 128;
        ys[yi + 1] = 0.299 * r01 + 0.587 * g01 + 0.114 * b01 - 128;
        ys[yi + 16] = 0.299 * r10 + 0.587 * g10 + 0.114 * b10 - 128;
        ys[yi + 17] = 0.299 * r11 + 0.587 * g11 + 0.114 * b11 - 128;
        const r = r00 + r01 + r10 + r11;
        const g = g00 + g01 + g10 + g11;
        const b = b00 + b01 + b10 + b11;
        cb[cy * 8 + cx] = -0.042184 * r - 0.082816 * g + 0.125 * b; // ¼ of the sums' Cb − 128
        cr[cy * 8 + cx] = 0.125 * r - 0.104672 * g - 0.020328 * b;
      }
    }
    for (let q = 0; q < 4; q++) {
      const base = (q >> 1) * 128 + (q & 1) * 8;
      for (let y = 0; y < 8; y++) for (let x = 0; x < 8; x++) block[y * 8 + x] = ys[base + y * 16 + x]!;
      fdctQuant(block, lRecip, out, at + q * 64);
    }
    fdctQuant(cb, cRecip, out, at + 4 * 64);
    fdctQuant(cr, cRecip, out, at + 5 * 64);
  };

  const writer = new BitWriter();
  /** Entropy-code MCUs [from, to) of a row whose coefficients are `coefs`, DC predictors given. */
  const codeMcus = (coefs: Int16Array, from: number, to: number, dcY: number, dcCb: number, dcCr: number): void => {
    let dy = dcY;
    let dcb = dcCb;
    let dcr = dcCr;
    for (let m = from; m < to; m++) {
      const at = m * MCU_COEFS;
      dy = encodeBlock(writer, coefs, at, dy, H_DC_LUMA, H_AC_LUMA);
      dy = encodeBlock(writer, coefs, at + 64, dy, H_DC_LUMA, H_AC_LUMA);
      dy = encodeBlock(writer, coefs, at + 128, dy, H_DC_LUMA, H_AC_LUMA);
      dy = encodeBlock(writer, coefs, at + 192, dy, H_DC_LUMA, H_AC_LUMA);
      dcb = encodeBlock(writer, coefs, at + 256, dcb, H_DC_CHROMA, H_AC_CHROMA);
      dcr = encodeBlock(writer, coefs, at + 320, dcr, H_DC_CHROMA, H_AC_CHROMA);
    }
  };

  const rowCoefsLen = mcusPerRow * MCU_COEFS;
  const bgCoefs = new Int16Array(mcuRows * rowCoefsLen);
  /** Per background row: its file bytes, its unstuffed bits and the bit offset where each MCU starts (and the end). */
  const bgRows: { bytes: Uint8Array; bits: Uint8Array; at: Uint32Array }[] = [];
  for (let my = 0; my < mcuRows; my++) {
    const coefs = bgCoefs.subarray(my * rowCoefsLen, (my + 1) * rowCoefsLen);
    for (let mx = 0; mx < mcusPerRow; mx++) mcuCoefs(background, mx, my, coefs, mx * MCU_COEFS);
    writer.reset();
    const at = new Uint32Array(mcusPerRow + 1);
    for (let mx = 0; mx < mcusPerRow; mx++) {
      at[mx] = writer.bitLength;
      const p = (mx - 1) * MCU_COEFS;
      codeMcus(coefs, mx, mx + 1, mx ? coefs[p + 192]! : 0, mx ? coefs[p + 256]! : 0, mx ? coefs[p + 320]! : 0);
    }
    at[mcusPerRow] = writer.bitLength;
    writer.flush();
    const bits = writer.buf.slice(0, writer.len);
    bgRows.push({ bytes: writer.stuffed(), bits, at });
  }

  const dirtyMcu = new Uint8Array(mcuRows * mcusPerRow);
  /**
   * A touched row: MCUs that are neither touched nor right of a touched one are the background's
   * bits, copied; touched MCUs and the MCU after each (its DC difference refers to a new
   * neighbour) are coded again. Past that MCU every DC predictor is the background's again.
   */
  const codeTouchedRow = (my: number, coefs: Int16Array): Uint8Array => {
    const bgRow = bgRows[my]!;
    const d = my * mcusPerRow;
    writer.reset();
    let m = 0;
    while (m < mcusPerRow) {
      let e = m;
      while (e < mcusPerRow && !dirtyMcu[d + e] && !(e > 0 && dirtyMcu[d + e - 1])) e++;
      if (e > m) {
        writer.copy(bgRow.bits, bgRow.at[m]!, bgRow.at[e]!);
        m = e;
        continue;
      }
      while (e < mcusPerRow && (dirtyMcu[d + e] || (e > 0 && dirtyMcu[d + e - 1]))) e++;
      const p = (m - 1) * MCU_COEFS; // MCU m-1 is the background's (or m is the row's first)
      codeMcus(coefs, m, e, m ? coefs[p + 192]! : 0, m ? coefs[p + 256]! : 0, m ? coefs[p + 320]! : 0);
      m = e;
    }
    writer.flush();
    return writer.stuffed();
  };

  const rowCoefs = new Int16Array(rowCoefsLen);
  const rows: Uint8Array[] = new Array<Uint8Array>(mcuRows);
  const last = { rows: 0, mcus: 0 };

  return {
    width,
    height,
    quality,
    mcuRows,
    mcusPerRow,
    last,
    encode(rgb, dirty) {
      if (rgb.length !== width * height * 3) throw new Error(`frame is ${rgb.length} bytes, not ${width}×${height}×3`);
      dirtyMcu.fill(0);
      for (const r of dirty) {
        const xa = Math.max(0, Math.floor(r.xa));
        const xb = Math.min(width, Math.ceil(r.xb));
        const ya = Math.max(0, Math.floor(r.ya));
        const yb = Math.min(height, Math.ceil(r.yb));
        if (xa >= xb || ya >= yb) continue;
        for (let my = ya >> 4; my <= (yb - 1) >> 4; my++) for (let mx = xa >> 4; mx <= (xb - 1) >> 4; mx++) dirtyMcu[my * mcusPerRow + mx] = 1;
      }
      last.rows = 0;
      last.mcus = 0;
      let total = header.length + 2;
      for (let my = 0; my < mcuRows; my++) {
        let touched = false;
        for (let mx = 0; mx < mcusPerRow; mx++) {
          if (!dirtyMcu[my * mcusPerRow + mx]) continue;
          if (!touched) rowCoefs.set(bgCoefs.subarray(my * rowCoefsLen, (my + 1) * rowCoefsLen));
          touched = true;
          mcuCoefs(rgb, mx, my, rowCoefs, mx * MCU_COEFS);
          last.mcus++;
        }
        if (touched) last.rows++;
        rows[my] = touched ? codeTouchedRow(my, rowCoefs) : bgRows[my]!.bytes;
        total += rows[my]!.length + (my < mcuRows - 1 ? 2 : 0);
      }
      const out = Buffer.allocUnsafe(total);
      out.set(header, 0);
      let o = header.length;
      for (let my = 0; my < mcuRows; my++) {
        out.set(rows[my]!, o);
        o += rows[my]!.length;
        if (my < mcuRows - 1) {
          out[o++] = 0xff;
          out[o++] = 0xd0 + (my & 7); // RST0..RST7, cycling
        }
      }
      out[o] = 0xff;
      out[o + 1] = 0xd9; // EOI
      return out;
    },
  };
}

/** SOI, JFIF APP0, DQT, SOF0, DHT ×4, DRI, SOS: everything before the first entropy-coded row. */
function buildHeader(width: number, height: number, restartInterval: number, lq: number[], cq: number[]): Uint8Array {
  const bytes: number[] = [0xff, 0xd8];
  const seg = (marker: number, body: number[]): void => {
    const len = body.length + 2;
    bytes.push(0xff, marker, len >> 8, len & 0xff, ...body);
  };
  seg(0xe0, [0x4a, 0x46, 0x49, 0x46, 0x00, 1, 1, 0, 0, 1, 0, 1, 0, 0]); // "JFIF\0" 1.01, aspect 1:1, no thumbnail
  seg(0xdb, [0x00, ...ZIGZAG.map((i) => lq[i]!), 0x01, ...ZIGZAG.map((i) => cq[i]!)]);
  seg(0xc0, [8, height >> 8, height & 0xff, width >> 8, width & 0xff, 3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1]);
  const dht = (cls: number, id: number, s: HuffSpec): number[] => [(cls << 4) | id, ...s.bits, ...s.vals];
  seg(0xc4, [...dht(0, 0, DC_LUMA), ...dht(1, 0, AC_LUMA), ...dht(0, 1, DC_CHROMA), ...dht(1, 1, AC_CHROMA)]);
  seg(0xdd, [restartInterval >> 8, restartInterval & 0xff]);
  seg(0xda, [3, 1, 0x00, 2, 0x11, 3, 0x11, 0, 63, 0]);
  return Uint8Array.from(bytes);
}
