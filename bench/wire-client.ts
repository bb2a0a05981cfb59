import WebSocket from 'ws';

const NOTE_PREFIX = '{"jsonrpc":"2.0","method":"result","params":{"subscription":';

/**
 * A minimal Plexus RPC client for the benchmark, used against both plexus-hub and
 * the bare ws baseline so both sides pay the same client cost.
 */
export class WireClient {
  #nextId = 1;
  readonly #requests = new Map<number, (sub: number) => void>();
  readonly #subs = new Map<number, { items: number; done: (items: number) => void }>();
  readonly #early = new Map<number, unknown[]>();

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => this.#receive(data.toString()));
  }

  static async open(url: string, headers: Record<string, string> = {}): Promise<WireClient> {
    // The client must not be the bottleneck when measuring servers: skip UTF-8 validation.
    const ws = new WebSocket(url, { perMessageDeflate: false, skipUTF8Validation: true, headers });
    await new Promise((resolve, reject) => (ws.once('open', resolve), ws.once('error', reject)));
    return new WireClient(ws);
  }

  /** Resolves with the number of data items once the stream is done. */
  call(method: string, params: unknown): Promise<number> {
    const id = this.#nextId++;
    return new Promise((done) => {
      this.#requests.set(id, (sub) => {
        this.#subs.set(sub, { items: 0, done });
        for (const item of this.#early.get(sub) ?? []) this.#item(sub, item as { type: string });
        this.#early.delete(sub);
      });
      this.ws.send(JSON.stringify({ jsonrpc: '2.0', id, method: 'plexus.call', params: { method, params } }));
    });
  }

  #item(sub: number, item: { type: string }): void {
    const s = this.#subs.get(sub)!;
    if (item.type === 'data') s.items++;
    else if (item.type === 'done' || item.type === 'error') {
      this.#subs.delete(sub);
      s.done(s.items);
    }
  }

  #receive(text: string): void {
    // Item notifications are most of the traffic: read the subscription id and the
    // item type without parsing the whole message, so the client is not the bottleneck.
    if (text.startsWith(NOTE_PREFIX)) {
      const end = text.indexOf(',', NOTE_PREFIX.length);
      const sub = Number(text.slice(NOTE_PREFIX.length, end));
      const at = text.indexOf('"type":"', end) + 8;
      const item = { type: text.slice(at, text.indexOf('"', at)) };
      if (this.#subs.has(sub)) this.#item(sub, item);
      else this.#early.set(sub, [...(this.#early.get(sub) ?? []), item]);
      return;
    }
    const msg = JSON.parse(text);
    if (msg.params?.subscription !== undefined) {
      const sub = msg.params.subscription as number;
      if (this.#subs.has(sub)) this.#item(sub, msg.params.result);
      else this.#early.set(sub, [...(this.#early.get(sub) ?? []), msg.params.result]);
    } else if (typeof msg.id === 'number') {
      const r = this.#requests.get(msg.id);
      this.#requests.delete(msg.id);
      r?.(msg.result);
    }
  }

  close(): void {
    this.ws.close();
  }
}
