// Run colours: the CIEDE2000 measure against published reference pairs, the palette's
// pairwise distance, and the assignment of colours to runs shown together.
import * as assert from 'assert';
import {
  MIN_DELTA_E,
  PALETTE,
  assignColors,
  deltaE2000,
  deltaE2000Lab,
  hexToLab,
  isHexColor,
  runColor,
} from '../../src/webview/protocol/palette';

function minPairwise(colors: readonly string[]): number {
  let min = Infinity;
  for (let i = 0; i < colors.length; i++)
    for (let j = i + 1; j < colors.length; j++) min = Math.min(min, deltaE2000(colors[i], colors[j]));
  return min;
}

describe('palette', () => {
  it('measures CIEDE2000 as the reference data of Sharma, Wu and Dalal (2005) do', () => {
    const pairs: [[number, number, number], [number, number, number], number][] = [
      [[50, 2.6772, -79.7751], [50, 0, -82.7485], 2.0425],
      [[50, -1.3802, -84.2814], [50, 0, -82.7485], 1.0],
      [[50, 0, 0], [50, -1, 2], 2.3669],
      [[50, 2.5, 0], [73, 25, -18], 27.1492],
      [[50, 2.5, 0], [50, 3.1736, 0.5854], 1.0],
      [[90.8027, -2.0831, 1.441], [91.1528, -1.6435, 0.0447], 1.4441],
      [[2.0776, 0.0795, -1.135], [0.9033, -0.0636, -0.5514], 0.9082],
    ];
    for (const [p, q, expected] of pairs) {
      const d = deltaE2000Lab({ L: p[0], a: p[1], b: p[2] }, { L: q[0], a: q[1], b: q[2] });
      assert.ok(Math.abs(d - expected) < 1e-4, `${p} vs ${q}: ${d}, expected ${expected}`);
    }
    assert.ok(Math.abs(hexToLab('#ffffff').L - 100) < 1e-3);
    assert.strictEqual(deltaE2000('#123456', '#123456'), 0);
  });

  it('has at least ten colours, pairwise at least MIN_DELTA_E apart, visible on dark and light themes', () => {
    assert.ok(PALETTE.length >= 10);
    assert.ok(MIN_DELTA_E >= 20);
    assert.ok(minPairwise(PALETTE) >= MIN_DELTA_E, `closest pair ${minPairwise(PALETTE)}`);
    for (const c of PALETTE) {
      assert.ok(isHexColor(c));
      const { L } = hexToLab(c);
      assert.ok(L >= 45 && L <= 80, `${c} lightness ${L}`);
    }
  });

  it('gives any ten runs shown together colours pairwise at least MIN_DELTA_E apart', () => {
    // Many id sets, including ids whose hashes collide on the palette.
    for (let trial = 0; trial < 200; trial++) {
      const ids = Array.from({ length: 10 }, (_, i) => `run-${trial}-${i * 7919}`);
      const colors = assignColors({ runIds: ids });
      assert.strictEqual(Object.keys(colors).length, 10);
      assert.ok(minPairwise(ids.map((id) => colors[id])) >= MIN_DELTA_E, `trial ${trial}`);
    }
  });

  it('keeps a run’s current colour unless it clashes with one taken before it', () => {
    const current = { a: PALETTE[3], b: PALETTE[3], c: PALETTE[5] };
    const colors = assignColors({ runIds: ['a', 'b', 'c'], current });
    assert.strictEqual(colors.a, PALETTE[3]);
    assert.strictEqual(colors.c, PALETTE[5]);
    assert.notStrictEqual(colors.b, PALETTE[3]);
    assert.ok(deltaE2000(colors.b, colors.a) >= MIN_DELTA_E && deltaE2000(colors.b, colors.c) >= MIN_DELTA_E);
    // Asked again with that answer as current: nothing moves (stable across redraws).
    assert.deepStrictEqual(assignColors({ runIds: ['a', 'b', 'c'], current: colors }), colors);
  });

  it('keeps a colour a person picked and moves the others away from it', () => {
    const current = { a: PALETTE[0], b: PALETTE[1] };
    const colors = assignColors({ runIds: ['a', 'b'], current, pinned: { b: PALETTE[0] } });
    assert.strictEqual(colors.b, PALETTE[0]);
    assert.ok(deltaE2000(colors.a, PALETTE[0]) >= MIN_DELTA_E);
  });

  it('reuses the farthest colour only past the palette’s size', () => {
    const ids = Array.from({ length: PALETTE.length + 3 }, (_, i) => `r${i}`);
    const colors = assignColors({ runIds: ids });
    const first = new Set(ids.slice(0, PALETTE.length).map((id) => colors[id]));
    assert.strictEqual(first.size, PALETTE.length);
  });

  it('uses a custom palette when given one, and runColor falls back to the id’s hash', () => {
    const palette = ['#ff0000', '#00ff00', '#0000ff'];
    const colors = assignColors({ runIds: ['x', 'y', 'z'], palette });
    assert.deepStrictEqual(new Set(Object.values(colors)), new Set(palette));
    assert.strictEqual(runColor('x', { x: '#abcdef' }), '#abcdef');
    assert.ok(PALETTE.includes(runColor('x')));
    assert.strictEqual(runColor('x'), runColor('x'));
    assert.ok(!isHexColor('red') && !isHexColor('#12345') && isHexColor('#abc'));
  });
});
