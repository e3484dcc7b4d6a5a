// Emberflow's default entry point: the targets named by EMBER_TARGETS (default: all, in one
// process; with no Kafka or Redis configured, on embedded stand-ins).
import { main } from '../../libs/runtime/bootstrap.js';

void main();
