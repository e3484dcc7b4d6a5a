import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MediaTypeError, parseMediaType } from './media-type.js';

describe('parseMediaType (Go mime.ParseMediaType)', () => {
  it('parses type and parameters', () => {
    const m = parseMediaType('Multipart/Form-Data; Boundary="a\\"b"; charset=UTF-8;');
    assert.equal(m.type, 'multipart/form-data');
    assert.deepEqual(
      m.params,
      new Map([
        ['boundary', 'a"b'],
        ['charset', 'UTF-8'],
      ]),
    );
  });
  it('keeps an MSIE-style backslash literally', () => {
    assert.equal(
      parseMediaType('form-data; filename="C:\\dev\\x.txt"').params.get('filename'),
      'C:\\dev\\x.txt',
    );
  });
  it('decodes RFC 2231 parameters', () => {
    assert.equal(
      parseMediaType("form-data; filename*=UTF-8''na%C3%AFve.txt").params.get('filename'),
      'naïve.txt',
    );
    assert.equal(parseMediaType('form-data; name*0="a"; name*1="b"').params.get('name'), 'ab');
  });
  it('errors', () => {
    for (const [v, msg] of [
      ['', 'mime: no media type'],
      ['text/', 'mime: expected token after slash'],
      ['text plain', 'mime: expected slash after first token'],
      ['text/plain x', 'mime: unexpected content after media subtype'],
      ['text/plain; a', 'mime: invalid media parameter'],
      ['text/plain; a=1; a=2', 'mime: duplicate parameter name'],
    ]) {
      assert.throws(
        () => parseMediaType(v),
        (e: unknown) => e instanceof MediaTypeError && e.message === msg,
        v,
      );
    }
    assert.deepEqual(parseMediaType('text/plain; a=1; a=1').params.get('a'), '1');
  });
});
