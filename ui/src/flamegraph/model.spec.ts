// Pure flame graph logic, run by `npm run test:unit` from dist/ui-spec (ui/tsconfig.spec.json).
// Only modules without runtime imports are tested this way; the rest runs in the browser tests.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { diffChange, pathTo, topFunctions, treeFromDiff, treeFromFlamegraph } from './model.js';

describe('flame graph wire form', () => {
  it('turns delta-encoded 4-tuples into a tree with parents and absolute offsets', () => {
    // total(100) → a(60, self 10) → b(50); total → c(30) after a gap of 10 (a pruned sibling)
    const t = treeFromFlamegraph({
      names: ['total', 'a', 'c', 'b'],
      levels: [
        { values: ['0', '100', '0', '0'] },
        { values: ['0', '60', '10', '1', '10', '30', '30', '2'] },
        { values: ['0', '50', '50', '3'] },
      ],
      total: '100',
      maxSelf: '50',
    });
    assert.equal(t.total, 100);
    assert.equal(t.root?.name, 'total');
    assert.deepEqual(
      t.root?.children.map((f) => [f.name, f.x, f.total, f.self]),
      [
        ['a', 0, 60, 10],
        ['c', 70, 30, 30],
      ],
    );
    const b = t.frames.find((f) => f.name === 'b');
    assert.deepEqual(b && pathTo(b).map((f) => f.name), ['total', 'a', 'b']);
    assert.equal(t.diff, null);
  });

  it('places a child under the parent whose span contains it, not the first on the level', () => {
    const t = treeFromFlamegraph({
      names: ['total', 'a', 'c', 'x'],
      levels: [
        { values: [0, 100, 0, 0] },
        { values: [0, 60, 60, 1, 0, 40, 0, 2] },
        { values: [60, 40, 40, 3] },
      ],
      total: 100,
      maxSelf: 60,
    });
    assert.equal(t.frames.find((f) => f.name === 'x')?.parent?.name, 'c');
  });

  it('reads an empty answer (protojson omits empty arrays)', () => {
    const t = treeFromFlamegraph({ names: [], levels: [], total: '0', maxSelf: '0' });
    assert.equal(t.root, null);
    assert.deepEqual(topFunctions(t.root), []);
  });

  it('counts a recursive function once per stack in its total', () => {
    // total → f → g → f (self 10)
    const t = treeFromFlamegraph({
      names: ['total', 'f', 'g'],
      levels: [
        { values: [0, 10, 0, 0] },
        { values: [0, 10, 0, 1] },
        { values: [0, 10, 0, 2] },
        { values: [0, 10, 10, 1] },
      ],
      total: 10,
      maxSelf: 10,
    });
    const rows = new Map(topFunctions(t.root).map((r) => [r.name, r]));
    assert.deepEqual([rows.get('f')?.self, rows.get('f')?.total], [10, 10]);
    assert.deepEqual([rows.get('g')?.self, rows.get('g')?.total], [0, 10]);
    assert.equal(rows.has('total'), false, 'the synthetic root is not a function');
  });

  it('lays a diff out on left + right totals and measures the change of each share', () => {
    // baseline: a 10 of 10; comparison: a 10 and b 20 of 30
    const t = treeFromDiff({
      names: ['total', 'a', 'b'],
      levels: [
        { values: ['0', '10', '0', '0', '30', '0', '0'] },
        { values: ['0', '10', '10', '0', '10', '10', '1', '0', '0', '0', '0', '20', '20', '2'] },
      ],
      total: '40',
      maxSelf: '20',
      leftTicks: '10',
      rightTicks: '30',
    });
    assert.deepEqual(t.diff, { leftTicks: 10, rightTicks: 30 });
    const [a, b] = t.root?.children ?? [];
    assert.deepEqual(
      [a.name, a.x, a.total, a.left, a.right],
      ['a', 0, 20, { total: 10, self: 10 }, { total: 10, self: 10 }],
    );
    assert.deepEqual([b.name, b.x, b.total], ['b', 20, 20]);
    assert.ok(Math.abs(diffChange(a, t.diff!) - (1 / 3 - 1)) < 1e-9, 'a: 100% → 33%');
    assert.equal(diffChange(b, t.diff!), Infinity, 'b is new');
    const rows = new Map(topFunctions(t.root).map((r) => [r.name, r]));
    assert.deepEqual(rows.get('b')?.right, { self: 20, total: 20 });
    assert.deepEqual(rows.get('b')?.left, { self: 0, total: 0 });
  });
});
