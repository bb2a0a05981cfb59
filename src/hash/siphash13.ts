/**
 * SipHash-1-3 with the all-zero key: the function behind Rust's `DefaultHasher`.
 * The content hashes must match the reference server byte for byte, so this is
 * the exact algorithm, not a lookalike. Each 64-bit lane is two 32-bit locals (hi,
 * lo) to stay out of BigInt, and the round is written out inline: a hub hashes every
 * schema at start-up, before V8 has optimised anything, and in the interpreter the
 * calls and lane arrays of a tidier version cost ~5× as much.
 */

/** SipHash-1-3 of `bytes` with key (0, 0), as 16 lowercase hex digits. */
export function siphash13Hex(bytes: Uint8Array): string {
  // Key (0,0): the initial state is just the constants "somepseudorandomlygeneratedbytes".
  let v0h = 0x736f6d65;
  let v0l = 0x70736575;
  let v1h = 0x646f7261;
  let v1l = 0x6e646f6d;
  let v2h = 0x6c796765;
  let v2l = 0x6e657261;
  let v3h = 0x74656462;
  let v3l = 0x79746573;
  const len = bytes.length;
  const tailStart = len - (len % 8);
  let i = 0;
  // Blocks of 8 bytes, little-endian; then the last block: the remaining bytes, with
  // the length's low byte in the top byte; then the finalisation (v2 ^= 0xff, 3 rounds).
  for (let block = 0, rounds = 1; ; ) {
    let mh: number;
    let ml: number;
    if (i < tailStart) {
      ml = (bytes[i]! | (bytes[i + 1]! << 8) | (bytes[i + 2]! << 16) | (bytes[i + 3]! << 24)) >>> 0;
      mh = (bytes[i + 4]! | (bytes[i + 5]! << 8) | (bytes[i + 6]! << 16) | (bytes[i + 7]! << 24)) >>> 0;
      i += 8;
    } else if (block === 0) {
      block = 1;
      ml = 0;
      mh = ((len & 0xff) << 24) >>> 0;
      for (let j = tailStart, shift = 0; j < len; j++, shift += 8) {
        if (shift < 32) ml = (ml | (bytes[j]! << shift)) >>> 0;
        else mh = (mh | (bytes[j]! << (shift - 32))) >>> 0;
      }
    } else {
      v2l = (v2l ^ 0xff) >>> 0;
      mh = 0;
      ml = 0;
      rounds = 3;
      block = 2;
    }
    if (block < 2) {
      v3h = (v3h ^ mh) >>> 0;
      v3l = (v3l ^ ml) >>> 0;
    }
    for (let r = 0; r < rounds; r++) {
      let lo: number;
      let t: number;
      // v0 += v1; v1 = rotl(v1, 13) ^ v0; v0 = rotl(v0, 32)
      lo = (v0l + v1l) >>> 0;
      v0h = (v0h + v1h + (lo < v0l ? 1 : 0)) >>> 0;
      v0l = lo;
      t = ((v1h << 13) | (v1l >>> 19)) >>> 0;
      v1l = ((v1l << 13) | (v1h >>> 19)) >>> 0;
      v1h = t;
      v1h = (v1h ^ v0h) >>> 0;
      v1l = (v1l ^ v0l) >>> 0;
      t = v0h;
      v0h = v0l;
      v0l = t;
      // v2 += v3; v3 = rotl(v3, 16) ^ v2
      lo = (v2l + v3l) >>> 0;
      v2h = (v2h + v3h + (lo < v2l ? 1 : 0)) >>> 0;
      v2l = lo;
      t = ((v3h << 16) | (v3l >>> 16)) >>> 0;
      v3l = ((v3l << 16) | (v3h >>> 16)) >>> 0;
      v3h = t;
      v3h = (v3h ^ v2h) >>> 0;
      v3l = (v3l ^ v2l) >>> 0;
      // v0 += v3; v3 = rotl(v3, 21) ^ v0
      lo = (v0l + v3l) >>> 0;
      v0h = (v0h + v3h + (lo < v0l ? 1 : 0)) >>> 0;
      v0l = lo;
      t = ((v3h << 21) | (v3l >>> 11)) >>> 0;
      v3l = ((v3l << 21) | (v3h >>> 11)) >>> 0;
      v3h = t;
      v3h = (v3h ^ v0h) >>> 0;
      v3l = (v3l ^ v0l) >>> 0;
      // v2 += v1; v1 = rotl(v1, 17) ^ v2; v2 = rotl(v2, 32)
      lo = (v2l + v1l) >>> 0;
      v2h = (v2h + v1h + (lo < v2l ? 1 : 0)) >>> 0;
      v2l = lo;
      t = ((v1h << 17) | (v1l >>> 15)) >>> 0;
      v1l = ((v1l << 17) | (v1h >>> 15)) >>> 0;
      v1h = t;
      v1h = (v1h ^ v2h) >>> 0;
      v1l = (v1l ^ v2l) >>> 0;
      t = v2h;
      v2h = v2l;
      v2l = t;
    }
    if (block < 2) {
      v0h = (v0h ^ mh) >>> 0;
      v0l = (v0l ^ ml) >>> 0;
    } else {
      break;
    }
  }
  const h = (v0h ^ v1h ^ v2h ^ v3h) >>> 0;
  const l = (v0l ^ v1l ^ v2l ^ v3l) >>> 0;
  return h.toString(16).padStart(8, '0') + l.toString(16).padStart(8, '0');
}
