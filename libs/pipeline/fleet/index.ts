export * from './fleet.recorder.js';
export * from './fleet.module.js';
export * from './fleet.controller.js';
