import { Module } from '@nestjs/common';
import { WebUiController } from './web-ui.controller.js';

/** The web UI of the embedded store: loaded next to QueryModule by the exporter process. */
@Module({ controllers: [WebUiController] })
export class WebUiModule {}
