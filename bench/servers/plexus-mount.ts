// plexus-hub mounting another hub (argv[3], a ws:// URL) as the child `b`: the
// "through one mount" side of the federation benchmark (client → A → B).
import { DynamicHub, mountRemote, serveWebSocket } from '../../src/index.js';

const hub = new DynamicHub();
mountRemote(hub, 'b', process.argv[3]!, { watchMs: 0 });
await hub.ready();
const server = await serveWebSocket(hub, { port: Number(process.argv[2] ?? 0), maxStreams: 4096 });
console.log(`READY ${server.port}`);
// A normal exit on SIGINT, so `--cpu-prof` writes its profile.
process.on('SIGINT', () => process.exit(0));
