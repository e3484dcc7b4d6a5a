import { Controller } from '@nestjs/common';
import { EventPattern, Payload } from '@nestjs/microservices';
import { TOPICS, type MessageBatch } from '../../queue/index.js';
import { DecodeService } from './decode.service.js';

@Controller()
export class RawUploadConsumer {
  constructor(private readonly decode: DecodeService) {}

  @EventPattern(TOPICS.raw)
  async onBatch(@Payload() batch: MessageBatch): Promise<void> {
    await this.decode.handleBatch(batch);
  }
}
