import { Module } from '@nestjs/common';
import { FleetRecorderModule } from '../fleet/fleet.module.js';
import { DecodeService } from './decode.service.js';
import { RawUploadConsumer } from './raw-upload.consumer.js';

@Module({
  imports: [FleetRecorderModule],
  controllers: [RawUploadConsumer],
  providers: [DecodeService],
})
export class DecodeModule {}
