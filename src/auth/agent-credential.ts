import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from './atomic-file.js';
import { checkAgentName } from './enrollment.js';

/** Where an agent's side keeps what it redeemed: `<data dir>/agents/<name>.json`. */
export const AGENTS_DIR = 'agents';

/** What an agent holds after redeeming its enrollment code: enough to call the hub as itself. */
export interface AgentCredential {
  /** The hub's WebSocket URL, as given to `hub mcp --url`. */
  readonly url: string;
  readonly token: string;
  /** The hub's root name. */
  readonly hub: string;
}

export function agentCredentialFile(dataDir: string, agent: string): string {
  checkAgentName(agent);
  return join(dataDir, AGENTS_DIR, `${agent}.json`);
}

/** The stored credential of `agent`, or undefined when there is none. */
export function readAgentCredential(dataDir: string, agent: string): AgentCredential | undefined {
  const file = agentCredentialFile(dataDir, agent);
  let parsed: Partial<AgentCredential>;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8')) as Partial<AgentCredential>;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new Error(`Agent credential ${file} is not readable JSON: ${(err as Error).message}`);
  }
  if (typeof parsed?.url !== 'string' || typeof parsed.token !== 'string' || typeof parsed.hub !== 'string')
    throw new Error(`Agent credential ${file}: expected {"url", "token", "hub"} strings`);
  return { url: parsed.url, token: parsed.token, hub: parsed.hub };
}

/** Stores the credential owner-only (0600 in a 0700 dir), replaced atomically. */
export function writeAgentCredential(dataDir: string, agent: string, credential: AgentCredential): string {
  const file = agentCredentialFile(dataDir, agent);
  writeFileAtomic(file, `${JSON.stringify(credential, null, 2)}\n`);
  return file;
}
