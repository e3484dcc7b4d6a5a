// The exporter service: the same bootstrap as every entry point, with one target.
import { main } from '../../libs/runtime/bootstrap.js';

void main(['exporter']);
