/**
 * `hub agent export`: an agent's Claude Code plugin, `.mcp.json` entry and Claude
 * Desktop snippet, against a real `hub serve` with a token store. The skills come from
 * the hub's schema read with the agent's own credential, so they list exactly what the
 * agent is granted; same grants and schemas → same bytes (golden files).
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, isAbsolute, join, relative } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { exportAgent, type ExportFormat } from '../../cli/commands/agent-export.js';
import { parseGrant, TokenStore } from '../../src/auth/index.js';
import { PlexusClient, type PluginSchema } from '../../src/index.js';
import { type HubProcess, runHubCli, startHub } from '../support/hub-process.js';
import { REPO_ROOT } from '../support/repo.js';
import { enrollAgent, frontmatter, listedMethods } from './export-support.js';

const GOLDEN = join(REPO_ROOT, 'test', 'golden', 'agent-export');
/** Machine-independent stand-ins for what the golden files cannot hold: the hub's port, the data dir, node and the package. */
const FIXED_HUB = { command: '/usr/local/bin/node', args: ['/opt/plexus-hub/bin/hub.js'] };
const FIXED_URL = 'ws://127.0.0.1:4444';
const FIXED_DATA = '/home/owner/.plexus-hub';

/** Every file under `dir`, relative, sorted, with its content. */
function tree(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out.set(relative(dir, p), readFileSync(p, 'utf8'));
    }
  };
  walk(dir);
  return new Map([...out].sort(([a], [b]) => (a < b ? -1 : 1)));
}

describe('hub agent export', () => {
  let hub: HubProcess;
  let work: string;
  let dataDir: string;
  /** Every method path of the whole hub, as its owner sees it. */
  let allMethods: string[];

  before(async () => {
    work = mkdtempSync(join(tmpdir(), 'plexus-export-'));
    dataDir = join(work, 'data');
    mkdirSync(dataDir);
    const owner = new TokenStore(dataDir).create({
      name: 'owner',
      hub: 'plexus',
      grants: [parseGrant('**:read,write'), parseGrant('bash.execute:execute')],
    });
    hub = await startHub({ args: ['--data-dir', dataDir, '--with', 'arbor,bash'] });
    const client = new PlexusClient({ url: hub.url, token: owner.token });
    allMethods = [];
    const walk = async (path: string) => {
      const s = (await client.schema(path)) as PluginSchema;
      for (const m of s.methods) if (m.hash !== 'auto_schema') allMethods.push(`${path}.${m.name}`);
      for (const c of s.children ?? []) await walk(`${path}.${c.namespace}`);
    };
    for (const c of ((await client.schema()) as PluginSchema).children ?? []) await walk(c.namespace);
    client.close();
    assert.ok(allMethods.some((m) => m.startsWith('arbor.')) && allMethods.includes('bash.execute'), 'the hub serves arbor and bash');
  });

  after(async () => {
    await hub?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  const out = (name: string) => join(work, 'out', name);
  const normalize = (text: string) => text.replaceAll(hub.url, FIXED_URL).replaceAll(dataDir, FIXED_DATA);

  async function exportTo(agent: string, dir: string, format: ExportFormat = 'claude-code-plugin') {
    return exportAgent(agent, { format, out: dir, dataDir, hub: FIXED_HUB });
  }

  it('matches the golden files in all three formats (UPDATE_GOLDEN=1 rewrites them), byte for byte on every run', async () => {
    await enrollAgent(dataDir, hub.url, 'golden', ['echo.*', 'solar.earth.**', 'bash.execute:execute']);
    const produced = new Map<string, string>();
    await exportTo('golden', out('golden-plugin'));
    for (const [path, text] of tree(out('golden-plugin'))) produced.set(join('claude-code-plugin', path), normalize(text));
    await exportTo('golden', out('golden-mcp'), 'mcp-json');
    produced.set(join('mcp-json', '.mcp.json'), normalize(readFileSync(join(out('golden-mcp'), '.mcp.json'), 'utf8')));
    const desktop = await exportAgent('golden', { format: 'claude-desktop', dataDir, hub: FIXED_HUB });
    produced.set(join('claude-desktop', 'snippet.json'), normalize(`${JSON.stringify(desktop.snippet, null, 2)}\n`));

    if (process.env.UPDATE_GOLDEN) {
      rmSync(GOLDEN, { recursive: true, force: true });
      for (const [path, text] of produced) {
        mkdirSync(dirname(join(GOLDEN, path)), { recursive: true });
        writeFileSync(join(GOLDEN, path), text);
      }
    }
    assert.deepEqual([...tree(GOLDEN).keys()], [...produced.keys()].sort(), 'the same files as the golden ones');
    for (const [path, text] of produced)
      assert.equal(text, readFileSync(join(GOLDEN, path), 'utf8'), `${path} differs from its golden file`);

    // Deterministic: a second export of the same grants and schemas is the same bytes.
    await exportTo('golden', out('golden-again'));
    assert.deepEqual(tree(out('golden-again')), tree(out('golden-plugin')));
  });

  it('lists no method outside the grants: echo.* gives one echo skill, one granted method gives one method', async () => {
    await enrollAgent(dataDir, hub.url, 'echoer', ['echo.*']);
    await exportTo('echoer', out('echoer'));
    assert.deepEqual(readdirSync(join(out('echoer'), 'skills')), ['echo'], 'no arbor, bash, solar or health skill');
    const echoSkill = readFileSync(join(out('echoer'), 'skills', 'echo', 'SKILL.md'), 'utf8');
    const echoMethods = allMethods.filter((m) => m.startsWith('echo.')).sort();
    assert.deepEqual(listedMethods(echoSkill).headings, echoMethods);

    await enrollAgent(dataDir, hub.url, 'one', ['echo.once']);
    await exportTo('one', out('one'));
    assert.deepEqual(readdirSync(join(out('one'), 'skills')), ['echo']);
    const one = listedMethods(readFileSync(join(out('one'), 'skills', 'echo', 'SKILL.md'), 'utf8'));
    assert.deepEqual(one, { headings: ['echo.once'], tools: ['echo.once'] });

    // The golden agent's plugin (echo.*, solar.earth.**, bash.execute): no ungranted path is listed anywhere.
    await exportTo('golden', out('golden-check'));
    const granted = new Set(allMethods.filter((m) => m.startsWith('echo.') || m.startsWith('solar.earth.') || m === 'bash.execute'));
    const listed = new Set<string>();
    for (const [path, text] of tree(join(out('golden-check'), 'skills'))) {
      assert.match(path, /SKILL\.md$/);
      const { headings, tools } = listedMethods(text);
      assert.deepEqual(tools, headings, 'one example call per method');
      for (const m of headings) listed.add(m);
    }
    assert.deepEqual([...listed].sort(), [...granted].sort(), 'exactly the granted methods');
    const ungranted = allMethods.filter((m) => !granted.has(m));
    assert.ok(ungranted.length > 10);
    for (const text of tree(join(out('golden-check'), 'skills')).values()) {
      for (const m of ungranted)
        assert.ok(!new RegExp(`\`${m.replaceAll('.', '\\.')}\`|### ${m}\\b|"${m}"`).test(text), `${m} is not granted`);
    }
  });

  it("follows Claude Code's plugin layout: plugin.json, .mcp.json running hub mcp by reference, skills with frontmatter", async () => {
    const { token } = await enrollAgent(dataDir, hub.url, 'layout', ['echo.*', 'solar.**', 'arbor.*:read']);
    const dir = out('layout');
    await exportTo('layout', dir);
    const files = tree(dir);
    const manifest = JSON.parse(files.get(join('.claude-plugin', 'plugin.json'))!);
    assert.match(manifest.name, /^[a-z0-9]+(-[a-z0-9]+)*$/);
    assert.equal(manifest.name, 'plexus-layout');
    assert.match(manifest.version, /^\d+\.\d+\.\d+(\+[0-9a-f]{12})?$/);
    assert.equal(typeof manifest.description, 'string');
    assert.equal(typeof manifest.author?.name, 'string');
    assert.deepEqual(Object.keys(manifest).sort(), ['author', 'description', 'keywords', 'name', 'version']);

    const mcp = JSON.parse(files.get('.mcp.json')!);
    assert.deepEqual(Object.keys(mcp), ['mcpServers']);
    assert.deepEqual(mcp.mcpServers, {
      'plexus-layout': {
        command: FIXED_HUB.command,
        args: [...FIXED_HUB.args, 'mcp', '--url', hub.url, '--agent', 'layout', '--data-dir', dataDir],
      },
    });
    for (const [path, text] of files) assert.ok(!text.includes(token), `${path} holds the agent's token`);

    const skills = [...files.keys()].filter((p) => p.startsWith('skills/'));
    assert.deepEqual(skills, ['skills/arbor/SKILL.md', 'skills/echo/SKILL.md', 'skills/solar/SKILL.md']);
    for (const path of skills) {
      const fm = frontmatter(files.get(path)!);
      assert.deepEqual(Object.keys(fm), ['name', 'description']);
      assert.equal(fm.name, path.split('/')[1], 'the skill is named as its directory');
      assert.match(fm.name!, /^[a-z0-9]+(-[a-z0-9]+)*$/);
      assert.ok(fm.description!.length > 20 && fm.description!.length <= 1024);
      assert.match(files.get(path)!, /## When to use it/);
      assert.match(files.get(path)!, /Example call:/);
    }
    // arbor granted read only: its write methods are not listed.
    const arbor = listedMethods(files.get('skills/arbor/SKILL.md')!).headings;
    assert.ok(arbor.length > 0);
    const ownerArbor = allMethods.filter((m) => m.startsWith('arbor.'));
    assert.ok(arbor.length < ownerArbor.length, `read-only arbor lists ${arbor.length} of ${ownerArbor.length} methods`);
  });

  it('is stale-safe: a withdrawn capability leaves the next export, and the live hub refuses it regardless', async () => {
    const dir = out('stale');
    const first = await enrollAgent(dataDir, hub.url, 'stale', ['echo.*', 'solar.**']);
    await exportTo('stale', dir);
    assert.deepEqual(readdirSync(join(dir, 'skills')).sort(), ['echo', 'solar']);
    const version1 = JSON.parse(readFileSync(join(dir, '.claude-plugin', 'plugin.json'), 'utf8')).version;

    // The owner narrows the agent: its token is revoked and it is enrolled again with echo only.
    new TokenStore(dataDir).revoke(first.id);
    const second = await enrollAgent(dataDir, hub.url, 'stale', ['echo.*']);
    await exportTo('stale', dir);
    assert.deepEqual(readdirSync(join(dir, 'skills')), ['echo'], 'the solar skill is gone');
    assert.notEqual(JSON.parse(readFileSync(join(dir, '.claude-plugin', 'plugin.json'), 'utf8')).version, version1);

    // The old plugin's skill was only a description: the hub decides, for the old token and the new one.
    const old = new PlexusClient({ url: hub.url, token: first.token, connectAttempts: 1 });
    await assert.rejects(old.result('solar.earth.info'));
    old.close();
    const now = new PlexusClient({ url: hub.url, token: second.token, connectAttempts: 1 });
    await assert.rejects(now.result('solar.earth.info'), /not found|unknown/i);
    assert.ok(await now.result('echo.once', { message: 'hi' }));
    now.close();
  });

  it('merges the mcp-json entry into an existing .mcp.json, keeping other servers', async () => {
    await enrollAgent(dataDir, hub.url, 'merger', ['echo.*']);
    const dir = out('merge');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, '.mcp.json'), JSON.stringify({ mcpServers: { other: { command: 'x', args: [] } }, note: 1 }));
    await exportTo('merger', dir, 'mcp-json');
    const merged = JSON.parse(readFileSync(join(dir, '.mcp.json'), 'utf8'));
    assert.deepEqual(Object.keys(merged.mcpServers), ['other', 'plexus-merger']);
    assert.equal(merged.note, 1);
    assert.deepEqual(merged.mcpServers['plexus-merger'].args.slice(-6), ['--url', hub.url, '--agent', 'merger', '--data-dir', dataDir]);
  });

  it('the hub command: absolute node and hub.js paths; clear errors for bad input', async () => {
    await enrollAgent(dataDir, hub.url, 'cli', ['echo.*']);
    const dir = out('cli');
    const run = await runHubCli(['agent', 'export', 'cli', '--data-dir', dataDir, '--out', dir]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /1 skill\(s\) \(echo\), 2 method\(s\)/);
    const entry = JSON.parse(readFileSync(join(dir, '.mcp.json'), 'utf8')).mcpServers['plexus-cli'];
    assert.ok(isAbsolute(entry.command) && existsSync(entry.command), entry.command);
    assert.ok(isAbsolute(entry.args[0]) && existsSync(entry.args[0]) && entry.args[0].endsWith(join('bin', 'hub.js')), entry.args[0]);

    const desktop = await runHubCli(['agent', 'export', 'cli', '--data-dir', dataDir, '--format', 'claude-desktop']);
    assert.equal(desktop.code, 0, desktop.stderr);
    assert.deepEqual(JSON.parse(desktop.stdout).mcpServers['plexus-cli'], entry);

    // Bad input through the command: exit 1, the reason on stderr.
    const bad = await runHubCli(['agent', 'export', 'nobody', '--out', out('x'), '--data-dir', dataDir]);
    assert.equal(bad.code, 1, bad.stdout);
    assert.match(bad.stderr, /^hub: no live agent "nobody" in .*tokens\.json/);
    const format = await runHubCli(['agent', 'export', 'cli', '--format', 'zip', '--data-dir', dataDir]);
    assert.equal(format.code, 1);
    assert.match(format.stderr, /Allowed choices are claude-code-plugin, mcp-json, claude-desktop/);
  });

  it('refuses bad input with a specific error', async () => {
    // In process: each of these spawning `hub` would cost seconds and show nothing more.
    const fail = (name: string, options: Partial<Parameters<typeof exportAgent>[1]>, pattern: RegExp) =>
      assert.rejects(exportAgent(name, { format: 'claude-code-plugin', out: out('x'), dataDir, ...options }), pattern);
    await enrollAgent(dataDir, hub.url, 'errs', ['echo.*']);
    await fail('errs', { out: undefined }, /needs --out/);
    await fail('errs', { format: 'zip' as ExportFormat }, /unknown format "zip"/);
    await fail('../etc', {}, /not an agent name/);
    await fail('errs', { url: 'ws://127.0.0.1:1' }, /cannot read the schema of ws:\/\/127\.0\.0\.1:1 as agent "errs"/);
    mkdirSync(out('busy'), { recursive: true });
    writeFileSync(join(out('busy'), 'mine.txt'), 'x');
    await fail('errs', { out: out('busy') }, /not empty and holds no earlier export/);
    await exportAgent('errs', { format: 'claude-code-plugin', out: out('busy'), dataDir, force: true });
    assert.ok(existsSync(join(out('busy'), 'mine.txt')) && existsSync(join(out('busy'), 'skills', 'echo', 'SKILL.md')));
    // A token of that name but no stored credential (never redeemed).
    new TokenStore(dataDir).create({ name: 'unredeemed', hub: 'plexus', grants: [parseGrant('echo.*')] });
    await fail('unredeemed', {}, /no stored credential .*--enroll <code>/);
    // A revoked agent is no agent, whatever its credential file says.
    new TokenStore(dataDir).revoke('errs');
    await fail('errs', {}, /no live agent "errs"/);
    // A credential the hub refuses (the token store elsewhere, e.g. a remote hub): the hub's reason.
    writeFileSync(join(dataDir, 'agents', 'unredeemed.json'), JSON.stringify({ url: hub.url, token: 'phub_wrong' }));
    // Refused (401), or throttled (429) once the earlier waits for new tokens spent the address's burst.
    await fail('unredeemed', {}, /as agent "unredeemed": .*(401|429)/);
  });
});
