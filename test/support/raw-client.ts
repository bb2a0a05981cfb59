/**
 * A raw WebSocket client written against the spec, not our client: it keeps the
 * exact frames it received and waits on them, so a test sees the wire as it is.
 */
import WebSocket, { type ClientOptions } from 'ws';

export class RawClient {
  readonly frames: any[] = [];
  #nextId = 1;
  #waiters: (() => void)[] = [];

  constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      this.frames.push(JSON.parse(data.toString()));
      this.#waiters.splice(0).forEach((w) => w());
    });
  }

  /** Connects; a subclass's `open` returns the subclass. */
  static async open<T extends RawClient>(this: new (ws: WebSocket) => T, url: string, options?: ClientOptions): Promise<T> {
    const ws = new WebSocket(url, options);
    await new Promise((r, j) => (ws.once('open', r), ws.once('error', j)));
    return new this(ws);
  }

  /** Sends a message as JSON, or a string as it is (for malformed frames). */
  send(msg: unknown): void {
    this.ws.send(typeof msg === 'string' ? msg : JSON.stringify(msg));
  }

  /**
   * The first frame matching `pred`, received already or within `ms` (a ceiling for a
   * loaded machine: the wait ends with the frame).
   */
  async waitFor(pred: (f: any) => boolean, ms = 15_000): Promise<any> {
    const until = Date.now() + ms;
    for (;;) {
      const f = this.frames.find(pred);
      if (f) return f;
      const left = until - Date.now();
      if (left <= 0) throw new Error(`no matching frame; got ${JSON.stringify(this.frames).slice(0, 800)}`);
      // Woken by the next frame; the timer only bounds the wait.
      await new Promise<void>((r) => {
        const timer = setTimeout(r, left);
        this.#waiters.push(() => (clearTimeout(timer), r()));
      });
    }
  }

  /** The response (result or error) to request `id`. */
  response(id: number | string | null): Promise<any> {
    return this.waitFor((f) => 'id' in f && f.id === id && ('result' in f || 'error' in f));
  }

  /** Sends a request with the next id and resolves with its response. */
  request(method: string, params?: unknown): Promise<any> {
    const id = this.#nextId++;
    this.send({ jsonrpc: '2.0', id, method, ...(params === undefined ? {} : { params }) });
    return this.response(id);
  }

  /** Calls `path` and resolves with the subscription id. */
  async call(path: string, params?: unknown): Promise<number> {
    return (await this.request('plexus.call', { method: path, params })).result;
  }

  /** The first item of subscription `sub` of type `type`. */
  item(sub: number, type: string): Promise<any> {
    return this.waitFor((f) => f.params?.subscription === sub && f.params.result.type === type).then((f) => f.params.result);
  }

  /** The items of subscription `sub` received so far. */
  items(sub: number): any[] {
    return this.frames.filter((f) => f.params?.subscription === sub).map((f) => f.params.result);
  }

  /** The items of subscription `sub`, once its terminal item (done or error) arrived. */
  async itemsToEnd(sub: number, ms?: number): Promise<any[]> {
    await this.waitFor((f) => f.params?.subscription === sub && (f.params.result.type === 'done' || f.params.result.type === 'error'), ms);
    return this.items(sub);
  }

  close(): void {
    this.ws.close();
  }
}
