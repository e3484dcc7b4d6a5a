import type { Api } from '../api';
import { dateTime } from '../format';
import { useAsync } from '../hooks';
import { defaultProfileType } from '../profile-types';
import { labelSelector } from '../state';

// The selected range holds nothing (for this tenant, or for the chosen service), but profiles
// may sit elsewhere: a backfill, a replayed recording or a fixture carries its own timestamps,
// and a newcomer looking at "the last hour" would conclude nothing arrived. This looks over the
// last year (and a day ahead, for clocks that run fast), finds where the service's data is, and
// offers to show that range.

const DAY = 86_400_000;
const LOOK_BACK = 366 * DAY;
const POINTS = 200;

export interface DataElsewhere {
  service: string;
  first: number;
  last: number;
}

/** Where `service` (or the tenant's first service) has data over the look-back window. */
async function findData(api: Api, service: string, now: number): Promise<DataElsewhere | null> {
  const start = now - LOOK_BACK;
  const end = now + DAY;
  const services = await api.labelValues('service_name', [], start, end);
  const svc = service && services.includes(service) ? service : services[0];
  if (!svc) return null;
  const selector = labelSelector(svc, []);
  const [all, own] = await Promise.all([
    api.profileTypes(start, end),
    api.labelValues('__profile_type__', [selector], start, end),
  ]);
  const type = defaultProfileType(own.length > 0 ? all.filter((t) => own.includes(t.ID)) : all);
  if (!type) return null;
  // a coarse look over the whole window, then a finer one over what it found
  let span: [number, number] | null = [start, end];
  for (let pass = 0; pass < 2 && span; pass++) {
    const step = Math.max(10, Math.round((span[1] - span[0]) / 1000 / POINTS));
    const series = await api.selectSeries(
      { profileTypeID: type.ID, labelSelector: selector, start: span[0], end: span[1] },
      step,
    );
    const times = series.flatMap((s) => (s.points ?? []).map((p) => Number(p.timestamp)));
    span = times.length === 0 ? null : [Math.min(...times), Math.max(...times) + step * 1000];
  }
  return span && { service: svc, first: span[0], last: span[1] };
}

export function NoDataNotice({
  api,
  service,
  now,
  onShow,
}: {
  api: Api;
  /** the chosen service ('' for none) */
  service: string;
  /** the instant the range was resolved at (a Refresh looks again) */
  now: number;
  onShow: (service: string, from: number, until: number) => void;
}) {
  const found = useAsync(() => findData(api, service, now), [api, service, now]);
  if (found.loading || found.error) return null;
  const d = found.data;
  if (!d) return <p className="muted">No service has profiles in this range for this tenant.</p>;
  const what = service && d.service === service ? 'This service' : `This tenant (${d.service})`;
  return (
    <p className="notice" role="status" data-testid="no-data-notice">
      No profiles in the selected range. {what} has profiles between {dateTime(d.first)} and{' '}
      {dateTime(d.last)}.{' '}
      <button type="button" onClick={() => onShow(d.service, d.first, d.last)}>
        Show that range
      </button>
    </p>
  );
}
