import { activation, method } from '../src/index.js';

/** Workloads for `npm run bench`. */
@activation('bench', { version: '1.0.0' })
export class Bench {
  /**
   * Yield `count` small items.
   * @param count - how many
   */
  @method()
  async *items(count: number): AsyncGenerator<{ i: number }> {
    for (let i = 0; i < count; i++) yield { i };
  }

  /**
   * Yield items of `size` characters until cancelled.
   * @param size - characters per item
   */
  @method()
  async *flood(size: number): AsyncGenerator<string> {
    const chunk = 'x'.repeat(size);
    for (;;) yield chunk;
  }
}
