import { useMemo, useState } from 'preact/hooks';
import { fieldSpec, initialValue, optionLabel, pruneUndefined, type FieldSpec, type PropSpec } from '../form-model.js';
import type { JsonSchema } from '../wire.js';
import { Markdown } from './Markdown.js';

interface Props {
  readonly schema: JsonSchema | undefined;
  readonly value: Record<string, unknown>;
  readonly onChange: (value: Record<string, unknown>) => void;
  readonly onSubmit: (params: Record<string, unknown>) => void;
  readonly running: boolean;
}

export type Report = (path: string, invalid: boolean) => void;

/** The call form, generated from the params schema, with a whole-params JSON editor as the alternative. */
export function CallForm({ schema, value, onChange, onSubmit, running }: Props) {
  const spec = useMemo(() => (schema ? fieldSpec(schema) : undefined), [schema]);
  const formable = !schema || spec?.field.kind === 'object';
  const [mode, setMode] = useState<'form' | 'json'>(formable ? 'form' : 'json');
  const [jsonText, setJsonText] = useState(() => JSON.stringify(pruneUndefined(value), null, 2));
  const [invalid, setInvalid] = useState<ReadonlySet<string>>(new Set());
  const [problem, setProblem] = useState<string>();

  const report: Report = (path, bad) => {
    if (!bad) setProblem(undefined); // a fixed field clears the complaint; submitting re-checks the rest
    setInvalid((prev) => {
      if (prev.has(path) === bad) return prev;
      const next = new Set(prev);
      if (bad) next.add(path);
      else next.delete(path);
      return next;
    });
  };

  const parseJson = (text: string): Record<string, unknown> | string => {
    try {
      const parsed = JSON.parse(text || '{}') as unknown;
      if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) return 'Params must be a JSON object';
      return parsed as Record<string, unknown>;
    } catch (err) {
      return `Params are not valid JSON: ${(err as Error).message}`;
    }
  };

  const switchMode = (next: 'form' | 'json'): void => {
    setProblem(undefined);
    if (next === 'json') setJsonText(JSON.stringify(pruneUndefined(value), null, 2));
    else {
      const parsed = parseJson(jsonText);
      if (typeof parsed === 'string') return setProblem(parsed);
      onChange(parsed);
      setInvalid(new Set());
    }
    setMode(next);
  };

  const submit = (e: Event): void => {
    e.preventDefault();
    setProblem(undefined);
    if (mode === 'json') {
      const parsed = parseJson(jsonText);
      if (typeof parsed === 'string') return setProblem(parsed);
      onChange(parsed);
      return onSubmit(parsed);
    }
    if (invalid.size > 0) return setProblem(`Fix the JSON of: ${[...invalid].join(', ')}`);
    onSubmit(pruneUndefined(value) as Record<string, unknown>);
  };

  return (
    <form class="call-form" onSubmit={submit} data-testid="call-form" data-mode={mode}>
      <div class="seg mode">
        <button type="button" class={mode === 'form' ? 'on' : ''} disabled={!formable} onClick={() => switchMode('form')}>
          Form
        </button>
        <button type="button" class={mode === 'json' ? 'on' : ''} onClick={() => switchMode('json')} data-testid="json-mode">
          JSON
        </button>
      </div>
      {mode === 'json' ? (
        <textarea
          class="json-editor mono"
          data-testid="params-json"
          rows={Math.min(16, jsonText.split('\n').length + 1)}
          value={jsonText}
          spellcheck={false}
          onInput={(e) => {
            const text = (e.target as HTMLTextAreaElement).value;
            setJsonText(text);
            const parsed = parseJson(text);
            if (typeof parsed !== 'string') onChange(parsed);
          }}
        />
      ) : spec?.field.kind !== 'object' ? (
        <p class="muted">This method takes no params.</p>
      ) : (
        <Fields props={spec.field.props} value={value} onChange={(v) => onChange(v as Record<string, unknown>)} path="" report={report} />
      )}
      {problem && (
        <p class="error" role="alert" data-testid="form-problem">
          {problem}
        </p>
      )}
      <div class="actions">
        <button type="submit" class="primary" data-testid="call">
          {running ? 'Call again' : 'Call'}
        </button>
      </div>
    </form>
  );
}

interface FieldsProps {
  readonly props: readonly PropSpec[];
  readonly value: unknown;
  readonly onChange: (value: Record<string, unknown>) => void;
  readonly path: string;
  readonly report: Report;
}

export function Fields({ props, value, onChange, path, report }: FieldsProps) {
  const record = (value && typeof value === 'object' ? value : {}) as Record<string, unknown>;
  return (
    <div class="fields">
      {props.map((p) => {
        const fieldPath = path ? `${path}.${p.name}` : p.name;
        return (
          <div class="field" key={p.name}>
            <label class="mono" for={`f-${fieldPath}`}>
              {p.name}
              {p.required && (
                <span class="req" title="required">
                  *
                </span>
              )}
            </label>
            <div>
              <Input
                spec={p.spec}
                required={p.required}
                value={record[p.name]}
                path={fieldPath}
                report={report}
                onChange={(v) => onChange({ ...record, [p.name]: v })}
              />
              {p.spec.description && (
                <div class="hint">
                  <Markdown text={p.spec.description} inline />
                </div>
              )}
            </div>
          </div>
        );
      })}
    </div>
  );
}

interface InputProps {
  readonly spec: FieldSpec;
  readonly required: boolean;
  readonly value: unknown;
  readonly onChange: (value: unknown) => void;
  readonly path: string;
  readonly report: Report;
}

export function Input({ spec, required, value, onChange, path, report }: InputProps) {
  const f = spec.field;
  const id = `f-${path}`;
  switch (f.kind) {
    case 'string':
      return (
        <input
          id={id}
          data-field={path}
          type="text"
          value={typeof value === 'string' ? value : ''}
          placeholder={f.format === 'date-time' ? '2026-01-31T12:00:00Z' : required ? '' : '(not set)'}
          onInput={(e) => {
            const text = (e.target as HTMLInputElement).value;
            onChange(text === '' && !required ? undefined : text);
          }}
        />
      );
    case 'number':
      return (
        <input
          id={id}
          data-field={path}
          type="number"
          step={f.integer ? 1 : 'any'}
          min={f.minimum}
          max={f.maximum}
          value={typeof value === 'number' ? String(value) : ''}
          placeholder={required ? '' : '(not set)'}
          onInput={(e) => {
            const n = (e.target as HTMLInputElement).valueAsNumber;
            onChange(Number.isNaN(n) ? undefined : n);
          }}
        />
      );
    case 'boolean':
      return (
        <input
          id={id}
          data-field={path}
          type="checkbox"
          checked={value === true}
          onChange={(e) => onChange((e.target as HTMLInputElement).checked)}
        />
      );
    case 'enum': {
      const index = f.options.findIndex((o) => JSON.stringify(o) === JSON.stringify(value));
      return (
        <select
          id={id}
          data-field={path}
          value={String(index)}
          onChange={(e) => {
            const i = Number((e.target as HTMLSelectElement).value);
            onChange(i < 0 ? undefined : f.options[i]);
          }}
        >
          {(!required || index < 0) && <option value="-1">{required ? '(choose)' : '(not set)'}</option>}
          {f.options.map((o, i) => (
            <option key={i} value={String(i)}>
              {optionLabel(o)}
            </option>
          ))}
        </select>
      );
    }
    case 'array': {
      const items = Array.isArray(value) ? value : [];
      return (
        <div class="array" data-field={path}>
          {items.map((item, i) => (
            <div class="array-item" key={i}>
              <Input
                spec={f.item}
                required
                value={item}
                path={`${path}[${i}]`}
                report={report}
                onChange={(v) => onChange(items.map((x, j) => (j === i ? v : x)))}
              />
              <button type="button" class="small" title="Remove" onClick={() => onChange(items.filter((_, j) => j !== i))}>
                ×
              </button>
            </div>
          ))}
          <button type="button" class="small" onClick={() => onChange([...items, initialValue(f.item, true)])}>
            + add
          </button>
        </div>
      );
    }
    case 'object':
      if (value === undefined && !required) {
        return (
          <button
            type="button"
            class="small"
            data-field={path}
            onClick={() => onChange(initialValue({ ...spec, default: undefined }, true))}
          >
            + set
          </button>
        );
      }
      return (
        <fieldset class="nested">
          <Fields props={f.props} value={value} onChange={onChange} path={path} report={report} />
          {!required && (
            <button type="button" class="small" onClick={() => onChange(undefined)}>
              unset
            </button>
          )}
        </fieldset>
      );
    case 'json':
      return <JsonInput id={id} path={path} value={value} onChange={onChange} report={report} />;
  }
}

/** The fallback for what the form cannot draw: a JSON value in a textarea, checked as you type. */
function JsonInput({
  id,
  path,
  value,
  onChange,
  report,
}: {
  id: string;
  path: string;
  value: unknown;
  onChange: (v: unknown) => void;
  report: Report;
}) {
  const [text, setText] = useState(() => (value === undefined ? '' : JSON.stringify(value)));
  const [error, setError] = useState<string>();
  return (
    <div>
      <textarea
        id={id}
        data-field={path}
        class="mono"
        rows={2}
        placeholder="JSON"
        value={text}
        spellcheck={false}
        onInput={(e) => {
          const next = (e.target as HTMLTextAreaElement).value;
          setText(next);
          if (next.trim() === '') {
            setError(undefined);
            report(path, false);
            return onChange(undefined);
          }
          try {
            onChange(JSON.parse(next));
            setError(undefined);
            report(path, false);
          } catch (err) {
            setError((err as Error).message);
            report(path, true);
          }
        }}
      />
      {error && <div class="error small">{error}</div>}
    </div>
  );
}
