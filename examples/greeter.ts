// Serve it:   npx hub serve examples/greeter.ts
// Call it:    npx hub call greeter.greet --name Ada --times 2
import { activation, method, progress, type CallContext, type ProgressMark } from 'plexus-hub';

/** A greeting. */
export interface Greeting {
  text: string;
  /** 1-based. */
  n: number;
}

/** Greets people. */
@activation('greeter', { version: '1.0.0' })
export class Greeter {
  /**
   * Greet someone, `times` times, one item each.
   * @param name - who to greet
   * @param style - how formally
   */
  @method()
  async *greet(name: string, times = 1, style: 'casual' | 'formal' = 'casual', ctx?: CallContext): AsyncGenerator<Greeting | ProgressMark> {
    for (let n = 1; n <= times && !ctx?.signal.aborted; n++) {
      if (n === Math.ceil(times / 2) && times > 2) yield progress('halfway there', 50);
      yield { text: style === 'formal' ? `Good day, ${name}.` : `Hi ${name}!`, n };
    }
  }
}
