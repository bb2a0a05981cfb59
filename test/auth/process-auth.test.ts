// bash and claudecode need the `execute` verb: without a grant naming them, nothing
// runs (checked by a side effect each would leave), and no wildcard reaches them.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DynamicHub,
  HubAuth,
  parseGrant,
  PlexusClient,
  serveWebSocket,
  TokenStore,
  type PlexusServer,
  type StreamItem,
} from '../../src/index.js';
import { Arbor } from '../../activations/arbor/index.js';
import { Bash } from '../../activations/bash.js';
import { ClaudeCode } from '../../activations/claudecode/index.js';
import { writeFakeClaude } from '../fixtures/fake-claude.js';

const dir = realpathSync(mkdtempSync(join(tmpdir(), 'plexus-process-auth-')));
const work = join(dir, 'work');
mkdirSync(work);
const LOG = join(dir, 'claude.log');

describe('bash and claudecode are unreachable without an execute grant naming them', () => {
  const store = new TokenStore(join(dir, 'auth'));
  const make = (name: string, grants: string[]) => store.create({ name, hub: 'plexus', grants: grants.map((g) => parseGrant(g)) }).token;
  const tokens = {
    storage: make('storage', ['arbor.*:read,write']),
    reader: make('reader', ['bash.*:read', 'claudecode.*:read']),
    // As if hand-edited into the store: a wildcard that claims execute (parseGrant refuses to make one).
    wild: store.create({ name: 'wild', hub: 'plexus', grants: [{ pattern: '**', verbs: ['read', 'write', 'execute'] }] }).token,
    shell: make('shell', ['bash.execute:execute']),
    claude: make('claude', ['claudecode.create:execute', 'claudecode.chat:execute', 'claudecode.get:read']),
  };
  // Grants decide reachability here; holding execute calls for approval is approvals.test.ts's.
  const auth = new HubAuth({ hub: 'plexus', dataDir: join(dir, 'auth'), limiter: { burst: 1000 }, approvals: { standing: true } });
  const arbor = new Arbor({ database: ':memory:', sweepIntervalMs: 0 });
  const claudecode = new ClaudeCode({
    arbor,
    claudePath: writeFakeClaude(dir),
    env: { PATH: process.env.PATH ?? '', FAKE_CLAUDE_LOG: LOG },
  });
  const hub = new DynamicHub('plexus', { policy: auth }).register(new Bash({ cwd: dir }), arbor, claudecode);
  let server: PlexusServer;
  before(async () => {
    server = await serveWebSocket(hub, { port: 0 });
  });
  after(async () => {
    await server.close({ graceMs: 0 });
    auth.close();
    claudecode.close();
    arbor.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function as(token: string, path: string, params: Record<string, unknown>): Promise<StreamItem[]> {
    const client = new PlexusClient({ url: server.url, connectAttempts: 1, token });
    try {
      const out: StreamItem[] = [];
      for await (const item of client.call(path, params)) out.push(item);
      return out;
    } finally {
      client.close();
    }
  }
  const refused = (items: StreamItem[]) => {
    assert.deepEqual(
      items.map((i) => i.type),
      ['error'],
    );
    assert.match((items[0] as { message: string }).message, /not found|Forbidden/);
  };

  it('bash.execute: refused for a storage grant, a read grant and a wildcard; runs with its own grant', async () => {
    for (const [who, token] of [
      ['storage', tokens.storage],
      ['reader', tokens.reader],
      ['wild', tokens.wild],
    ] as const) {
      const marker = join(dir, `ran-${who}`);
      refused(await as(token, 'bash.execute', { command: `touch ${marker}` }));
      assert.equal(existsSync(marker), false, `${who}: nothing ran`);
    }
    const marker = join(dir, 'ran-shell');
    const items = await as(tokens.shell, 'bash.execute', { command: `touch ${marker}` });
    assert.equal(items.at(-1)!.type, 'done');
    assert.equal(existsSync(marker), true);
  });

  it('claudecode.chat: refused without execute (the CLI never starts); runs with the grant', async () => {
    const created = await as(tokens.claude, 'claudecode.create', { name: 's', working_dir: work, model: 'haiku' });
    assert.equal(created[0]!.type, 'data');
    for (const token of [tokens.reader, tokens.wild, tokens.storage]) {
      refused(await as(token, 'claudecode.chat', { name: 's', prompt: 'hi' }));
      refused(await as(token, 'claudecode.create', { name: 'x', working_dir: work, model: 'haiku' }));
    }
    assert.equal(existsSync(LOG), false, 'claude was never launched');
    const items = await as(tokens.claude, 'claudecode.chat', { name: 's', prompt: 'hi' });
    assert.equal(items.filter((i) => i.type === 'data').length, 5);
    assert.equal(readFileSync(LOG, 'utf8').split('\n').filter(Boolean).length, 1);
  });
});
