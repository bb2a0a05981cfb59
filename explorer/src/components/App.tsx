import { useEffect, useMemo, useState } from 'preact/hooks';
import type { HubConnection } from '../connection.js';
import { parseRoute, type Route } from '../route.js';
import { SchemaTree } from '../tree-store.js';
import { callHistory, requestRerun, type HistoryEntry } from '../history.js';
import { routeHref } from '../route.js';
import { ApprovalsPanel } from './Approvals.js';
import { HistoryList } from './History.js';
import { MethodView } from './MethodView.js';
import { NodeView } from './NodeView.js';
import { TreePane } from './TreePane.js';

/** How often the page asks for the root hash to notice drift (`?poll=ms` overrides). */
const DEFAULT_POLL_MS = 3000;

export function App({ connection }: { connection: Promise<HubConnection> }) {
  const [conn, setConn] = useState<HubConnection>();
  const [failure, setFailure] = useState<string>();
  useEffect(() => {
    connection.then(setConn, (err: Error) => setFailure(err.message));
  }, [connection]);
  if (failure)
    return (
      <p class="boot failed" data-testid="connect-error">
        Cannot reach the hub: {failure}
      </p>
    );
  if (!conn) return <p class="boot">Connecting to the hub…</p>;
  return <Explorer conn={conn} />;
}

/** A re-run from the home view's history opens the method's view, which runs it. */
function rerunElsewhere(entry: HistoryEntry): void {
  requestRerun(entry);
  location.hash = routeHref({ kind: 'method', path: entry.path });
}

function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(location.hash));
  useEffect(() => {
    const onHash = () => setRoute(parseRoute(location.hash));
    addEventListener('hashchange', onHash);
    return () => removeEventListener('hashchange', onHash);
  }, []);
  return route;
}

function Explorer({ conn }: { conn: HubConnection }) {
  const tree = useMemo(() => {
    const source = { schema: (path?: string) => conn.client.schema(path) as never, hash: () => conn.client.hash() };
    const t = new SchemaTree(source, conn.root);
    t.seedRoot(conn.rootSchema);
    return t;
  }, [conn]);
  const [, setVersion] = useState(0);
  useEffect(() => tree.onChange(() => setVersion(tree.version)), [tree]);
  const route = useRoute();
  // Below ~800 px the tree is a panel over the detail, opened by a toggle; choosing something closes it.
  const [treeOpen, setTreeOpen] = useState(false);
  useEffect(() => setTreeOpen(false), [route]);
  // For first-paint measurements (tests and `npm run bench`): the tree is on screen.
  useEffect(() => void performance.mark('explorer:tree'), []);

  // Deep links: load the ancestors of whatever the URL names.
  useEffect(() => {
    if (route.kind === 'home') return;
    const node = route.kind === 'node' ? route.path : (tree.splitMethod(route.path)?.node ?? conn.root);
    tree.loadPath(node).catch(() => {});
  }, [route, tree]);

  // Drift: poll the root hash; one request at a time. A failed poll means the hub is
  // unreachable (the client reconnects on the next one).
  const [offline, setOffline] = useState<string>();
  useEffect(() => {
    const ms = Number(new URLSearchParams(location.search).get('poll')) || DEFAULT_POLL_MS;
    let busy = false;
    const timer = setInterval(() => {
      if (busy) return;
      busy = true;
      tree
        .checkDrift()
        .then(
          () => setOffline(undefined),
          (err: Error) => setOffline(err.message),
        )
        .finally(() => (busy = false));
    }, ms);
    return () => clearInterval(timer);
  }, [tree]);

  const drift = tree.drift;
  return (
    <div class={`layout${treeOpen ? ' tree-open' : ''}`}>
      <header class="top">
        <button
          type="button"
          class="tree-toggle"
          data-testid="tree-toggle"
          aria-expanded={treeOpen}
          aria-label={treeOpen ? 'Hide the tree' : 'Show the tree'}
          onClick={() => setTreeOpen(!treeOpen)}
        >
          ☰
        </button>
        <span class="brand">
          <img src="/favicon.svg" alt="" width={20} height={20} /> plexus-hub <b>explorer</b>
        </span>
        <span class="muted mono url">{conn.url}</span>
        <span class="grow" />
        {drift && (
          <button type="button" class="drift" data-testid="drift" title="Click to dismiss" onClick={() => tree.acknowledgeDrift()}>
            schema changed: {drift.changed.length} node{drift.changed.length === 1 ? '' : 's'} updated · {drift.from.slice(0, 8)} →{' '}
            {drift.to.slice(0, 8)}
          </button>
        )}
        <span class="muted">
          root <b class="mono">{tree.root}</b> · hash{' '}
          <span class="mono" data-testid="root-hash">
            {tree.rootHash}
          </span>
        </span>
      </header>
      {/* Over the page, not in the header's flow: it comes and goes without moving anything. */}
      {offline && (
        <div class="offline" data-testid="offline" title={offline} role="status">
          hub unreachable, retrying…
        </div>
      )}
      <TreePane tree={tree} route={route} />
      <main class="detail">
        {conn.owner && <ApprovalsPanel client={conn.client} />}
        {route.kind === 'method' ? (
          <MethodView key={route.path} tree={tree} conn={conn} path={route.path} />
        ) : (
          <>
            <NodeView tree={tree} path={route.kind === 'node' ? route.path : tree.root} />
            {route.kind === 'home' && <HistoryList history={callHistory} onRerun={rerunElsewhere} />}
          </>
        )}
      </main>
    </div>
  );
}
