// Time to first token: cone.chat through the hub (WebSocket → cone → provider HTTP →
// back) against the same provider adapter calling the fake provider directly from the
// bench process. The fake provider and the hub each run in their own process; samples
// alternate direct/hub so drift hits both alike.
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { LlmRegistry } from '../activations/cone/llm/registry.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const KEY = 'sk-bench-not-a-real-key';

interface Child {
  readonly port: number;
  stop(): Promise<void>;
}

function spawnReady(args: string[], env: NodeJS.ProcessEnv, ready: RegExp): Promise<Child> {
  const child: ChildProcess = spawn(process.execPath, args, {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout! });
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`${args.join(' ')} exited with ${code}`)));
    lines.on('line', (line) => {
      const m = ready.exec(line);
      if (!m) return;
      resolve({
        port: Number(m[1]),
        stop: () =>
          new Promise<void>((r) => {
            if (child.exitCode !== null) return r();
            child.once('exit', () => r());
            child.kill('SIGKILL');
          }),
      });
    });
  });
}

/** A bare WebSocket client: sends cone.chat, resolves the time to the first chat_content, then waits for done. */
class ChatClient {
  #id = 1;
  readonly #pending = new Map<number, (sub: number) => void>();
  readonly #subs = new Map<number, (item: { type: string; content?: { type?: string } }) => void>();
  readonly #early = new Map<number, unknown[]>();

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      const msg = JSON.parse(data.toString()) as { id?: number; result?: unknown; params?: { subscription: number; result: never } };
      if (msg.id !== undefined) {
        this.#pending.get(msg.id)?.(msg.result as number);
        this.#pending.delete(msg.id);
      } else if (msg.params) {
        const on = this.#subs.get(msg.params.subscription);
        if (on) on(msg.params.result);
        else this.#early.set(msg.params.subscription, [...(this.#early.get(msg.params.subscription) ?? []), msg.params.result]);
      }
    });
  }

  static async open(port: number): Promise<ChatClient> {
    const ws = new WebSocket(`ws://127.0.0.1:${port}`, { perMessageDeflate: false });
    await new Promise((resolve, reject) => (ws.once('open', resolve), ws.once('error', reject)));
    return new ChatClient(ws);
  }

  /** Milliseconds from sending the call to the first chat_content item. */
  call(method: string, params: unknown): Promise<{ firstTokenMs: number; done: Promise<void> }> {
    const t0 = performance.now();
    const id = this.#id++;
    return new Promise((resolveFirst, reject) => {
      let resolveDone!: () => void;
      const done = new Promise<void>((r) => (resolveDone = r));
      let first = false;
      const onItem = (item: { type: string; content?: { type?: string }; message?: string }) => {
        if (!first && item.type === 'data' && (item.content?.type === 'chat_content' || method !== 'cone.chat')) {
          first = true;
          resolveFirst({ firstTokenMs: performance.now() - t0, done });
        }
        if (item.type === 'error') reject(new Error(`${method}: ${item.message}`));
        if (item.type === 'done') {
          if (!first) resolveFirst({ firstTokenMs: NaN, done });
          resolveDone();
        }
      };
      this.#pending.set(id, (sub) => {
        this.#subs.set(sub, onItem);
        for (const item of this.#early.get(sub) ?? []) onItem(item as never);
        this.#early.delete(sub);
      });
      this.ws.send(JSON.stringify({ jsonrpc: '2.0', id, method: 'plexus.call', params: { method, params } }));
    });
  }

  close(): void {
    this.ws.close();
  }
}

const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((xs.length * p) / 100))]!;

export interface TtftResult {
  readonly format: 'anthropic' | 'openai';
  readonly samples: number;
  readonly direct_ms: { p50: number; p90: number; p99: number };
  readonly hub_ms: { p50: number; p90: number; p99: number };
  /** hub p50 − direct p50. */
  readonly added_p50_ms: number;
  readonly raw: { direct: number[]; hub: number[] };
}

/** Runs the comparison for both wire formats; `samples` chats each way per format. */
export async function coneTtftBenchmark(
  samples = Number(process.env.BENCH_TTFT_SAMPLES ?? 300),
  log: (line: string) => void = () => {},
): Promise<TtftResult[]> {
  const fake = await spawnReady(
    ['--import', 'tsx', 'test/support/fake-llm-server.ts', '0'],
    { FAKE_LLM_DELAY_MS: '0' },
    /on http:\/\/[^:]+:(\d+)/,
  );
  const env = {
    ANTHROPIC_BASE_URL: `http://127.0.0.1:${fake.port}`,
    ANTHROPIC_API_KEY: KEY,
    OPENAI_BASE_URL: `http://127.0.0.1:${fake.port}/v1`,
    OPENAI_API_KEY: KEY,
  };
  const hub = await spawnReady(['--import', 'tsx', 'bench/servers/cone.ts', '0'], env, /READY (\d+)/);
  const client = await ChatClient.open(hub.port);
  const llm = new LlmRegistry({ env });
  const out: TtftResult[] = [];
  try {
    for (const format of ['openai', 'anthropic'] as const) {
      const model = format === 'openai' ? 'gpt-4o-mini' : 'claude-3-haiku-20240307';
      // Each timed chat goes to a fresh cone with two turns of history (made untimed), so
      // every sample does the same work: read a 5-node context path, store the user turn,
      // call the provider. (Chatting on one cone instead would grow its path, or with
      // ephemeral chats pile children on its head, and measure that growth.)
      let seq = 0;
      const freshCone = async (): Promise<string> => {
        const name = `bench-${format}-${seq++}`;
        await (await client.call('cone.create', { name, model_id: model, system_prompt: 'You are a benchmark.' })).done;
        for (let i = 0; i < 2; i++)
          await (await client.call('cone.chat', { identifier: { type: 'by_name', name }, prompt: `turn ${i}` })).done;
        return name;
      };
      const resolved = llm.resolve(model);
      const provider = llm.provider(resolved.service);
      const history = [
        { role: 'user' as const, content: 'turn 0' },
        { role: 'assistant' as const, content: 'You said: turn 0' },
        { role: 'user' as const, content: 'turn 1' },
        { role: 'assistant' as const, content: 'You said: turn 1' },
      ];
      const direct = async (): Promise<number> => {
        const t0 = performance.now();
        let first = NaN;
        for await (const e of provider.stream({
          model: resolved.model,
          system: 'You are a benchmark.',
          messages: [...history, { role: 'user', content: 'how fast?' }],
        })) {
          if (e.type === 'content' && Number.isNaN(first)) first = performance.now() - t0;
        }
        return first;
      };
      const viaHub = async (): Promise<number> => {
        const name = await freshCone();
        const r = await client.call('cone.chat', { identifier: { type: 'by_name', name }, prompt: 'how fast?' });
        await r.done;
        return r.firstTokenMs;
      };
      for (let i = 0; i < 50; i++) await Promise.all([direct(), viaHub()]);
      const d: number[] = [];
      const h: number[] = [];
      for (let i = 0; i < samples; i++) {
        if (i % 2 === 0) {
          d.push(await direct());
          h.push(await viaHub());
        } else {
          h.push(await viaHub());
          d.push(await direct());
        }
      }
      const stats = (xs: number[]) => ({ p50: pct(xs, 50), p90: pct(xs, 90), p99: pct(xs, 99) });
      const result: TtftResult = {
        format,
        samples,
        direct_ms: stats(d),
        hub_ms: stats(h),
        added_p50_ms: pct(h, 50) - pct(d, 50),
        raw: { direct: d, hub: h },
      };
      log(
        `  cone ttft ${format}: direct p50 ${result.direct_ms.p50.toFixed(3)} ms, hub p50 ${result.hub_ms.p50.toFixed(3)} ms, added ${result.added_p50_ms.toFixed(3)} ms`,
      );
      out.push(result);
    }
  } finally {
    client.close();
    await hub.stop();
    await fake.stop();
  }
  return out;
}

// `node --import tsx bench/cone-ttft.ts`: this benchmark alone.
if (import.meta.url === `file://${process.argv[1]}`) {
  const results = await coneTtftBenchmark(undefined, (l) => process.stderr.write(`${l}\n`));
  for (const r of results) {
    console.log(
      `cone.chat time to first token (${r.format}, ${r.samples} chats): direct p50 ${r.direct_ms.p50.toFixed(3)} / p99 ${r.direct_ms.p99.toFixed(3)} ms; through the hub p50 ${r.hub_ms.p50.toFixed(3)} / p99 ${r.hub_ms.p99.toFixed(3)} ms; added ${r.added_p50_ms.toFixed(3)} ms (target < 2 ms ${r.added_p50_ms < 2 ? '✓' : '✗'})`,
    );
  }
}
