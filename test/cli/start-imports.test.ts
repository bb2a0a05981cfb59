/**
 * What `hub serve` loads before it answers: the MCP SDK (with zod, ~120 modules and
 * ~0.3 s of CPU, a third of a start) is left until the first MCP request.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { eventually } from '../support/helpers.js';
import { startHub } from '../support/hub-process.js';
import { REPO_ROOT } from '../support/repo.js';

const SDK = /^import: .*node_modules\/(@modelcontextprotocol\/sdk|zod)\//;

describe('hub serve start-up imports', () => {
  it('leaves the MCP SDK unloaded until the first /mcp request, then serves it', async () => {
    const hub = await startHub({
      env: { NODE_OPTIONS: `--import ${join(REPO_ROOT, 'test', 'fixtures', 'log-imports.mjs')}` },
    });
    try {
      const imports = () => hub.lines.filter((l) => l.startsWith('import: '));
      assert.ok(
        imports().some((l) => l.includes('/dist/cli/commands/serve.js')),
        'the import log works',
      );
      assert.deepEqual(
        imports().filter((l) => SDK.test(l)),
        [],
        'no MCP SDK or zod module before the first MCP request',
      );
      const res = await fetch(`http://127.0.0.1:${hub.port}/mcp`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
        body: JSON.stringify({
          jsonrpc: '2.0',
          id: 1,
          method: 'initialize',
          params: { protocolVersion: '2025-03-26', capabilities: {}, clientInfo: { name: 't', version: '1' } },
        }),
      });
      assert.equal(res.status, 200);
      assert.match(await res.text(), /"serverInfo"/);
      await eventually(() => imports().some((l) => SDK.test(l)));
    } finally {
      await hub.stop();
    }
  });
});
