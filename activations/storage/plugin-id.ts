import { createHash } from 'node:crypto';

/** RFC 4122 namespace for ISO OIDs; the reference derives plugin ids under it. */
const NAMESPACE_OID = '6ba7b812-9dad-11d1-80b4-00c04fd430c8';

/** UUID version 5 (SHA-1, name-based) of `name` in `namespace`. */
export function uuidV5(name: string, namespace: string = NAMESPACE_OID): string {
  const bytes = createHash('sha1')
    .update(Buffer.from(namespace.replace(/-/g, ''), 'hex'))
    .update(name, 'utf8')
    .digest()
    .subarray(0, 16);
  bytes[6] = (bytes[6]! & 0x0f) | 0x50;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/**
 * An activation's plugin id as the reference computes it: UUIDv5(NAMESPACE_OID,
 * "<namespace>@<major version>"), e.g. arbor 1.0.0 → 58fd2bc4-b477-509b-9568-c5aee56f1bc0.
 */
export function pluginId(namespace: string, version: string): string {
  return uuidV5(`${namespace}@${version.split('.')[0] || '0'}`);
}
