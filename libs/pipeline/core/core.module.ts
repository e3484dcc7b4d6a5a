import { type DynamicModule, Global, Module } from '@nestjs/common';
import type { Backend } from '../../backends/backend.port.js';
import type { EmbeddedStore } from '../../backends/embedded-store/embedded-store.js';
import type { SpanStore } from '../../backends/embedded-store/span-store.js';
import type { OtlpBackend } from '../../backends/otlp/otlp-backend.js';
import type { SharedStore } from '../../cache/index.js';
import { Metrics, Readiness } from '../../observability/index.js';
import type { QueueBroker } from '../../queue/index.js';
import type { EmberConfig } from '../../runtime/config.js';
import { GrpcRoutes } from '../grpc/grpc-routes.js';
import {
  BACKEND_LIST,
  EMBEDDED_STORE,
  EMBER_CONFIG,
  OTLP_BACKENDS,
  QUEUE_BROKER,
  SHARED_STORE,
  SPAN_STORE,
} from './tokens.js';

export interface CoreDeps {
  config: EmberConfig;
  broker: QueueBroker;
  store: SharedStore;
  backends: Backend[];
  embedded: EmbeddedStore | null;
  /** the embedded span store (exporter, unless the embedded store is disabled) */
  spanStore?: SpanStore | null;
  /** OTLP receivers, one per endpoint and signal (exporter) */
  otlpBackends?: OtlpBackend[];
  metrics: Metrics;
  readiness: Readiness;
  /** where modules register their gRPC methods (bootstrap serves them) */
  grpcRoutes?: GrpcRoutes;
}

/**
 * What every component shares, built by bootstrap before Nest starts (so a bad config or an
 * unreachable dependency fails before any module runs). Lifecycles of these objects belong to
 * bootstrap, not to Nest.
 */
@Global()
@Module({})
export class CoreModule {
  static forRoot(deps: CoreDeps): DynamicModule {
    return {
      module: CoreModule,
      providers: [
        { provide: EMBER_CONFIG, useValue: deps.config },
        { provide: QUEUE_BROKER, useValue: deps.broker },
        { provide: SHARED_STORE, useValue: deps.store },
        { provide: BACKEND_LIST, useValue: deps.backends },
        { provide: EMBEDDED_STORE, useValue: deps.embedded },
        { provide: SPAN_STORE, useValue: deps.spanStore ?? null },
        { provide: OTLP_BACKENDS, useValue: deps.otlpBackends ?? [] },
        { provide: Metrics, useValue: deps.metrics },
        { provide: Readiness, useValue: deps.readiness },
        { provide: GrpcRoutes, useValue: deps.grpcRoutes ?? new GrpcRoutes() },
      ],
      exports: [
        EMBER_CONFIG,
        QUEUE_BROKER,
        SHARED_STORE,
        BACKEND_LIST,
        EMBEDDED_STORE,
        SPAN_STORE,
        OTLP_BACKENDS,
        Metrics,
        Readiness,
        GrpcRoutes,
      ],
    };
  }
}
