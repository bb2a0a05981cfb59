/**
 * `plexus-hub/http`: plain HTTP handlers a server composes beside its WebSocket and
 * `/mcp` (as `hub serve` does): the schema explorer page and static files.
 */
export { explorerDir, explorerHandler } from './explorer.js';
export { staticFiles, type HttpHandler, type StaticFilesOptions } from './static-files.js';
