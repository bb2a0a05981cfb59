/**
 * The layer rules of ARCHITECTURE.md, checked by `npm run lint:deps`.
 * Layers of src/, bottom to top: wire → activation model (activation, schema, stream, hash)
 * → hub → transports, bridges and servers (transport, mcp, http). src/ is the library and
 * imports nothing beside it; cli/ (the `hub` app), activations/ and codegen/ use it through
 * its public entries, as a user would.
 */
const MODEL = '^src/(activation|schema|stream|hash)/';
const ABOVE_HUB = '^src/(transport|mcp|http|client|federation)/';
/** The modules package.json exports: `plexus-hub` and its documented subpaths. */
const PUBLIC_ENTRIES = '^src/(index|wire/index|mcp/index|activation/index|auth/index|http/index)\\.ts$';

module.exports = {
  forbidden: [
    {
      name: 'library-imports-only-itself',
      comment: 'src/ is the library: it imports no project folder beside it (not the CLI, activations or generators).',
      severity: 'error',
      from: { path: '^src/' },
      to: { dependencyTypes: ['local'], pathNot: '^src/' },
    },
    {
      name: 'wire-imports-nothing',
      comment: 'src/wire/ is copied verbatim into generated clients: it may import only itself.',
      severity: 'error',
      from: { path: '^src/wire/' },
      to: { path: '^src/', pathNot: '^src/wire/' },
    },
    {
      name: 'client-imports-only-wire',
      comment: 'The client runs in browsers and is copied into generated clients.',
      severity: 'error',
      from: { path: '^src/client/' },
      to: { path: '^src/', pathNot: '^src/(wire|client)/' },
    },
    {
      name: 'model-does-not-import-up',
      comment: 'The activation model knows nothing of the hub, transports or bridges.',
      severity: 'error',
      from: { path: MODEL },
      to: { path: '^src/(hub|transport|mcp|http|client|auth|federation)/' },
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
      name: 'hub-does-not-import-auth',
      comment: 'The hub defines its policy seam (src/hub/policy.ts); auth implements it, so auth depends on the hub, never the reverse.',
      severity: 'error',
      from: { path: '^src/hub/' },
      to: { path: '^src/auth/' },
    },
    {
      name: 'apps-use-the-public-entries',
      comment: 'The CLI, built-in activations and generators import plexus-hub as a user would.',
      severity: 'error',
      from: { path: '^(cli|activations|codegen)/' },
      to: { path: '^src/', pathNot: PUBLIC_ENTRIES },
    },
    {
      name: 'activations-and-codegen-do-not-import-the-cli',
      comment: 'The CLI picks built-in activations and generators, never the reverse.',
      severity: 'error',
      from: { path: '^(activations|codegen)/' },
      to: { path: '^cli/' },
    },
    {
      name: 'no-circular',
      severity: 'error',
      from: { path: '^(src|cli|activations|codegen)/' },
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
