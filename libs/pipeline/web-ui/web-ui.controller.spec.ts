import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { UI_ROOT, contentTypeOf, resolveAsset } from './web-ui.controller.js';

describe('web UI file serving', () => {
  const root = '/srv/ui/';

  it('names the content types the bundle uses', () => {
    assert.equal(contentTypeOf('index.html'), 'text/html; charset=utf-8');
    assert.equal(contentTypeOf('assets/index-abc.js'), 'text/javascript; charset=utf-8');
    assert.equal(contentTypeOf('assets/index-abc.CSS'), 'text/css; charset=utf-8');
    assert.equal(contentTypeOf('assets/index-abc.js.map'), 'application/json; charset=utf-8');
    assert.equal(contentTypeOf('assets/logo.svg'), 'image/svg+xml');
    assert.equal(contentTypeOf('assets/blob'), 'application/octet-stream');
  });

  it('resolves asset paths inside the root only', () => {
    assert.equal(resolveAsset(root, '/assets/index-abc.js'), '/srv/ui/assets/index-abc.js');
    assert.equal(resolveAsset(root, '/assets/a.js?v=1'), '/srv/ui/assets/a.js');
    assert.equal(resolveAsset(root, '/assets/../../etc/passwd'), null);
    assert.equal(resolveAsset(root, '/assets/..%2F..%2F..%2Fetc%2Fpasswd'), null);
    assert.equal(resolveAsset(root, '/assets/%E0%A4%A'), null, 'malformed escapes');
    assert.equal(resolveAsset(root, '/assets/a%00.js'), null, 'NUL');
  });

  it('serves dist/ui beside the compiled libraries', () => {
    // compiled to dist/libs/pipeline/web-ui/: three levels up is dist/
    assert.ok(UI_ROOT.endsWith(join('dist', 'ui') + '/'), UI_ROOT);
  });
});
