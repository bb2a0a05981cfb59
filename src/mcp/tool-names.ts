import { foldHash } from '../hash/content-hash.js';

/**
 * MCP tool naming. Dots are legal in MCP tool names, but some clients (Claude
 * Desktop among them) reject a whole server whose tools contain dots, and some
 * cap names at 64 characters. So:
 * - `dotted`: the path itself (`echo.echo`, `arbor.tree_create`);
 * - `underscore`: a reversible, collision-free form: `_` in a segment doubles,
 *   dots become `_` (`echo_echo`, `arbor_tree__create`);
 * - `auto`: dotted, unless the client's `initialize` names a client known to reject dots.
 * Either form longer than 64 characters is shortened with a hash suffix.
 */
export type ToolNaming = 'dotted' | 'underscore' | 'auto';

export const MAX_TOOL_NAME = 64;

/** `clientInfo.name` of clients known to reject dotted tool names. */
const REJECTS_DOTS = /^(claude-ai|claude desktop|claude-desktop)$/i;

export function resolveNaming(policy: ToolNaming, clientName: string | undefined): 'dotted' | 'underscore' {
  if (policy !== 'auto') return policy;
  return clientName && REJECTS_DOTS.test(clientName) ? 'underscore' : 'dotted';
}

export function underscoreName(path: string): string {
  return path
    .split('.')
    .map((s) => s.replace(/_/g, '__'))
    .join('_');
}

/** Inverse of `underscoreName`: `__` is a literal underscore, a single `_` a dot. */
export function pathFromUnderscore(name: string): string {
  let out = '';
  for (let i = 0; i < name.length; i++) {
    if (name[i] !== '_') out += name[i];
    else if (name[i + 1] === '_') {
      out += '_';
      i++;
    } else out += '.';
  }
  return out;
}

export function toolName(path: string, form: 'dotted' | 'underscore'): string {
  const name = form === 'dotted' ? path : underscoreName(path);
  if (name.length <= MAX_TOOL_NAME) return name;
  // Keep a readable prefix; the hash of the full path keeps it unique.
  return `${name.slice(0, MAX_TOOL_NAME - 17)}_${foldHash(path)}`;
}
