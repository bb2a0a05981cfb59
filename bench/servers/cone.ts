// plexus-hub serving arbor + cone (SQLite file in a temp dir), for the time-to-first-token
// benchmark. The LLM services come from the env (the bench points them at the fake provider).
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamicHub } from '../../src/index.js';
import { serveWebSocket } from '../../src/transport/websocket-server.js';
import { Arbor } from '../../activations/arbor/index.js';
import { Cone } from '../../activations/cone/index.js';

const dir = mkdtempSync(join(tmpdir(), 'plexus-bench-cone-'));
const arbor = new Arbor({ database: join(dir, 'hub.db'), sweepIntervalMs: 0 });
const hub = new DynamicHub().register(arbor, new Cone({ arbor }));
await hub.ready();
const server = await serveWebSocket(hub, { port: Number(process.argv[2] ?? 0) });
console.log(`READY ${server.port}`);
