import { Module } from '@nestjs/common';
import { TenantResolver } from '../tenancy/tenant-resolver.js';
import { IngestController } from './ingest.controller.js';
import { IngestService } from './ingest.service.js';

@Module({
  controllers: [IngestController],
  providers: [IngestService, TenantResolver],
})
export class IngestModule {}
