import { Module } from '@nestjs/common';
import { TenantResolver } from '../tenancy/tenant-resolver.js';
import { OtlpBatchConsumer } from './otlp-batch.consumer.js';
import { OtlpExportService } from './otlp-export.service.js';
import { TempoController } from './tempo.controller.js';

/**
 * The exporter's OTLP side: consumes the signal topics into the span store and the OTLP
 * backends, and serves the stored traces through Tempo's HTTP API.
 */
@Module({
  controllers: [OtlpBatchConsumer, TempoController],
  providers: [OtlpExportService, TenantResolver],
})
export class OtlpExportModule {}
