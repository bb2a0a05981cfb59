import { describe, it } from 'node:test';
import fc from 'fast-check';
import { itemJson } from '../../src/wire/jsonrpc.js';
import type { StreamItem } from '../../src/index.js';

describe('item serialisation', () => {
  it('the cached serializer gives exactly JSON.stringify of the item, for any content', () => {
    const metadata = { provenance: ['solar', 'earth'], plexus_hash: '0123456789abcdef', timestamp: 1795384298 };
    const content = fc.jsonValue().map((v) => (v === undefined ? null : v));
    const item = fc.oneof(
      fc.record({ type: fc.constant('data' as const), metadata: fc.constant(metadata), content_type: fc.string(), content }),
      fc.constant({ type: 'done' as const, metadata }),
      fc.record({
        type: fc.constant('progress' as const),
        metadata: fc.constant(metadata),
        message: fc.string(),
        percentage: fc.double({ noNaN: true, min: 0, max: 100 }),
      }),
      fc.record({
        type: fc.constant('error' as const),
        metadata: fc.constant(metadata),
        message: fc.string(),
        code: fc.constant('-32000'),
        recoverable: fc.boolean(),
      }),
    );
    fc.assert(
      fc.property(item, (i) => itemJson(i as StreamItem) === JSON.stringify(i)),
      { numRuns: 2000 },
    );
  });
});
