import { Module } from '@nestjs/common';
import { FleetRecorderModule } from '../fleet/fleet.module.js';
import { ExportService } from './export.service.js';
import { NormalizedSeriesConsumer } from './normalized-series.consumer.js';

@Module({
  imports: [FleetRecorderModule],
  controllers: [NormalizedSeriesConsumer],
  providers: [ExportService],
})
export class ExportModule {}
