// The metadata of one `/ingest` upload, as the ingest app resolves it from the query string
// and headers (pyroscope-protocol.md §1.1-§1.4). It travels with the raw body through Kafka, so
// the decoder sees exactly what ingest saw. All fields are plain data (JSON-serialisable).

/** The body formats `/ingest` dispatches to (§1.4), plus Push. */
export type UploadFormat =
  | 'pprof' // raw pprof body (format=pprof)
  | 'pprof-form' // multipart: profile / prev_profile / sample_type_config
  | 'jfr' // raw JFR body (format=jfr, not multipart)
  | 'jfr-form' // multipart: jfr / labels
  | 'groups' // folded text, the default
  | 'lines'
  | 'trie'
  | 'tree'
  | 'speedscope'
  | 'push' // push.v1.PusherService/Push request (binary proto)
  | 'otlp'; // OTLP ExportProfilesServiceRequest (protobuf or OTLP/JSON)

export interface IngestParams {
  /** the `name` query parameter as sent, e.g. `app.cpu{env=dev}` */
  name: string;
  /** app name (the part before `{`), already validated */
  appName: string;
  /** labels from `name`, in input order with duplicates resolved (last wins); `__name__` excluded */
  labels: Record<string, string>;
  /** profile start, Unix nanoseconds as a decimal string (exact) */
  fromNanos: string;
  /** profile end, Unix nanoseconds as a decimal string (exact) */
  untilNanos: string;
  /** samples per second; 100 when absent or invalid; 0 means "no scaling" */
  sampleRate: number;
  /** `unknown` when absent */
  spyName: string;
  /** `samples` when absent */
  units: string;
  /** `sum` when absent */
  aggregationType: string;
  /** the raw `format` query parameter, '' when absent */
  formatParam: string;
}
