import { legacyProfileType } from '../../model/index.js';
import type { IngestParams, UploadFormat } from '../../protocol/index.js';
import { instanceOf, type AgentKey } from './fleet.recorder.js';

const LEGACY: ReadonlySet<UploadFormat> = new Set([
  'groups',
  'lines',
  'trie',
  'tree',
  'speedscope',
]);

/**
 * The fleet key of an upload before it is decoded, resolved the way the series will be
 * labelled (an explicit service_name wins; legacy formats drop the `.cpu`-style suffix), so the
 * ingest, decoder and exporter facets of one agent land on the same entry.
 */
export function agentKeyOfUpload(
  tenant: string,
  params: Pick<IngestParams, 'appName' | 'labels'>,
  format: UploadFormat | undefined,
): AgentKey {
  const labels = params.labels ?? {};
  let service = labels.service_name ?? params.appName;
  if (!labels.service_name && format && LEGACY.has(format)) {
    service = legacyProfileType(params.appName)?.app ?? params.appName;
  }
  const instance = instanceOf(Object.entries(labels).map(([name, value]) => ({ name, value })));
  return { tenant, service, instance };
}
