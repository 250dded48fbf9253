// What the Backends view, the status bar and `checkHealth` show: one status per
// chosen backend and per known source or processor, shaped from the hub's state,
// and a coalesced change signal (during ingest every delivered batch changes the
// numbers; views need them a few times a second at most).
import type { HealthStatus } from '../api/types';
import { Emitter } from '../common/emitter';
import type { BreakerState } from './resilience';
import type { SinkStats } from './sinkRunner';

export interface BackendStatus {
  id: string;
  displayName: string;
  healthy: boolean;
  details: string;
  /** Records in the run log not yet delivered to this backend. */
  lag: number;
  /** Records read ahead and waiting in memory. */
  queueDepth: number;
  lastError?: string;
  breaker: BreakerState;
  /** Records delivered since the backend was (re)started. */
  delivered: number;
}

/** A source or processor plugin as the Backends view shows it. */
export interface PluginStatus {
  id: string;
  kind: 'source' | 'processor';
  displayName: string;
  /**
   * running: initialized (and, for a source, started); off: a source turned off in
   * settings; idle: a processor no chosen backend names; starting; failed.
   */
  state: 'running' | 'off' | 'idle' | 'starting' | 'failed';
  healthy: boolean;
  details: string;
  lastError?: string;
  /** Processors: the chosen backends whose `processors` name it. */
  usedBy?: string[];
}

/** One chosen backend as the status needs it. */
export interface BackendView {
  id: string;
  displayName: string;
  error?: string;
  running: boolean;
  health?: HealthStatus;
  stats?: SinkStats;
}

export function backendStatus(b: BackendView): BackendStatus {
  const stats = b.stats;
  const breaker = stats?.breaker ?? 'closed';
  const failures = stats?.consecutiveFailures ?? 0;
  let details: string;
  if (b.error) details = b.error;
  else if (!b.running) details = 'starting…';
  else if (breaker !== 'closed') details = `circuit ${breaker} after ${failures} failed writes`;
  else if (b.health) details = b.health.details;
  else details = failures > 0 ? `retrying (${failures} failed writes)` : 'ok';
  const healthy = !b.error && b.running && breaker === 'closed' && (b.health?.healthy ?? true) && failures === 0;
  return {
    id: b.id,
    displayName: b.displayName,
    healthy,
    details,
    lag: stats?.lag ?? 0,
    queueDepth: stats?.queueDepth ?? 0,
    lastError: b.error ?? stats?.lastError,
    breaker,
    delivered: stats?.delivered ?? 0,
  };
}

/** One source or processor as the status needs it. */
export interface PluginView {
  id: string;
  kind: 'source' | 'processor';
  displayName: string;
  /** Initialized (and started) now. */
  running: boolean;
  error?: string;
  health?: HealthStatus;
  /** A source turned off in its settings. */
  off?: boolean;
  /** Processors: the chosen backends that name it. */
  usedBy?: string[];
}

export function pluginStatus(p: PluginView): PluginStatus {
  const base = { id: p.id, kind: p.kind, displayName: p.displayName, lastError: p.error };
  const withUsers = p.kind === 'processor' ? { ...base, usedBy: p.usedBy ?? [] } : base;
  if (p.kind === 'source' && p.off) {
    return { ...withUsers, state: 'off', healthy: true, details: 'turned off in runwatch.sources' };
  }
  if (p.kind === 'processor' && !p.usedBy?.length) {
    return { ...withUsers, state: 'idle', healthy: true, details: 'not used by a chosen backend' };
  }
  if (p.error) return { ...withUsers, state: 'failed', healthy: false, details: p.error };
  if (p.running) {
    return {
      ...withUsers,
      state: 'running',
      healthy: p.health?.healthy ?? true,
      details: p.health?.details ?? 'running',
    };
  }
  return { ...withUsers, state: 'starting', healthy: true, details: 'starting…' };
}

export function sortPluginStatus(list: PluginStatus[]): PluginStatus[] {
  return list.sort((a, b) => a.kind.localeCompare(b.kind) || a.displayName.localeCompare(b.displayName));
}

/** A change signal that fires at most once per `delayMs`, after the first change in that window. */
export class StatusSignal {
  private readonly emitter = new Emitter<void>({ name: 'hub.onDidChangeStatus' });
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  readonly event = this.emitter.event;

  constructor(private readonly delayMs = 250) {}

  fire(): void {
    if (this.timer || this.closed) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.emitter.fire();
    }, this.delayMs);
  }

  dispose(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.emitter.dispose();
  }
}
