// The host's run-colour table: first-seen runs take colours apart from the recent ones, runs
// shown together are made distinct, picked colours stay, and the table survives a reload.
import * as assert from 'assert';
import { RunColors, type ColorMemento } from '../../src/ui/dashboard/runColors';
import { MIN_DELTA_E, PALETTE, deltaE2000 } from '../../src/webview/protocol/palette';

function memento(): ColorMemento & { data: Map<string, unknown> } {
  const data = new Map<string, unknown>();
  return {
    data,
    get: <T>(k: string) => data.get(k) as T | undefined,
    update: async (k: string, v: unknown) => void data.set(k, JSON.parse(JSON.stringify(v))),
  };
}

function apart(colors: string[]): boolean {
  for (let i = 0; i < colors.length; i++)
    for (let j = i + 1; j < colors.length; j++) if (deltaE2000(colors[i], colors[j]) < MIN_DELTA_E) return false;
  return true;
}

describe('dashboard run colours (host table)', () => {
  it('gives consecutive new runs distinct palette colours, stable on later reads', () => {
    const t = new RunColors();
    const ids = Array.from({ length: PALETTE.length }, (_, i) => `run${i}`);
    const colors = ids.map((id) => t.colorOf(id));
    assert.ok(apart(colors));
    assert.deepStrictEqual(
      ids.map((id) => t.colorOf(id)),
      colors,
    );
  });

  it('makes runs shown together distinct and says so once', () => {
    const t = new RunColors();
    // 40 runs: later ones reuse colours; any ten of them shown together must be apart.
    const ids = Array.from({ length: 40 }, (_, i) => `r${i}`);
    for (const id of ids) t.colorOf(id);
    const shown = [ids[0], ids[12], ids[24], ids[36], ids[1], ids[13], ids[25], ids[2], ids[14], ids[26]];
    let fired = 0;
    t.onDidChange(() => fired++);
    assert.strictEqual(t.ensureDistinct(shown), true);
    assert.strictEqual(fired, 1);
    assert.ok(apart(shown.map((id) => t.colorOf(id))));
    assert.strictEqual(t.ensureDistinct(shown), false);
  });

  it('keeps a picked colour, rejects a bad one with a clear error, and reloads from the memento', () => {
    const m = memento();
    const t = new RunColors();
    t.attach(m);
    t.colorOf('a');
    t.pin('b', '#ABCDEF');
    assert.throws(() => t.pin('c', 'blue'), /not a colour: give it as #rrggbb/);
    assert.strictEqual(t.colorOf('b'), '#abcdef');
    const again = new RunColors();
    again.attach(m);
    assert.strictEqual(again.colorOf('b'), '#abcdef');
    assert.strictEqual(again.colorOf('a'), t.colorOf('a'));
    again.pin('b', undefined);
    assert.ok(PALETTE.includes(again.colorOf('b')));
  });
});
