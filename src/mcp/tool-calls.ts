/**
 * The running MCP tool calls of a process: capped per session and in total, each
 * charged to the server's stream budget (shared with WebSocket streams), and
 * stopped at shutdown after the same grace as WebSocket calls.
 *
 * Each running call may collect up to the result caps (1,000 items, 1 MiB of
 * JSON): without a cap on calls, one batch POST of 100 calls held 100 results
 * at once, and ten such POSTs +1.8 GB.
 */
import { StreamBudget } from '../transport/stream-budget.js';
import { DEFAULT_MCP_MAX_CALLS, DEFAULT_MCP_MAX_CALLS_PER_SESSION } from './limits.js';

export interface ToolCallLimits {
  /** Tool calls running at once across every session (default 64). */
  readonly maxCalls?: number;
  /** Tool calls running at once in one session (default 16). */
  readonly maxCallsPerSession?: number;
  /** The server's open-stream budget: each running call takes one stream of it. */
  readonly streamBudget?: StreamBudget;
}

/** A call that may run: `signal` aborts when the server shuts down; `release` ends it. */
export interface ToolCallSlot {
  readonly signal: AbortSignal;
  release(): void;
}

/** Why a call may not run now: the MCP error to answer with. */
export interface ToolCallRefusal {
  readonly code: number;
  readonly message: string;
}

/** -32005, as the WebSocket's `Too many streams`: a limit of concurrent work, try again later. */
export const TOO_MANY_CALLS = -32005;
/** -32000, as the WebSocket's refusal of a new stream while the server shuts down. */
const SHUTTING_DOWN = -32000;

export class ToolCallBudget {
  readonly maxCalls: number;
  readonly maxCallsPerSession: number;
  readonly #streams: StreamBudget;
  readonly #running = new Set<AbortController>();
  #closing = false;
  #idle?: () => void;

  constructor(limits: ToolCallLimits = {}) {
    this.maxCalls = limits.maxCalls ?? DEFAULT_MCP_MAX_CALLS;
    this.maxCallsPerSession = limits.maxCallsPerSession ?? DEFAULT_MCP_MAX_CALLS_PER_SESSION;
    this.#streams = limits.streamBudget ?? new StreamBudget();
  }

  get running(): number {
    return this.#running.size;
  }

  /** The counter of one session (one MCP server). */
  session(): SessionToolCalls {
    return new SessionToolCalls(this);
  }

  /** Takes a slot for a call of a session that has `sessionRunning` calls running. */
  take(sessionRunning: number): ToolCallSlot | ToolCallRefusal {
    if (this.#closing) return { code: SHUTTING_DOWN, message: 'Server shutting down: no new tool calls' };
    if (sessionRunning >= this.maxCallsPerSession) {
      return {
        code: TOO_MANY_CALLS,
        message: `Too many tool calls: this session already has ${this.maxCallsPerSession} running (the limit); wait for one to finish`,
      };
    }
    if (this.#running.size >= this.maxCalls) {
      return {
        code: TOO_MANY_CALLS,
        message: `Too many tool calls: the server already has ${this.maxCalls} running across all sessions (the limit); retry later`,
      };
    }
    if (!this.#streams.take()) {
      return {
        code: TOO_MANY_CALLS,
        message: `Too many streams: the server already has ${this.#streams.max} open across all connections (the limit); retry later`,
      };
    }
    const controller = new AbortController();
    this.#running.add(controller);
    let released = false;
    return {
      signal: controller.signal,
      release: () => {
        if (released) return;
        released = true;
        this.#running.delete(controller);
        this.#streams.release();
        if (this.#running.size === 0) this.#idle?.();
      },
    };
  }

  /**
   * Refuses new calls, lets running ones finish within `graceMs`, then aborts the
   * rest (each then answers a result with an error); resolves once none runs.
   */
  async shutdown(graceMs: number): Promise<void> {
    this.#closing = true;
    const idle = new Promise<void>((resolve) => {
      this.#idle = resolve;
      if (this.#running.size === 0) resolve();
    });
    let timer: NodeJS.Timeout | undefined;
    const graceOver = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, graceMs);
    });
    await Promise.race([idle, graceOver]);
    clearTimeout(timer);
    for (const controller of this.#running) controller.abort();
    await idle;
  }
}

/** The calls of one session: its count, checked against both caps on each take. */
export class SessionToolCalls {
  #running = 0;
  constructor(private readonly budget: ToolCallBudget) {}

  get running(): number {
    return this.#running;
  }

  take(): ToolCallSlot | ToolCallRefusal {
    const slot = this.budget.take(this.#running);
    if (!('release' in slot)) return slot;
    this.#running++;
    let released = false;
    return {
      signal: slot.signal,
      release: () => {
        if (released) return;
        released = true;
        this.#running--;
        slot.release();
      },
    };
  }
}
