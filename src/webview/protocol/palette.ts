// Run colours, one module for every view (Runs tree, runs table, dashboard charts, compare):
// a categorical palette whose twelve colours are pairwise far apart (CIEDE2000 ≥ MIN_DELTA_E,
// readable on dark and light themes), and an assignment that gives the runs shown together
// colours that stay that far apart. Pure (no DOM, no `vscode`): host and pages import it.

/**
 * The palette, in the order new runs take it. Chosen so that every pair differs by at least
 * MIN_DELTA_E (test/unit/palette.test.ts measures it) with lightness between 50 and 75 (chroma 25 to 70), so
 * each colour shows on both a dark and a light editor background.
 */
export const PALETTE: readonly string[] = [
  '#0077ee', // blue
  '#ff9944', // orange
  '#448811', // green
  '#dd4444', // red
  '#bbaaee', // lavender
  '#997700', // ochre
  '#cc4499', // magenta
  '#00bbff', // sky
  '#00cc99', // mint
  '#ff99aa', // pink
  '#008888', // teal
  '#bbbb77', // khaki
];

/**
 * The CIEDE2000 difference any two palette colours keep (the palette's smallest pair is about
 * 22.9), and so any two of up to PALETTE.length runs shown together without colours a person
 * picked. 20 is far
 * above a "just noticeable" difference (about 2.3) and above the ~10 where two thin chart
 * lines start to look alike.
 */
export const MIN_DELTA_E = 20;

/** run id → colour (`#rrggbb`) for the runs that have one. */
export type RunColorMap = Readonly<Record<string, string>>;

/** A hex colour `#rgb` or `#rrggbb`, as the colour picker and the settings give it. */
export function isHexColor(v: unknown): v is string {
  return typeof v === 'string' && /^#(?:[0-9a-f]{3}|[0-9a-f]{6})$/i.test(v);
}

/** The palette index a run prefers when nothing else decides: a hash of its id. */
export function preferredIndex(runId: string, size = PALETTE.length): number {
  let h = 2166136261;
  for (let i = 0; i < runId.length; i++) {
    h ^= runId.charCodeAt(i);
    h = Math.imul(h, 16777619);
  }
  return (h >>> 0) % size;
}

/**
 * A run's colour: the one assigned (`assigned`, e.g. from the host's RunInfo or its colour
 * store), else the palette colour its id hashes to. Views that show one run at a time can use
 * this alone; views that show several together should use `assignColors` first.
 */
export function runColor(runId: string, assigned?: RunColorMap, palette: readonly string[] = PALETTE): string {
  const c = assigned?.[runId];
  return isHexColor(c) ? c : palette[preferredIndex(runId, palette.length)];
}

export interface AssignInput {
  /** The runs shown together, in a stable order (earlier runs keep their colour first). */
  runIds: readonly string[];
  /** Colours assigned before (kept when still far enough from the rest). */
  current?: RunColorMap;
  /** Colours a person chose: always kept, and avoided for the others. */
  pinned?: RunColorMap;
  palette?: readonly string[];
}

/**
 * Colours for runs shown together. Pinned colours stay; every other run keeps its current
 * colour unless that is within MIN_DELTA_E of one taken before it, and otherwise takes the
 * palette colour farthest (largest smallest ΔE) from those taken, ties broken by palette
 * order from the run's preferred index. So up to PALETTE.length unpinned runs get pairwise
 * distinct palette colours, and a run's colour changes only when it would clash.
 */
export function assignColors({
  runIds,
  current = {},
  pinned = {},
  palette = PALETTE,
}: AssignInput): Record<string, string> {
  const out: Record<string, string> = {};
  const taken: string[] = [];
  for (const id of runIds) {
    const p = pinned[id];
    if (isHexColor(p)) {
      out[id] = p;
      taken.push(p);
    }
  }
  for (const id of runIds) {
    if (out[id]) continue;
    const cur = current[id];
    if (isHexColor(cur) && taken.every((t) => deltaE2000(t, cur) >= MIN_DELTA_E)) {
      out[id] = cur;
    } else {
      out[id] = farthest(palette, taken, preferredIndex(id, palette.length));
    }
    taken.push(out[id]);
  }
  return out;
}

/** The palette colour with the largest smallest ΔE to `taken`; ties: first from `start` on. */
function farthest(palette: readonly string[], taken: readonly string[], start: number): string {
  let best = palette[start % palette.length];
  let bestD = -1;
  for (let k = 0; k < palette.length; k++) {
    const c = palette[(start + k) % palette.length];
    let d = Infinity;
    for (const t of taken) d = Math.min(d, deltaE2000(t, c));
    // Unused palette colours come first: a colour taken (d = 0) is the last resort.
    if (d > bestD + 1e-9) {
      best = c;
      bestD = d;
    }
  }
  return best;
}

// ---------------------------------------------------------------------------
// Colour difference (CIEDE2000, Sharma et al. 2005), from sRGB hex via CIE L*a*b* (D65).

export interface Lab {
  L: number;
  a: number;
  b: number;
}

export function hexToRgb(hex: string): [number, number, number] {
  let h = hex.replace('#', '');
  if (h.length === 3) h = [...h].map((c) => c + c).join('');
  const n = parseInt(h, 16);
  return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
}

export function hexToLab(hex: string): Lab {
  const lin = hexToRgb(hex).map((c) => {
    const v = c / 255;
    return v <= 0.04045 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4);
  });
  const [r, g, b] = lin;
  const x = (0.4124564 * r + 0.3575761 * g + 0.1804375 * b) / 0.95047;
  const y = 0.2126729 * r + 0.7151522 * g + 0.072175 * b;
  const z = (0.0193339 * r + 0.119192 * g + 0.9503041 * b) / 1.08883;
  const f = (t: number) => (t > 216 / 24389 ? Math.cbrt(t) : ((24389 / 27) * t + 16) / 116);
  const fx = f(x);
  const fy = f(y);
  const fz = f(z);
  return { L: 116 * fy - 16, a: 500 * (fx - fy), b: 200 * (fy - fz) };
}

const deg = Math.PI / 180;

/** CIEDE2000 colour difference of two Lab colours (kL = kC = kH = 1). */
export function deltaE2000Lab(p: Lab, q: Lab): number {
  const C1 = Math.hypot(p.a, p.b);
  const C2 = Math.hypot(q.a, q.b);
  const Cm = (C1 + C2) / 2;
  const G = 0.5 * (1 - Math.sqrt(Math.pow(Cm, 7) / (Math.pow(Cm, 7) + Math.pow(25, 7))));
  const a1 = (1 + G) * p.a;
  const a2 = (1 + G) * q.a;
  const c1 = Math.hypot(a1, p.b);
  const c2 = Math.hypot(a2, q.b);
  const hue = (b: number, a: number) => {
    if (a === 0 && b === 0) return 0;
    const h = Math.atan2(b, a) / deg;
    return h < 0 ? h + 360 : h;
  };
  const h1 = hue(p.b, a1);
  const h2 = hue(q.b, a2);
  const dL = q.L - p.L;
  const dC = c2 - c1;
  let dh = 0;
  if (c1 * c2 !== 0) {
    dh = h2 - h1;
    if (dh > 180) dh -= 360;
    else if (dh < -180) dh += 360;
  }
  const dH = 2 * Math.sqrt(c1 * c2) * Math.sin((dh / 2) * deg);
  const Lm = (p.L + q.L) / 2;
  const cm = (c1 + c2) / 2;
  let hm = h1 + h2;
  if (c1 * c2 !== 0) {
    if (Math.abs(h1 - h2) <= 180) hm = (h1 + h2) / 2;
    else hm = h1 + h2 < 360 ? (h1 + h2 + 360) / 2 : (h1 + h2 - 360) / 2;
  }
  const T =
    1 -
    0.17 * Math.cos((hm - 30) * deg) +
    0.24 * Math.cos(2 * hm * deg) +
    0.32 * Math.cos((3 * hm + 6) * deg) -
    0.2 * Math.cos((4 * hm - 63) * deg);
  const dTheta = 30 * Math.exp(-Math.pow((hm - 275) / 25, 2));
  const Rc = 2 * Math.sqrt(Math.pow(cm, 7) / (Math.pow(cm, 7) + Math.pow(25, 7)));
  const Sl = 1 + (0.015 * Math.pow(Lm - 50, 2)) / Math.sqrt(20 + Math.pow(Lm - 50, 2));
  const Sc = 1 + 0.045 * cm;
  const Sh = 1 + 0.015 * cm * T;
  const Rt = -Math.sin(2 * dTheta * deg) * Rc;
  const l = dL / Sl;
  const c = dC / Sc;
  const h = dH / Sh;
  return Math.sqrt(l * l + c * c + h * h + Rt * c * h);
}

/** Differences computed so far: assigning colours to many runs compares the same few colours again and again. */
const deltaCache = new Map<string, number>();

/** CIEDE2000 difference of two hex colours. */
export function deltaE2000(a: string, b: string): number {
  const key = a + b;
  let d = deltaCache.get(key);
  if (d === undefined) {
    // Palette and picked colours are few; a flood of distinct ones only restarts the cache.
    if (deltaCache.size >= 10_000) deltaCache.clear();
    d = deltaE2000Lab(hexToLab(a), hexToLab(b));
    deltaCache.set(key, d);
  }
  return d;
}
