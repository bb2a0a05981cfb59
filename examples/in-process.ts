// Run it:   npx tsx examples/in-process.ts
// A hub used in-process: no server, the same streams and errors as on the wire.
import { DynamicHub } from 'plexus-hub';
import { builtinActivations } from '../activations/index.js';
import { Greeter } from './greeter.js';

const hub = new DynamicHub('plexus').register(...builtinActivations(), new Greeter());
await hub.ready();

for await (const item of hub.call('greeter.greet', { name: 'Ada', times: 3 })) {
  console.log(item.type, item.type === 'data' ? item.content : item.type === 'progress' ? item.message : '');
}
for await (const item of hub.call('solar.earth.luna.info')) if (item.type === 'data') console.log(item.content);
console.log('root hash', hub.hash());
