import { Controller } from '@nestjs/common';
import { EventPattern, Payload } from '@nestjs/microservices';
import { TOPICS, type MessageBatch } from '../../queue/index.js';
import { OtlpExportService } from './otlp-export.service.js';

/** The three OTLP signal topics, each with its consumer group (queue/topics.ts). */
@Controller()
export class OtlpBatchConsumer {
  constructor(private readonly exporter: OtlpExportService) {}

  @EventPattern(TOPICS.traces)
  async onTraces(@Payload() batch: MessageBatch): Promise<void> {
    await this.exporter.handleBatch('traces', batch);
  }

  @EventPattern(TOPICS.metrics)
  async onMetrics(@Payload() batch: MessageBatch): Promise<void> {
    await this.exporter.handleBatch('metrics', batch);
  }

  @EventPattern(TOPICS.logs)
  async onLogs(@Payload() batch: MessageBatch): Promise<void> {
    await this.exporter.handleBatch('logs', batch);
  }
}
