// What the MLflow backend remembers per Runwatch run, in one small JSON file each:
// the MLflow run it maps to and how far into the run's log MLflow holds everything.
//
// Every save is durable (fsync of the file and of its folder around the rename).
// The state says what MLflow already holds; if a power cut brought back an older
// state while the hub's cursor had not moved past the batch, the batch would be
// sent again from that older point and MLflow, which does not de-duplicate metric
// points, would hold them twice. One save follows each log-batch request (up to
// 1,000 points), so the fsyncs cost little next to the request (measured with
// bench/mlflow.bench.ts).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeFileAtomicSync } from '../../common/atomicWrite';

export interface RunState {
  trackingUri: string;
  experimentId: string;
  mlflowRunId: string;
  artifactUri: string;
  /** Highest record offset fully written (-1: none). */
  offset: number;
  /** A record written only in part: its offset and how many of its operations are done. */
  partial?: { offset: number; done: number };
  /** Params already in MLflow: MLflow refuses to change a param, so a changed value is reported, not sent. */
  params: Record<string, string>;
  /** Whether `mlflow.parentRunId` is set (a child delivered before its parent is linked when the parent's run is made). */
  parentLinked?: boolean;
}

/** The states of one tracking server's runs, cached in memory after the first read. */
export class RunStates {
  private readonly states = new Map<string, RunState>();

  /** `dir` is this server's folder: pointing the backend at another server starts afresh there. */
  constructor(
    private readonly dir: string,
    private readonly trackingUri: string,
  ) {
    fs.mkdirSync(dir, { recursive: true });
  }

  get(runId: string): RunState | undefined {
    let st = this.states.get(runId);
    if (!st) {
      st = readJson<RunState>(this.file(runId));
      if (st && st.trackingUri !== this.trackingUri) st = undefined;
      if (st) this.states.set(runId, st);
    }
    return st;
  }

  save(runId: string, st: RunState): void {
    writeFileAtomicSync(this.file(runId), JSON.stringify(st), { durable: true });
    this.states.set(runId, st);
  }

  /**
   * Children whose MLflow run was made before their parent's, by parent: the parent's run,
   * once made, links them (a child may have no record left to send by then). One small file
   * per child, holding its id, so a restart in between still links them.
   */
  awaitParent(parentId: string, childId: string): void {
    const dir = this.waitingDir(parentId);
    fs.mkdirSync(dir, { recursive: true });
    writeFileAtomicSync(path.join(dir, safeName(childId)), childId, { durable: true });
  }

  /** The children waiting for `parentId`'s MLflow run. */
  waitingFor(parentId: string): string[] {
    const dir = this.waitingDir(parentId);
    let names: string[];
    try {
      names = fs.readdirSync(dir);
    } catch {
      return [];
    }
    return names.flatMap((n) => {
      try {
        return [fs.readFileSync(path.join(dir, n), 'utf8')];
      } catch {
        return [];
      }
    });
  }

  linked(parentId: string, childId: string): void {
    fs.rmSync(path.join(this.waitingDir(parentId), safeName(childId)), { force: true });
  }

  private waitingDir(parentId: string): string {
    return path.join(this.dir, 'waiting-for-parent', safeName(parentId));
  }

  private file(runId: string): string {
    return path.join(this.dir, `${safeName(runId)}.json`);
  }
}

function safeName(runId: string): string {
  return runId.replace(/[^A-Za-z0-9_-]/g, '_');
}

function readJson<T>(file: string): T | undefined {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as T;
  } catch {
    return undefined;
  }
}
