/**
 * The table of transports: each module is the only reader of its `route`. Adding one
 * is an import and a line here.
 */
import type { TransportKind } from '../manifest.js';
import type { ExtensionTransport } from '../types.js';
import { cliTransport } from './cli.js';
import { localRestTransport } from './local-rest.js';
import * as skill from './skill.js';
import * as workflow from './workflow.js';

export const transports: Record<TransportKind, ExtensionTransport> = {
  cli: cliTransport,
  'local-rest': localRestTransport,
  skill,
  workflow,
};
