// plexus-hub serving the built-ins plus the bench activation, as `hub serve` does.
import { DynamicHub, serveWebSocket } from '../../src/index.js';
import { builtinActivations } from '../../activations/index.js';
import { Bench } from '../bench-activation.js';

const hub = new DynamicHub().register(...builtinActivations(), new Bench());
await hub.ready();
const server = await serveWebSocket(hub, { port: Number(process.argv[2] ?? 0), maxStreams: 4096 });
console.log(`READY ${server.port}`);
