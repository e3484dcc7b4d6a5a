import { Module } from '@nestjs/common';
import { FleetModule } from '../fleet/fleet.module.js';
import { TenantResolver } from '../tenancy/tenant-resolver.js';
import { QueryController } from './query.controller.js';

/**
 * The read side: the query API of the embedded store (loaded by the process that hosts it) and
 * the fleet view (GET /api/v1/fleet), both tenant-scoped.
 */
@Module({ imports: [FleetModule], controllers: [QueryController], providers: [TenantResolver] })
export class QueryModule {}
