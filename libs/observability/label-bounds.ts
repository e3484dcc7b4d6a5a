import { DISCARD_REASONS } from './discard-reasons.js';

// Label values of Emberflow's own metrics come from closed sets or are capped, because every
// distinct value is a series the process keeps for ever and /metrics prints on every scrape
// (regression: 3,000 invented spyNames and tenants, from unauthenticated uploads, took /metrics
// from 17 KB to 1.8 MB and the process up 68 MB).
//   - spy:    the agents' spyNames Pyroscope knows (pkg/distributor/model/push.go and the SDKs),
//             else `other`;
//   - format: the upload formats, else `other`;
//   - reason: the discard reasons (discard-reasons.ts), else `unknown`;
//   - status: three digits, else `other`;
//   - tenant: tenants named in the config file, `anonymous` and `unknown` always; of the others,
//             the first EMBER_METRICS_MAX_TENANTS seen since start, then `other`.

export const KNOWN_SPY_NAMES: ReadonlySet<string> = new Set([
  'gospy',
  'ebpfspy',
  'pyspy',
  'rbspy',
  'phpspy',
  'dotnetspy',
  'nodespy',
  'javaspy',
  'grafana-agent.java',
  'pyroscope-rs',
  'rustspy',
  'scripting',
  'push',
  'otlp',
  'unknown',
]);

export const KNOWN_FORMATS: ReadonlySet<string> = new Set([
  'pprof',
  'pprof-form',
  'jfr',
  'jfr-form',
  'groups',
  'lines',
  'trie',
  'tree',
  'speedscope',
  'push',
  'otlp',
  // OTLP exports by signal (libs/pipeline/otlp)
  'otlp_traces',
  'otlp_metrics',
  'otlp_logs',
  'unknown',
]);

const REASONS: ReadonlySet<string> = new Set(DISCARD_REASONS);

export const OTHER = 'other';

/** Tenants as a metric label: named ones always, the first `max` others, then `other`. */
export class TenantLabels {
  private readonly named = new Set<string>(['anonymous', 'unknown']);
  private readonly seen = new Set<string>();

  constructor(private max = 10) {}

  /** The config's tenants always keep their own value; `max` others get theirs first come. */
  configure(named: Iterable<string>, max: number): void {
    for (const t of named) this.named.add(t);
    this.max = max;
  }

  value(tenant: string): string {
    if (this.named.has(tenant) || this.seen.has(tenant)) return tenant;
    if (this.seen.size < this.max) {
      this.seen.add(tenant);
      return tenant;
    }
    return OTHER;
  }
}

export function boundedLabel(name: string, value: string, tenants: TenantLabels): string {
  switch (name) {
    case 'tenant':
      return tenants.value(value);
    case 'spy':
      return KNOWN_SPY_NAMES.has(value) ? value : OTHER;
    case 'format':
      return KNOWN_FORMATS.has(value) ? value : OTHER;
    case 'reason':
      return REASONS.has(value) ? value : 'unknown';
    case 'status':
      return /^\d{3}$/.test(value) ? value : OTHER;
    default:
      return value;
  }
}
