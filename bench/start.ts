// The `start` workload: `hub serve` of the README's greeter (plus the built-ins) as
// an MCP client starts it: from an empty working directory, with an empty HOME.
// Cold = an empty schema cache (PLEXUS_HUB_CACHE, the worst case: the TypeScript checker
// runs for the greeter; the built-ins' schemas ship in dist/), warm = each of the three
// starts after it on that cache; each is process start → first greeter.greet answered.
// RSS is read 5 s after a cold start, when the extractor process and its compiler are
// gone. Also checks that nothing was written to the working directory. CPU time is
// printed beside wall time because a shared machine's load inflates wall time many times over.
// Run alone: node --import tsx bench/start.ts
import { spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { WireClient } from './wire-client.js';

const root = fileURLToPath(new URL('..', import.meta.url));
export const START_GOALS = { cold_ms: 3000, warm_ms: 300, rss_mib: 120 };
/** Warm starts after each cold one: a warm start is short and noisy, so it gets more samples. */
const WARM_PER_RUN = 3;

export interface StartFigures {
  readonly cold_ms: number;
  readonly warm_ms: number;
  readonly cold_cpu_ms: number;
  readonly warm_cpu_ms: number;
  readonly rss_5s_after_cold_mib: number;
  readonly cwd_untouched: boolean;
}

interface Run {
  readonly ms: number;
  /** CPU time of the hub process (all its threads; not the extractor or esbuild child processes) until the answer: load on a shared machine inflates it less than wall time. */
  readonly cpuMs: number;
  readonly rssMib?: number;
}

function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  // utime, stime, cutime, cstime: fields 14–17 of proc(5), 12–15 after the command.
  return fields.slice(11, 15).reduce((sum, ticks) => sum + Number(ticks), 0) * 10;
}

function rssMib(pid: number): number {
  return Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;
}

async function serveOnce(greeter: string, env: NodeJS.ProcessEnv, cwd: string, measureRss: boolean): Promise<Run> {
  const t0 = performance.now();
  const child = spawn(process.execPath, [join(root, 'bin/hub.js'), 'serve', greeter, '--port', '0'], {
    cwd,
    env,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  try {
    const url = await new Promise<string>((resolve, reject) => {
      child.once('exit', (code) => reject(new Error(`hub serve exited with ${code}`)));
      createInterface({ input: child.stdout! }).on('line', (line) => {
        const m = / on (ws:\/\/\S+)$/.exec(line);
        if (m) resolve(m[1]!);
      });
    });
    const client = await WireClient.open(url);
    await client.call('greeter.greet', { name: 'Ada' });
    const ms = performance.now() - t0;
    const cpu = cpuMs(child.pid!);
    client.close();
    if (!measureRss) return { ms, cpuMs: cpu };
    await new Promise((r) => setTimeout(r, 5000));
    return { ms, cpuMs: cpu, rssMib: rssMib(child.pid!) };
  } finally {
    child.kill('SIGKILL');
  }
}

export async function startBenchmark(runs: number, log: (line: string) => void = () => {}): Promise<StartFigures> {
  const cold: number[] = [];
  const warm: number[] = [];
  const rss: number[] = [];
  const coldCpu: number[] = [];
  const warmCpu: number[] = [];
  let untouched = true;
  for (let run = 0; run < runs; run++) {
    const scratch = mkdtempSync(join(tmpdir(), 'plexus-bench-start-'));
    try {
      const [cwd, home, cache, module] = ['cwd', 'home', 'cache', 'module'].map((d) => join(scratch, d));
      for (const d of [cwd, home, module]) mkdirSync(d);
      // A project with no package.json of its own whose node_modules has plexus-hub.
      copyFileSync(join(root, 'examples', 'greeter.ts'), join(module, 'greeter.ts'));
      mkdirSync(join(module, 'node_modules'));
      symlinkSync(root, join(module, 'node_modules', 'plexus-hub'), 'dir');
      const env: NodeJS.ProcessEnv = { ...process.env, HOME: home, PLEXUS_HUB_CACHE: cache };
      delete env.XDG_CACHE_HOME;
      const first = await serveOnce(join(module, 'greeter.ts'), env, cwd, true);
      const warmRuns: Run[] = [];
      for (let w = 0; w < WARM_PER_RUN; w++) warmRuns.push(await serveOnce(join(module, 'greeter.ts'), env, cwd, false));
      cold.push(first.ms);
      rss.push(first.rssMib!);
      coldCpu.push(first.cpuMs);
      for (const w of warmRuns) {
        warm.push(w.ms);
        warmCpu.push(w.cpuMs);
      }
      if (readdirSync(cwd).length > 0) untouched = false;
      log(
        `  run ${run + 1}/${runs} start: cold ${Math.round(first.ms)} ms, warm ${warmRuns.map((w) => Math.round(w.ms)).join('/')} ms, RSS ${first.rssMib!.toFixed(0)} MiB`,
      );
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  return {
    cold_ms: median(cold),
    warm_ms: median(warm),
    cold_cpu_ms: median(coldCpu),
    warm_cpu_ms: median(warmCpu),
    rss_5s_after_cold_mib: median(rss),
    cwd_untouched: untouched,
  };
}

export function formatStart(f: StartFigures): string {
  const mark = (ok: boolean) => (ok ? '✓' : '✗');
  return (
    `hub serve greeter.ts from an empty cwd and HOME: cold ${Math.round(f.cold_ms)} ms, hub CPU ${f.cold_cpu_ms} ms (goal ≤ ${START_GOALS.cold_ms} ${mark(f.cold_ms <= START_GOALS.cold_ms)}), ` +
    `warm ${Math.round(f.warm_ms)} ms, hub CPU ${f.warm_cpu_ms} ms (goal ≤ ${START_GOALS.warm_ms} ${mark(f.warm_ms <= START_GOALS.warm_ms)}), ` +
    `RSS 5 s after a cold start ${f.rss_5s_after_cold_mib.toFixed(0)} MiB (goal ≤ ${START_GOALS.rss_mib} ${mark(f.rss_5s_after_cold_mib <= START_GOALS.rss_mib)}), ` +
    `cwd ${f.cwd_untouched ? 'untouched ✓' : 'written to ✗'}`
  );
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const figures = await startBenchmark(Number(process.env.BENCH_RUNS ?? 3), (l) => process.stderr.write(`${l}\n`));
  console.log(formatStart(figures));
}
