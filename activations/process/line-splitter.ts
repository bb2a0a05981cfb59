import { StringDecoder } from 'node:string_decoder';

/**
 * Cuts a byte stream into text lines. `\n` ends a line and a `\r` before it is
 * dropped; invalid UTF-8 becomes U+FFFD instead of ending the stream. A multi-byte
 * character split across chunks is kept whole.
 */
export class LineSplitter {
  readonly #decoder = new StringDecoder('utf8');
  #pending = '';

  /** The lines this chunk completes. */
  push(chunk: Buffer): string[] {
    const text = this.#pending + this.#decoder.write(chunk);
    const lines = text.split('\n');
    this.#pending = lines.pop()!;
    return lines.map(stripCr);
  }

  /** The unterminated last line, if the stream ended without a newline. */
  flush(): string | undefined {
    const rest = this.#pending + this.#decoder.end();
    this.#pending = '';
    return rest === '' ? undefined : stripCr(rest);
  }
}

function stripCr(line: string): string {
  return line.endsWith('\r') ? line.slice(0, -1) : line;
}
