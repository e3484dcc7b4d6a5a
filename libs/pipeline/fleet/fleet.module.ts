import { Module } from '@nestjs/common';
import { TenantResolver } from '../tenancy/tenant-resolver.js';
import { FleetController } from './fleet.controller.js';
import { FleetRecorder } from './fleet.recorder.js';

/**
 * The fleet view: FleetRecorder for the stages to write agent events, and GET /api/v1/fleet.
 * Any process may import it (the data lives in the shared store).
 */
@Module({
  controllers: [FleetController],
  providers: [FleetRecorder, TenantResolver],
  exports: [FleetRecorder],
})
export class FleetModule {}

/** The recorder alone, for stages that write events but do not serve the view. */
@Module({ providers: [FleetRecorder], exports: [FleetRecorder] })
export class FleetRecorderModule {}
