// Injection tokens for what bootstrap builds before Nest starts (config and the ports), so
// modules depend on the port, never on which implementation the process chose.
export const EMBER_CONFIG = Symbol('EMBER_CONFIG');
export { QUEUE_BROKER } from '../../queue/index.js';
export { SHARED_STORE } from '../../cache/index.js';
export const EMBEDDED_STORE = Symbol('EMBEDDED_STORE');
export const BACKEND_LIST = Symbol('BACKEND_LIST');
export const SPAN_STORE = Symbol('SPAN_STORE');
export const OTLP_BACKENDS = Symbol('OTLP_BACKENDS');
