/** Live memory for the limits benches: heap + external after two full GCs (run with `node --expose-gc`). */
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc');
const collect = gc;

export const MiB = 1024 * 1024;
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function live(): Promise<number> {
  await sleep(300);
  collect();
  await sleep(50);
  collect();
  const m = process.memoryUsage();
  return m.heapUsed + m.external;
}
