import { defineActivation } from '../../src/index.js';

/**
 * `endless.ticks`: 1, 2, 3, ... one every `intervalMs`, never done, for tests of
 * caps and cancellation in process. `onStart` and `onFinally` say when a producer
 * started and when it was released.
 * (test/fixtures/endless.ts is its counterpart for a `hub` process.)
 */
export function endless({
  intervalMs = 5,
  onStart,
  onFinally,
}: {
  intervalMs?: number;
  onStart?: () => void;
  onFinally?: () => void;
} = {}) {
  return defineActivation({
    namespace: 'endless',
    methods: {
      ticks: {
        streaming: true,
        handler: async function* () {
          onStart?.();
          try {
            for (let n = 1; ; n++) {
              yield n;
              await new Promise((r) => setTimeout(r, intervalMs));
            }
          } finally {
            onFinally?.();
          }
        },
      },
    },
  });
}
