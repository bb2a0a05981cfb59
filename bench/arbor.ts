// arbor workloads for `npm run bench`:
// - node_create_text over WebSocket, 64 in flight, against the same inserts done
//   in-process with better-sqlite3 directly, paying the same JSON envelope work
//   (parse the request frame; serialise the subscribe answer, the data item and done);
// - context_get_path of a 1,000-deep path, in process and over WebSocket.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PlexusClient } from '../src/index.js';
import { ArborStorage } from '../activations/arbor/index.js';
import { openDatabase } from '../activations/storage/index.js';
import { WireClient } from './wire-client.js';

export interface ArborBenchResult {
  readonly node_create_text_ws_64: number;
  readonly node_create_text_direct: number;
  readonly ratio: number;
  readonly context_get_path_1000_in_process_ms: number;
  readonly context_get_path_1000_ws_ms: number;
}

type Start = (args: string[]) => Promise<{ port: number; stop(): Promise<void> }>;
type Throughput = (work: () => Promise<number>, concurrency: number) => Promise<number>;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/**
 * The baseline: the inserts node_create_text does (tree check, parent check, node
 * row, child link: one transaction) with raw better-sqlite3 statements, plus the
 * server-side JSON work of one call. Returns inserts per second.
 */
function directInserts(file: string, treeId: string, parent: string, ms: number): number {
  const db = openDatabase(file);
  const treeState = db.prepare('SELECT state FROM trees WHERE id = ?').pluck();
  const nodeTree = db.prepare('SELECT tree_id FROM nodes WHERE id = ?').pluck();
  const insertNode = db.prepare(`INSERT INTO nodes (id, tree_id, parent_id, ref_count, state, scheduled_deletion_at, node_type, content,
    handle_plugin_id, handle_version, handle_method, handle_meta, created_at, metadata) VALUES (?, ?, ?, 1, 'active', NULL, 'text', ?, NULL, NULL, NULL, NULL, ?, NULL)`);
  const appendChild = db.prepare(`INSERT INTO node_children (parent_id, child_id, position)
    VALUES (@parent, @child, (SELECT COALESCE(MAX(position) + 1, 0) FROM node_children WHERE parent_id = @parent))`);
  const create = db.transaction((tree: string, p: string, content: string) => {
    if (treeState.get(tree) !== 'active') throw new Error('tree');
    if (nodeTree.get(p) !== tree) throw new Error('parent');
    const id = randomUUID();
    insertNode.run(id, tree, p, content, Math.floor(Date.now() / 1000));
    appendChild.run({ parent: p, child: id });
    return id;
  });
  const sink: string[] = [];
  let n = 0;
  const until = performance.now() + ms;
  const t0 = performance.now();
  while (performance.now() < until) {
    for (let i = 0; i < 100; i++, n++) {
      const frame = `{"jsonrpc":"2.0","id":${n},"method":"plexus.call","params":{"method":"arbor.node_create_text","params":{"tree_id":"${treeId}","parent":"${parent}","content":"message ${n} ${'x'.repeat(64)}"}}}`;
      const req = JSON.parse(frame);
      const p = req.params.params;
      const node_id = create(p.tree_id, p.parent, p.content);
      const metadata = { provenance: ['arbor'], plexus_hash: '0000000000000000', timestamp: Math.floor(Date.now() / 1000) };
      sink.push(JSON.stringify({ jsonrpc: '2.0', id: req.id, result: n }));
      sink.push(
        JSON.stringify({
          jsonrpc: '2.0',
          method: 'result',
          params: {
            subscription: n,
            result: {
              type: 'data',
              metadata,
              content_type: 'arbor.node_create_text',
              content: { type: 'node_created', tree_id: p.tree_id, node_id, parent: p.parent },
            },
          },
        }),
      );
      sink.push(JSON.stringify({ jsonrpc: '2.0', method: 'result', params: { subscription: n, result: { type: 'done', metadata } } }));
      sink.length = 0;
    }
  }
  const rate = (n * 1000) / (performance.now() - t0);
  db.close();
  return rate;
}

export async function arborBenchmarks(
  runs: number,
  measureMs: number,
  start: Start,
  throughput: Throughput,
  log: (line: string) => void,
): Promise<ArborBenchResult> {
  const ws: number[] = [];
  const direct: number[] = [];
  const pathInProcess: number[] = [];
  const pathWs: number[] = [];
  for (let run = 0; run < runs; run++) {
    const dir = mkdtempSync(join(tmpdir(), 'plexus-bench-arbor-'));
    try {
      const file = join(dir, 'hub.db');
      // A 1,000-deep conversation, written in process (setup, not measured).
      const storage = new ArborStorage(openDatabase(file));
      const treeId = storage.treeCreate({ bench: true }, 'bench');
      const root = storage.treeGet(treeId).root;
      let head = root;
      storage.transaction(() => {
        for (let i = 0; i < 1000; i++) head = storage.nodeCreateText(treeId, head, `turn ${i}: ${'y'.repeat(80)}`);
      });
      const samples: number[] = [];
      for (let i = 0; i < 50; i++) {
        const t0 = performance.now();
        const nodes = storage.contextGetPath(treeId, head);
        samples.push(performance.now() - t0);
        if (nodes.length !== 1001) throw new Error('bad path');
      }
      pathInProcess.push(median(samples));
      storage.db.close();

      const order = run % 2 === 0 ? ['ws', 'direct'] : ['direct', 'ws'];
      for (const which of order) {
        if (which === 'direct') {
          directInserts(file, treeId, root, 200); // warm-up
          direct.push(directInserts(file, treeId, root, measureMs));
          continue;
        }
        const server = await start(['--import', 'tsx', 'bench/servers/plexus-arbor.ts', '0', file]);
        try {
          const client = await WireClient.open(`ws://127.0.0.1:${server.port}`);
          let n = 0;
          const insert = () =>
            client.call('arbor.node_create_text', { tree_id: treeId, parent: root, content: `message ${n++} ${'x'.repeat(64)}` });
          // Warm the server (tsx, JIT, statement cache) before measuring, as the protocol suite does.
          for (let i = 0; i < 16; i++) await Promise.all(Array.from({ length: 64 }, insert));
          ws.push(await throughput(insert, 64));
          client.close();
          const full = new PlexusClient({ url: `ws://127.0.0.1:${server.port}` });
          const wsSamples: number[] = [];
          for (let i = 0; i < 30; i++) {
            const t0 = performance.now();
            const r = await full.result<{ nodes: unknown[] }>('arbor.context_get_path', { tree_id: treeId, node_id: head });
            wsSamples.push(performance.now() - t0);
            if (r.nodes.length !== 1001) throw new Error('bad path');
          }
          pathWs.push(median(wsSamples.slice(5)));
          full.close();
        } finally {
          await server.stop();
        }
      }
      log(
        `  run ${run + 1}/${runs} arbor: ws ${Math.round(ws.at(-1)!)}/s, direct ${Math.round(direct.at(-1)!)}/s, context_get_path(1000) ${pathInProcess.at(-1)!.toFixed(2)} ms in process, ${pathWs.at(-1)!.toFixed(2)} ms over ws`,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  const wsRate = median(ws);
  const directRate = median(direct);
  return {
    node_create_text_ws_64: wsRate,
    node_create_text_direct: directRate,
    ratio: wsRate / directRate,
    context_get_path_1000_in_process_ms: median(pathInProcess),
    context_get_path_1000_ws_ms: median(pathWs),
  };
}
