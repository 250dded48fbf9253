// The run's colour swatch in the Runs tree: a 16×16 SVG disc in the run's chart colour with
// its status drawn on it (tick, cross, flame-ish "!", play, slash). A ThemeIcon takes only
// theme colours, so the icons are files, one per colour and status, written once into a
// folder the extension owns (its global storage) and handed to TreeItem.iconPath as file URIs.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { RunStatus } from '../../api/types';
import { writeFileAtomicSync } from '../../common/atomicWrite';
import { hexToRgb, isHexColor } from '../../webview/protocol/palette';

/** The glyph on the disc, drawn in white or black, whichever reads better on the colour. */
const GLYPHS: Record<RunStatus, string> = {
  running: '<path d="M6.2 4.8v6.4L11.2 8z" fill="INK"/>',
  finished: '<path d="M4.6 8.2l2.3 2.3 4.5-4.6" fill="none" stroke="INK" stroke-width="1.7"/>',
  failed: '<path d="M5.3 5.3l5.4 5.4M10.7 5.3l-5.4 5.4" stroke="INK" stroke-width="1.7"/>',
  crashed: '<path d="M8 4v5" stroke="INK" stroke-width="1.8"/><circle cx="8" cy="11.6" r="1.05" fill="INK"/>',
  killed: '<path d="M4.8 11.2l6.4-6.4" stroke="INK" stroke-width="1.7"/>',
};

/** Black on light colours, white on dark ones (WCAG relative luminance). */
export function inkFor(color: string): string {
  const [r, g, b] = hexToRgb(color).map((c) => {
    const v = c / 255;
    return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4);
  });
  const lum = 0.2126 * r + 0.7152 * g + 0.0722 * b;
  return lum > 0.3 ? '#000000' : '#ffffff';
}

export function swatchSvg(color: string, status: RunStatus): string {
  if (!isHexColor(color)) throw new Error(`"${color}" is not a #rrggbb colour`);
  const ink = inkFor(color);
  return (
    '<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 16 16">' +
    `<circle cx="8" cy="8" r="7" fill="${color}"/>` +
    GLYPHS[status].replace(/INK/g, ink) +
    '</svg>'
  );
}

export function swatchFileName(color: string, status: RunStatus): string {
  return `swatch-${color.replace('#', '').toLowerCase()}-${status}.svg`;
}

/** Writes (once) and returns the path of the swatch for a colour and status in `dir`. */
export class SwatchFiles {
  private readonly written = new Set<string>();
  constructor(readonly dir: string) {}

  pathOf(color: string, status: RunStatus): string {
    const file = path.join(this.dir, swatchFileName(color, status));
    if (!this.written.has(file)) {
      if (!fs.existsSync(file)) {
        fs.mkdirSync(this.dir, { recursive: true });
        // Atomic: another window may read the same folder while this one writes.
        writeFileAtomicSync(file, swatchSvg(color, status), { durable: false });
      }
      this.written.add(file);
    }
    return file;
  }
}
