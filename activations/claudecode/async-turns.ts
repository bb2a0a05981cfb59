import { randomUUID } from 'node:crypto';
import type { BufferedEvent, ChatEvent, StreamInfo } from './types.js';

interface Buffer {
  info: StreamInfo;
  events: BufferedEvent[];
  abort: AbortController;
  evict?: NodeJS.Timeout;
}

const now = () => Math.floor(Date.now() / 1000);

/**
 * Turns started by `chat_async`, each buffering its events in memory for `poll`.
 * A finished buffer is dropped `keepMs` after it ends (the reference kept them
 * forever); all are lost on restart.
 */
export class AsyncTurns {
  readonly #buffers = new Map<string, Buffer>();
  constructor(private readonly keepMs: number) {}

  /** Starts consuming `turn` in the background; returns the new stream's id. */
  start(sessionId: string, turn: (signal: AbortSignal) => AsyncIterable<ChatEvent>): string {
    const id = randomUUID();
    const abort = new AbortController();
    const buffer: Buffer = {
      info: {
        stream_id: id,
        session_id: sessionId,
        status: 'running',
        user_position: null,
        event_count: 0,
        read_position: 0,
        started_at: now(),
        ended_at: null,
        error: null,
      },
      events: [],
      abort,
    };
    this.#buffers.set(id, buffer);
    void this.#run(buffer, turn(abort.signal));
    return id;
  }

  async #run(b: Buffer, events: AsyncIterable<ChatEvent>): Promise<void> {
    let completed = false;
    try {
      for await (const event of events) {
        b.events.push({ seq: b.events.length, event, timestamp: now() });
        b.info.event_count = b.events.length;
        if (event.type === 'start') b.info.user_position = event.user_position;
        else if (event.type === 'error') b.info.error = event.message;
        else if (event.type === 'complete') completed = true;
        else if (event.type === 'tool_use' && event.tool_name === 'mcp__plexus__loopback_permit') b.info.status = 'awaiting_permission';
        else if (event.type === 'tool_result' && b.info.status === 'awaiting_permission') b.info.status = 'running';
      }
    } catch (err) {
      b.info.error = (err as Error).message;
    }
    b.info.status = completed ? 'complete' : 'failed';
    b.info.ended_at = now();
    b.evict = setTimeout(() => this.#buffers.delete(b.info.stream_id), this.keepMs);
    b.evict.unref();
  }

  get(streamId: string): Buffer | undefined {
    return this.#buffers.get(streamId);
  }

  list(sessionId?: string): StreamInfo[] {
    return [...this.#buffers.values()].map((b) => b.info).filter((i) => sessionId === undefined || i.session_id === sessionId);
  }

  /** Cancels every running turn (their process groups are killed). */
  close(): void {
    for (const b of this.#buffers.values()) {
      b.abort.abort();
      clearTimeout(b.evict);
    }
  }
}
