/**
 * An agent the way `hub agent enroll` + redemption leave it, without needing them:
 * a token in the data dir's store bound to the agent's name, and its credential in
 * `<data-dir>/agents/<name>.json` (`{url, token, hub}`).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseGrant, TokenStore } from '../../src/auth/index.js';
import { PlexusClient } from '../../src/index.js';
import { tick } from '../support/helpers.js';

/**
 * Creates the agent and resolves once the running hub at `url` accepts its token (a
 * hub re-reads tokens.json at most every 200 ms; enrollment inside the hub needs no wait).
 */
export async function enrollAgent(
  dataDir: string,
  url: string,
  name: string,
  grants: readonly string[],
): Promise<{ token: string; id: string }> {
  const store = new TokenStore(dataDir);
  const { token, record } = store.create({ name, hub: 'plexus', grants: grants.map((g) => parseGrant(g)) });
  mkdirSync(join(dataDir, 'agents'), { recursive: true });
  writeFileSync(join(dataDir, 'agents', `${name}.json`), JSON.stringify({ url, token, hub: 'plexus' }), { mode: 0o600 });
  for (const until = Date.now() + 5000; ; await tick(20)) {
    const client = new PlexusClient({ url, token, connectAttempts: 1 });
    try {
      await client.hash();
      break;
    } catch (err) {
      if (Date.now() > until) throw err;
    } finally {
      client.close();
    }
  }
  return { token, id: record.id };
}

/** SKILL.md frontmatter: `key: <JSON string>` lines between `---` fences (what the exporter writes; valid YAML). */
export function frontmatter(text: string): Record<string, string> {
  const m = /^---\n([\s\S]*?)\n---\n/.exec(text);
  if (!m) throw new Error(`no frontmatter in:\n${text.slice(0, 200)}`);
  const out: Record<string, string> = {};
  for (const line of m[1]!.split('\n')) {
    const kv = /^([a-z][a-z0-9_-]*): (.*)$/.exec(line);
    if (!kv) throw new Error(`frontmatter line is not key: value: ${line}`);
    out[kv[1]!] = JSON.parse(kv[2]!);
  }
  return out;
}

/** The methods a skill lists: its `### <path>` headings and the tools of its example calls. */
export function listedMethods(skill: string): { headings: string[]; tools: string[] } {
  const headings = [...skill.matchAll(/^### (\S+)$/gm)].map((m) => m[1]!);
  const tools = [...skill.matchAll(/^\{"tool":"([^"]+)"/gm)].map((m) => m[1]!);
  return { headings, tools };
}
