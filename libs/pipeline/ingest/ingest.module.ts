import { Module } from '@nestjs/common';
import { FleetRecorderModule } from '../fleet/fleet.module.js';
import { TenantResolver } from '../tenancy/tenant-resolver.js';
import { IngestController } from './ingest.controller.js';
import { IngestService } from './ingest.service.js';
import { PushGrpcRoute } from './push.grpc-route.js';

@Module({
  imports: [FleetRecorderModule],
  controllers: [IngestController],
  providers: [IngestService, TenantResolver, PushGrpcRoute],
})
export class IngestModule {}
