/**
 * `hub extension preview|add|list|remove` against real hub processes: preview prints
 * validity, reasons and the approval surface; add refuses without a terminal unless
 * --yes; a running `hub serve` picks an add up without restart (a real MCP SDK client
 * gets tools/list_changed and lists the new tool), serves it over WebSocket, comes back
 * with it after a restart, and drops it on remove; every install and removal is in the
 * audit log (appended by the running hub, which holds the log).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ToolListChangedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { PlexusClient, type PluginSchema } from '../../src/index.js';
import { eventually } from '../support/helpers.js';
import { type HubProcess, runHubCli, startHub } from '../support/hub-process.js';
import { HUB_BIN } from '../support/repo.js';

const dir = mkdtempSync(join(tmpdir(), 'plexus-ext-cli-'));
const data = join(dir, 'data');
after(() => rmSync(dir, { recursive: true, force: true }));

const hub = (args: string[], input?: string) => runHubCli([...args, '--data-dir', data], input !== undefined ? { input } : {});

const MANIFEST = {
  manifest: 'plexus-extension/0.1',
  source: 'kb',
  label: 'Knowledge base',
  capabilities: [
    { name: 'guide', kind: 'skill', describe: 'How to use the knowledge base', body: '# KB\nStart with kb.tour.' },
    {
      name: 'tour',
      kind: 'workflow',
      describe: 'The guide, then an echo',
      io: { input: { type: 'object', properties: { message: { type: 'string' } } } },
      members: ['kb.guide', 'echo.once'],
    },
  ],
};

function manifestFile(name: string, content: unknown): string {
  const file = join(dir, name);
  writeFileSync(file, JSON.stringify(content));
  return file;
}

async function auditEvents(): Promise<{ event: string; path?: string }[]> {
  const text = readFileSync(join(data, 'audit.jsonl'), 'utf8');
  return text
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { event: string; path?: string })
    .filter((r) => r.event.startsWith('source.'));
}

describe('hub extension preview', () => {
  it('prints validity and the approval surface', async () => {
    const r = await hub(['extension', 'preview', manifestFile('kb.json', MANIFEST)]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^valid: source kb \(Knowledge base\)/);
    assert.match(r.stdout, /capabilities of other sources its workflows call: echo\.once/);
    assert.match(r.stdout, /kb\.tour: read/);
    assert.match(r.stdout, /warning: workflow member echo\.once is not an installed extension's capability/);
    const json = JSON.parse((await hub(['extension', 'preview', '--json', join(dir, 'kb.json')])).stdout);
    assert.deepEqual(json.surface, {
      bins: [],
      hosts: [],
      crossSource: ['echo.once'],
      verbs: { 'kb.guide': ['read'], 'kb.tour': ['read'] },
    });
  });

  it('an invalid manifest exits 1 with every reason', async () => {
    const r = await hub([
      'extension',
      'preview',
      manifestFile('bad.json', { ...MANIFEST, source: 'K B', capabilities: [{ name: 'x', kind: 'skill' }] }),
    ]);
    assert.equal(r.code, 1);
    assert.match(r.stdout, /NOT valid/);
    assert.match(r.stdout, /reason: source: use lower case letters/);
    assert.match(r.stdout, /reason: capabilities\[0\]: missing "describe"; add it/);
    const notJson = await hub(['extension', 'preview', manifestFile('nojson.json', '{')]);
    writeFileSync(join(dir, 'nojson.json'), '{');
    const r2 = await hub(['extension', 'preview', join(dir, 'nojson.json')]);
    assert.equal(r2.code, 1);
    assert.match(r2.stderr, /nojson\.json is not JSON/);
    assert.ok(notJson);
  });
});

describe('hub extension add|list|remove with a running hub', () => {
  let served: HubProcess;
  before(async () => {
    served = await startHub({ args: ['--data-dir', data, '--audit'] });
  });
  after(() => served?.stop());

  it('add refuses without a terminal unless --yes, and installs nothing', async () => {
    const r = await hub(['extension', 'add', join(dir, 'kb.json')]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /not a terminal, so nobody can approve the surface above: review it, then pass --yes/);
    assert.match((await hub(['extension', 'list'])).stdout, /no extensions/);
  });

  it('an add is served without restart: MCP tools/list_changed, the tool listed and callable, owner-only store, audited', async () => {
    const mcp = new Client({ name: 'test', version: '1' });
    await mcp.connect(new StreamableHTTPClientTransport(new URL(`http://127.0.0.1:${served.port}/mcp`)));
    let changed = 0;
    mcp.setNotificationHandler(ToolListChangedNotificationSchema, () => void changed++);
    assert.ok(!(await mcp.listTools()).tools.some((t) => t.title === 'kb.guide'));
    const client = new PlexusClient({ url: served.url, connectAttempts: 1 });
    const rootBefore = ((await client.schema()) as PluginSchema).hash;

    const r = await hub(['extension', 'add', '--yes', join(dir, 'kb.json')]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /installed kb .*audit: recorded by the running hub/);
    assert.match(r.stderr, /it grants nothing/);
    assert.equal(statSync(join(data, 'extensions', 'kb.json')).mode & 0o777, 0o600);
    assert.equal(statSync(join(data, 'extensions')).mode & 0o777, 0o700);

    await eventually(() => changed > 0, 10_000);
    const tools = (await mcp.listTools()).tools;
    assert.ok(tools.some((t) => t.title === 'kb.guide'));
    const tour = tools.find((t) => t.title === 'kb.tour')!.name;
    const result = await mcp.callTool({ name: tour, arguments: { message: 'hi' } });
    assert.equal(result.isError, undefined, JSON.stringify(result));
    assert.deepEqual((result.structuredContent as { items: unknown[] }).items, [
      { member: 'kb.guide', step: 0, data: '# KB\nStart with kb.tour.' },
      { member: 'echo.once', step: 1, data: { message: 'hi', seq: 1 } },
    ]);
    // A member that fails says which one and why.
    const failed = await mcp.callTool({ name: tour, arguments: {} });
    assert.equal(failed.isError, true);
    assert.deepEqual((failed.structuredContent as { error: unknown }).error, {
      code: 'transport_error',
      message: "workflow member echo.once (step 2) failed: Invalid params: missing required param 'message'",
      details: { member: 'echo.once', step: 1, code: '-32602' },
    });
    await mcp.close();

    const schema = (await client.schema('kb')) as PluginSchema;
    assert.equal(schema.health?.status, 'ok');
    // health.check reports it beside the hub's own liveness.
    const checked = (await client.result('health.check', {})) as { status: string; sources?: Record<string, { status: string }> };
    assert.equal(checked.status, 'ok');
    assert.deepEqual(Object.keys(checked.sources ?? {}), ['kb']);
    assert.equal(checked.sources!.kb!.status, 'ok');
    assert.notEqual(((await client.schema()) as PluginSchema).hash, rootBefore);
    client.close();

    await eventually(() => {
      try {
        return JSON.stringify(readFileSync(join(data, 'audit.jsonl'), 'utf8')).includes('source.install');
      } catch {
        return false;
      }
    }, 10_000);
    assert.deepEqual(
      (await auditEvents()).map((e) => [e.event, e.path]),
      [['source.install', 'kb']],
    );

    const list = await hub(['extension', 'list']);
    assert.match(list.stdout, /^kb {2}ok {2}2 capabilities/m);
  });

  it('installed extensions come back after a restart; remove drops them and is audited', async () => {
    await served.stop('SIGTERM');
    served = await startHub({ args: ['--data-dir', data, '--audit'] });
    assert.match(served.output(), /extension kb: registered/);
    const client = new PlexusClient({ url: served.url, connectAttempts: 1 });
    assert.ok(((await client.schema()) as PluginSchema).children?.some((c) => c.namespace === 'kb'));

    const r = await hub(['extension', 'remove', 'kb']);
    assert.equal(r.code, 0, r.stderr);
    await eventually(() => served.output().includes('extension kb: removed'), 10_000);
    assert.ok(!((await client.schema()) as PluginSchema).children?.some((c) => c.namespace === 'kb'));
    client.close();
    await eventually(() => JSON.stringify(readFileSync(join(data, 'audit.jsonl'), 'utf8')).includes('source.remove'), 10_000);
    const missing = await hub(['extension', 'remove', 'kb']);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /no extension "kb" is installed/);
  });
});

describe('hub extension add with no hub running', () => {
  it('writes the audit record itself', async () => {
    const r = await hub(['extension', 'add', '--yes', join(dir, 'kb.json')]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /audit: recorded\)/);
    assert.deepEqual(
      (await auditEvents()).map((e) => e.event),
      ['source.install', 'source.remove', 'source.install'],
    );
  });
});

describe('every refusal says why', () => {
  it('an invalid manifest is not added, with its reasons and what to do', async () => {
    const r = await hub([
      'extension',
      'add',
      '--yes',
      manifestFile('bad-add.json', { ...MANIFEST, capabilities: [{ name: 'x', kind: 'skill', describe: 'no body' }] }),
    ]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /reason: capabilities\[0\] \(x\): body: a skill needs its markdown guidance in "body"/);
    assert.match(r.stderr, /is not a valid manifest: fix the reasons above and run hub extension preview/);
    assert.ok(!(await hub(['extension', 'list'])).stdout.includes('x '));
  });

  it("a source named like one of the hub's own activations is warned about", async () => {
    const r = await hub([
      'extension',
      'preview',
      manifestFile('echo.json', { ...MANIFEST, source: 'echo', capabilities: [MANIFEST.capabilities[0]] }),
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stdout,
      /warning: source "echo" is also a built-in or opt-in activation's name: a hub serving that one skips this extension; choose another source id/,
    );
  });

  it('a missing file, a bad source id, a broken store file', async () => {
    const missing = await hub(['extension', 'preview', join(dir, 'nope.json')]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /cannot read .*nope\.json: ENOENT/);
    const badId = await hub(['extension', 'remove', 'K B']);
    assert.equal(badId.code, 1);
    assert.match(badId.stderr, /"K B" is not an extension source id \(lower case letters, digits, _\)/);
    writeFileSync(join(data, 'extensions', 'broken.json'), '{');
    const list = await hub(['extension', 'list']);
    assert.match(list.stdout, /^broken {2}broken {2}/m);
    const json = JSON.parse((await hub(['extension', 'list', '--json'])).stdout);
    assert.equal(json.broken[0].source, 'broken');
    assert.equal(json.installed[0].health.status, 'ok');
  });
});

/** `hub <args>` on a pseudo-terminal (util-linux `script`), answering `input`. */
function onTerminal(args: string[], input: string): Promise<{ code: number; output: string }> {
  const command = [process.execPath, HUB_BIN, ...args, '--data-dir', data].map((a) => `'${a.replace(/'/g, "'\\''")}'`).join(' ');
  return new Promise((resolve) => {
    const child = execFile('script', ['-qec', command, '/dev/null'], (err, stdout) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, output: stdout }),
    );
    child.stdin!.end(input);
  });
}

describe('hub extension add at a terminal', { skip: existsSync('/usr/bin/script') ? undefined : 'no util-linux script' }, () => {
  it('asks to confirm the surface: no installs nothing, yes installs', async () => {
    await hub(['extension', 'remove', 'kb']);
    const no = await onTerminal(['extension', 'add', join(dir, 'kb.json')], 'n\n');
    assert.equal(no.code, 1);
    assert.match(no.output, /install kb with this surface\? \[y\/N\]/);
    assert.match(no.output, /not installed \(not approved\)/);
    assert.ok(!/^kb /m.test((await hub(['extension', 'list'])).stdout), 'kb is not installed');
    const yes = await onTerminal(['extension', 'add', join(dir, 'kb.json')], 'y\n');
    assert.equal(yes.code, 0, yes.output);
    assert.match(yes.output, /installed kb/);
    assert.match((await hub(['extension', 'list'])).stdout, /^kb {2}ok/m);
  });
});

describe('hub mcp (stdio) serves installed extensions', () => {
  it('an SDK client over stdio lists and calls the skill as a tool, reads it as a resource and gets it as a prompt', async () => {
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: [HUB_BIN, 'mcp', '--data-dir', data],
      stderr: 'pipe',
    });
    const mcp = new Client({ name: 'stdio-test', version: '1' });
    await mcp.connect(transport);
    try {
      const tools = (await mcp.listTools()).tools;
      const guide = tools.find((t) => t.title === 'kb.guide');
      assert.ok(guide, 'kb.guide is a tool');
      const called = await mcp.callTool({ name: guide.name, arguments: {} });
      assert.deepEqual(called.structuredContent, { result: '# KB\nStart with kb.tour.' });
      const read = await mcp.readResource({ uri: 'plexus:kb.guide' });
      assert.equal((read.contents[0] as { text: string }).text, '# KB\nStart with kb.tour.');
      const prompt = await mcp.getPrompt({ name: 'kb.guide' });
      assert.deepEqual(prompt.messages[0]!.content, { type: 'text', text: '# KB\nStart with kb.tour.' });
    } finally {
      await mcp.close();
    }
  });
});
