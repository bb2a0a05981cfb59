#!/usr/bin/env node
// The `hub` command runs the built framework (dist/): the same copy a user's module
// gets from `import … from 'plexus-hub'`, so every class (PlexusError, DynamicHub)
// exists once per process. tsx is registered only when a TypeScript module of the
// user's is loaded (cli/load-modules.ts). In a clone, `npm run build` refreshes dist/.
try {
  await import('../dist/cli/main.js');
} catch (err) {
  if (err?.code === 'ERR_MODULE_NOT_FOUND' && String(err.message).includes('/dist/cli/main.js')) {
    process.stderr.write('hub: dist/ is missing: run `npm run build` in the plexus-hub package\n');
    process.exit(1);
  }
  throw err;
}
