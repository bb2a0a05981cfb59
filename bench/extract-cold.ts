// One cold schema extraction of the README's greeter alone (`extractClasses` of the
// compiled dist/, as the hub's extractor process runs it), in a fresh process per run:
// wall and CPU time from the call to its answer (the compiler's load is not counted),
// and the program it read. The greeter sits in a project whose node_modules/plexus-hub
// is a symlink to this repository, as in bench/start.ts. Run `npm run build` first.
// Run: node --import tsx bench/extract-cold.ts [runs]   (default 7)
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

interface Run {
  readonly ms: number;
  readonly cpuMs: number;
  readonly program: unknown;
}

async function child(greeter: string): Promise<void> {
  const { extractClasses } = (await import(
    pathToFileURL(join(root, 'dist', 'src', 'schema', 'extract.js')).href
  )) as typeof import('../src/schema/extract.js');
  const cpu = process.cpuUsage();
  const t0 = performance.now();
  const result = extractClasses([{ className: 'Greeter', sourceFile: greeter, methodKeys: ['greet'] }]);
  const ms = performance.now() - t0;
  const used = process.cpuUsage(cpu);
  console.log(JSON.stringify({ ms, cpuMs: (used.user + used.system) / 1000, program: result.program } satisfies Run));
}

function main(runs: number): void {
  const scratch = mkdtempSync(join(tmpdir(), 'plexus-bench-extract-'));
  try {
    const greeter = join(scratch, 'greeter.ts');
    copyFileSync(join(root, 'examples', 'greeter.ts'), greeter);
    mkdirSync(join(scratch, 'node_modules'));
    symlinkSync(root, join(scratch, 'node_modules', 'plexus-hub'), 'dir');
    const results: Run[] = [];
    for (let i = 0; i < runs; i++) {
      const out = execFileSync(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--child', greeter], {
        encoding: 'utf8',
      });
      results.push(JSON.parse(out.trim().split('\n').at(-1)!) as Run);
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    console.log(
      `extractClasses(greeter), ${runs} fresh processes: median ${Math.round(median(results.map((r) => r.ms)))} ms wall, ` +
        `${Math.round(median(results.map((r) => r.cpuMs)))} ms CPU; program ${JSON.stringify(results[0]!.program)}; ` +
        `load average ${loadavg()
          .map((l) => l.toFixed(2))
          .join(' ')}`,
    );
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

if (process.argv[2] === '--child') await child(process.argv[3]!);
else main(Number(process.argv[2] ?? 7));
