// The storage activations as classes, in process: `npx tsx examples/storage.ts`.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamicHub } from '../src/index.js';
import { Arbor } from '../activations/arbor/index.js';
import { Changelog } from '../activations/changelog/index.js';
import { Mustache } from '../activations/mustache/index.js';
import { openDataDir, pluginId } from '../activations/storage/index.js';

const db = openDataDir(mkdtempSync(join(tmpdir(), 'plexus-example-'))); // one WAL-mode hub.db for all three
const arbor = new Arbor({ database: db });
const changelog = new Changelog({ database: db });
const hub = new DynamicHub().register(arbor, changelog, new Mustache({ database: db }));
await changelog.attach(hub); // the start-up check, then every root-hash change is recorded

// Other activations keep conversations in arbor without RPC (what cone and claudecode do):
const tree = arbor.storage.treeCreate({ title: 'chat' }, 'cone-1');
const root = arbor.storage.treeGet(tree).root;
const [, reply] = arbor.storage.transaction(() => {
  // several writes, one transaction
  const user = arbor.storage.nodeCreateExternal(tree, root, {
    plugin_id: pluginId('cone', '1.0.0'),
    version: '1.0.0',
    method: 'chat',
    meta: ['msg-1', 'user', 'user'],
  });
  return [user, arbor.storage.nodeCreateText(tree, user, 'hi!')];
});
console.log(arbor.storage.contextGetPath(tree, reply).map((n) => n.data.type)); // root → reply, full nodes

// tree_render shows external nodes through their owner's resolver:
arbor.registerHandleResolver(pluginId('cone', '1.0.0'), (handle) => ({ role: handle.meta?.[1], content: 'hello' }));
for await (const item of hub.call('arbor.tree_render', { tree_id: tree }))
  if (item.type === 'data') console.log((item.content as { render: string }).render);

arbor.close();
changelog.close();
db.close();
