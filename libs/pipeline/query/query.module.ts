import { Inject, Module, type OnModuleDestroy, Optional } from '@nestjs/common';
import type { EmbeddedStore } from '../../backends/index.js';
import { Metrics } from '../../observability/index.js';
import type { EmberConfig } from '../../runtime/config.js';
import { EMBEDDED_STORE, EMBER_CONFIG } from '../core/tokens.js';
import { FleetModule } from '../fleet/fleet.module.js';
import { TenantResolver } from '../tenancy/tenant-resolver.js';
import { QueryExecutor } from './query-executor.js';
import { QueryController } from './query.controller.js';
import { SpanLinksController } from './span-links.controller.js';

/**
 * The read side: the query API of the embedded store (loaded by the process that hosts it),
 * its queries run on worker threads with a time budget (QueryExecutor, unless
 * EMBER_QUERY_WORKERS=0), and the fleet view (GET /api/v1/fleet), both tenant-scoped.
 */
@Module({
  imports: [FleetModule],
  controllers: [QueryController, SpanLinksController],
  providers: [
    TenantResolver,
    {
      provide: QueryExecutor,
      inject: [EMBER_CONFIG, Metrics, { token: EMBEDDED_STORE, optional: true }],
      useFactory: (
        config: EmberConfig,
        metrics: Metrics,
        store: EmbeddedStore | null,
      ): QueryExecutor | null =>
        store && config.query.workers > 0
          ? new QueryExecutor({
              databasePath: store.dataDir,
              ...config.query,
              registry: metrics.registry,
            })
          : null,
    },
  ],
})
export class QueryModule implements OnModuleDestroy {
  constructor(@Optional() @Inject(QueryExecutor) private readonly executor: QueryExecutor | null) {}

  async onModuleDestroy(): Promise<void> {
    await this.executor?.close();
  }
}
