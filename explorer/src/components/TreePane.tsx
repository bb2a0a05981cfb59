import { useEffect, useState } from 'preact/hooks';
import { counted } from '../format.js';
import { routeHref, type Route } from '../route.js';
import { Markdown } from './Markdown.js';
import type { SchemaTree, SearchResult, TreeNode } from '../tree-store.js';

interface Props {
  readonly tree: SchemaTree;
  readonly route: Route;
}

/** The lazy tree of activations and their methods, with search. */
export function TreePane({ tree, route }: Props) {
  const [expanded, setExpanded] = useState<ReadonlySet<string>>(() => new Set([tree.root]));
  const [query, setQuery] = useState('');
  const [searching, setSearching] = useState(false);

  // Show where a link points: expand the selected node's ancestors.
  useEffect(() => {
    if (route.kind === 'home') return;
    const node = route.kind === 'node' ? tree.parentOf(route.path) : tree.splitMethod(route.path)?.node;
    const next = new Set(expanded);
    for (let p = node; p !== undefined; p = tree.parentOf(p)) next.add(p);
    if (next.size !== expanded.size) setExpanded(next);
  }, [route]);

  // A search reaches nodes nobody has expanded yet: load the rest of the tree once, in the background.
  useEffect(() => {
    if (!query.trim() || searching) return;
    setSearching(true);
    void tree.loadAll();
  }, [query]);

  const toggle = (node: TreeNode): void => {
    const next = new Set(expanded);
    if (next.has(node.path)) next.delete(node.path);
    else {
      next.add(node.path);
      tree.load(node.path).catch(() => {});
    }
    setExpanded(next);
  };

  const result = query.trim() ? tree.search(query) : undefined;
  const selected = route.kind === 'home' ? undefined : route.path;
  return (
    <nav class="tree-pane">
      <input
        class="search"
        type="search"
        placeholder="Search paths and descriptions"
        aria-label="Search"
        value={query}
        onInput={(e) => setQuery((e.target as HTMLInputElement).value)}
      />
      {result && (
        <p class="muted small" data-testid="search-count">
          {counted(result.matches, 'match', 'matches')} in {counted([...tree.nodes.values()].filter((n) => n.schema).length, 'loaded node')}
        </p>
      )}
      <ul class="tree">
        <Item tree={tree} node={tree.nodes.get(tree.root)!} expanded={expanded} toggle={toggle} selected={selected} result={result} />
      </ul>
    </nav>
  );
}

interface ItemProps {
  readonly tree: SchemaTree;
  readonly node: TreeNode;
  readonly expanded: ReadonlySet<string>;
  readonly toggle: (node: TreeNode) => void;
  readonly selected: string | undefined;
  readonly result: SearchResult | undefined;
}

function Item({ tree, node, expanded, toggle, selected, result }: ItemProps) {
  if (result && !result.visible.has(node.path)) return null;
  const open = result ? true : expanded.has(node.path);
  const schema = node.schema;
  const description = schema?.description ?? node.summary?.description ?? '';
  const hash = schema?.hash ?? node.summary?.hash ?? '';
  // While searching, only the methods that match.
  const methods = (schema?.methods ?? []).filter((m) => !result || result.methods.has(tree.methodPath(node.path, m.name)));
  return (
    <li data-path={node.path}>
      <div class={`row node${selected === node.path ? ' selected' : ''}${node.changed ? ' changed' : ''}`}>
        <button type="button" class="twisty" aria-expanded={open} aria-label={open ? 'Collapse' : 'Expand'} onClick={() => toggle(node)}>
          {node.loading ? '…' : open ? '▾' : '▸'}
        </button>
        <a href={routeHref({ kind: 'node', path: node.path })} class="name mono" onClick={() => !open && toggle(node)}>
          {node.namespace}
        </a>
        {schema && <span class="version">v{schema.version}</span>}
        <span class="hash mono" title={`hash ${hash}`}>
          {hash.slice(0, 8)}
        </span>
        {node.changed && <span class="dot" title="changed since the page loaded" />}
        <span class="desc" title={description}>
          <Markdown text={description} inline noLinks />
        </span>
      </div>
      {node.error && <div class="error small">{node.error}</div>}
      {open && schema && (
        <ul>
          {methods.map((m) => {
            const path = tree.methodPath(node.path, m.name);
            return (
              <li key={path} data-method={path}>
                <a
                  class={`row method${selected === path ? ' selected' : ''}`}
                  href={routeHref({ kind: 'method', path })}
                  title={m.description}
                >
                  <span class="kind">{m.streaming ? '⇉' : '→'}</span>
                  <span class="name mono">{m.name}</span>
                  <span class="desc">
                    <Markdown text={m.description} inline noLinks />
                  </span>
                </a>
              </li>
            );
          })}
          {tree.children(node.path).map((child) => (
            <Item key={child.path} tree={tree} node={child} expanded={expanded} toggle={toggle} selected={selected} result={result} />
          ))}
        </ul>
      )}
    </li>
  );
}
