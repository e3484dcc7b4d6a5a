import { Controller } from '@nestjs/common';
import { EventPattern, Payload } from '@nestjs/microservices';
import { TOPICS, type MessageBatch } from '../../queue/index.js';
import { ExportService } from './export.service.js';

@Controller()
export class NormalizedSeriesConsumer {
  constructor(private readonly exporter: ExportService) {}

  @EventPattern(TOPICS.normalized)
  async onBatch(@Payload() batch: MessageBatch): Promise<void> {
    await this.exporter.handleBatch(batch);
  }
}
