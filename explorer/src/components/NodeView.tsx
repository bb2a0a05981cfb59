import { routeHref } from '../route.js';
import type { SchemaTree } from '../tree-store.js';
import { typeText } from '../schema-text.js';
import { Markdown } from './Markdown.js';

/** An activation: its description, version and hashes, methods and children. */
export function NodeView({ tree, path }: { tree: SchemaTree; path: string }) {
  const node = tree.nodes.get(path);
  const schema = node?.schema;
  if (!schema) {
    return <p class="muted">{node?.error ? <span class="error">{node.error}</span> : `Loading ${path}…`}</p>;
  }
  return (
    <article data-testid="node-view">
      <h1 class="mono">{path}</h1>
      <div class="lead" data-testid="description">
        <Markdown text={schema.description} />
      </div>
      {schema.long_description && (
        <div class="long">
          <Markdown text={schema.long_description} />
        </div>
      )}
      <dl class="facts">
        <dt>version</dt>
        <dd>{schema.version}</dd>
        {schema.health && (
          <>
            <dt>health</dt>
            <dd data-testid="health">
              <span class={`tag health-${schema.health.status}`}>{schema.health.status}</span> {schema.health.detail}
            </dd>
          </>
        )}
        <dt>hash</dt>
        <dd class="mono">{schema.hash}</dd>
        <dt>self hash</dt>
        <dd class="mono">{schema.self_hash}</dd>
        {schema.children_hash && (
          <>
            <dt>children hash</dt>
            <dd class="mono">{schema.children_hash}</dd>
          </>
        )}
      </dl>
      <h2>Methods</h2>
      <ul class="cards">
        {schema.methods.map((m) => {
          const params = Object.keys((m.params?.properties as object | undefined) ?? {});
          return (
            <li key={m.name}>
              <a href={routeHref({ kind: 'method', path: tree.methodPath(path, m.name) })}>
                <span class="mono">
                  <b>{m.name}</b>({params.join(', ')}) {m.streaming ? '⇉ stream of' : '→'} {typeText(m.returns, 1)}
                </span>
                <span class="muted">
                  <Markdown text={m.description} inline noLinks />
                </span>
              </a>
            </li>
          );
        })}
      </ul>
      {(schema.children?.length ?? 0) > 0 && (
        <>
          <h2>Children</h2>
          <ul class="cards">
            {schema.children!.map((c) => (
              <li key={c.namespace}>
                <a href={routeHref({ kind: 'node', path: tree.childPath(path, c.namespace) })}>
                  <span class="mono">
                    <b>{c.namespace}</b> <span class="muted">{c.hash}</span>
                  </span>
                  <span class="muted">
                    <Markdown text={c.description} inline noLinks />
                  </span>
                </a>
              </li>
            ))}
          </ul>
        </>
      )}
    </article>
  );
}
