import { Telemetry } from '../../src/telemetry/internal-events.js';
import { silentLogger } from '../../src/telemetry/log.js';

export function testTelemetry(): Telemetry {
  return new Telemetry(silentLogger());
}
