/**
 * A first-in first-out queue with O(1) `shift`. One pipe chunk can complete tens of
 * thousands of (empty) lines at once; `Array.prototype.shift` on an array that long
 * copies it on every call, which made draining a burst quadratic.
 */
export class Fifo<T> {
  #items: T[] = [];
  #head = 0;

  get length(): number {
    return this.#items.length - this.#head;
  }

  push(item: T): void {
    this.#items.push(item);
  }

  shift(): T | undefined {
    if (this.#head === this.#items.length) return undefined;
    const item = this.#items[this.#head]!;
    this.#items[this.#head++] = undefined as T; // let it be collected
    // Drop the consumed front once it is most of the array, so memory follows the length.
    if (this.#head >= 1024 && this.#head * 2 >= this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
    return item;
  }
}
