// The message constructors used by the Push API, re-exported from one place.
export * from './wire.js';
export * from './push-request.js';
export * from './push-json.js';
export * from './connect-error.js';
export * from './connect-envelope.js';
