import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ProfileBuilder } from '../../model/index.js';
import { addProfile, newTree, toFlamegraph } from './stack-tree.js';

function profile(stacks: [string[], number][], labels?: [string, string][][]) {
  const b = new ProfileBuilder().sampleType('cpu', 'nanoseconds');
  stacks.forEach(([frames, v], i) => b.stack(frames, [v], labels?.[i]));
  return b.build();
}

describe('flame graph levels', () => {
  it('merges profiles and encodes levels as Pyroscope does', () => {
    const tree = newTree();
    addProfile(
      tree,
      profile([
        [['a', 'b', 'c'], 10],
        [['a', 'd'], 5],
      ]),
      0,
    );
    addProfile(tree, profile([[['a', 'b', 'c'], 1]]), 0);
    const fg = toFlamegraph(tree);
    assert.equal(fg.total, 16);
    assert.deepEqual(fg.names, ['total', 'a', 'b', 'd', 'c']);
    assert.deepEqual(fg.levels, [
      [0, 16, 0, 0],
      [0, 16, 0, 1],
      [0, 11, 0, 2, 0, 5, 5, 3],
      [0, 11, 11, 4],
    ]);
    assert.equal(fg.maxSelf, 11);
  });

  it('places nodes with x offsets relative to the previous node end', () => {
    const tree = newTree();
    addProfile(
      tree,
      profile([
        [['a', 'x'], 3],
        [['b', 'y'], 4],
        [['b', 'z'], 2],
      ]),
      0,
    );
    const fg = toFlamegraph(tree);
    // level 2: x under a at 0 (3 wide), y under b at 3 (4 wide), z at 7
    const names = (i: number) => fg.names[i];
    assert.deepEqual(fg.levels[2].filter((_, i) => i % 4 === 3).map(names), ['x', 'y', 'z']);
    assert.deepEqual(
      fg.levels[2].filter((_, i) => i % 4 === 0),
      [0, 0, 0],
    );
  });

  it('filters samples by labels and drops nodes beyond maxNodes', () => {
    const tree = newTree();
    addProfile(
      tree,
      profile(
        [
          [['a'], 5],
          [['b'], 7],
        ],
        [[['span_id', '1']], [['span_id', '2']]],
      ),
      0,
      (l) => l.get('span_id') === '2',
    );
    assert.equal(toFlamegraph(tree).total, 7);
    const big = newTree();
    addProfile(
      big,
      profile([
        [['a'], 5],
        [['b'], 1],
        [['c'], 9],
      ]),
      0,
    );
    const fg = toFlamegraph(big, 3);
    assert.deepEqual(new Set(fg.names), new Set(['total', 'a', 'c', 'other']));
    assert.equal(fg.total, 15);
    // level 1: a (5), c (9), then "other" holding b's 1
    assert.deepEqual(fg.levels[1], [0, 5, 5, 1, 0, 9, 9, 2, 0, 1, 1, 3]);
  });

  it('places a node’s self part before its children, as Pyroscope does', () => {
    const tree = newTree();
    addProfile(
      tree,
      profile([
        [['a'], 2],
        [['a', 'b'], 3],
      ]),
      0,
    );
    const fg = toFlamegraph(tree);
    // level 1: a [0, 5, 2]; level 2: b starts after a's self (x = 2)
    assert.deepEqual(fg.levels[1], [0, 5, 2, 1]);
    assert.deepEqual(fg.levels[2], [2, 3, 3, 2]);
  });
});
