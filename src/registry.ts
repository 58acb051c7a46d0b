/**
 * The one place components register. Adding a component = its folder plus
 * one line here.
 */
import type { ComponentCatalog } from './config/load.js';
import type { ExporterFactory, ProcessorFactory } from './pipeline/component.js';
import { probeConfigSchema } from './probes/config.js';
import type { ProbeDefinition } from './probes/types.js';
import { soconnectProbe } from './probes/soconnect/index.js';
import { tcpretransProbe } from './probes/tcpretrans/index.js';
import { udpconnectProbe } from './probes/udpconnect/index.js';
import { stdoutExporterFactory } from './exporters/stdout/factory.js';
import { nullExporterFactory } from './exporters/null/factory.js';
import { kafkaExporterFactory } from './exporters/kafka/factory.js';

export interface ProbeFactory {
  type: string;
  configSchema: typeof probeConfigSchema;
  definition: ProbeDefinition;
}

const probeDefinitions: ProbeDefinition[] = [soconnectProbe, tcpretransProbe, udpconnectProbe];

const processorFactories: ProcessorFactory[] = [];

const exporterFactories: ExporterFactory[] = [stdoutExporterFactory, nullExporterFactory, kafkaExporterFactory];

export interface Registry extends ComponentCatalog {
  probes: ReadonlyMap<string, ProbeFactory>;
  processors: ReadonlyMap<string, ProcessorFactory>;
  exporters: ReadonlyMap<string, ExporterFactory>;
}

export const registry: Registry = {
  probes: new Map(probeDefinitions.map((d) => [d.name, { type: d.name, configSchema: probeConfigSchema, definition: d }])),
  processors: new Map(processorFactories.map((f) => [f.type, f])),
  exporters: new Map(exporterFactories.map((f) => [f.type, f])),
};
