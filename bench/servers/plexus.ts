// plexus-hub serving the built-ins plus the bench activation, as `hub serve` does.
// With BENCH_AUTH_DIR set, auth is on: tokens from that data dir, every call checked and audited.
import { DynamicHub, serveWebSocket } from '../../src/index.js';
import { HubAuth } from '../../src/auth/hub-auth.js';
import { builtinActivations } from '../../activations/index.js';
import { Bench } from '../bench-activation.js';

const dataDir = process.env.BENCH_AUTH_DIR;
const auth = dataDir ? new HubAuth({ hub: 'plexus', dataDir }) : undefined;
const hub = new DynamicHub('plexus', auth ? { policy: auth } : {}).register(...builtinActivations(), new Bench());
await hub.ready();
const server = await serveWebSocket(hub, { port: Number(process.argv[2] ?? 0), maxStreams: 4096 });
console.log(`READY ${server.port}`);
// A normal exit on SIGINT, so `--cpu-prof` writes its profile.
process.on('SIGINT', () => process.exit(0));
