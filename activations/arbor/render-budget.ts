import { ArborError } from './errors.js';

/** Default cap on the bytes of `tree_render` output in progress at once (all renders together). */
export const DEFAULT_MAX_RENDER_BYTES = 16 * 1024 * 1024;

const mib = (bytes: number) => `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;

/**
 * The bytes of `tree_render` output that renders in progress may hold together. A
 * render reserves its size line by line while it plans (before building anything)
 * and gives it back when it has returned, so concurrent renders share one cap.
 */
export class RenderBudget {
  #inUse = 0;

  constructor(readonly capBytes: number = DEFAULT_MAX_RENDER_BYTES) {
    if (!Number.isInteger(capBytes) || capBytes < 1) throw new RangeError(`render cap must be a positive integer, got ${capBytes}`);
  }

  /** Takes `bytes` more if they fit under the cap; false (and nothing taken) if not. */
  tryTake(bytes: number): boolean {
    if (this.#inUse + bytes > this.capBytes) return false;
    this.#inUse += bytes;
    return true;
  }

  /** The `arbor.render_too_large` error for a render of `size` bytes, refused while other renders held `others`. */
  refusal(size: number, others: number): ArborError {
    const cap = `${this.capBytes}-byte cap (${mib(this.capBytes)})`;
    return new ArborError({
      kind: 'render_too_large',
      message:
        size <= this.capBytes
          ? `tree_render: the render is ${size} bytes (${mib(size)}), but concurrent renders hold ${others} bytes of the ${cap}; try again later`
          : `tree_render: the render would be ${size} bytes (${mib(size)}), over the ${cap}`,
    });
  }

  release(bytes: number): void {
    this.#inUse -= bytes;
  }

  /** Bytes held by renders in progress. */
  get inUse(): number {
    return this.#inUse;
  }
}
