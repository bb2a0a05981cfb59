/**
 * Splits a byte stream into lines with a length limit that applies while reading,
 * before a line is buffered whole: the bytes of an overlong line are dropped as
 * they arrive (and reported once), so 600 MB without a newline cost nothing.
 * (readline buffers the whole line first, which ends in `Invalid string length`.)
 */
export class LineReader {
  #pending: Buffer[] = [];
  #pendingBytes = 0;
  /** Inside an overlong line: drop bytes up to its newline. */
  #skipping = false;

  constructor(
    private readonly maxBytes: number,
    private readonly onLine: (line: string) => void,
    private readonly onOversize: () => void,
  ) {}

  push(chunk: Buffer): void {
    let start = 0;
    for (;;) {
      const newline = chunk.indexOf(0x0a, start);
      const end = newline < 0 ? chunk.length : newline;
      if (this.#skipping) {
        if (newline < 0) return;
        this.#skipping = false;
      } else if (this.#pendingBytes + (end - start) > this.maxBytes) {
        this.#pending = [];
        this.#pendingBytes = 0;
        this.onOversize();
        if (newline < 0) {
          this.#skipping = true;
          return;
        }
      } else if (newline < 0) {
        if (end > start) {
          this.#pending.push(chunk.subarray(start, end));
          this.#pendingBytes += end - start;
        }
        return;
      } else {
        this.#emit(chunk.subarray(start, end));
      }
      start = newline + 1;
    }
  }

  /** The input ended: a last line without a newline still counts. */
  end(): void {
    if (!this.#skipping && this.#pendingBytes > 0) this.#emit(Buffer.alloc(0));
    this.#pending = [];
    this.#pendingBytes = 0;
  }

  #emit(tail: Buffer): void {
    const bytes = this.#pending.length === 0 ? tail : Buffer.concat([...this.#pending, tail]);
    this.#pending = [];
    this.#pendingBytes = 0;
    let line = bytes.toString('utf8');
    if (line.endsWith('\r')) line = line.slice(0, -1);
    this.onLine(line);
  }
}
