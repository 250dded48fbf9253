// Groups the deliveries of one event-loop turn by run, so a burst of messages becomes one store
// append per run (one write, one sync) instead of one per message; order within a run is kept.
import type { RunEvent } from '../../api/types';

export interface Delivered {
  seq: number;
  event: RunEvent;
  /** The delivery tag, acknowledged once the append resolves. */
  tag: number;
  /** The message body, checked: a metrics message is stored as received (no second serialisation). */
  text?: string;
}

export class RunBatcher {
  private pending = new Map<string, Delivered[]>();
  private scheduled = false;

  constructor(private readonly flushRun: (runId: string, items: Delivered[]) => void) {}

  add(runId: string, item: Delivered): void {
    let list = this.pending.get(runId);
    if (!list) this.pending.set(runId, (list = []));
    list.push(item);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.flush());
    }
  }

  flush(): void {
    this.scheduled = false;
    const batches = this.pending;
    this.pending = new Map();
    for (const [runId, items] of batches) this.flushRun(runId, items);
  }
}
