// A bidirectional method: it asks the caller to confirm before a destructive step.
//   npx hub serve examples/trash.ts
//   npx hub call trash.empty          # prompts on the terminal: answer y or n
import { activation, method, type CallContext } from 'plexus-hub';

/** What `trash.empty` reports. */
export type TrashEvent =
  | { event: 'deleted'; name: string }
  | { event: 'kept'; count: number; reason: string }
  | { event: 'nothing_to_delete' };

/** A trash can that asks before it empties itself. */
@activation('trash', { version: '1.0.0' })
export class Trash {
  readonly #items = ['draft.txt', 'old-notes.md', 'screenshot.png'];

  /** What is in the trash. */
  @method()
  list(): string[] {
    return [...this.#items];
  }

  /**
   * Put something in the trash.
   * @param name - what to throw away
   */
  @method()
  put(name: string): string[] {
    this.#items.push(name);
    return [...this.#items];
  }

  /** Delete everything in the trash, after the caller confirms. */
  @method({ bidirectional: true })
  async *empty(ctx: CallContext): AsyncGenerator<TrashEvent> {
    const count = this.#items.length;
    if (count === 0) {
      yield { event: 'nothing_to_delete' };
      return;
    }
    let confirmed: boolean;
    try {
      confirmed = await ctx.request<boolean>({
        prompt: `Permanently delete ${count} item${count === 1 ? '' : 's'} (${this.#items.join(', ')})?`,
        schema: { type: 'boolean', description: 'true deletes them' },
      });
    } catch (err) {
      // Declined, timed out, or the caller cannot answer: keep everything.
      if (ctx.signal.aborted) throw err;
      yield { event: 'kept', count, reason: (err as Error).message };
      return;
    }
    if (!confirmed) {
      yield { event: 'kept', count, reason: 'not confirmed' };
      return;
    }
    while (this.#items.length > 0) yield { event: 'deleted', name: this.#items.shift()! };
  }
}
