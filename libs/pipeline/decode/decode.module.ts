import { Module } from '@nestjs/common';
import { DecodeService } from './decode.service.js';
import { RawUploadConsumer } from './raw-upload.consumer.js';

@Module({ controllers: [RawUploadConsumer], providers: [DecodeService] })
export class DecodeModule {}
