/**
 * Knows, for every record pushed into the router, how many deliveries are still open, and the
 * longest prefix of records that are completely handled (delivered, dead-lettered or dropped).
 * That prefix is what makes a source checkpoint safe to commit.
 *
 * @packageDocumentation
 */

interface Waiter {
  position: number;
  resolve: () => void;
  reject: (error: unknown) => void;
}

/**
 * Tracks open deliveries per record sequence number (1, 2, 3, ...).
 *
 * @example
 * ```ts
 * const acks = new AckTracker();
 * const seq = acks.open(2);   // a record going to two destinations
 * acks.done(seq); acks.done(seq);
 * acks.acknowledged;          // 1
 * ```
 */
export class AckTracker {
  #pushed = 0;
  #acknowledged = 0;
  readonly #pending = new Map<number, number>();
  #waiters: Waiter[] = [];
  #failure: unknown;

  /** Records registered so far. */
  get pushed(): number {
    return this.#pushed;
  }

  /** Length of the prefix of records that are completely handled. */
  get acknowledged(): number {
    return this.#acknowledged;
  }

  /** Records with open deliveries. */
  get openRecords(): number {
    return this.#pending.size;
  }

  /** Registers the next record with `deliveries` open deliveries; returns its sequence number. */
  open(deliveries: number): number {
    const seq = ++this.#pushed;
    if (deliveries > 0) this.#pending.set(seq, deliveries);
    else this.#advance();
    return seq;
  }

  /** Adds deliveries to a record that is still open (e.g. a dead letter after a failure). */
  add(seq: number, deliveries: number): void {
    const left = this.#pending.get(seq);
    if (left === undefined) throw new Error(`record #${seq} is already acknowledged`);
    this.#pending.set(seq, left + deliveries);
  }

  /** Closes one delivery of record `seq`. */
  done(seq: number, deliveries = 1): void {
    const left = this.#pending.get(seq);
    if (left === undefined) throw new Error(`record #${seq} has no open delivery`);
    if (left > deliveries) this.#pending.set(seq, left - deliveries);
    else {
      this.#pending.delete(seq);
      if (seq === this.#acknowledged + 1) this.#advance();
    }
  }

  /** Resolves when every record up to `position` is handled; rejects once {@link fail} is called. */
  until(position: number): Promise<void> {
    if (this.#failure !== undefined) return Promise.reject(this.#failure);
    if (position <= this.#acknowledged) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.#waiters.push({ position, resolve, reject });
      this.#waiters.sort((a, b) => a.position - b.position);
    });
  }

  /** Rejects every waiter, now and later, with `error`. */
  fail(error: unknown): void {
    if (this.#failure !== undefined) return;
    this.#failure = error;
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) w.reject(error);
  }

  #advance(): void {
    while (this.#acknowledged < this.#pushed && !this.#pending.has(this.#acknowledged + 1))
      this.#acknowledged++;
    while (this.#waiters.length > 0 && this.#waiters[0]!.position <= this.#acknowledged)
      this.#waiters.shift()!.resolve();
  }
}
