/**
 * Fixed-point encoding of updates into Z_2^32 so that masking and unmasking are exact. Each value
 * is clipped to ±range and scaled so that the sum over `maxClients` values still fits in a signed
 * 32-bit integer: the decoded sum is then the true sum of the quantised values, never wrapped.
 */
export interface Quantizer {
  range: number;
  scale: number;
}

export function quantizer(range: number, maxClients: number): Quantizer {
  if (!(range > 0) || maxClients < 1) throw new Error('quantizer needs a positive range and at least one client');
  return { range, scale: Math.floor((2 ** 31 - 1) / (range * maxClients)) };
}

export function quantize(x: ArrayLike<number>, q: Quantizer): Int32Array {
  const out = new Int32Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const v = x[i]!;
    out[i] = Math.round((v > q.range ? q.range : v < -q.range ? -q.range : v) * q.scale);
  }
  return out;
}

export function dequantize(sum: Int32Array, q: Quantizer): Float64Array {
  const out = new Float64Array(sum.length);
  for (let i = 0; i < sum.length; i++) out[i] = sum[i]! / q.scale;
  return out;
}
