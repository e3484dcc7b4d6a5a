import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  RUNTIME_PAD_AFTER_MS,
  RUNTIME_PAD_BEFORE_MS,
  runtimeLink,
  servicesSelector,
  spanPick,
  spanProfileType,
  wholeTracePick,
  type LinkedSpan,
  type ProfiledSpan,
} from './span-links.js';

const CPU = 'process_cpu:cpu:nanoseconds:cpu:nanoseconds';
const ALLOC = 'memory:alloc_in_new_tlab_bytes:bytes:space:bytes';
const WALL = 'wall:wall:nanoseconds:wall:nanoseconds';

const span = (
  spanId: string,
  service: string,
  resource: Record<string, string> = {},
): LinkedSpan => ({
  spanId,
  service,
  startMs: 1_000_000,
  durationMs: 250,
  resource,
});

describe('span links', () => {
  it('selects one service by equality, several by an escaped alternation, none by {}', () => {
    assert.equal(servicesSelector(['shop']), '{service_name="shop"}');
    assert.equal(servicesSelector(['b.x', 'a', 'a', '']), '{service_name=~"a|b\\\\.x"}');
    assert.equal(servicesSelector([]), '{}');
    assert.equal(servicesSelector(['say "hi"']), '{service_name="say \\"hi\\""}');
  });

  it("a span's profile is read where its samples were seen, else in its own service", () => {
    const s = span('00000000000000aa', 'frontend');
    const seen: ProfiledSpan = {
      spanId: s.spanId,
      profileId: s.spanId,
      via: 'span_id',
      services: ['frontend-go'],
      types: [CPU],
    };
    assert.deepEqual(spanPick(s, seen), {
      selector: '{service_name="frontend-go"}',
      ids: ['00000000000000aa'],
      label: 'span 00000000000000aa',
      types: [CPU],
    });
    const attr: ProfiledSpan = {
      spanId: s.spanId,
      profileId: '00000000000000bb',
      via: 'attribute',
      services: [],
      types: [],
    };
    assert.deepEqual(spanPick(s, attr).ids, ['00000000000000bb']);
    assert.equal(spanPick(s, attr).selector, '{service_name="frontend"}');
  });

  it('the whole trace merges only its profiled spans, over all their services', () => {
    const spans = [span('1', 'a'), span('2', 'b'), span('3', 'c')];
    const profiled: ProfiledSpan[] = [
      { spanId: '1', profileId: '1', via: 'span_id', services: ['a'], types: [ALLOC, CPU] },
      { spanId: '3', profileId: '9', via: 'attribute', services: [], types: [] },
      // not a span of this trace: ignored
      { spanId: '7', profileId: '7', via: 'span_id', services: ['z'], types: ['x:y:z:w:v'] },
    ];
    assert.deepEqual(wholeTracePick(spans, profiled), {
      selector: '{service_name=~"a|c"}',
      ids: ['1', '9'],
      label: 'the whole trace (2 profiled spans)',
      types: [ALLOC, CPU].sort(),
    });
    assert.equal(wholeTracePick(spans, []), null);
  });

  it('a span profile opens in the selected type when the spans have it, else in one they have (CPU first)', () => {
    assert.equal(spanProfileType(CPU, [ALLOC, CPU]), CPU);
    assert.equal(spanProfileType(WALL, [ALLOC, CPU]), CPU);
    assert.equal(spanProfileType(WALL, [ALLOC]), ALLOC);
    // nothing known (an attribute span not seen in any profile): the selected type
    assert.equal(spanProfileType(WALL, []), WALL);
  });

  it('runtime_id links to the instance over the span widened to the profiles holding it', () => {
    assert.equal(runtimeLink(span('1', 'a')), null);
    const l = runtimeLink(span('1', 'shop', { runtime_id: 'r-42' }));
    assert.deepEqual(l, {
      service: 'shop',
      filters: [{ name: 'runtime_id', op: '=', value: 'r-42' }],
      from: 1_000_000 - RUNTIME_PAD_BEFORE_MS,
      until: 1_000_250 + RUNTIME_PAD_AFTER_MS,
      runtimeId: 'r-42',
    });
  });
});
