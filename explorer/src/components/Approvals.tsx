import { useEffect, useState } from 'preact/hooks';
import { secondsLeft } from '../format.js';
import type { PlexusClient } from '../wire.js';

/** A pending execute call as the hub's `_approvals.watch` describes it (src/auth/approvals.ts). */
interface PendingApproval {
  readonly id: string;
  readonly path: string;
  readonly principal: { readonly name: string; readonly token_id: string; readonly remote?: string };
  readonly params: unknown;
  readonly created: number;
  readonly deadline: number;
}

type ApprovalEvent =
  | { readonly type: 'pending'; readonly approval: PendingApproval }
  | { readonly type: 'resolved'; readonly id: string; readonly outcome: string };

/** The windows the owner may pick for identical calls (the hub allows at most an hour). */
const WINDOWS = ['1m', '10m', '1h'] as const;

/**
 * The owner session's panel: execute calls waiting for approval, live (`_approvals.watch`),
 * each with Approve (once, or identical calls for a window) and Deny. Shown only on a
 * page opened with an owner code; no token can reach these methods.
 */
export function ApprovalsPanel({ client }: { client: PlexusClient }) {
  const [pending, setPending] = useState<readonly PendingApproval[]>([]);
  const [recent, setRecent] = useState<readonly string[]>([]);
  const [failure, setFailure] = useState<string>();
  const [now, setNow] = useState(() => Date.now());

  // The watch runs for the page's life: when the connection drops it starts again (the
  // client reconnects with the session's next owner code) and lists what waits now.
  useEffect(() => {
    const stop = new AbortController();
    void (async () => {
      for (let retryMs = 1000, again = false; !stop.signal.aborted; retryMs = Math.min(retryMs * 2, 30_000), again = true) {
        try {
          if (again) {
            // Back after a failure: what waits now replaces what waited before.
            setPending(await client.result<PendingApproval[]>('_approvals.list', {}));
            setFailure(undefined);
            retryMs = 1000;
          }
          for await (const item of client.call('_approvals.watch', {}, { signal: stop.signal })) {
            if (item.type === 'error') throw new Error(item.message);
            if (item.type !== 'data') continue;
            const event = item.content as ApprovalEvent;
            if (event.type === 'pending') setPending((list) => [...list.filter((a) => a.id !== event.approval.id), event.approval]);
            else {
              setPending((list) => list.filter((a) => a.id !== event.id));
              setRecent((list) => [`${event.id} ${event.outcome}`, ...list].slice(0, 5));
            }
          }
        } catch (err) {
          if (stop.signal.aborted) return;
          setFailure((err as Error).message);
        }
        await new Promise((resolve) => setTimeout(resolve, retryMs));
      }
    })();
    return () => stop.abort();
  }, [client]);

  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, []);

  const decide = (id: string, method: 'approve' | 'deny', window?: string): void => {
    client.result(`_approvals.${method}`, { id, ...(window ? { window } : {}) }).catch((err: Error) => setFailure(err.message));
  };

  return (
    <section class="approvals" data-testid="approvals" aria-label="Calls waiting for your approval">
      <h2>
        Owner session · calls waiting for approval <span class="muted">({pending.length})</span>
      </h2>
      {failure && (
        <p class="error" data-testid="approvals-error">
          {failure}
        </p>
      )}
      {pending.length === 0 && <p class="muted">No execute call is waiting.</p>}
      {pending.map((a) => (
        <div class="approval" key={a.id} data-testid="approval" data-id={a.id}>
          <div class="approval-head">
            <b class="mono">{a.path}</b>
            <span class="muted">
              by {a.principal.name} ({a.principal.token_id}
              {a.principal.remote ? ` from ${a.principal.remote}` : ''})
            </span>
            <span class="grow" />
            <span class="muted">{secondsLeft(a.deadline - now)} left</span>
          </div>
          <pre class="mono approval-params" data-testid="approval-params">
            {JSON.stringify(a.params, null, 2)}
          </pre>
          <div class="actions">
            <button type="button" class="primary" data-testid="approve" onClick={() => decide(a.id, 'approve')}>
              Approve once
            </button>
            {WINDOWS.map((w) => (
              <button
                type="button"
                key={w}
                data-testid={`approve-${w}`}
                title={`Also let identical calls (same token, path and params) through for ${w}`}
                onClick={() => decide(a.id, 'approve', w)}
              >
                Approve for {w}
              </button>
            ))}
            <button type="button" data-testid="deny" onClick={() => decide(a.id, 'deny')}>
              Deny
            </button>
          </div>
        </div>
      ))}
      {recent.length > 0 && (
        <p class="muted small" data-testid="approvals-recent">
          {recent.join(' · ')}
        </p>
      )}
    </section>
  );
}
