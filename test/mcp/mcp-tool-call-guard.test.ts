// The MCP bridge wired by a host over its own transport (`plexus-hub/mcp`): the
// ToolCallGuard between the transport and the server applies the WebSocket's
// rules to tools/call arguments before the SDK parses them, and forwards the rest.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { DynamicHub } from '../../src/index.js';
import { createMcpServer, ToolCallGuard, ToolCatalog } from '../../src/mcp/index.js';
import { builtinActivations } from '../../activations/index.js';

describe('ToolCallGuard over a host-wired transport', () => {
  it('answers bad arguments itself, passes good calls to the server, and reports the close', async () => {
    const hub = new DynamicHub().register(...builtinActivations());
    const catalog = new ToolCatalog(hub);
    const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
    const guard = new ToolCallGuard(serverSide, catalog);
    let closed = false;
    guard.onclose = () => {
      closed = true;
    };
    const server = createMcpServer(catalog);
    await server.connect(guard);

    // Raw answers the client's own protocol layer does not know (ids it did not send).
    const raw = new Map<unknown, JSONRPCMessage>();
    clientSide.onmessage = (m) => {
      if ('id' in m && typeof m.id === 'number' && m.id >= 100) raw.set(m.id, m);
    };
    const client = new Client({ name: 'host', version: '1' });
    client.onerror = () => {}; // the raw answers above are unknown to it
    await client.connect(clientSide);

    const answer = async (id: number, args: unknown): Promise<Record<string, any>> => {
      await clientSide.send({ jsonrpc: '2.0', id, method: 'tools/call', params: { name: 'echo.once', arguments: args } } as JSONRPCMessage);
      for (let i = 0; i < 100 && !raw.has(id); i++) await new Promise((r) => setTimeout(r, 5));
      return raw.get(id) as Record<string, any>;
    };

    assert.deepEqual((await answer(100, 'hi')).error, {
      code: -32602,
      message: 'Invalid params: tools/call "arguments" must be an object of named params, not a string',
    });
    const proto = await answer(101, JSON.parse('{"message":"x","__proto__":{"polluted":true}}'));
    assert.equal(proto.result.isError, true);
    assert.match(proto.result.content[0].text, /^Invalid params: .*unknown param '__proto__'/);

    const fine = await client.callTool({ name: 'echo.once', arguments: { message: 'ok' } });
    assert.equal((fine.structuredContent as { result: { message: string } }).result.message, 'ok');

    await client.close();
    assert.equal(closed, true);
  });
});
