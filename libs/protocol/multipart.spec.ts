import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { fixturePath } from '../../test/support/paths.js';
import { isProtocolError, ProtocolError } from './errors.js';
import { formFile, parseBoundary, readMultipart } from './multipart.js';

const fx = (name: string) => readFileSync(fixturePath('pyroscope', name));

function rejects(fn: () => unknown, message: string): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof ProtocolError, String(e));
    assert.equal(e.status, 422);
    assert.equal(e.message, message);
    return true;
  });
}

describe('parseBoundary', () => {
  it('reads the boundary, quoted or not, parameter name case-insensitive', () => {
    assert.equal(parseBoundary('multipart/form-data; boundary=abc'), 'abc');
    assert.equal(parseBoundary('multipart/form-data; BOUNDARY="a b:c"'), 'a b:c');
    assert.equal(parseBoundary('multipart/form-data;boundary=x;charset=utf-8'), 'x');
  });
  it('errors are Go’s', () => {
    rejects(() => parseBoundary('multipart/form-data'), 'malformed multipart content type header');
    rejects(() => parseBoundary(''), 'mime: no media type');
    rejects(() => parseBoundary('multipart/form-data; boundary'), 'mime: invalid media parameter');
    rejects(
      () => parseBoundary('multipart/form-data; boundary=a; boundary=b'),
      'mime: duplicate parameter name',
    );
    rejects(() => parseBoundary('multipart/; boundary=a'), 'mime: expected token after slash');
  });
});

describe('readMultipart on the fixtures (multipart/README)', () => {
  it('go-mutex: profile = pprof/req_4.pprof, sample_type_config = req_4.st.json', () => {
    const body = fx('multipart/go-mutex.multipart.bin');
    const parts = readMultipart(
      body,
      parseBoundary(
        'multipart/form-data; boundary=5f0e3a8c1d2b4a697788990011223344556677889900aabbccddeeff0011',
      ),
    );
    assert.deepEqual(
      parts.map((p) => [p.name, p.filename, p.contentType]),
      [
        ['profile', 'profile.pprof', 'application/octet-stream'],
        ['sample_type_config', 'sample_type_config.json', 'application/octet-stream'],
      ],
    );
    assert.deepEqual(formFile(parts, 'profile'), fx('pprof/req_4.pprof'));
    assert.deepEqual(formFile(parts, 'sample_type_config'), fx('pprof/req_4.st.json'));
    assert.equal(formFile(parts, 'prev_profile'), undefined);
    assert.equal(parts[0].data.buffer, body.buffer, 'parts are views into the body');
  });

  it('java jfr: jfr = jfr/dump1.jfr.gz, labels = jfr/dump1.labels.pb.gz', () => {
    const parts = readMultipart(
      fx('multipart/java-jfr-itimer-with-labels.multipart.bin'),
      '3c9b8a1e-6f2d-4e57-9a0b-1c2d3e4f5a6b',
    );
    assert.deepEqual(formFile(parts, 'jfr'), fx('jfr/dump1.jfr.gz'));
    assert.deepEqual(formFile(parts, 'labels'), fx('jfr/dump1.labels.pb.gz'));
    assert.equal(parts.find((p) => p.name === 'labels')?.contentType, 'application/x-protobuf');
  });

  it('the wrong boundary is `multipart: NextPart: EOF`', () => {
    rejects(
      () => readMultipart(fx('multipart/go-mutex.multipart.bin'), 'nope'),
      'multipart: NextPart: EOF',
    );
  });

  it('every truncation of a fixture fails with a Go message or yields a prefix of its parts', () => {
    const body = fx('multipart/go-mutex.multipart.bin');
    const boundary = '5f0e3a8c1d2b4a697788990011223344556677889900aabbccddeeff0011';
    for (let cut = 0; cut < body.length; cut += 7) {
      try {
        const parts = readMultipart(body.subarray(0, cut), boundary);
        assert.ok(parts.length <= 2);
      } catch (e) {
        assert.ok(isProtocolError(e));
        assert.match(
          e.message,
          /^(unexpected EOF|multipart: NextPart: EOF|malformed MIME header(: missing colon:| line:) .*)$/,
        );
      }
    }
  });
});

describe('readMultipart: Go reader rules', () => {
  const form = (s: string) => Buffer.from(s, 'latin1');
  it('preamble and epilogue are ignored; LF-only line endings are accepted', () => {
    const crlf = form(
      'junk\r\n--b\r\nContent-Disposition: form-data; name="profile"; filename="p"\r\n\r\nDATA\r\n--b--\r\nepilogue',
    );
    assert.equal(formFile(readMultipart(crlf, 'b'), 'profile')?.toString(), 'DATA');
    const lf = form(
      '--b\nContent-Disposition: form-data; name="profile"; filename="p"\n\nDATA\n--b--\n',
    );
    assert.equal(formFile(readMultipart(lf, 'b'), 'profile')?.toString(), 'DATA');
  });
  it('a boundary-like line inside data is data unless followed by --, space or newline', () => {
    const body = form(
      '--b\r\nContent-Disposition: form-data; name="profile"; filename="p"\r\n\r\nA\r\n--bx\r\nB\r\n--b--',
    );
    assert.equal(formFile(readMultipart(body, 'b'), 'profile')?.toString(), 'A\r\n--bx\r\nB');
  });
  it('only file parts count; empty files are absent; first of a name wins; filename is a base name', () => {
    const body = form(
      '--b\r\nContent-Disposition: form-data; name="profile"\r\n\r\nVALUE\r\n' +
        '--b\r\nContent-Disposition: form-data; name="labels"; filename="l"\r\n\r\n\r\n' +
        '--b\r\nContent-Disposition: form-data; name="jfr"; filename="dir/sub/rec.jfr"\r\n\r\nONE\r\n' +
        '--b\r\nContent-Disposition: form-data; name="jfr"; filename="x"\r\n\r\nTWO\r\n--b--',
    );
    const parts = readMultipart(body, 'b');
    assert.equal(formFile(parts, 'profile'), undefined);
    assert.equal(formFile(parts, 'labels'), undefined);
    assert.equal(formFile(parts, 'jfr')?.toString(), 'ONE');
    assert.equal(parts[2].filename, 'rec.jfr');
  });
  it('a part not of disposition form-data has no name', () => {
    const body = form(
      '--b\r\nContent-Disposition: attachment; name="jfr"; filename="x"\r\n\r\nD\r\n--b--',
    );
    assert.equal(formFile(readMultipart(body, 'b'), 'jfr'), undefined);
  });
  it('errors read as Go’s', () => {
    rejects(() => readMultipart(form(''), 'b'), 'multipart: NextPart: EOF');
    rejects(() => readMultipart(form('--b\r\n'), ''), 'multipart: boundary is empty');
    rejects(
      () =>
        readMultipart(
          form('--b\r\nContent-Disposition: form-data; name="p"; filename="f"\r\n\r\nDATA'),
          'b',
        ),
      'unexpected EOF',
    );
    rejects(
      () => readMultipart(form('--b\r\nNoColon\r\n\r\nx\r\n--b--'), 'b'),
      'malformed MIME header: missing colon: "NoColon"',
    );
    rejects(
      () => readMultipart(form('--b\r\nX:\u0001\r\n\r\nx\r\n--b--'), 'b'),
      'malformed MIME header line: "X:\\x01"',
    );
    // Go canonicalises the key in place before quoting the line
    rejects(
      () => readMultipart(form('--b\r\ncontent-dis--position:\u0001\r\n\r\nx\r\n--b--'), 'b'),
      'malformed MIME header line: "Content-Dis--Position:\\x01"',
    );
    rejects(
      () => readMultipart(form('--b\r\nA: 1\r\n\r\nx\r\n--b \tgarbage\r\n'), 'b'),
      'multipart: expecting a new Part; got line "--b \\tgarbage\\r\\n"',
    );
  });
  it('part count and part size limits', () => {
    const one =
      '--b\r\nContent-Disposition: form-data; name="f"; filename="f"\r\n\r\n0123456789\r\n';
    const body = form(one.repeat(3) + '--b--');
    assert.equal(readMultipart(body, 'b', { maxParts: 3 }).length, 3);
    rejects(() => readMultipart(body, 'b', { maxParts: 2 }), 'multipart: message too large');
    rejects(() => readMultipart(body, 'b', { maxPartBytes: 9 }), 'multipart: part exceeds 9 bytes');
    assert.equal(readMultipart(body, 'b', { maxPartBytes: 10 }).length, 3);
  });
});

describe('readMultipart: properties', () => {
  const fieldName = fc.constantFrom(
    'profile',
    'prev_profile',
    'sample_type_config',
    'jfr',
    'labels',
    'x.y',
  );
  const boundary = fc.string({
    unit: fc.constantFrom(...'abcXYZ0189-_'.split('')),
    minLength: 1,
    maxLength: 40,
  });

  it('random forms parse back to the same parts', () => {
    fc.assert(
      fc.property(
        boundary,
        fc.array(
          fc.record({
            name: fieldName,
            file: fc.boolean(),
            data: fc.uint8Array({ maxLength: 300 }),
          }),
          { maxLength: 6 },
        ),
        fc.boolean(),
        (b, parts, lf) => {
          const nl = lf ? '\n' : '\r\n';
          const chunks: Buffer[] = [];
          for (const p of parts) {
            const disp = `form-data; name="${p.name}"${p.file ? `; filename="${p.name}.bin"` : ''}`;
            chunks.push(
              Buffer.from(
                `--${b}${nl}Content-Disposition: ${disp}${nl}Content-Type: application/octet-stream${nl}${nl}`,
              ),
            );
            chunks.push(Buffer.from(p.data), Buffer.from(nl));
          }
          chunks.push(Buffer.from(`--${b}--${nl}`));
          const body = Buffer.concat(chunks);
          // A random payload may itself contain the delimiter; the writer's job is to pick a
          // boundary that does not occur. Skip those (rare) cases.
          if (
            parts.some(
              (p) =>
                Buffer.from(p.data).includes(`${nl}--${b}`) ||
                Buffer.from(p.data).includes(`--${b}`),
            )
          )
            return;
          if (parts.length === 0) {
            // Go switches to LF mode only on a part's boundary line, so an empty LF form is
            // just a preamble without an end: Go rejects it, and so do we.
            if (lf) rejects(() => readMultipart(body, b), 'multipart: NextPart: EOF');
            else assert.deepEqual(readMultipart(body, b), []);
            return;
          }
          const got = readMultipart(body, b);
          assert.equal(got.length, parts.length);
          got.forEach((g, i) => {
            assert.equal(g.name, parts[i].name);
            assert.equal(g.filename, parts[i].file ? `${parts[i].name}.bin` : undefined);
            assert.deepEqual(new Uint8Array(g.data), parts[i].data);
          });
        },
      ),
      { numRuns: 300 },
    );
  });

  it('random bytes never throw anything but ProtocolError', () => {
    const noisy = fc.oneof(
      fc.uint8Array({ maxLength: 300 }),
      fc
        .array(
          fc.constantFrom(
            '--b',
            '\r\n',
            '\n',
            'Content-Disposition: form-data; name="jfr"; filename="x"',
            ':',
            ' ',
            '--',
            'x',
            '\t',
          ),
          { maxLength: 30 },
        )
        .map((a) => Buffer.from(a.join(''))),
    );
    fc.assert(
      fc.property(noisy, (bytes) => {
        try {
          readMultipart(bytes, 'b');
        } catch (e) {
          assert.ok(isProtocolError(e), String(e));
        }
      }),
      { numRuns: 2000 },
    );
  });
});
