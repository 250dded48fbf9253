// The runtime the views look at, which can be replaced while they are open: a window
// that only reads another window's store becomes the writer when that window goes
// away. Views, the API and the status bar hold these facades, never a RunStore or a
// SeriesStore directly, and their listeners move to the new runtime with it.
import type { RunEvent, RunRecord, RunSummary } from '../api/types';
import type { Disposable } from '../common/disposable';
import type { CollectorInfo, CollectorState } from '../collector/collector';
import type { LatestPoint, SeriesQuery, SeriesSlice } from '../store/series';
import type { Runtime } from './runtime';

type Listener<A extends unknown[]> = (...args: A) => void;
type EventOf<A extends unknown[]> = (listener: Listener<A>) => Disposable;

/** An event of whichever runtime is current; listeners stay subscribed across a swap. */
class Forwarded<A extends unknown[]> {
  private readonly listeners = new Set<Listener<A>>();
  private inner?: Disposable;

  constructor(private readonly pick: (rt: Runtime) => EventOf<A> | undefined) {}

  readonly event: EventOf<A> = (listener) => {
    this.listeners.add(listener);
    return { dispose: () => this.listeners.delete(listener) };
  };

  attach(rt: Runtime | undefined): void {
    this.inner?.dispose();
    this.inner = rt && this.pick(rt)?.((...args: A) => this.fire(...args));
  }

  fire(...args: A): void {
    for (const l of [...this.listeners]) {
      try {
        l(...args);
      } catch (err) {
        console.error('runwatch: a listener of the current runtime threw:', err);
      }
    }
  }

  dispose(): void {
    this.inner?.dispose();
    this.listeners.clear();
  }
}

const NOT_OPEN = 'the run store is not open';

export class CurrentRuntime implements Disposable {
  private rt?: Runtime;
  private readonly events = {
    runChanged: new Forwarded<[RunSummary]>((rt) => (l) => rt.store.onDidChangeRun(l)),
    runDeleted: new Forwarded<[string]>((rt) => (l) => rt.store.onDidDeleteRun(l)),
    appended: new Forwarded<[string, RunRecord[]]>((rt) => (l) => rt.store.onDidAppend(l)),
    seriesChanged: new Forwarded<[string, string[]]>((rt) => rt.series && ((l) => rt.series!.onDidChange(l))),
    collectorState: new Forwarded<[CollectorState]>((rt) => (l) => rt.onDidChangeCollectorState(l)),
    address: new Forwarded<[CollectorInfo | undefined]>((rt) => (l) => rt.onDidChangeAddress(l)),
  };

  get runtime(): Runtime | undefined {
    return this.rt;
  }

  /** Points every facade at `rt`; views repaint as if every run had changed. */
  set(rt: Runtime): void {
    this.rt = rt;
    for (const e of Object.values(this.events)) e.attach(rt);
    for (const run of rt.store.listRuns()) this.events.runChanged.fire(run);
    this.events.collectorState.fire(this.collectorState);
    this.events.address.fire(rt.address);
  }

  private need(): Runtime {
    if (!this.rt) throw new Error(NOT_OPEN);
    return this.rt;
  }

  get collectorState(): CollectorState {
    return this.rt?.collectorState ?? { port: 0, clients: 0, liveRuns: 0 };
  }

  /** The store as views use it (RunStoreLike in src/ui/deps.ts, RunEvents in src/api/api.ts). */
  readonly store = ((need: () => Runtime, cur: () => Runtime | undefined) => ({
    get dir(): string {
      return need().store.dir;
    },
    runDir: (runId: string) => need().store.runDir(runId),
    listRuns: (): RunSummary[] => cur()?.store.listRuns() ?? [],
    getRun: (runId: string): RunSummary | undefined => cur()?.store.getRun(runId),
    deleteRun: (runId: string) => need().store.deleteRun(runId),
    renameRun: (runId: string, name: string) => need().store.renameRun(runId, name),
    /** Tag edits from the views (src/ui/tags.ts); a reader store refuses with a clear error. */
    append: (runId: string, items: { event: RunEvent }[]) => need().store.append(runId, items),
    onDidChangeRun: this.events.runChanged.event,
    onDidDeleteRun: this.events.runDeleted.event,
    onDidAppend: (l: (runId: string) => void) => this.events.appended.event((runId) => l(runId)),
  }))(
    () => this.need(),
    () => this.rt,
  );

  /** The series cache as views use it (SeriesLike in src/ui/deps.ts). */
  readonly series = {
    keys: (runId: string): string[] => this.rt?.series?.keys(runId) ?? [],
    latest: (runId: string, key: string): LatestPoint | undefined => this.rt?.series?.latest(runId, key),
    extremes: (runId: string, key: string): [number, number] | undefined => this.rt?.series?.extremes(runId, key),
    query: (q: SeriesQuery): Promise<SeriesSlice> => {
      const s = this.rt?.series;
      return s ? s.query(q) : Promise.reject(new Error(NOT_OPEN));
    },
    onDidChange: this.events.seriesChanged.event,
  };

  /** The collector's state across restarts (CollectorLike in src/ui/deps.ts). */
  readonly collector = ((state: () => CollectorState) => ({
    get state(): CollectorState {
      return state();
    },
    onDidChangeState: this.events.collectorState.event,
  }))(() => this.collectorState);

  /** The collector's address after each (re)start, or undefined when it stopped. */
  readonly onDidChangeAddress = this.events.address.event;

  dispose(): void {
    for (const e of Object.values(this.events)) e.dispose();
  }
}
