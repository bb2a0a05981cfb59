import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { DynamicHub, foldHash, methodHash, activationHashes, type PluginSchema } from '../../src/index.js';
import { builtinActivations } from '../../activations/index.js';
import { siphash13Hex } from '../../src/hash/siphash13.js';
import { REPO_ROOT } from '../support/repo.js';

/** SipHash-1-3, key (0, 0), in BigInt: slow and plain, the check on the fast one for every length of the last block. */
function sipHash13Reference(bytes: Uint8Array): string {
  const M = (1n << 64n) - 1n;
  const rotl = (x: bigint, b: bigint) => ((x << b) | (x >> (64n - b))) & M;
  let [v0, v1, v2, v3] = [0x736f6d6570736575n, 0x646f72616e646f6dn, 0x6c7967656e657261n, 0x7465646279746573n];
  const round = () => {
    v0 = (v0 + v1) & M;
    v1 = rotl(v1, 13n) ^ v0;
    v0 = rotl(v0, 32n);
    v2 = (v2 + v3) & M;
    v3 = rotl(v3, 16n) ^ v2;
    v0 = (v0 + v3) & M;
    v3 = rotl(v3, 21n) ^ v0;
    v2 = (v2 + v1) & M;
    v1 = rotl(v1, 17n) ^ v2;
    v2 = rotl(v2, 32n);
  };
  const full = bytes.length - (bytes.length % 8);
  const word = (at: number, n: number) => {
    let m = 0n;
    for (let k = 0; k < n; k++) m |= BigInt(bytes[at + k]!) << BigInt(8 * k);
    return m;
  };
  for (let at = 0; at < full; at += 8) {
    const m = word(at, 8);
    v3 ^= m;
    round();
    v0 ^= m;
  }
  const last = word(full, bytes.length - full) | (BigInt(bytes.length & 0xff) << 56n);
  v3 ^= last;
  round();
  v0 ^= last;
  v2 ^= 0xffn;
  round();
  round();
  round();
  return (v0 ^ v1 ^ v2 ^ v3).toString(16).padStart(16, '0');
}

describe("SipHash-1-3 (the fold's function)", () => {
  it('equals a plain BigInt SipHash-1-3 for inputs of every tail length, and long ones', () => {
    const bytes = (n: number, seed: number) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed * 7 + (i >> 3)) & 0xff);
    for (let n = 0; n <= 40; n++) assert.equal(siphash13Hex(bytes(n, n)), sipHash13Reference(bytes(n, n)), `${n} bytes`);
    for (const n of [255, 256, 257, 1000, 4099]) assert.equal(siphash13Hex(bytes(n, 3)), sipHash13Reference(bytes(n, 3)), `${n} bytes`);
    assert.equal(siphash13Hex(new Uint8Array(64).fill(0xff)), sipHash13Reference(new Uint8Array(64).fill(0xff)));
  });
});

describe('hash fold: the spec test vectors', () => {
  it('H() and single strings', () => {
    assert.equal(foldHash(), 'd1fba762150c532c');
    assert.equal(foldHash('info', 'Get information about Mercury'), '0c9e2126d28372ed');
    assert.equal(foldHash('0c9e2126d28372ed'), '82b8ae650b18f5f7');
    assert.equal(foldHash('82b8ae650b18f5f7'), 'a22ac060c67a9cba');
  });
  it('pairs and method lists', () => {
    assert.equal(foldHash('6b17395d756e8a7b', '079bacf933e9de88'), '9b070a0aa9553226');
    assert.equal(foldHash('1de72ff82a3a5bb8', '4b8967667bc555ec', 'auto_schema', ''), '0b8b317cf7c7e34c');
  });
  it('activation hashes fold methods in order and children sorted', () => {
    const leaf = activationHashes(['0c9e2126d28372ed']);
    assert.deepEqual(leaf, { self_hash: '82b8ae650b18f5f7', hash: 'a22ac060c67a9cba' });
    const a = activationHashes(['x'], ['b', 'a']);
    const b = activationHashes(['x'], ['a', 'b']);
    assert.deepEqual(a, b);
    assert.equal(a.hash, foldHash(a.self_hash, a.children_hash!));
  });
  it('a method hash ignores key order but not content', () => {
    const base = {
      name: 'm',
      description: 'd',
      params: { type: 'object', properties: { a: { type: 'string' } } },
      returns: { type: 'number' },
      streaming: false,
    };
    const reordered = { ...base, params: { properties: { a: { type: 'string' } }, type: 'object' } };
    assert.equal(methodHash(base), methodHash(reordered));
    assert.notEqual(methodHash(base), methodHash({ ...base, streaming: true }));
    assert.notEqual(methodHash(base), methodHash({ ...base, description: 'e' }));
    assert.notEqual(methodHash(base), methodHash({ ...base, returns: { type: 'string' } }));
  });
});

const here = `${REPO_ROOT}test/`;
const tmp = `${here}.tmp/hash-${process.pid}`;
mkdirSync(tmp, { recursive: true });
after(() => rmSync(tmp, { recursive: true, force: true }));

let modules = 0;
/**
 * Writes one activation module per `[signature, doc]` and returns the root and method
 * hash of a hub serving each. The hubs get ready together, so their classes go to the
 * extractor in one batch: one TypeScript program for all, not one each.
 */
async function hubsWith(...variants: (readonly [signature: string, doc?: string])[]): Promise<{ root: string; method: string }[]> {
  const files = variants.map(([signature, doc = 'Greets.']) => {
    const file = `${tmp}/greeter${modules++}.ts`;
    writeFileSync(
      file,
      `import { activation, method } from '../../../src/index.js';
/** A greeter. */
@activation('greeter')
export class Greeter {
  /** ${doc} */
  @method()
  ${signature} { return undefined as never; }
}
`,
    );
    return file;
  });
  const classes = await Promise.all(files.map(async (file) => (await import(pathToFileURL(file).href)).Greeter));
  const hubs = classes.map((Greeter) => new DynamicHub().register(new Greeter()));
  await Promise.all(hubs.map((hub) => hub.ready()));
  return Promise.all(
    hubs.map(async (hub) => {
      const plugin = (await hub.schema('greeter')) as PluginSchema;
      return { root: hub.hash(), method: plugin.methods[0]!.hash };
    }),
  );
}

describe('content hashes of a live tree', () => {
  it('the same code gives the same hashes, whatever the file', async () => {
    const [a, b] = await hubsWith(['greet(name: string): string'], ['greet(name: string): string']);
    assert.deepEqual(a, b);
  });

  it('changing a param type, a param name, the item type or the docs changes the method and root hash', async () => {
    const [base, ...variants] = await hubsWith(
      ['greet(name: string): string'],
      ['greet(name: number): string'],
      ['greet(who: string): string'],
      ['greet(name: string): number'],
      ['greet(name: string, loud?: boolean): string'],
      ['async *greet(name: string): AsyncGenerator<string>'],
      ['greet(name: string): string', 'Greets warmly.'],
    );
    for (const v of variants) {
      assert.notEqual(v.method, base.method);
      assert.notEqual(v.root, base.root);
    }
    assert.equal(new Set(variants.map((v) => v.root)).size, variants.length);
  });

  it('a change deep in the tree changes every hash above it, and only those', async () => {
    const hub = new DynamicHub().register(...builtinActivations());
    await hub.ready();
    const root = (await hub.schema()) as PluginSchema;
    const solar = (await hub.schema('solar')) as PluginSchema;
    const echoHash = root.children!.find((c) => c.namespace === 'echo')!.hash;
    const inner = new DynamicHub('deep');
    hub.register(inner);
    const after1 = hub.hash();
    assert.notEqual(after1, root.hash);
    inner.register(new (await import('../fixtures/kitchen.js')).Kitchen());
    await hub.ready();
    assert.notEqual(hub.hash(), after1);
    const root2 = (await hub.schema()) as PluginSchema;
    assert.equal(root2.children!.find((c) => c.namespace === 'echo')!.hash, echoHash);
    assert.equal(((await hub.schema('solar')) as PluginSchema).hash, solar.hash);
  });

  it('the root hash is identical across processes (no cache, fresh compile)', async () => {
    const hub = new DynamicHub().register(...builtinActivations());
    await hub.ready();
    const script = `import { DynamicHub } from './src/index.ts'; import { builtinActivations } from './activations/index.ts';
const hub = new DynamicHub().register(...builtinActivations()); await hub.ready(); console.log(hub.hash());`;
    const out = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: `${here}..`,
      env: { ...process.env, PLEXUS_HUB_CACHE: 'off' },
      encoding: 'utf8',
    });
    assert.equal(out.trim(), hub.hash());
  });
});
