import { useEffect, useState } from 'preact/hooks';
import type { CallRun } from '../call-run.js';

/** Rows drawn at most; the count shows the rest. */
const SHOWN = 500;

/** A call's stream as it arrives: status, progress, errors, data as a table or JSON; cancel while running. */
export function Results({ run }: { run: CallRun }) {
  const [, setTick] = useState(0);
  const [view, setView] = useState<'table' | 'json'>('table');
  // Fast streams update far more often than the screen: re-render once per frame.
  useEffect(() => {
    let frame = 0;
    const off = run.onUpdate(() => {
      frame ||= requestAnimationFrame(() => {
        frame = 0;
        setTick((t) => t + 1);
      });
    });
    return () => {
      off();
      cancelAnimationFrame(frame);
    };
  }, [run]);

  const shown = run.data.slice(-SHOWN);
  const first = run.count - shown.length;
  const elapsed = Math.round((run.ended ?? performance.now()) - run.started);
  return (
    <section class="results" data-testid="results" data-status={run.status}>
      <div class="results-head">
        <span class={`status ${run.status}`} data-testid="status">
          {run.status}
        </span>
        <span data-testid="count">
          {run.count} item{run.count === 1 ? '' : 's'}
        </span>
        <span class="muted">{elapsed} ms</span>
        <span class="grow" />
        {run.status === 'running' && (
          <button type="button" class="cancel" data-testid="cancel" onClick={() => run.cancel()}>
            Cancel
          </button>
        )}
        <span class="seg">
          <button type="button" class={view === 'table' ? 'on' : ''} onClick={() => setView('table')}>
            Table
          </button>
          <button type="button" class={view === 'json' ? 'on' : ''} onClick={() => setView('json')}>
            JSON
          </button>
        </span>
      </div>
      {run.progress && (
        <div class="progress" data-testid="progress">
          {run.progress.percentage !== undefined ? <progress max={100} value={run.progress.percentage} /> : <progress />}
          <span>
            {run.progress.message}
            {run.progress.percentage !== undefined && ` (${Math.round(run.progress.percentage)}%)`}
          </span>
        </div>
      )}
      {run.error && (
        <div class="error-box" data-testid="error" role="alert">
          {run.error.code && <b>error {run.error.code}: </b>}
          {run.error.message}
        </div>
      )}
      {first > 0 && (
        <p class="muted small">
          showing the last {shown.length} of {run.count} items
        </p>
      )}
      {shown.length > 0 &&
        (view === 'table' ? (
          <Table items={shown} first={first} />
        ) : (
          <pre class="json" data-testid="json-view">
            {shown.map((i) => JSON.stringify(i, null, 2)).join('\n')}
          </pre>
        ))}
    </section>
  );
}

function Table({ items, first }: { items: readonly unknown[]; first: number }) {
  const isRecord = (v: unknown): v is Record<string, unknown> => !!v && typeof v === 'object' && !Array.isArray(v);
  const columns: string[] = [];
  for (const item of items.slice(0, 50))
    if (isRecord(item)) for (const k of Object.keys(item)) if (!columns.includes(k) && columns.length < 12) columns.push(k);
  const cell = (v: unknown): string => (v === undefined ? '' : typeof v === 'string' ? v : JSON.stringify(v));
  return (
    <div class="table-wrap">
      <table class="data" data-testid="table-view">
        <thead>
          <tr>
            <th>#</th>
            {columns.length > 0 ? columns.map((c) => <th key={c}>{c}</th>) : <th>value</th>}
          </tr>
        </thead>
        <tbody>
          {items.map((item, i) => (
            <tr key={first + i}>
              <td class="muted">{first + i + 1}</td>
              {columns.length > 0 && isRecord(item) ? (
                columns.map((c) => <td key={c}>{cell(item[c])}</td>)
              ) : (
                <td colSpan={Math.max(1, columns.length)}>{cell(item)}</td>
              )}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
