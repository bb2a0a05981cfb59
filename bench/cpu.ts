// The `cpu` workload of `npm run bench` (issue #26): server CPU time per operation,
// user + system of every thread of the server process (the audit writer thread
// included), read in nanoseconds from /proc/<pid>/task/*/schedstat before and after a
// fixed number of operations. Unlike throughput on a shared machine, this does not
// move with what else the machine runs.
//
// Servers, each in its own process, driven by the same wire client:
// - bare: a hand-tuned server of the same protocol (servers/bare-tuned.ts);
// - open: plexus-hub with the built-ins and the bench activation, no auth;
// - auth: the same with a token store (Bearer token on the upgrade, the access check,
//   an audit record per call);
// - relay: client → A → B, A mounting B; A's CPU against B's for the same calls.
// Workloads: `echo.once` with 64 in flight; `echo.echo` streams of 10,000 items.
// Alternating runs (the order rotates), medians with the spread.
import { readdirSync, readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseGrant } from '../src/auth/grants.js';
import { TokenStore } from '../src/auth/token-store.js';
import { ArborStorage } from '../activations/arbor/index.js';
import { openDatabase } from '../activations/storage/index.js';
import { WireClient } from './wire-client.js';

type Start = (args: string[], env?: NodeJS.ProcessEnv) => Promise<{ child: { pid?: number }; port: number; stop(): Promise<void> }>;

const UNARY_CALLS = Number(process.env.BENCH_CPU_CALLS ?? 20_000);
const UNARY_IN_FLIGHT = 64;
const STREAM_ITEMS = 10_000;
const STREAMS = Number(process.env.BENCH_CPU_STREAMS ?? 5);
const UNARY1_MS = 500;

/** CPU time of every thread of `pid` so far, in µs (schedstat: nanoseconds on the CPU). */
export function cpuMicros(pid: number): number {
  let ns = 0;
  for (const task of readdirSync(`/proc/${pid}/task`)) {
    try {
      ns += Number(readFileSync(`/proc/${pid}/task/${task}/schedstat`, 'utf8').split(' ')[0]);
    } catch {
      /* the thread ended between the listing and the read */
    }
  }
  return ns / 1000;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** `n` unary calls with `inFlight` outstanding at a time. */
async function unary(client: WireClient, method: string, n: number, inFlight: number): Promise<void> {
  let issued = 0;
  const loop = async () => {
    while (issued < n) {
      issued++;
      await client.call(method, { message: 'hi' });
    }
  };
  await Promise.all(Array.from({ length: inFlight }, loop));
}

async function streams(client: WireClient, method: string, n: number): Promise<number> {
  let items = 0;
  for (let i = 0; i < n; i++) items += await client.call(method, { message: 'hi', count: STREAM_ITEMS });
  if (items !== n * STREAM_ITEMS) throw new Error(`expected ${n * STREAM_ITEMS} items, got ${items}`);
  return items;
}

/** Server CPU (µs) per operation of `work` over `ops` operations, for each pid; and operations per second. */
async function measure(pids: number[], ops: number, work: () => Promise<unknown>): Promise<{ perOp: number[]; rate: number }> {
  await sleep(30); // let the previous workload's tail (uncork, audit flush) settle
  const before = pids.map(cpuMicros);
  const t0 = performance.now();
  await work();
  const ms = performance.now() - t0;
  await sleep(60); // what the work left to do (the audit batch waits up to 20 ms) is the work's
  return { perOp: pids.map((p, i) => (cpuMicros(p) - before[i]!) / ops), rate: (ops * 1000) / ms };
}

/** Calls per second, 1 in flight, over `ms`. */
async function rate1(client: WireClient, ms: number): Promise<number> {
  let n = 0;
  const until = performance.now() + ms;
  const t0 = performance.now();
  while (performance.now() < until) {
    await client.call('echo.once', { message: 'hi' });
    n++;
  }
  return (n * 1000) / (performance.now() - t0);
}

/** context_get_path of a 1,000-deep path in process (median of 30, ms). */
function contextPath1000(): number {
  const dir = mkdtempSync(join(tmpdir(), 'plexus-bench-cpu-arbor-'));
  try {
    const storage = new ArborStorage(openDatabase(join(dir, 'hub.db')));
    const tree = storage.treeCreate({ bench: true }, 'bench');
    let head = storage.treeGet(tree).root;
    storage.transaction(() => {
      for (let i = 0; i < 1000; i++) head = storage.nodeCreateText(tree, head, `turn ${i}: ${'y'.repeat(80)}`);
    });
    const samples: number[] = [];
    for (let i = 0; i < 35; i++) {
      const t0 = performance.now();
      const nodes = storage.contextGetPath(tree, head);
      if (i >= 5) samples.push(performance.now() - t0);
      if (nodes.length !== 1001) throw new Error('bad path');
    }
    storage.db.close();
    return median(samples);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

type Variant = 'bare' | 'open' | 'auth' | 'relay';
export interface Spread {
  readonly median: number;
  readonly min: number;
  readonly max: number;
  readonly samples: number[];
}
const spread = (samples: number[]): Spread => ({ median: median(samples), min: Math.min(...samples), max: Math.max(...samples), samples });

export interface CpuGoal {
  readonly name: string;
  readonly ratio: Spread;
  readonly goal: number;
  readonly met: boolean;
}

export interface CpuBenchResult {
  readonly runs: number;
  readonly unary_calls: number;
  readonly stream_items: number;
  /** µs of server CPU per unary call / per streamed item (relay: A's; relay_origin: B's under the relayed load). */
  readonly unary_us: Record<Variant | 'relay_origin', Spread>;
  readonly item_us: Record<Variant | 'relay_origin', Spread>;
  /** Operations per second in the same runs (wall clock: noisy on a shared machine). */
  readonly unary_per_s: Record<Variant, Spread>;
  readonly items_per_s: Record<Variant, Spread>;
  readonly goals: CpuGoal[];
  readonly unary1: { open: Spread; bare: Spread; ratio: Spread; goal: number; met: boolean };
  readonly context_get_path_1000_ms: Spread & { goal: number; met: boolean };
}

export async function cpuBenchmarks(runs: number, start: Start, log: (line: string) => void): Promise<CpuBenchResult> {
  const dir = mkdtempSync(join(tmpdir(), 'plexus-bench-cpu-'));
  const { token } = new TokenStore(dir).create({
    name: 'bench',
    hub: 'plexus',
    grants: [parseGrant('echo.*:read'), parseGrant('bench.*:read')],
  });
  const plexus = ['--import', 'tsx', 'bench/servers/plexus.ts', '0'];
  const bare = await start(['--import', 'tsx', 'bench/servers/bare-tuned.ts', '0']);
  const open = await start(plexus);
  const auth = await start(plexus, { BENCH_AUTH_DIR: dir });
  const b = await start(plexus);
  const a = await start(['--import', 'tsx', 'bench/servers/plexus-mount.ts', '0', `ws://127.0.0.1:${b.port}`]);
  const servers = [bare, open, auth, b, a];
  const clients = {
    bare: await WireClient.open(`ws://127.0.0.1:${bare.port}`),
    open: await WireClient.open(`ws://127.0.0.1:${open.port}`),
    auth: await WireClient.open(`ws://127.0.0.1:${auth.port}`, { authorization: `Bearer ${token}` }),
    relay: await WireClient.open(`ws://127.0.0.1:${a.port}`),
  };
  const prefix = (v: Variant) => (v === 'relay' ? 'b.' : '');
  const pids = (v: Variant) => ({ bare: [bare], open: [open], auth: [auth], relay: [a, b] })[v].map((s) => s.child.pid!);
  const variants: Variant[] = ['bare', 'open', 'auth', 'relay'];
  const u: Record<string, number[]> = { bare: [], open: [], auth: [], relay: [], relay_origin: [] };
  const it: Record<string, number[]> = { bare: [], open: [], auth: [], relay: [], relay_origin: [] };
  const ur: Record<string, number[]> = { bare: [], open: [], auth: [], relay: [] };
  const ir: Record<string, number[]> = { bare: [], open: [], auth: [], relay: [] };
  const u1 = { open: [] as number[], bare: [] as number[], ratio: [] as number[] };
  const paths: number[] = [];
  try {
    // Warm every server's JIT (and the mount's connection) before anything is measured.
    for (const v of variants) {
      await unary(clients[v], `${prefix(v)}echo.once`, 20_000, UNARY_IN_FLIGHT);
      await streams(clients[v], `${prefix(v)}echo.echo`, 2);
    }
    for (let run = 0; run < runs; run++) {
      const order = [...variants.slice(run % 4), ...variants.slice(0, run % 4)];
      for (const v of order) {
        const c = clients[v];
        const un = await measure(pids(v), UNARY_CALLS, () => unary(c, `${prefix(v)}echo.once`, UNARY_CALLS, UNARY_IN_FLIGHT));
        const st = await measure(pids(v), STREAMS * STREAM_ITEMS, () => streams(c, `${prefix(v)}echo.echo`, STREAMS));
        u[v]!.push(un.perOp[0]!);
        it[v]!.push(st.perOp[0]!);
        ur[v]!.push(un.rate);
        ir[v]!.push(st.rate);
        if (v === 'relay') {
          u.relay_origin!.push(un.perOp[1]!);
          it.relay_origin!.push(st.perOp[1]!);
        }
      }
      // Unary with 1 in flight, plexus-hub (open) against the bare server, in alternating order.
      const pair = run % 2 === 0 ? (['open', 'bare'] as const) : (['bare', 'open'] as const);
      const r1: Record<string, number> = {};
      for (const v of pair) r1[v] = await rate1(clients[v], UNARY1_MS);
      u1.open.push(r1.open!);
      u1.bare.push(r1.bare!);
      u1.ratio.push(r1.open! / r1.bare!);
      paths.push(contextPath1000());
      const f = (x: number) => x.toFixed(2);
      log(
        `  run ${run + 1}/${runs} cpu µs per call / per item: bare ${f(u.bare!.at(-1)!)}/${f(it.bare!.at(-1)!)}, open ${f(u.open!.at(-1)!)}/${f(it.open!.at(-1)!)}, auth ${f(u.auth!.at(-1)!)}/${f(it.auth!.at(-1)!)}, relay A ${f(u.relay!.at(-1)!)}/${f(it.relay!.at(-1)!)} vs B ${f(u.relay_origin!.at(-1)!)}/${f(it.relay_origin!.at(-1)!)}; unary 1 in flight ${f(u1.ratio.at(-1)!)}× bare; context_get_path(1000) ${f(paths.at(-1)!)} ms`,
      );
    }
  } finally {
    for (const c of Object.values(clients)) c.close();
    for (const s of servers) await s.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  const ratio = (x: number[], y: number[]) => spread(x.map((v, i) => v / y[i]!));
  const goal = (name: string, r: Spread, g: number): CpuGoal => ({ name, ratio: r, goal: g, met: r.median <= g });
  const all = (o: Record<string, number[]>) => Object.fromEntries(Object.entries(o).map(([k, v]) => [k, spread(v)]));
  const path = spread(paths);
  const u1ratio = spread(u1.ratio);
  return {
    runs,
    unary_calls: UNARY_CALLS,
    stream_items: STREAMS * STREAM_ITEMS,
    unary_us: all(u) as CpuBenchResult['unary_us'],
    item_us: all(it) as CpuBenchResult['item_us'],
    unary_per_s: all(ur) as CpuBenchResult['unary_per_s'],
    items_per_s: all(ir) as CpuBenchResult['items_per_s'],
    goals: [
      goal('open hub / bare, unary call', ratio(u.open!, u.bare!), 1.1),
      goal('open hub / bare, streamed item', ratio(it.open!, it.bare!), 1.0),
      goal('required auth / open, unary call', ratio(u.auth!, u.open!), 1.1),
      goal('required auth / open, streamed item', ratio(it.auth!, it.open!), 1.05),
      goal('relay A / origin B, unary call', ratio(u.relay!, u.relay_origin!), 1.0),
      goal('relay A / origin B, streamed item', ratio(it.relay!, it.relay_origin!), 0.6),
    ],
    unary1: { open: spread(u1.open), bare: spread(u1.bare), ratio: u1ratio, goal: 0.95, met: u1ratio.median >= 0.95 },
    context_get_path_1000_ms: { ...path, goal: 10, met: path.median < 10 },
  };
}

const f2 = (x: number) => x.toFixed(2);
const range = (s: Spread, f = f2) => `${f(s.median)} (${f(s.min)}–${f(s.max)})`;
const rate = (s: Spread) => Math.round(s.median).toLocaleString('en');

/** The CPU table as printed by `npm run bench`. */
export function cpuTable(r: CpuBenchResult): string {
  const rows: string[][] = [['server', 'µs CPU / unary call', 'calls/s', 'µs CPU / streamed item', 'items/s']];
  const name = {
    bare: 'bare (hand-tuned)',
    open: 'plexus-hub, open',
    auth: 'plexus-hub, required auth',
    relay: 'relay A (client → A → B)',
  };
  for (const v of ['bare', 'open', 'auth', 'relay'] as const) {
    rows.push([name[v], range(r.unary_us[v]), rate(r.unary_per_s[v]), range(r.item_us[v]), rate(r.items_per_s[v])]);
  }
  rows.push(['origin B under the relayed load', range(r.unary_us.relay_origin), '', range(r.item_us.relay_origin), '']);
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  const out = [
    `server CPU per operation (all threads; medians of ${r.runs} alternating runs, min–max; ${r.unary_calls.toLocaleString('en')} calls with ${UNARY_IN_FLIGHT} in flight, ${r.stream_items.toLocaleString('en')} items in 10,000-item streams):`,
    line(rows[0]!),
    `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`,
    ...rows.slice(1).map(line),
    'goals (ratios of CPU per op, median of per-run ratios, min–max):',
  ];
  for (const g of r.goals) out.push(`  ${g.name.padEnd(38)} ${range(g.ratio)}×  ${g.met ? '✓' : '✗'} ≤ ${g.goal}×`);
  const u1 = r.unary1;
  out.push(
    `  unary, 1 in flight: ${rate(u1.open)} vs bare ${rate(u1.bare)} calls/s = ${range(u1.ratio)}×  ${u1.met ? '✓' : '✗'} ≥ ${u1.goal}×`,
    `  arbor.context_get_path of a 1,000-deep path in process: ${range(r.context_get_path_1000_ms)} ms  ${r.context_get_path_1000_ms.met ? '✓' : '✗'} < ${r.context_get_path_1000_ms.goal} ms`,
  );
  return out.join('\n');
}
