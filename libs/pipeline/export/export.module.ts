import { Module } from '@nestjs/common';
import { ExportService } from './export.service.js';
import { NormalizedSeriesConsumer } from './normalized-series.consumer.js';

@Module({ controllers: [NormalizedSeriesConsumer], providers: [ExportService] })
export class ExportModule {}
