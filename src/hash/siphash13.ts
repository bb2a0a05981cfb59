/**
 * SipHash-1-3 with the all-zero key: the function behind Rust's `DefaultHasher`.
 * The content hashes must match the reference server byte for byte, so this is
 * the exact algorithm, not a lookalike. 64-bit lanes are split into 32-bit halves
 * to stay out of BigInt on this path.
 */

type Lane = [hi: number, lo: number];

function add(a: Lane, b: Lane): void {
  const lo = (a[1] + b[1]) >>> 0;
  a[0] = (a[0] + b[0] + (lo < a[1] ? 1 : 0)) >>> 0;
  a[1] = lo;
}

function rotl(a: Lane, n: number): void {
  const [hi, lo] = a;
  if (n === 32) {
    a[0] = lo;
    a[1] = hi;
  } else if (n < 32) {
    a[0] = ((hi << n) | (lo >>> (32 - n))) >>> 0;
    a[1] = ((lo << n) | (hi >>> (32 - n))) >>> 0;
  } else {
    const m = n - 32;
    a[0] = ((lo << m) | (hi >>> (32 - m))) >>> 0;
    a[1] = ((hi << m) | (lo >>> (32 - m))) >>> 0;
  }
}

function xor(a: Lane, b: Lane): void {
  a[0] = (a[0] ^ b[0]) >>> 0;
  a[1] = (a[1] ^ b[1]) >>> 0;
}

function sipRound(v0: Lane, v1: Lane, v2: Lane, v3: Lane): void {
  add(v0, v1);
  rotl(v1, 13);
  xor(v1, v0);
  rotl(v0, 32);
  add(v2, v3);
  rotl(v3, 16);
  xor(v3, v2);
  add(v0, v3);
  rotl(v3, 21);
  xor(v3, v0);
  add(v2, v1);
  rotl(v1, 17);
  xor(v1, v2);
  rotl(v2, 32);
}

/** SipHash-1-3 of `bytes` with key (0, 0), as 16 lowercase hex digits. */
export function siphash13Hex(bytes: Uint8Array): string {
  // Key (0,0): the initial state is just the constants "somepseudorandomlygeneratedbytes".
  const v0: Lane = [0x736f6d65, 0x70736575];
  const v1: Lane = [0x646f7261, 0x6e646f6d];
  const v2: Lane = [0x6c796765, 0x6e657261];
  const v3: Lane = [0x74656462, 0x79746573];
  const len = bytes.length;
  const tailStart = len - (len % 8);
  const m: Lane = [0, 0];
  for (let i = 0; i < tailStart; i += 8) {
    m[1] = (bytes[i]! | (bytes[i + 1]! << 8) | (bytes[i + 2]! << 16) | (bytes[i + 3]! << 24)) >>> 0;
    m[0] = (bytes[i + 4]! | (bytes[i + 5]! << 8) | (bytes[i + 6]! << 16) | (bytes[i + 7]! << 24)) >>> 0;
    xor(v3, m);
    sipRound(v0, v1, v2, v3);
    xor(v0, m);
  }
  // Last block: remaining bytes, with the length's low byte in the top byte.
  let lo = 0;
  let hi = ((len & 0xff) << 24) >>> 0;
  for (let i = tailStart, shift = 0; i < len; i++, shift += 8) {
    if (shift < 32) lo = (lo | (bytes[i]! << shift)) >>> 0;
    else hi = (hi | (bytes[i]! << (shift - 32))) >>> 0;
  }
  m[0] = hi;
  m[1] = lo;
  xor(v3, m);
  sipRound(v0, v1, v2, v3);
  xor(v0, m);
  xor(v2, [0, 0xff]);
  sipRound(v0, v1, v2, v3);
  sipRound(v0, v1, v2, v3);
  sipRound(v0, v1, v2, v3);
  xor(v0, v1);
  xor(v0, v2);
  xor(v0, v3);
  return v0[0].toString(16).padStart(8, '0') + v0[1].toString(16).padStart(8, '0');
}
