// The host's run colours, one table for every view (Runs tree, runs table, dashboard, compare):
// a run gets a palette colour when first seen (the one farthest from the recent runs' colours),
// keeps it, and changes it only when it would clash with another run shown with it, or when a
// person picks one ("Set Run Colour…"). Kept in the workspace state when one is attached, so
// colours survive a reload. No `vscode` import: unit-tested in Node.
import { Emitter } from '../../common/emitter';
import { PALETTE, assignColors, isHexColor } from '../../webview/protocol/palette';

/** The part of a VS Code Memento this needs (workspaceState). */
export interface ColorMemento {
  get<T>(key: string): T | undefined;
  update(key: string, value: unknown): Thenable<void> | Promise<void>;
}

interface Saved {
  assigned: Record<string, string>;
  pinned: Record<string, string>;
}

const KEY = 'runwatch.runColors';
/** New runs avoid the colours of this many runs seen before them. */
const RECENT = PALETTE.length - 1;

export class RunColors {
  private assigned: Record<string, string> = {};
  private pinned: Record<string, string> = {};
  private memento: ColorMemento | undefined;
  private palette: readonly string[] = PALETTE;
  private readonly changed = new Emitter<void>({ name: 'runColors.onDidChange' });
  /** The last RECENT keys of `assigned` (kept, not listed again per new run: 10,000 runs took seconds). */
  private recentIds: string[] | undefined;
  /** Fired when any run's colour changed (views redraw their swatches). */
  readonly onDidChange = this.changed.event;

  /** Loads and from now on saves the table in `memento` (the workspace state). */
  attach(memento: ColorMemento): void {
    this.memento = memento;
    const saved = memento.get<Saved>(KEY);
    if (saved && typeof saved === 'object') {
      this.assigned = onlyColors(saved.assigned);
      this.pinned = onlyColors(saved.pinned);
    }
    this.recentIds = undefined;
    this.changed.fire();
  }

  /** The palette new colours come from (the `runwatch.dashboard.palette` setting; empty: built-in). */
  setPalette(colors: readonly string[]): void {
    const next = colors.filter(isHexColor);
    const palette = next.length >= 2 ? next : PALETTE;
    if (palette.join() === this.palette.join()) return;
    this.palette = palette;
    // Colours from the old palette would stay; a new palette means new colours (picked ones stay).
    this.assigned = {};
    this.recentIds = undefined;
    this.save();
  }

  /** A run's colour: picked, else assigned, else assigned now (away from the recent runs' colours). */
  colorOf(runId: string): string {
    const own = this.pinned[runId] ?? this.assigned[runId];
    if (own) return own;
    const recent = (this.recentIds ??= Object.keys(this.assigned).slice(-RECENT));
    const colors = assignColors({
      runIds: [...recent, runId],
      current: this.assigned,
      pinned: this.pinned,
      palette: this.palette,
    });
    this.assigned[runId] = colors[runId];
    this.recentIds = [...recent, runId].slice(-RECENT);
    this.save(false);
    return colors[runId];
  }

  /**
   * Makes the colours of runs shown together pairwise distinct (palette.ts: ΔE ≥ MIN_DELTA_E);
   * earlier runs keep theirs. True when a colour changed (then onDidChange fired too).
   */
  ensureDistinct(runIds: readonly string[]): boolean {
    for (const id of runIds) this.colorOf(id);
    const colors = assignColors({ runIds, current: this.assigned, pinned: this.pinned, palette: this.palette });
    let moved = false;
    for (const id of runIds) {
      if (this.pinned[id] || this.assigned[id] === colors[id]) continue;
      this.assigned[id] = colors[id];
      moved = true;
    }
    if (moved) this.save();
    return moved;
  }

  /** A colour a person picked for a run (none: back to the palette's). */
  pin(runId: string, color: string | undefined): void {
    if (color !== undefined && !isHexColor(color)) {
      throw new Error(`"${color}" is not a colour: give it as #rrggbb, e.g. #3b8eea`);
    }
    if (color === undefined) delete this.pinned[runId];
    else this.pinned[runId] = color.toLowerCase();
    this.save();
  }

  isPinned(runId: string): boolean {
    return runId in this.pinned;
  }

  /** Forgets a deleted run. */
  forget(runId: string): void {
    if (!(runId in this.assigned) && !(runId in this.pinned)) return;
    delete this.assigned[runId];
    delete this.pinned[runId];
    this.recentIds = undefined;
    this.save(false);
  }

  private save(notify = true): void {
    void this.memento?.update(KEY, { assigned: this.assigned, pinned: this.pinned } satisfies Saved);
    if (notify) this.changed.fire();
  }
}

function onlyColors(v: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (v && typeof v === 'object') for (const [k, c] of Object.entries(v)) if (isHexColor(c)) out[k] = c;
  return out;
}

/** The one table of the extension host (the tree, table, dashboard and compare all read it). */
export const runColors = new RunColors();
