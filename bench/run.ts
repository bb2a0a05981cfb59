// `npm run bench`: plexus-hub side by side with a bare ws server and tRPC v11, each
// server in its own process, this process as the client. Prints a table and writes
// bench/results.json. Ratios are medians of several runs measured in this same run.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { createTRPCClient, createWSClient, wsLink } from '@trpc/client';
import WebSocket from 'ws';
import type { Router } from './servers/trpc.js';
import { WireClient } from './wire-client.js';
import { parseGrant } from '../src/auth/grants.js';
import { TokenStore } from '../src/auth/token-store.js';
import { arborBenchmarks } from './arbor.js';
import { explorerPaint } from './explorer-paint.js';
import { coneTtftBenchmark } from './cone-ttft.js';
import { cpuBenchmarks, cpuTable } from './cpu.js';
import { cpuParts, cpuPartsTable } from './cpu-parts.js';
import { formatStart, startBenchmark } from './start.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const RUNS = Number(process.env.BENCH_RUNS ?? 4);
/** Runs of the slower suites (MCP, start-up): each spawns several processes. */
const SLOW_RUNS = Math.min(RUNS, 3);
const MEASURE_MS = Number(process.env.BENCH_MS ?? 600);
const WARMUP_MS = 200;
const STREAM_ITEMS = 10_000;
const CONCURRENT_STREAMS = 100;
const CONCURRENT_STREAM_ITEMS = 1_000;

type Kind = 'plexus' | 'bare' | 'trpc';
const SERVERS: Record<Kind, string> = {
  plexus: 'bench/servers/plexus.ts',
  bare: 'bench/servers/bare-ws.ts',
  trpc: 'bench/servers/trpc.ts',
};

const log = (line: string) => process.stderr.write(`${line}\n`);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Started {
  readonly child: ChildProcess;
  readonly port: number;
  stop(): Promise<void>;
}

/** Spawns a process and waits for the line `READY <port>` (or any line matching `ready`). */
function start(
  args: string[],
  env: NodeJS.ProcessEnv = {},
  ready = /READY (\d+)|on ws:\/\/[^:]+:(\d+)|on http:\/\/[^:]+:(\d+)/,
): Promise<Started> {
  const child = spawn(process.execPath, args, { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout! });
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`${args.join(' ')} exited with ${code}`)));
    lines.on('line', (line) => {
      const m = ready.exec(line);
      if (m) {
        resolve({
          child,
          port: Number(m[1] ?? m[2] ?? m[3]),
          stop: () =>
            new Promise<void>((r) => {
              if (child.exitCode !== null) return r();
              child.once('exit', () => r());
              child.kill('SIGKILL');
            }),
        });
      }
    });
  });
}

const startServer = (kind: Kind, env: NodeJS.ProcessEnv = {}) => start(['--import', 'tsx', SERVERS[kind], '0'], env);

function rss(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m![1]) * 1024;
}

/** What a workload needs from a protocol client. */
interface Driver {
  unary(): Promise<void>;
  stream(count: number): Promise<number>;
  close(): void;
}

async function driver(kind: Kind, port: number): Promise<Driver> {
  if (kind === 'trpc') {
    const ws = createWSClient({ url: `ws://127.0.0.1:${port}`, WebSocket: WebSocket as never });
    const client = createTRPCClient<Router>({ links: [wsLink({ client: ws })] });
    return {
      unary: async () => void (await client.once.query({ message: 'hi' })),
      stream: (count) =>
        new Promise((resolve, reject) => {
          let n = 0;
          const sub = client.items.subscribe({ count }, { onData: () => void n++, onError: reject, onComplete: () => resolve(n) });
          void sub;
        }),
      close: () => ws.close(),
    };
  }
  const client = await WireClient.open(`ws://127.0.0.1:${port}`);
  return {
    unary: async () => void (await client.call('echo.once', { message: 'hi' })),
    stream: (count) => client.call('bench.items', { count }),
    close: () => client.close(),
  };
}

/** Runs `work` in `concurrency` loops for the measuring window; returns units per second. */
async function throughput(work: () => Promise<number>, concurrency: number, latencies?: number[], measureMs = MEASURE_MS): Promise<number> {
  let units = 0;
  let measuring = false;
  let stop = false;
  const loop = async () => {
    while (!stop) {
      const t0 = performance.now();
      const n = await work();
      if (measuring) {
        units += n;
        latencies?.push(performance.now() - t0);
      }
    }
  };
  const loops = Array.from({ length: concurrency }, loop);
  await sleep(WARMUP_MS);
  measuring = true;
  const t0 = performance.now();
  await sleep(measureMs);
  measuring = false;
  const elapsed = performance.now() - t0;
  stop = true;
  await Promise.all(loops);
  return (units * 1000) / elapsed;
}

/** Time to finish `rounds` rounds of `concurrency` simultaneous works; returns units per second. */
async function timed(work: () => Promise<number>, concurrency: number, rounds: number): Promise<number> {
  const round = async () => (await Promise.all(Array.from({ length: concurrency }, work))).reduce((a, b) => a + b, 0);
  let units = 0;
  const t0 = performance.now();
  for (let r = 0; r < rounds; r++) units += await round();
  return (units * 1000) / (performance.now() - t0);
}

interface Row {
  readonly workload: string;
  readonly unit: string;
  readonly results: Partial<Record<Kind, number>>;
  readonly target?: { readonly vsBare?: number; readonly vsTrpc?: number };
}

async function protocolBenchmarks(): Promise<{
  rows: Row[];
  latency: Record<Kind, { p50: number; p99: number }>;
  samples?: Record<string, Record<Kind, number[]>>;
}> {
  const samples: Record<string, Record<Kind, number[]>> = {};
  const latencies: Record<Kind, number[]> = { plexus: [], bare: [], trpc: [] };
  const record = (w: string, k: Kind, v: number) => (samples[w] ??= { plexus: [], bare: [], trpc: [] })[k].push(v);
  const kinds: Kind[] = ['plexus', 'bare', 'trpc'];
  for (let run = 0; run < RUNS; run++) {
    // Rotate the order each run so machine noise does not favour one server.
    for (const kind of [...kinds.slice(run % 3), ...kinds.slice(0, run % 3)]) {
      const server = await startServer(kind);
      const d = await driver(kind, server.port);
      // Warm the server's JIT before measuring anything.
      await throughput(async () => (await d.unary(), 1), 8);
      await d.stream(STREAM_ITEMS);
      record('unary1', kind, await throughput(async () => (await d.unary(), 1), 1, latencies[kind]));
      record('unary64', kind, await throughput(async () => (await d.unary(), 1), 64));
      record('stream', kind, await timed(() => d.stream(STREAM_ITEMS), 1, 5));
      record('streams100', kind, await timed(() => d.stream(CONCURRENT_STREAM_ITEMS), CONCURRENT_STREAMS, 1));
      d.close();
      await server.stop();
      log(
        `  run ${run + 1}/${RUNS} ${kind}: ${Object.keys(samples)
          .map((w) => `${w} ${Math.round(samples[w]![kind].at(-1)!)}`)
          .join(', ')}`,
      );
    }
  }
  const med = (w: string) => ({ plexus: median(samples[w]!.plexus), bare: median(samples[w]!.bare), trpc: median(samples[w]!.trpc) });
  const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((xs.length * p) / 100))]!;
  const latency = Object.fromEntries(
    (['plexus', 'bare', 'trpc'] as Kind[]).map((k) => [k, { p50: pct(latencies[k], 50), p99: pct(latencies[k], 99) }]),
  ) as Record<Kind, { p50: number; p99: number }>;
  log(`  samples: ${JSON.stringify(samples)}`);
  return {
    latency,
    samples,
    rows: [
      { workload: 'unary echo.once, 1 in flight', unit: 'calls/s', results: med('unary1'), target: { vsBare: 0.9, vsTrpc: 6 } },
      { workload: 'unary echo.once, 64 in flight', unit: 'calls/s', results: med('unary64'), target: { vsBare: 1.0, vsTrpc: 2 } },
      {
        workload: `1 stream of ${STREAM_ITEMS.toLocaleString('en')} items`,
        unit: 'items/s',
        results: med('stream'),
        target: { vsBare: 2, vsTrpc: 3 },
      },
      {
        workload: `${CONCURRENT_STREAMS} streams × ${CONCURRENT_STREAM_ITEMS.toLocaleString('en')} items`,
        unit: 'items/s',
        results: med('streams100'),
        target: { vsBare: 2, vsTrpc: 3 },
      },
    ],
  };
}

/**
 * Auth overhead: the same plexus-hub server with auth off (open) and on (a token
 * store: bearer token on the upgrade, the access check at every hop, an audit
 * record per call), unary echo.once at 64 and at 1 in flight, side by side.
 */
async function authBenchmarks(): Promise<{ rows: Row[]; samples: Record<string, Record<string, number[]>> }> {
  const dir = mkdtempSync(join(tmpdir(), 'plexus-bench-auth-'));
  const { token } = new TokenStore(dir).create({
    name: 'bench',
    hub: 'plexus',
    grants: [parseGrant('echo.*:read'), parseGrant('bench.*:read')],
  });
  const samples: Record<string, Record<string, number[]>> = { unary64: { open: [], auth: [] }, unary1: { open: [], auth: [] } };
  try {
    for (let run = 0; run < RUNS; run++) {
      const variants = run % 2 === 0 ? (['open', 'auth'] as const) : (['auth', 'open'] as const);
      for (const variant of variants) {
        const server = await startServer('plexus', variant === 'auth' ? { BENCH_AUTH_DIR: dir } : {});
        const client = await WireClient.open(
          `ws://127.0.0.1:${server.port}`,
          variant === 'auth' ? { authorization: `Bearer ${token}` } : {},
        );
        const unary = async () => (await client.call('echo.once', { message: 'hi' }), 1);
        await throughput(unary, 8);
        samples.unary64![variant]!.push(await throughput(unary, 64));
        samples.unary1![variant]!.push(await throughput(unary, 1));
        client.close();
        await server.stop();
        log(
          `  run ${run + 1}/${RUNS} ${variant}: unary64 ${Math.round(samples.unary64![variant]!.at(-1)!)}, unary1 ${Math.round(samples.unary1![variant]!.at(-1)!)}`,
        );
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const row = (w: string, label: string): Row => ({
    workload: label,
    unit: 'calls/s',
    results: { plexus: median(samples[w]!.auth!), bare: median(samples[w]!.open!) },
  });
  return { rows: [row('unary64', 'auth on vs off: unary, 64 in flight'), row('unary1', 'auth on vs off: unary, 1 in flight')], samples };
}

async function mcpCallsPerSecond(client: Client): Promise<number> {
  // MCP calls are slow (hundreds per second over HTTP): a longer window for enough samples.
  return throughput(async () => (await client.callTool({ name: 'echo.once', arguments: { message: 'hi' } }), 1), 1, undefined, 1500);
}

async function mcpBenchmarks(): Promise<Row[]> {
  const stdio = { bridge: [] as number[], plain: [] as number[] };
  const http = { bridge: [] as number[], plain: [] as number[] };
  for (let run = 0; run < SLOW_RUNS; run++) {
    for (const which of (run % 2 ? ['plain', 'bridge'] : ['bridge', 'plain']) as ('bridge' | 'plain')[]) {
      const args = which === 'bridge' ? [join(root, 'bin/hub.js'), 'mcp'] : ['--import', 'tsx', join(root, 'bench/servers/mcp-plain.ts')];
      const client = new Client({ name: 'bench', version: '1.0.0' });
      await client.connect(new StdioClientTransport({ command: process.execPath, args, cwd: root, stderr: 'ignore' }));
      await client.listTools();
      stdio[which].push(await mcpCallsPerSecond(client));
      await client.close();

      const server = await start(
        which === 'bridge'
          ? [join(root, 'bin/hub.js'), 'mcp', '--http', '--port', '0']
          : ['--import', 'tsx', join(root, 'bench/servers/mcp-plain.ts'), '--http'],
      );
      const hc = new Client({ name: 'bench', version: '1.0.0' });
      await hc.connect(new StreamableHTTPClientTransport(new URL(`http://127.0.0.1:${server.port}/mcp`)));
      await hc.listTools();
      http[which].push(await mcpCallsPerSecond(hc));
      await hc.close();
      await server.stop();
    }
    log(
      `  run ${run + 1}/${SLOW_RUNS} mcp: stdio ${Math.round(stdio.bridge.at(-1)!)} vs ${Math.round(stdio.plain.at(-1)!)}, http ${Math.round(http.bridge.at(-1)!)} vs ${Math.round(http.plain.at(-1)!)}`,
    );
  }
  return [
    {
      workload: 'MCP tools/call over stdio',
      unit: 'calls/s',
      results: { plexus: median(stdio.bridge), bare: median(stdio.plain) },
      target: { vsBare: 0.8 },
    },
    {
      workload: 'MCP tools/call over streamable HTTP',
      unit: 'calls/s',
      results: { plexus: median(http.bridge), bare: median(http.plain) },
      target: { vsBare: 0.8 },
    },
  ];
}

/** Process start → first call answered. */
async function startup(cacheDir: string): Promise<number> {
  const t0 = performance.now();
  const server = await start([join(root, 'bin/hub.js'), 'serve', '--port', '0'], { PLEXUS_HUB_CACHE: cacheDir });
  const client = await WireClient.open(`ws://127.0.0.1:${server.port}`);
  await client.call('plexus.hash', {});
  const ms = performance.now() - t0;
  client.close();
  await server.stop();
  return ms;
}

async function startupBenchmarks(): Promise<Record<string, number>> {
  const cold: number[] = [];
  const warm: number[] = [];
  let generation = 0;
  for (let run = 0; run < SLOW_RUNS; run++) {
    const dir = mkdtempSync(join(tmpdir(), 'plexus-bench-cache-'));
    cold.push(await startup(dir));
    warm.push(await startup(dir));
    rmSync(dir, { recursive: true, force: true });
  }
  const dir = mkdtempSync(join(tmpdir(), 'plexus-bench-cache-'));
  const prepare = await start([join(root, 'bin/hub.js'), 'prepare'], { PLEXUS_HUB_CACHE: dir }, /schemas ready in (\d+) ms/);
  generation = prepare.port;
  await prepare.stop();
  rmSync(dir, { recursive: true, force: true });
  log(`  startup: cold ${cold.map(Math.round).join('/')} ms, warm ${warm.map(Math.round).join('/')} ms, generation ${generation} ms`);
  return { cold_start_ms: median(cold), warm_start_ms: median(warm), schema_generation_ms: generation };
}

async function openIdle(port: number, n: number): Promise<WebSocket[]> {
  const sockets: WebSocket[] = [];
  for (let i = 0; i < n; i += 100) {
    const batch = Array.from({ length: Math.min(100, n - i) }, () => new WebSocket(`ws://127.0.0.1:${port}`));
    await Promise.all(batch.map((ws) => new Promise((r, j) => (ws.once('open', r), ws.once('error', j)))));
    sockets.push(...batch);
  }
  return sockets;
}

async function memoryBenchmarks(): Promise<Record<Kind, Record<string, number>>> {
  const MB = 1024 * 1024;
  const out = {} as Record<Kind, Record<string, number>>;
  for (const kind of ['plexus', 'bare', 'trpc'] as Kind[]) {
    const server = await startServer(kind);
    const pid = server.child.pid!;
    const baseline = rss(pid);
    const idle = await openIdle(server.port, 1000);
    await sleep(300);
    const idleRss = rss(pid);
    for (const ws of idle) ws.terminate();
    await sleep(200);
    // 100 streams in flight: peak RSS while they run.
    const d = await driver(kind, server.port);
    let peak = 0;
    const sampler = setInterval(() => (peak = Math.max(peak, rss(pid))), 20);
    await Promise.all(Array.from({ length: CONCURRENT_STREAMS }, () => d.stream(CONCURRENT_STREAM_ITEMS)));
    clearInterval(sampler);
    d.close();
    // A client that stops reading while the server streams 16 KiB items.
    const slow = new WebSocket(`ws://127.0.0.1:${server.port}`);
    await new Promise((r) => slow.once('open', r));
    const before = rss(pid);
    slow.send(
      JSON.stringify(
        kind === 'trpc'
          ? { id: 1, method: 'subscription', params: { path: 'flood', input: { size: 16384 } } }
          : { jsonrpc: '2.0', id: 1, method: 'plexus.call', params: { method: 'bench.flood', params: { size: 16384 } } },
      ),
    );
    await new Promise((r) => slow.once('message', r));
    slow.pause();
    await sleep(2000);
    const slowGrowth = rss(pid) - before;
    slow.terminate();
    await server.stop();
    out[kind] = {
      baseline_mb: baseline / MB,
      idle_1000_connections_mb: idleRss / MB,
      streams_100_peak_mb: peak / MB,
      slow_client_growth_2s_mb: slowGrowth / MB,
    };
    log(
      `  memory ${kind}: ${Object.entries(out[kind])
        .map(([k, v]) => `${k} ${v.toFixed(1)}`)
        .join(', ')}`,
    );
  }
  return out;
}

function fmt(n: number | undefined): string {
  if (n === undefined) return '—';
  return n >= 100 ? Math.round(n).toLocaleString('en') : n.toFixed(2);
}

function table(rows: Row[]): string {
  const header = ['workload', 'unit', 'plexus-hub', 'bare ws', 'tRPC', 'vs bare', 'vs tRPC', 'targets'];
  const body = rows.map((r) => {
    const vsBare = r.results.bare ? r.results.plexus! / r.results.bare : undefined;
    const vsTrpc = r.results.trpc ? r.results.plexus! / r.results.trpc : undefined;
    const mark = (v: number | undefined, t: number | undefined) =>
      v === undefined || t === undefined ? '' : `${v >= t ? '✓' : '✗'} ≥${t}×`;
    return [
      r.workload,
      r.unit,
      fmt(r.results.plexus),
      fmt(r.results.bare),
      fmt(r.results.trpc),
      vsBare ? `${vsBare.toFixed(2)}×` : '—',
      vsTrpc ? `${vsTrpc.toFixed(2)}×` : '—',
      [mark(vsBare, r.target?.vsBare), mark(vsTrpc, r.target?.vsTrpc)].filter(Boolean).join(' '),
    ];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...body.map(line)].join('\n');
}

/**
 * Through one mount (client → A → B, three processes) against calling B directly:
 * unary at 64 in flight, one stream, and the latency a hop adds at 1 in flight.
 */
async function federationBenchmarks(): Promise<{
  rows: { workload: string; unit: string; direct: number; mounted: number; target: number }[];
  latency: { direct_p50: number; mounted_p50: number; added_p50: number; direct_p99: number; mounted_p99: number };
}> {
  const s = {
    unary64: { direct: [] as number[], mounted: [] as number[] },
    stream: { direct: [] as number[], mounted: [] as number[] },
    streams100: { direct: [] as number[], mounted: [] as number[] },
  };
  const lat = { direct: [] as number[], mounted: [] as number[] };
  for (let run = 0; run < RUNS; run++) {
    const b = await startServer('plexus');
    const a = await start(['--import', 'tsx', 'bench/servers/plexus-mount.ts', '0', `ws://127.0.0.1:${b.port}`]);
    for (const which of (run % 2 ? ['mounted', 'direct'] : ['direct', 'mounted']) as ('direct' | 'mounted')[]) {
      const client = await WireClient.open(`ws://127.0.0.1:${which === 'direct' ? b.port : a.port}`);
      const prefix = which === 'direct' ? '' : 'b.';
      const unary = async () => (await client.call(`${prefix}echo.once`, { message: 'hi' }), 1);
      const stream = (count: number) => client.call(`${prefix}bench.items`, { count });
      await throughput(unary, 8);
      await stream(STREAM_ITEMS);
      await throughput(unary, 1, lat[which]);
      s.unary64[which].push(await throughput(unary, 64));
      s.stream[which].push(await timed(() => stream(STREAM_ITEMS), 1, 5));
      s.streams100[which].push(await timed(() => stream(CONCURRENT_STREAM_ITEMS), CONCURRENT_STREAMS, 1));
      client.close();
    }
    await a.stop();
    await b.stop();
    log(
      `  run ${run + 1}/${RUNS} federation: ${Object.entries(s)
        .map(([w, v]) => `${w} ${Math.round(v.mounted.at(-1)!)}/${Math.round(v.direct.at(-1)!)}`)
        .join(', ')} (mounted/direct)`,
    );
  }
  const pct = (xs: number[], p: number) => [...xs].sort((x, y) => x - y)[Math.min(xs.length - 1, Math.floor((xs.length * p) / 100))]!;
  log(`  federation samples: ${JSON.stringify(s)}`);
  return {
    rows: [
      {
        workload: 'unary echo.once, 64 in flight',
        unit: 'calls/s',
        direct: median(s.unary64.direct),
        mounted: median(s.unary64.mounted),
        target: 0.5,
      },
      {
        workload: `1 stream of ${STREAM_ITEMS.toLocaleString('en')} items`,
        unit: 'items/s',
        direct: median(s.stream.direct),
        mounted: median(s.stream.mounted),
        target: 0.7,
      },
      {
        workload: `${CONCURRENT_STREAMS} streams × ${CONCURRENT_STREAM_ITEMS.toLocaleString('en')} items`,
        unit: 'items/s',
        direct: median(s.streams100.direct),
        mounted: median(s.streams100.mounted),
        target: 0.7,
      },
    ],
    latency: {
      direct_p50: pct(lat.direct, 50),
      mounted_p50: pct(lat.mounted, 50),
      added_p50: pct(lat.mounted, 50) - pct(lat.direct, 50),
      direct_p99: pct(lat.direct, 99),
      mounted_p99: pct(lat.mounted, 99),
    },
  };
}

/** `BENCH_ONLY=protocol,mcp` runs a subset (for profiling); the full run is the default. */
const only = new Set((process.env.BENCH_ONLY ?? 'protocol,cpu,auth,mcp,startup,start,memory,federation,explorer,arbor,cone').split(','));
const started = performance.now();
const lap = (() => {
  let last = performance.now();
  return (name: string) => {
    const now = performance.now();
    log(`  (${name}: ${((now - last) / 1000).toFixed(0)} s)`);
    last = now;
  };
})();
log(
  `plexus-hub benchmark: ${RUNS} runs of ${MEASURE_MS} ms per protocol workload, ${SLOW_RUNS} runs for MCP and start-up (medians); servers in child processes`,
);
log('protocol workloads…');
const protocol = only.has('protocol')
  ? await protocolBenchmarks()
  : { rows: [], latency: { plexus: { p50: NaN, p99: NaN }, bare: { p50: NaN, p99: NaN }, trpc: { p50: NaN, p99: NaN } } };
lap('protocol');
log('server CPU per operation…');
// At least 5 alternating runs: CPU per op is the stable figure, and cheap to sample.
const cpu = only.has('cpu') ? await cpuBenchmarks(Math.max(RUNS, 5), start, log) : undefined;
// A goal missed: what each part costs on its own.
const cpuBreakdown = cpu?.goals.some((g) => !g.met) ? await cpuParts() : undefined;
lap('cpu');
log('auth overhead…');
const authRows = only.has('auth') ? await authBenchmarks() : { rows: [], samples: {} };
lap('auth');
log('MCP…');
const mcp = only.has('mcp') ? await mcpBenchmarks() : [];
lap('MCP');
log('start-up…');
const start_ = only.has('startup') ? await startupBenchmarks() : { cold_start_ms: NaN, warm_start_ms: NaN, schema_generation_ms: NaN };
lap('start-up');
log('start (greeter, empty cwd and HOME)…');
// At least 5 rounds (one cold and three warm starts each): single starts move a lot on a shared machine.
const greeterStart = only.has('start') ? await startBenchmark(Math.max(RUNS, 5), log) : undefined;
lap('start');
log('memory…');
const memory = only.has('memory') ? await memoryBenchmarks() : ({} as Awaited<ReturnType<typeof memoryBenchmarks>>);
lap('memory');
log('federation (client → A → B vs client → B)…');
const federation = only.has('federation') ? await federationBenchmarks() : undefined;
lap('federation');
log('explorer first paint…');
let paint: Awaited<ReturnType<typeof explorerPaint>>;
if (only.has('explorer')) {
  const hub = await start(['./bin/hub.js', 'serve', '--port', '0']);
  try {
    paint = await explorerPaint(hub.port, Math.max(RUNS, 5), log);
  } finally {
    await hub.stop();
  }
}
lap('explorer');
log('arbor…');
const arbor = only.has('arbor') ? await arborBenchmarks(RUNS, MEASURE_MS, start, throughput, log) : undefined;
lap('arbor');
log('cone time to first token…');
const coneTtft = only.has('cone') ? await coneTtftBenchmark(undefined, log) : [];
lap('cone');
const results = {
  date: new Date().toISOString(),
  node: process.version,
  runs: RUNS,
  measure_ms: MEASURE_MS,
  notes:
    'bare ws = the same wire protocol with no routing, validation or write coalescing: one ws.send per message (naive on purpose). MCP "bare" column = the same tool registered directly on the SDK McpServer.',
  protocol: protocol.rows,
  protocol_samples: protocol.samples,
  latency_ms_1_in_flight: protocol.latency,
  cpu,
  cpu_breakdown_us: cpuBreakdown,
  auth: authRows.rows.map((r) => ({ ...r, overhead: 1 - r.results.plexus! / r.results.bare! })),
  auth_samples: authRows.samples,
  mcp,
  startup: start_,
  start: greeterStart,
  memory,
  explorer_paint: paint,
  federation,
  arbor,
  cone_ttft: coneTtft,
  duration_s: (performance.now() - started) / 1000,
};
writeFileSync(join(root, 'bench', 'results.json'), `${JSON.stringify(results, null, 2)}\n`);

const lat = protocol.latency;
console.log(`\n${table([...protocol.rows, ...mcp])}`);
console.log(`\n(MCP rows: "bare ws" column = the same tool on the SDK's own McpServer, same transport and client.)`);
if (cpu) console.log(`\n${cpuTable(cpu)}\n${cpuBreakdown ? `${cpuPartsTable(cpuBreakdown)}\n` : ''}`);
for (const r of authRows.rows) {
  const overhead = 1 - r.results.plexus! / r.results.bare!;
  console.log(
    `${r.workload}: ${fmt(r.results.plexus)} vs ${fmt(r.results.bare)} calls/s, overhead ${(overhead * 100).toFixed(1)}%${r.workload.includes('64') ? ` (goal ≤ 5% ${overhead <= 0.05 ? '✓' : '✗'})` : ''}`,
  );
}
console.log(
  `\nlatency, 1 in flight (ms): plexus-hub p50 ${lat.plexus.p50.toFixed(3)} p99 ${lat.plexus.p99.toFixed(3)} | bare ws p50 ${lat.bare.p50.toFixed(3)} p99 ${lat.bare.p99.toFixed(3)} | tRPC p50 ${lat.trpc.p50.toFixed(3)} p99 ${lat.trpc.p99.toFixed(3)}`,
);
console.log(
  `start-up to first answer: cold cache ${Math.round(start_.cold_start_ms)} ms, warm cache ${Math.round(start_.warm_start_ms)} ms (target ≤ 300 ms ${start_.warm_start_ms <= 300 ? '✓' : '✗'}); schema generation for the built-ins ${start_.schema_generation_ms} ms`,
);
if (greeterStart) console.log(formatStart(greeterStart));
console.log('memory (RSS, MB):');
for (const [k, v] of Object.entries(memory)) {
  console.log(
    `  ${k.padEnd(7)} baseline ${v.baseline_mb!.toFixed(1)}, 1,000 idle connections ${v.idle_1000_connections_mb!.toFixed(1)}, peak during 100 streams ${v.streams_100_peak_mb!.toFixed(1)}, growth with a client that stopped reading (2 s) ${v.slow_client_growth_2s_mb!.toFixed(1)}`,
  );
}
if (federation) {
  console.log('\nthrough one mount (client → A → B) vs calling B directly:');
  for (const r of federation.rows) {
    const ratio = r.mounted / r.direct;
    console.log(
      `  ${r.workload.padEnd(34)} ${fmt(r.mounted).padStart(9)} vs ${fmt(r.direct).padStart(9)} ${r.unit}  ${ratio.toFixed(2)}×  ${ratio >= r.target ? '✓' : '✗'} ≥${r.target}×`,
    );
  }
  const l = federation.latency;
  console.log(
    `  latency, 1 in flight (ms): direct p50 ${l.direct_p50.toFixed(3)} p99 ${l.direct_p99.toFixed(3)} | through the mount p50 ${l.mounted_p50.toFixed(3)} p99 ${l.mounted_p99.toFixed(3)} | added p50 ${l.added_p50.toFixed(3)}`,
  );
}
if (paint) {
  console.log(
    `explorer in Chromium (medians, ms from navigation): first paint ${Math.round(paint.fcp_ms)} (a plain-text page: ${Math.round(paint.baseline_fcp_ms)}, ${(paint.fcp_ms / paint.baseline_fcp_ms).toFixed(2)}×), live tree on screen ${Math.round(paint.tree_ms)} (target < 300 ${paint.tree_ms < 300 ? '✓' : '✗'})`,
  );
}
if (arbor) {
  console.log('arbor (SQLite file, WAL):');
  console.log(
    `  node_create_text over WebSocket, 64 in flight: ${Math.round(arbor.node_create_text_ws_64).toLocaleString('en')}/s vs direct better-sqlite3 in process with the same JSON envelope work: ${Math.round(arbor.node_create_text_direct).toLocaleString('en')}/s = ${arbor.ratio.toFixed(2)}× (target ≥ 0.7× ${arbor.ratio >= 0.7 ? '✓' : '✗'})`,
  );
  console.log(
    `  context_get_path of a 1,000-deep path: ${arbor.context_get_path_1000_in_process_ms.toFixed(2)} ms in process, ${arbor.context_get_path_1000_ws_ms.toFixed(2)} ms over WebSocket (target < 10 ms ${arbor.context_get_path_1000_ws_ms < 10 ? '✓' : '✗'})`,
  );
}
for (const r of coneTtft) {
  console.log(
    `cone.chat time to first token (${r.format}, ${r.samples} chats, fake provider in its own process): direct p50 ${r.direct_ms.p50.toFixed(3)} / p99 ${r.direct_ms.p99.toFixed(3)} ms, through the hub p50 ${r.hub_ms.p50.toFixed(3)} / p99 ${r.hub_ms.p99.toFixed(3)} ms: +${r.added_p50_ms.toFixed(3)} ms (target < 2 ms ${r.added_p50_ms < 2 ? '✓' : '✗'})`,
  );
}
console.log(`\nbench/results.json written; ${results.duration_s.toFixed(0)} s`);
