import { useEffect, useState } from 'preact/hooks';
import type { RunStatus } from '../call-run.js';
import type { HubConnection } from '../connection.js';
import { initialParams, inSchemaOrder, pruneUndefined } from '../form-model.js';
import { CallRun } from '../call-run.js';
import { callHistory, takeRerun, type HistoryEntry } from '../history.js';
import { clientAccessor, cliCommand, typescriptSnippet } from '../snippets.js';
import type { SchemaTree } from '../tree-store.js';
import { CallForm } from './CallForm.js';
import { CopyButton } from './CopyButton.js';
import { HistoryList } from './History.js';
import { Markdown } from './Markdown.js';
import { Results } from './Results.js';
import { SchemaView } from './SchemaView.js';

interface Props {
  readonly tree: SchemaTree;
  readonly conn: HubConnection;
  readonly path: string;
}

/** One method: its schemas, a call form generated from the params schema, live results and snippets. */
export function MethodView({ tree, conn, path }: Props) {
  const method = tree.method(path);
  const split = tree.splitMethod(path);
  const node = split && tree.nodes.get(split.node);
  const [params, setParams] = useState<Record<string, unknown>>(() => initialParams(method?.params));
  const [run, setRun] = useState<CallRun>();
  const [formKey, setFormKey] = useState(0); // a re-run redraws the form with its params
  // The schema can change under the page (drift): start the form again from the new one.
  useEffect(() => setParams(initialParams(method?.params)), [method?.hash]);
  useEffect(() => () => run?.cancel(), [run]); // leaving the view cancels its call
  const running = useRunning(run);
  // A re-run asked for from the history on the home view: run it once the method is known.
  useEffect(() => {
    const entry = method && takeRerun(path);
    if (entry) rerun(entry);
  }, [!!method]);

  if (!method) {
    if (node?.error) return <p class="error">{node.error}</p>;
    if (node?.schema && !node.loading) return <p class="error">No method {path}</p>;
    return <p class="muted">Loading {path}…</p>;
  }
  function call(p: Record<string, unknown>): void {
    run?.cancel();
    const next = new CallRun(conn.client, path, p);
    const entry = callHistory.add(path, p);
    if (entry) next.onUpdate(() => next.status !== 'running' && callHistory.setStatus(entry, next.status));
    setRun(next);
  }
  function rerun(entry: HistoryEntry): void {
    setParams(entry.params);
    setFormKey((k) => k + 1);
    call(entry.params);
  }
  const clean = inSchemaOrder(pruneUndefined(params) as Record<string, unknown>, method.params);
  const accessor = clientAccessor(tree.root, path, (n) => (tree.nodes.get(n)?.schema?.methods ?? []).map((m) => m.name));
  return (
    <article data-testid="method-view">
      <h1 class="mono">
        {path} <span class={`tag ${method.streaming ? 'stream' : 'unary'}`}>{method.streaming ? 'stream' : 'unary'}</span>
        {method.bidirectional && (
          <span class="tag asks" title="It may ask you questions while it runs">
            asks
          </span>
        )}
      </h1>
      <div class="lead" data-testid="description">
        <Markdown text={method.description} />
      </div>
      <p class="muted small">
        hash <span class="mono">{method.hash}</span>
      </p>
      <div class="schemas">
        <SchemaView title="Params" schema={method.params} empty="Takes no params." />
        <SchemaView title="Item" schema={method.returns} empty="No item schema." />
      </div>
      <h2>Call</h2>
      <CallForm
        key={`${method.hash}:${formKey}`}
        schema={method.params}
        value={params}
        onChange={setParams}
        onSubmit={call}
        running={running}
      />
      {run && <Results key={run.id} run={run} />}
      <HistoryList history={callHistory} path={path} onRerun={rerun} />
      <div class="snippets">
        <div>
          <h4>
            CLI <CopyButton text={cliCommand(path, clean, method.params, conn.url)} label="Copy command" />
          </h4>
          <pre class="snippet" data-testid="cli-snippet">
            {cliCommand(path, clean, method.params, conn.url)}
          </pre>
        </div>
        <div>
          <h4>
            TypeScript{' '}
            <CopyButton
              text={typescriptSnippet({ accessor, params: clean, hasParams: !!method.params, streaming: method.streaming, url: conn.url })}
              label="Copy snippet"
            />
          </h4>
          <pre class="snippet" data-testid="ts-snippet">
            {typescriptSnippet({ accessor, params: clean, hasParams: !!method.params, streaming: method.streaming, url: conn.url })}
          </pre>
        </div>
      </div>
    </article>
  );
}

/** Whether the call is still running; re-renders only when that changes. */
function useRunning(run: CallRun | undefined): boolean {
  const [status, setStatus] = useState<RunStatus | undefined>(run?.status);
  useEffect(() => {
    setStatus(run?.status);
    return run?.onUpdate(() => setStatus(run.status));
  }, [run]);
  return status === 'running';
}
