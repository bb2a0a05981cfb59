import { useState } from 'preact/hooks';
import { propertyRows, typeText } from '../schema-text.js';
import type { JsonSchema } from '../wire.js';

/** A schema as a readable properties table (plus its named types), or as raw JSON. */
export function SchemaView({ title, schema, empty }: { title: string; schema: JsonSchema | undefined; empty: string }) {
  const [raw, setRaw] = useState(false);
  const defs = Object.entries((schema?.$defs as Record<string, JsonSchema> | undefined) ?? {});
  return (
    <section class="schema" data-testid={`schema-${title.toLowerCase()}`}>
      <h3>
        {title}
        {schema && (
          <button type="button" class="link small" onClick={() => setRaw(!raw)}>
            {raw ? 'table' : 'JSON'}
          </button>
        )}
      </h3>
      {!schema ? (
        <p class="muted">{empty}</p>
      ) : raw ? (
        <pre class="json">{JSON.stringify(schema, null, 2)}</pre>
      ) : (
        <>
          <Shape schema={schema} />
          {defs.map(([name, def]) => (
            <div key={name} class="def">
              <h4 class="mono">{name}</h4>
              <Shape schema={def} />
            </div>
          ))}
        </>
      )}
    </section>
  );
}

function Shape({ schema }: { schema: JsonSchema }) {
  const rows = propertyRows(schema);
  const title = typeof schema.title === 'string' ? schema.title : undefined;
  if (rows.length === 0) {
    return (
      <p class="mono">
        {title ? <b>{title}</b> : null} {typeText(schema)}
        {typeof schema.description === 'string' && <span class="muted"> — {schema.description}</span>}
      </p>
    );
  }
  return (
    <>
      {(title || typeof schema.description === 'string') && (
        <p>
          {title && <b class="mono">{title}</b>} <span class="muted">{schema.description as string | undefined}</span>
        </p>
      )}
      <table class="props">
        <tbody>
          {rows.map((r, i) => (
            <tr key={i}>
              <td class="mono" style={{ paddingLeft: `${0.5 + r.depth * 1.2}em` }}>
                {r.name}
                {r.required && (
                  <span class="req" title="required">
                    *
                  </span>
                )}
              </td>
              <td class="mono type">{r.type}</td>
              <td>
                {r.description}
                {r.default !== undefined && <span class="muted"> (default {JSON.stringify(r.default)})</span>}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}
