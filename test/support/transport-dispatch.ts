import assert from 'node:assert/strict';
import type { ExtensionTransport } from '../../activations/extension/types.js';
import { PlexusError } from '../../src/index.js';

type Dispatch = ExtensionTransport['dispatch'];

/** Runs a transport's `dispatch` to its end: the items it yielded, and the PlexusError it ended with (anything else fails the test). */
export async function dispatched(
  dispatch: Dispatch,
  route: unknown,
  params: Record<string, unknown>,
  opts: Parameters<Dispatch>[2],
): Promise<{ items: unknown[]; error: PlexusError | undefined }> {
  const items: unknown[] = [];
  try {
    for await (const item of dispatch(route, params, opts)) items.push(item);
  } catch (err) {
    assert.ok(err instanceof PlexusError, `not a PlexusError: ${err}`);
    return { items, error: err };
  }
  return { items, error: undefined };
}
