import { activation, method, type CallContext } from '../src/index.js';

/** One echoed message. */
export interface EchoEvent {
  /** The message, unchanged. */
  message: string;
  /** 1-based position of this item in the stream. */
  seq: number;
}

/**
 * Echo messages back.
 *
 * The smallest useful activation: one streaming method and one unary method.
 */
@activation('echo', { version: '1.0.0' })
export class Echo {
  /**
   * Echo a message back `count` times, one item each.
   * @param message - the text to echo
   * @param count - how many items to send
   */
  @method()
  async *echo(message: string, count = 1, ctx?: CallContext): AsyncGenerator<EchoEvent> {
    for (let seq = 1; seq <= count; seq++) {
      if (ctx?.signal.aborted) return;
      yield { message, seq };
    }
  }

  /**
   * Echo a message back once.
   * @param message - the text to echo
   */
  @method()
  once(message: string): EchoEvent {
    return { message, seq: 1 };
  }
}
