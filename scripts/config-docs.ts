// `npm run docs:config`: rewrites the generated regions of README.md and docs/configuration.md
// (between `<!-- generated:NAME ... -->` and `<!-- /generated:NAME -->`) from the schemas and
// libs/runtime/settings.ts. config-reference.spec.ts fails while a region is out of date.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generatedRegions, rewriteGenerated } from '../libs/runtime/config-reference.js';
import { repoRoot } from '../test/support/paths.js';

for (const file of ['README.md', 'docs/configuration.md']) {
  const path = join(repoRoot(), file);
  const before = readFileSync(path, 'utf8');
  const after = rewriteGenerated(before);
  const regions = generatedRegions(before);
  if (regions.length === 0) throw new Error(`${file} marks no generated region`);
  if (after !== before) writeFileSync(path, after);
  console.log(
    `${file}: ${regions.join(', ')} ${after === before ? 'already current' : 'rewritten'}`,
  );
}
