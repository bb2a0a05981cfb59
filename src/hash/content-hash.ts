import canonicalize from 'canonicalize';
import { siphash13Hex } from './siphash13.js';

const encoder = new TextEncoder();

/**
 * `H(s1, …, sn)` from the wire contract: SipHash-1-3 over each string's UTF-8 bytes
 * followed by a 0xFF separator, which is how Rust's `DefaultHasher` hashes a `str`.
 */
export function foldHash(...parts: readonly string[]): string {
  const encoded = parts.map((p) => encoder.encode(p));
  const total = encoded.reduce((n, b) => n + b.length + 1, 0);
  const buf = new Uint8Array(total);
  let at = 0;
  for (const b of encoded) {
    buf.set(b, at);
    at += b.length;
    buf[at++] = 0xff;
  }
  return siphash13Hex(buf);
}

/** RFC 8785 canonical JSON, so key order and number formatting never move a hash. */
export function canonicalJson(value: unknown): string {
  return canonicalize(value ?? {}) ?? 'null';
}

export interface HashableMethod {
  readonly name: string;
  readonly description: string;
  readonly params?: unknown;
  readonly returns?: unknown;
  readonly streaming: boolean;
}

/** A method's hash: any change to its name, docs, param or item types changes it. */
export function methodHash(m: HashableMethod): string {
  return foldHash(m.name, m.description, canonicalJson(m.params), canonicalJson(m.returns), m.streaming ? 'stream' : 'unary');
}

export interface ActivationHashes {
  readonly self_hash: string;
  readonly children_hash?: string;
  readonly hash: string;
}

/**
 * Folds method hashes (in list order) and child hashes (sorted) into an activation's
 * hashes. Leaves have no `children_hash`.
 */
export function activationHashes(methodHashes: readonly string[], childHashes?: readonly string[]): ActivationHashes {
  const self_hash = foldHash(...methodHashes);
  if (childHashes === undefined) return { self_hash, hash: foldHash(self_hash) };
  const children_hash = foldHash(...[...childHashes].sort());
  return { self_hash, children_hash, hash: foldHash(self_hash, children_hash) };
}
