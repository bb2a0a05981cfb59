#!/usr/bin/env node
// The `hub` command. tsx lets it load the framework's TypeScript sources and the
// user's own activation modules (.ts) without a build step.
import { register } from 'tsx/esm/api';

register();
await import('../src/cli/main.ts');
