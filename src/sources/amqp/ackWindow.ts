// Which deliveries of one channel may be acknowledged. Messages finish out of order (each run's
// appends are their own chain, a dead letter waits for its own confirm), but one `ack` with
// `multiple` covers every tag up to it, so only the finished prefix of the delivery order is acked.

export class AckWindow {
  /** Tags in delivery order, not yet acknowledged; `head` indexes the first. */
  private tags: number[] = [];
  private head = 0;
  private readonly finished = new Set<number>();
  /** Highest tag acknowledged to the broker. */
  acked = 0;

  /** A delivery arrived (tags grow by one per delivery on a channel). */
  add(tag: number): void {
    this.tags.push(tag);
  }

  /** The message is safe (durable in the store, or dead-lettered and confirmed). */
  finish(tag: number): void {
    this.finished.add(tag);
  }

  /** The highest tag whose predecessors all finished, if it moved since the last call; else undefined. */
  advance(): number | undefined {
    let upTo: number | undefined;
    while (this.head < this.tags.length && this.finished.has(this.tags[this.head])) {
      upTo = this.tags[this.head];
      this.finished.delete(upTo);
      this.head++;
    }
    if (this.head > 1024 && this.head * 2 > this.tags.length) {
      this.tags = this.tags.slice(this.head);
      this.head = 0;
    }
    if (upTo !== undefined) this.acked = upTo;
    return upTo;
  }

  /** Deliveries received and not acknowledged yet. */
  get pending(): number {
    return this.tags.length - this.head;
  }
}
