// The Push API: wire primitives, PushRequest codecs (proto and JSON), Connect envelope and errors.
export * from './wire.js';
export * from './push-request.js';
export * from './push-json.js';
export * from './connect-error.js';
export * from './connect-envelope.js';
