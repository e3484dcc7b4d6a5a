import { Module } from '@nestjs/common';
import { FleetRecorderModule } from '../fleet/fleet.module.js';
import { TenantResolver } from '../tenancy/tenant-resolver.js';
import { IngestController } from './ingest.controller.js';
import { IngestService } from './ingest.service.js';
import { OtlpProfilesController } from './otlp-profiles.controller.js';
import { IngestGrpcRoutes } from './ingest.grpc-route.js';
import { OtlpIngestController } from '../otlp/otlp-ingest.controller.js';
import { OtlpIngestService } from '../otlp/otlp-ingest.service.js';
import { OtlpGrpcRoutes } from '../otlp/otlp.grpc-route.js';

@Module({
  imports: [FleetRecorderModule],
  controllers: [IngestController, OtlpProfilesController, OtlpIngestController],
  providers: [IngestService, OtlpIngestService, TenantResolver, IngestGrpcRoutes, OtlpGrpcRoutes],
})
export class IngestModule {}
