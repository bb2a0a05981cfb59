import type { Server } from '@modelcontextprotocol/sdk/server/index.js';
import type { JsonSchema } from '../activation/types.js';
import type { DynamicHub } from '../hub/dynamic-hub.js';
import { CANCELLED_ANSWER } from '../hub/pending-requests.js';
import type { RequestToolItem } from './tool-catalog.js';

/** A schema MCP elicitation can ask for as one field. */
function isPrimitive(schema: JsonSchema): boolean {
  return ['string', 'number', 'integer', 'boolean'].includes(schema.type as string);
}

/** MCP elicitation takes a flat object of primitives; anything else is asked as `{ value: <schema> }`. */
function elicitationSchema(schema: JsonSchema | undefined): { requested: JsonSchema; wrapped: boolean } {
  const properties = schema?.properties as Record<string, JsonSchema> | undefined;
  if (schema?.type === 'object' && properties && Object.values(properties).every(isPrimitive)) return { requested: schema, wrapped: false };
  const value: JsonSchema = schema && isPrimitive(schema) ? schema : { type: 'string', description: 'the answer (JSON)' };
  return { requested: { type: 'object', properties: { value }, required: ['value'] }, wrapped: true };
}

/**
 * Answers a hub `request` item by MCP elicitation, when the client declared the
 * capability; otherwise the method's `ctx.request()` fails with a message saying so.
 */
export async function elicit(server: Server, hub: DynamicHub, item: RequestToolItem, signal: AbortSignal): Promise<void> {
  const { prompt, schema } = (item.requestData ?? {}) as { prompt?: string; schema?: JsonSchema };
  if (!server.getClientCapabilities()?.elicitation) {
    hub.rejectRequest(
      item.requestId,
      `Cannot ask "${prompt}": this MCP client does not support elicitation (it did not declare the capability)`,
    );
    return;
  }
  const { requested, wrapped } = elicitationSchema(schema);
  try {
    // The hub's own timer decides when the question expires; the SDK's only backs it up.
    const result = await server.elicitInput(
      { message: prompt ?? '', requestedSchema: requested as never },
      { signal, timeout: item.timeoutMs + 1000 },
    );
    if (result.action !== 'accept') return hub.respond(item.requestId, CANCELLED_ANSWER);
    let answer: unknown = wrapped ? result.content?.value : result.content;
    // A non-primitive answer was asked for as JSON text.
    if (wrapped && !(schema && isPrimitive(schema)) && typeof answer === 'string') {
      try {
        answer = JSON.parse(answer);
      } catch {
        /* not JSON: validated as the string it is */
      }
    }
    hub.respond(item.requestId, answer);
  } catch (err) {
    // Invalid answers already failed the request (the method says why); anything else fails it here.
    hub.rejectRequest(item.requestId, `Elicitation failed: ${(err as Error).message}`);
  }
}
