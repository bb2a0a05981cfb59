/**
 * The `skill` transport: no process, no network — its "route" is the capability's
 * markdown `body` (usage guidance), returned when called. The MCP bridge lists it as a
 * resource and a prompt (its method returns `text/markdown`).
 */
import type { SourceHealth, TransportOptions } from '../types.js';

interface SkillRoute {
  body?: unknown;
}

const bodyOf = (route: unknown): unknown => (route as SkillRoute | null)?.body;

export function checkRoute(route: unknown): { reasons: string[] } {
  const body = bodyOf(route);
  if (typeof body !== 'string' || body.trim() === '') {
    return { reasons: ['body: a skill needs its markdown guidance in "body" (a non-empty string)'] };
  }
  return { reasons: [] };
}

export function approvalSurface(): { bins?: string[]; hosts?: string[] } {
  return {};
}

export async function health(): Promise<SourceHealth> {
  return { status: 'ok', detail: 'a skill is text: it needs nothing' };
}

export async function* dispatch(
  route: unknown,
  _params: Record<string, unknown>,
  _opts: TransportOptions & { signal: AbortSignal },
): AsyncIterable<unknown> {
  yield String(bodyOf(route));
}
