// Methods that ask their caller questions (ctx.request), for the explorer's browser tests.
import { defineActivation, type Activation, type JsonSchema } from '../../src/index.js';

/** A description that tries to inject markup and script: the page must show it as text. */
export const HOSTILE_DESCRIPTION = [
  'Renders **markdown**: `inline code`, [the docs](https://example.com/docs?a=1&b=2), _emphasis_ and <https://example.org/auto>.',
  '<img src=x onerror="window.__xss=1"> <script>window.__xss=2</script> [click](javascript:window.__xss=3) [data](data:text/html,<b>x</b>)',
].join('\n\n');

/** Asks once with `schema`, then yields what it heard (or how the question failed, as the stream's error). */
function asking(prompt: string, schema: JsonSchema | undefined, description: string) {
  return {
    description,
    bidirectional: true,
    streaming: true,
    params: { type: 'object', properties: { timeout_ms: { type: 'integer', description: 'how long to wait for the answer' } } },
    async *handler(params: Readonly<Record<string, unknown>>, ctx: Parameters<Activation['invoke']>[2]) {
      yield { step: 'before' };
      const timeoutMs = typeof params.timeout_ms === 'number' ? params.timeout_ms : 30_000;
      const answer = await ctx.request({ prompt, ...(schema ? { schema } : {}), timeoutMs });
      yield { step: 'answered', answer };
    },
  };
}

export function asker(): Activation {
  return defineActivation({
    namespace: 'asker',
    version: '1.0.0',
    description: 'Asks questions mid-stream, like `trash.empty`',
    methods: {
      confirm: asking('Delete 3 files?', { type: 'boolean' }, 'Asks yes or no.'),
      pick: asking('Which colour?', { type: 'string', enum: ['red', 'green', 'blue'] }, 'Asks to choose one of three.'),
      name: asking('Your name?', { type: 'string', minLength: 1 }, 'Asks for text.'),
      anything: asking('Send any JSON', undefined, 'Asks for any JSON.'),
      twice: {
        description: 'Asks two questions in a row.',
        bidirectional: true,
        streaming: true,
        async *handler(_params, ctx) {
          const first = await ctx.request<boolean>({ prompt: 'First?', schema: { type: 'boolean' } });
          const second = await ctx.request<string>({ prompt: 'Second?', schema: { enum: ['a', 'b'] } });
          yield { first, second };
        },
      },
      notes: { description: HOSTILE_DESCRIPTION, handler: () => 'ok' },
    },
  });
}
