/**
 * The `workflow` transport: runs its members (full capability ids) in order, each
 * through the hub *as the caller* — under the caller's own grants, so a workflow never
 * widens access — and streams each member's data items with their provenance.
 * A member in another source runs only when the install approved that attach.
 * What a member tells or asks its caller reaches the workflow's caller: its progress
 * items (e.g. "waiting for approval") and its questions, asked again of the caller
 * and the answer handed back to the member.
 */
import { PlexusError, type ProgressMark, progress, type RequestOptions } from '../../../src/index.js';
import { ExtensionErrorCode, type SourceHealth, type TransportOptions } from '../types.js';

/** One item a workflow streams: a member's data item, and where it came from. */
export interface WorkflowItem {
  /** The member's full id, e.g. `notes.notes.list`. */
  member: string;
  /** Its position in `members` (0-based). */
  step: number;
  data: unknown;
}

/** A hub stream item, as far as a workflow reads it. */
type MemberItem =
  | { type: 'data'; content: unknown }
  | { type: 'error'; message: string; code?: string }
  | { type: 'progress'; message: string; percentage?: number }
  | { type: 'request'; requestId: string; requestData: unknown; timeoutMs: number }
  | { type: 'done' };

/** What the activation adds for a workflow: the hub, as the caller, and what the install approved. */
export interface WorkflowDispatch extends TransportOptions {
  signal: AbortSignal;
  /** The workflow's own source: members elsewhere are cross-source attaches. */
  source: string;
  /** Calls a path through the hub under the caller's principal. */
  call(path: string, params: Record<string, unknown>, signal: AbortSignal): AsyncIterable<MemberItem>;
  /** The params schema of a member as the caller sees it (undefined: it takes none). */
  paramsOf(path: string): Promise<{ properties?: Record<string, unknown> } | undefined>;
  /** The cross-source members the install approved. */
  approvedMembers: readonly string[];
  /** Asks the workflow's caller (`ctx.request`). */
  ask(question: RequestOptions): Promise<unknown>;
  /** Hands an answer to a member's question (`hub.respond`). */
  answer(requestId: string, value: unknown): void;
  /** Fails a member's question with the reason the caller gave none (`hub.rejectRequest`). */
  decline(requestId: string, reason: string): void;
}

const membersOf = (route: unknown): unknown => (route as { members?: unknown } | null)?.members;

const MEMBER_ID = /^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$/;

export function checkRoute(route: unknown): { reasons: string[] } {
  const members = membersOf(route);
  if (!Array.isArray(members) || members.length === 0) {
    return { reasons: ['members: a workflow needs "members", the full ids (<source>.<name>) of the capabilities it runs in order'] };
  }
  const reasons: string[] = [];
  members.forEach((m, i) => {
    if (typeof m !== 'string' || !MEMBER_ID.test(m)) {
      reasons.push(`members[${i}]: ${JSON.stringify(m)} is not a capability id; write <source>.<name>, e.g. notes.notes.list`);
    }
  });
  return { reasons };
}

export function approvalSurface(): { bins?: string[]; hosts?: string[] } {
  return {};
}

export async function health(): Promise<SourceHealth> {
  return { status: 'ok', detail: 'a workflow runs its members through the hub; each reports its own health' };
}

/** Codes under which the hub refuses a caller a path it may not call, or that it may not see (which looks missing). */
const REFUSED = new Set(['-32003', '-32601', '-32001']);

/**
 * A member's question, asked again of the workflow's caller; the answer (or why there is
 * none: declined, timed out, cancelled) goes back to the member, which decides what then.
 */
async function relayQuestion(item: Extract<MemberItem, { type: 'request' }>, opts: WorkflowDispatch): Promise<void> {
  const { prompt, schema } = (item.requestData ?? {}) as { prompt?: unknown; schema?: RequestOptions['schema'] };
  let value: unknown;
  try {
    value = await opts.ask({
      prompt: typeof prompt === 'string' && prompt ? prompt : JSON.stringify(item.requestData),
      ...(schema && typeof schema === 'object' ? { schema } : {}),
      timeoutMs: item.timeoutMs,
    });
  } catch (err) {
    opts.decline(item.requestId, (err as Error).message);
    return;
  }
  try {
    opts.answer(item.requestId, value);
  } catch {
    // The member's question ended first (its own timeout) or refused the answer: its stream says so.
  }
}

export async function* dispatch(
  route: unknown,
  params: Record<string, unknown>,
  opts: WorkflowDispatch,
): AsyncIterable<WorkflowItem | ProgressMark> {
  const members = membersOf(route) as string[];
  for (const [step, member] of members.entries()) {
    if (!member.startsWith(`${opts.source}.`) && !opts.approvedMembers.includes(member)) {
      throw new PlexusError(
        ExtensionErrorCode.GrantRequired,
        `workflow member ${member} is in another source and its install did not approve that attach; re-add the extension (hub extension add) and approve it`,
        false,
        { member, step, reason: 'cross_source_not_approved' },
      );
    }
    // Each member gets the workflow's params that its own schema names (none when it takes none).
    let schema: { properties?: Record<string, unknown> } | undefined;
    try {
      schema = await opts.paramsOf(member);
    } catch {
      schema = undefined; // hidden or missing: the call below says so, under the caller's grants
    }
    const own = Object.fromEntries(Object.entries(params).filter(([k]) => schema?.properties && k in schema.properties));
    for await (const item of opts.call(member, own, opts.signal)) {
      if (item.type === 'data') yield { member, step, data: item.content };
      else if (item.type === 'progress') yield progress(`${member}: ${item.message}`, item.percentage);
      else if (item.type === 'request') await relayQuestion(item, opts);
      else if (item.type === 'error') {
        if (REFUSED.has(String(item.code))) {
          throw new PlexusError(
            ExtensionErrorCode.GrantRequired,
            `workflow member ${member} (step ${step + 1}) is not available to you: it runs under your own grants; ask the hub's owner for a grant on ${member}`,
            false,
            { member, step, code: item.code },
          );
        }
        throw new PlexusError(
          ExtensionErrorCode.TransportError,
          `workflow member ${member} (step ${step + 1}) failed: ${item.message}`,
          false,
          {
            member,
            step,
            ...(item.code !== undefined ? { code: item.code } : {}),
          },
        );
      }
    }
  }
}
