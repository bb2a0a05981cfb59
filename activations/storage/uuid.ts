import { randomUUID } from 'node:crypto';
import { PlexusError } from '../../src/index.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export const newId = (): string => randomUUID();

export const isUuid = (value: unknown): value is string => typeof value === 'string' && UUID.test(value);

/** A UUID param, lowercased (as the reference's Uuid type prints it); -32602 otherwise. */
export function uuidParam(name: string, value: string): string {
  if (!isUuid(value))
    throw PlexusError.invalidParams(`param '${name}' must be a UUID (8-4-4-4-12 hex digits), got ${JSON.stringify(value)}`);
  return value.toLowerCase();
}
