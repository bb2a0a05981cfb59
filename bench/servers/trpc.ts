// tRPC v11 over WebSocket: a query and async-generator subscriptions.
import { initTRPC } from '@trpc/server';
import { applyWSSHandler } from '@trpc/server/adapters/ws';
import { WebSocketServer } from 'ws';

const t = initTRPC.create();
const input = <T>(v: unknown) => v as T;
export const router = t.router({
  once: t.procedure.input(input<{ message: string }>).query(({ input }) => ({ message: input.message, seq: 1 })),
  items: t.procedure.input(input<{ count: number }>).subscription(async function* ({ input }) {
    for (let i = 0; i < input.count; i++) yield { i };
  }),
  flood: t.procedure.input(input<{ size: number }>).subscription(async function* ({ input }) {
    const chunk = 'x'.repeat(input.size);
    for (;;) yield chunk;
  }),
});
export type Router = typeof router;

const wss = new WebSocketServer({ port: Number(process.argv[2] ?? 0), host: '127.0.0.1' });
applyWSSHandler({ wss, router });
wss.on('listening', () => console.log(`READY ${(wss.address() as { port: number }).port}`));
