import { useEffect, useState } from 'preact/hooks';
import type { CallHistory, HistoryEntry } from '../history.js';
import { routeHref } from '../route.js';

/** Re-renders when the history changes. */
export function useHistory(history: CallHistory): readonly HistoryEntry[] {
  const [, setTick] = useState(0);
  useEffect(() => history.onChange(() => setTick((t) => t + 1)), [history]);
  return history.entries;
}

const time = (at: number): string => new Date(at).toLocaleString(undefined, { dateStyle: 'short', timeStyle: 'medium' });

/** Params as one line, cut short: the title has them all. */
const summary = (params: Record<string, unknown>): string => {
  const json = JSON.stringify(params);
  return json.length > 120 ? `${json.slice(0, 119)}…` : json;
};

interface Props {
  readonly history: CallHistory;
  /** Only this method's calls (and no method column). */
  readonly path?: string;
  readonly onRerun: (entry: HistoryEntry) => void;
}

/** Recent calls, newest first, each re-run with one click. */
export function HistoryList({ history, path, onRerun }: Props) {
  const entries = useHistory(history).filter((e) => path === undefined || e.path === path);
  if (entries.length === 0) return null;
  return (
    <section class="history" data-testid="history">
      <h2>
        Recent calls{' '}
        <button type="button" class="link small" onClick={() => history.clear()} title="Forget every recent call (of every method)">
          clear
        </button>
      </h2>
      <ul>
        {entries.map((e) => (
          <li key={`${e.at}:${e.path}`} data-testid="history-entry" data-path={e.path}>
            <button type="button" class="small" data-testid="rerun" title="Call again with these params" onClick={() => onRerun(e)}>
              Re-run
            </button>
            {path === undefined && (
              <a class="mono" href={routeHref({ kind: 'method', path: e.path })}>
                {e.path}
              </a>
            )}
            <code class="params" title={JSON.stringify(e.params, null, 2)}>
              {summary(e.params)}
            </code>
            <span class="grow" />
            {e.status && <span class={`status ${e.status}`}>{e.status}</span>}
            <span class="muted small">{time(e.at)}</span>
          </li>
        ))}
      </ul>
    </section>
  );
}
