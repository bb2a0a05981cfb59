import { defineActivation } from '../../src/index.js';

/**
 * `shell.run {n}`: a method that needs `execute` (so a token's call waits for the
 * owner's approval) and records each `n` it ran in `ran`, answering `ran <n>`. For
 * tests of where an execute call is held and whether it ever ran.
 */
export function recordingShell(ran: number[]) {
  return defineActivation({
    namespace: 'shell',
    methods: {
      run: {
        verbs: ['execute'],
        params: { type: 'object', properties: { n: { type: 'number' } } },
        handler: ({ n }) => (ran.push(n as number), `ran ${n}`),
      },
    },
  });
}
