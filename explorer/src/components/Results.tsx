import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';
import type { CallRun } from '../call-run.js';
import { counted, ms, num, percent } from '../format.js';
import { QuestionForm, QuestionNote } from './QuestionForm.js';

/** Rows drawn at most; the count shows the rest. */
const SHOWN = 500;
/** How close to the bottom (px) still counts as "at the tail". */
const SLACK = 8;

/**
 * A call's stream as it arrives: status, progress, the method's questions, errors,
 * data as a table or JSON; the one Cancel button while it runs. The rows follow
 * the tail unless the user scrolls up; then they hold still (new items are counted,
 * not drawn) until the user scrolls back down or clicks "follow".
 */
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

  // Where the user's view ends (an item count) while scrolled up; undefined: following the tail.
  const [heldAt, setHeldAt] = useState<number>();
  const scroller = useRef<HTMLDivElement>(null);
  useLayoutEffect(() => {
    const el = scroller.current;
    if (el && heldAt === undefined) el.scrollTop = el.scrollHeight;
  });
  const onScroll = (): void => {
    const el = scroller.current!;
    const atTail = el.scrollHeight - el.scrollTop - el.clientHeight <= SLACK;
    if (atTail && heldAt !== undefined) setHeldAt(undefined);
    else if (!atTail && heldAt === undefined) setHeldAt(run.count);
  };

  const end = heldAt ?? run.count;
  const kept = run.count - run.data.length; // items dropped before data[0]
  const from = Math.max(kept, end - SHOWN);
  const shown = run.data.slice(from - kept, end - kept);
  const elapsed = (run.ended ?? performance.now()) - run.started;
  return (
    <section class="results" data-testid="results" data-status={run.status}>
      <div class="results-head">
        <span class={`status ${run.status}`} data-testid="status">
          {run.status}
        </span>
        <span data-testid="count">{counted(run.count, 'item')}</span>
        <span class="muted" data-testid="elapsed">
          {ms(elapsed)}
        </span>
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
      {run.question && <QuestionForm key={run.question.requestId} run={run} question={run.question} />}
      <QuestionNote run={run} />
      {run.progress && (
        <div class="progress" data-testid="progress">
          {run.progress.percentage !== undefined ? <progress max={100} value={run.progress.percentage} /> : <progress />}
          <span>
            {run.progress.message}
            {run.progress.percentage !== undefined && ` (${percent(run.progress.percentage)})`}
          </span>
        </div>
      )}
      {run.error && (
        <div class="error-box" data-testid="error" role="alert">
          {run.error.code && <b>error {run.error.code}: </b>}
          {run.error.message}
        </div>
      )}
      {(from > 0 || end < run.count) && (
        <p class="muted small" data-testid="window">
          showing items {num(from + 1)} to {num(end)} of {num(run.count)}
          {heldAt !== undefined && (
            <button type="button" class="link" data-testid="follow" onClick={() => setHeldAt(undefined)}>
              {end < run.count ? `${counted(run.count - end, 'newer item')}: follow ↓` : 'follow ↓'}
            </button>
          )}
        </p>
      )}
      {shown.length > 0 && (
        <div class="scroller" ref={scroller} onScroll={onScroll} data-testid="rows">
          {view === 'table' ? (
            <Table items={shown} first={from} />
          ) : (
            <pre class="json" data-testid="json-view">
              {shown.map((i) => JSON.stringify(i, null, 2)).join('\n')}
            </pre>
          )}
        </div>
      )}
    </section>
  );
}

function Table({ items, first }: { items: readonly unknown[]; first: number }) {
  const isRecord = (v: unknown): v is Record<string, unknown> => !!v && typeof v === 'object' && !Array.isArray(v);
  const columns: string[] = [];
  for (const item of items.slice(0, 50))
    if (isRecord(item)) for (const k of Object.keys(item)) if (!columns.includes(k) && columns.length < 12) columns.push(k);
  // Numbers as everywhere on the page (exact digits, grouped), right-aligned; the JSON view has them raw.
  const cell = (v: unknown, key: string | number) =>
    typeof v === 'number' ? (
      <td key={key} class="n" title={JSON.stringify(v)}>
        {num(v)}
      </td>
    ) : (
      <td key={key}>{v === undefined ? '' : typeof v === 'string' ? v : JSON.stringify(v)}</td>
    );
  return (
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
            <td class="muted n">{num(first + i + 1)}</td>
            {columns.length > 0 && isRecord(item) ? (
              columns.map((c) => cell(item[c], c))
            ) : columns.length > 1 ? (
              <td colSpan={columns.length}>{JSON.stringify(item)}</td>
            ) : (
              cell(item, 0)
            )}
          </tr>
        ))}
      </tbody>
    </table>
  );
}
