import { CallStream } from '../stream/call-stream.js';
import { ItemFactory } from '../stream/item-factory.js';
import { ErrorCode, PlexusError } from '../wire/errors.js';
import type { ApprovalBook, ApprovalEvent } from './approvals.js';
import { parseDuration } from './duration.js';
import { OwnerPrincipal, type OwnerCredentials } from './owner.js';

/** The prefix of the owner's methods: `_` so no activation can be named like it. */
export const OWNER_METHOD_PREFIX = '_approvals.';

/** What the owner methods need from the hub: its name and hash (for item metadata). */
export interface OwnerMethodHost {
  readonly namespace: string;
  hash(): string;
}

type Params = Record<string, unknown>;

function idOf(params: Params): string {
  if (typeof params.id !== 'string' || params.id === '') throw PlexusError.invalidParams('id must be the pending approval id (apr_…)');
  return params.id;
}

/** `window`: a duration (`10m`) or seconds. */
function windowOf(params: Params): number | undefined {
  const w = params.window;
  if (w === undefined || w === null) return undefined;
  if (typeof w === 'number') return w * 1000;
  if (typeof w === 'string') {
    try {
      return parseDuration(w);
    } catch (err) {
      throw PlexusError.invalidParams((err as Error).message);
    }
  }
  throw PlexusError.invalidParams('window must be a duration like 10m, or seconds');
}

/** Every event from now on, after the calls already waiting; ends when the watcher cancels. */
async function* watch(book: ApprovalBook, signal: AbortSignal): AsyncGenerator<ApprovalEvent> {
  const queue: ApprovalEvent[] = book.list().map((approval) => ({ type: 'pending', approval }));
  let wake: (() => void) | undefined;
  const unsubscribe = book.subscribe((event) => {
    queue.push(event);
    wake?.();
  });
  const onAbort = (): void => wake?.();
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    while (!signal.aborted) {
      const event = queue.shift();
      if (event) yield event;
      else await new Promise<void>((resolve) => (wake = resolve));
      wake = undefined;
    }
  } finally {
    unsubscribe();
    signal.removeEventListener('abort', onAbort);
  }
}

/**
 * The owner's methods on a connection whose principal is the owner (the owner key
 * or an owner code): `_approvals.list`, `.watch`, `.approve {id, window?}`,
 * `.deny {id, reason?}`, `.code` (a new owner code for the explorer). Called as
 * `<root>.call {method: "_approvals.…"}`, so any Plexus client reaches them; for
 * every other principal they do not exist (the call goes to the hub, which has no
 * such path). Returns the call's stream, or undefined when `method` is not one.
 */
export function ownerCall(
  host: OwnerMethodHost,
  principal: unknown,
  book: ApprovalBook | undefined,
  credentials: OwnerCredentials | undefined,
  method: string,
  params: unknown,
): CallStream | undefined {
  if (!(principal instanceof OwnerPrincipal) || !method.startsWith(OWNER_METHOD_PREFIX)) return undefined;
  const p = (typeof params === 'object' && params !== null && !Array.isArray(params) ? params : {}) as Params;
  const by = principal.via;
  const name = method.slice(OWNER_METHOD_PREFIX.length);
  const items = new ItemFactory([host.namespace], method, () => host.hash());
  const start = (call: { signal: AbortSignal }): unknown => {
    if (!book)
      throw new PlexusError('approvals_off', 'This hub holds no approvals: it runs with --allow-standing-execute, or auth is open');
    switch (name) {
      case 'list':
        return book.list();
      case 'watch':
        return watch(book, call.signal);
      case 'approve':
        return { approved: book.decide(idOf(p), { approve: true, by, ...(windowOf(p) ? { windowMs: windowOf(p)! } : {}) }).id };
      case 'deny':
        return { denied: book.decide(idOf(p), { approve: false, by, ...(typeof p.reason === 'string' ? { reason: p.reason } : {}) }).id };
      case 'code': {
        const issued = credentials?.issueCode();
        if (!issued) throw new PlexusError(ErrorCode.ExecutionError, 'This hub issues no owner codes');
        return { code: issued.code, expires_at: issued.expiresAt };
      }
      default:
        throw PlexusError.methodNotFound(method);
    }
  };
  return new CallStream(start, items);
}
