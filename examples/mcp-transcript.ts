// Run it:   npx tsx examples/mcp-transcript.ts
// Spawns `hub mcp` like Claude Desktop would, and prints the MCP messages of
// listing tools and calling echo.echo with a progress token.
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const transport = new StdioClientTransport({ command: process.execPath, args: [`${root}bin/hub.js`, 'mcp'], cwd: root, stderr: 'ignore' });
const client = new Client({ name: 'transcript', version: '1.0.0' });
await client.connect(transport);

const show = (dir: string, m: unknown) => {
  const text = JSON.stringify(m, (k, v) => (k === 'tools' ? (v as { name: string }[]).filter((t) => t.name === 'echo.echo') : v));
  console.log(`${dir} ${text}`);
};
const send = transport.send.bind(transport);
transport.send = async (m) => (show('→', m), send(m));
const receive = transport.onmessage!;
transport.onmessage = (m) => (show('←', m), receive(m));

await client.listTools();
await client.callTool({ name: 'echo.echo', arguments: { message: 'hello', count: 2 } }, undefined, { onprogress: () => {} });
await client.close();
