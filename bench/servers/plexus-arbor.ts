// plexus-hub serving arbor on a SQLite file (argv[3]), as `hub serve --with arbor` does.
import { DynamicHub, serveWebSocket } from '../../src/index.js';
import { Arbor } from '../../activations/arbor/index.js';

const arbor = new Arbor({ database: process.argv[3]!, sweepIntervalMs: 0 });
const hub = new DynamicHub().register(arbor);
await hub.ready();
const server = await serveWebSocket(hub, { port: Number(process.argv[2] ?? 0), maxStreams: 4096 });
console.log(`READY ${server.port}`);
