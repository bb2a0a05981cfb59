import { PlexusError, errorItemCode, turnCodeValue } from './errors.js';
import { TERMINAL_SUFFIX, type StreamItem, type TurnTerminal } from './items.js';

/**
 * What an item of a call means to its caller, in either wire form (docs/protocol.md
 * "Wire forms"): `{ value }` for a value to hand over (a data item, a `.update`, a
 * unary turn's terminal value), undefined for an item that carries none (progress,
 * done, a streaming turn's terminal), or a thrown PlexusError for an `error` item
 * or a turn that did not complete — with its code (as the older form's) and `details`.
 * `unary`: the call returns one value, so a complete terminal's `null` is that value.
 */
export function itemOutcome(item: StreamItem, unary = false): { readonly value: unknown } | undefined {
  if (item.type === 'error') throw new PlexusError(errorItemCode(item.code), item.message, item.recoverable, item.details);
  if (item.type !== 'data') return undefined;
  const terminal = turnTerminal(item.content_type, item.content);
  if (!terminal) return { value: item.content };
  const { stop, value } = terminal;
  if (stop.kind === 'complete') return value === null && !unary ? undefined : { value };
  if (stop.kind === 'failed') {
    const { code, message, retryable, details } = stop.error;
    throw new PlexusError(turnCodeValue(code), message, retryable === true, details);
  }
  // cancelled, refused, limited: the call did not produce its result.
  const code = stop.detail?.code ?? `plexus.${stop.kind}`;
  throw new PlexusError(code, stop.detail?.message ?? `Call ${stop.kind}`, false, stop.detail?.data);
}

/** A data item's content when it is a turn's terminal (`<path>.terminal`, `{"stop": {"kind": …}, "value": …}`). */
export function turnTerminal(contentType: string, content: unknown): TurnTerminal | undefined {
  if (!contentType.endsWith(TERMINAL_SUFFIX) || typeof content !== 'object' || content === null || !('value' in content)) return undefined;
  const stop = (content as { stop?: unknown }).stop;
  if (typeof stop !== 'object' || stop === null || typeof (stop as { kind?: unknown }).kind !== 'string') return undefined;
  return content as TurnTerminal;
}
