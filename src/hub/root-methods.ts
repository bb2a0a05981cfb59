import { activation, method } from '../activation/decorators.js';
import type { CallContext } from '../activation/types.js';
import type { HashesReport } from './tree-hashes.js';

/** The `hash` method's item. */
export interface HashEvent {
  event: 'hash';
  /** The root hash: 16 lowercase hex digits. */
  value: string;
}

/** What the root methods need from their hub; kept narrow so this module does not import it. */
export interface RootHubView {
  call(path: string, params: Record<string, unknown>, signal: AbortSignal, principal?: unknown): AsyncIterable<unknown>;
  rootHash(): string;
  /** The hashes report as `principal` may see it (children it may not see left out). */
  hashesReport(principal: unknown): HashesReport;
}

/**
 * The methods every root hub has besides `schema`. Declared as an ordinary
 * decorated class, so their schemas come from these signatures like any other.
 */
// Its module named outright: compiled into a bundle chunk, the stack would not tell it.
@activation(undefined, { version: '1.0.0', source: import.meta.url })
export class RootMethods {
  constructor(
    readonly namespace: string,
    readonly description: string,
    readonly version: string,
    private readonly hub: RootHubView,
  ) {}

  /**
   * Call any method by its dot path; yields that method's data items.
   * @param method - dot path of the method, e.g. `echo.echo`
   * @param params - the method's params
   */
  @method({ streaming: true })
  call(method: string, params: { [param: string]: unknown } = {}, ctx?: CallContext): AsyncIterable<unknown> {
    return this.hub.call(method, params, ctx!.signal, ctx!.principal);
  }

  /** The root hash: changes whenever any method anywhere in the tree changes. */
  @method()
  hash(): HashEvent {
    return { event: 'hash', value: this.hub.rootHash() };
  }

  /** The root's hashes and each child's hash, for cheap drift checks. */
  @method()
  hashes(ctx?: CallContext): HashesReport {
    return this.hub.hashesReport(ctx?.principal);
  }
}
