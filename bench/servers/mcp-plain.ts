// The same echo.once tool registered directly on the SDK's McpServer, over stdio or
// streamable HTTP: the baseline for the MCP bridge.
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';

function server(): McpServer {
  const s = new McpServer({ name: 'plain', version: '1.0.0' });
  s.registerTool(
    'echo.once',
    {
      description: 'Echo a message back once.',
      inputSchema: { message: z.string() },
      outputSchema: { result: z.object({ message: z.string(), seq: z.number() }) },
    },
    async ({ message }) => {
      const result = { message, seq: 1 };
      return { content: [{ type: 'text', text: JSON.stringify(result) }], structuredContent: { result } };
    },
  );
  return s;
}

if (process.argv[2] === '--http') {
  const transports = new Map<string, StreamableHTTPServerTransport>();
  const http = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = chunks.length ? JSON.parse(Buffer.concat(chunks).toString()) : undefined;
    const sid = req.headers['mcp-session-id'] as string | undefined;
    let transport = sid ? transports.get(sid) : undefined;
    if (!transport && isInitializeRequest(body)) {
      const t: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
        sessionIdGenerator: randomUUID,
        onsessioninitialized: (id) => void transports.set(id, t),
      });
      await server().connect(t);
      transport = t;
    }
    if (!transport) return void res.writeHead(400).end();
    await transport.handleRequest(req, res, body);
  });
  http.listen(0, '127.0.0.1', () => console.log(`READY ${(http.address() as AddressInfo).port}`));
} else {
  await server().connect(new StdioServerTransport());
}
