/**
 * The layer rules of ARCHITECTURE.md, checked by `npm run lint:deps`.
 * Layers, bottom to top: wire → activation model (activation, schema, stream, hash)
 * → hub → transports, bridges and servers (transport, mcp, http) → cli.
 */
const MODEL = '^src/(activation|schema|stream|hash)/';
const ABOVE_HUB = '^src/(transport|mcp|http|cli|client|federation)/';

module.exports = {
  forbidden: [
    {
      name: 'wire-imports-nothing',
      comment: 'src/wire/ is copied verbatim into generated clients: it may import only itself.',
      severity: 'error',
      from: { path: '^src/wire/' },
      to: { path: '^(src|activations|codegen)/', pathNot: '^src/wire/' },
    },
    {
      name: 'client-imports-only-wire',
      comment: 'The client runs in browsers and is copied into generated clients.',
      severity: 'error',
      from: { path: '^src/client/' },
      to: { path: '^(src|activations|codegen)/', pathNot: '^src/(wire|client)/' },
    },
    {
      name: 'model-does-not-import-up',
      comment: 'The activation model knows nothing of the hub, transports, bridges or the CLI.',
      severity: 'error',
      from: { path: MODEL },
      to: { path: '^src/(hub|transport|mcp|http|cli|client|auth|federation)/' },
    },
    {
      name: 'hub-does-not-import-transports',
      comment: 'Transports and bridges depend on the hub, never the reverse.',
      severity: 'error',
      from: { path: '^src/hub/' },
      to: { path: ABOVE_HUB },
    },
    {
      name: 'federation-uses-transport-seams',
      comment:
        'A mount or a join reads and serves a socket through the public seams of src/transport/ only: the protocol ' +
        '(rpc-session.ts), the sink contract and limits (types.ts) and what every served WebSocket shares (websocket-link.ts, ' +
        'liveness.ts). The servers (websocket-server, stdio-server) and the HTTP guard are their internals.',
      severity: 'error',
      from: { path: '^src/federation/' },
      to: { path: '^src/transport/', pathNot: '^src/transport/(types|rpc-session|websocket-link|liveness)\\.ts$' },
    },
    {
      name: 'only-cli-imports-cli',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/cli/' },
      to: { path: '^src/cli/' },
    },
    {
      name: 'activations-and-codegen-use-the-public-entry',
      comment: 'Built-in activations and generators import plexus-hub as a user would.',
      severity: 'error',
      from: { path: '^(activations|codegen)/' },
      to: { path: '^src/', pathNot: '^src/(index|wire/index|mcp/index)\\.ts$' },
    },
    {
      name: 'framework-does-not-import-activations',
      comment: 'Only the CLI picks built-in activations and generators.',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/cli/' },
      to: { path: '^(activations|codegen)/' },
    },
    {
      name: 'no-circular',
      severity: 'error',
      from: { path: '^(src|activations|codegen)/' },
      // A type-only import closing a loop is harmless (erased at compile time).
      to: { circular: true, viaOnly: { dependencyTypesNot: ['type-only'] } },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(node_modules|dist)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.js', '.json'] },
  },
};
