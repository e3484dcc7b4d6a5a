import { Module } from '@nestjs/common';
import { TenantResolver } from '../tenancy/tenant-resolver.js';
import { QueryController } from './query.controller.js';

/** The query API of the embedded store; loaded by the process that hosts the store. */
@Module({ controllers: [QueryController], providers: [TenantResolver] })
export class QueryModule {}
