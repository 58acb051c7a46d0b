/**
 * The one place components register. Adding a component = its folder plus
 * one line here.
 */
import type { ComponentCatalog } from './config/load.js';
import type { ExporterFactory, ProcessorFactory } from './pipeline/component.js';
import { filterableProbeConfigSchema, probeConfigSchema } from './probes/config.js';
import type { ProbeDefinition } from './probes/types.js';
import { soconnectProbe } from './probes/soconnect/index.js';
import { tcpretransProbe } from './probes/tcpretrans/index.js';
import { udpconnectProbe } from './probes/udpconnect/index.js';
import { gethostlatencyProbe } from './probes/gethostlatency/index.js';
import { skbdropProbe } from './probes/skbdrop/index.js';
import { processProcessorFactory } from './processors/process/factory.js';
import { containerProcessorFactory } from './processors/container/factory.js';
import { k8sProcessorFactory } from './processors/k8s/factory.js';
import { peerProcessorFactory } from './processors/peer/factory.js';
import { filterProcessorFactory } from './processors/filter/factory.js';
import { sampleProcessorFactory } from './processors/sample/factory.js';
import { rateLimitProcessorFactory } from './processors/rate_limit/factory.js';
import { redactProcessorFactory } from './processors/redact/factory.js';
import { attributesProcessorFactory } from './processors/attributes/factory.js';
import { otlpExporterFactory } from './exporters/otlp/factory.js';
import { stdoutExporterFactory } from './exporters/stdout/factory.js';
import { nullExporterFactory } from './exporters/null/factory.js';
import { kafkaExporterFactory } from './exporters/kafka/factory.js';

export interface ProbeFactory {
  type: string;
  configSchema: typeof probeConfigSchema | typeof filterableProbeConfigSchema;
  definition: ProbeDefinition;
}

const probeDefinitions: ProbeDefinition[] = [
  soconnectProbe,
  tcpretransProbe,
  gethostlatencyProbe,
  skbdropProbe,
  udpconnectProbe,
];

const processorFactories: ProcessorFactory[] = [
  processProcessorFactory,
  containerProcessorFactory,
  k8sProcessorFactory,
  peerProcessorFactory,
  filterProcessorFactory,
  sampleProcessorFactory,
  rateLimitProcessorFactory,
  redactProcessorFactory,
  attributesProcessorFactory,
];

const exporterFactories: ExporterFactory[] = [
  stdoutExporterFactory,
  nullExporterFactory,
  kafkaExporterFactory,
  otlpExporterFactory,
];

export interface Registry extends ComponentCatalog {
  probes: ReadonlyMap<string, ProbeFactory>;
  processors: ReadonlyMap<string, ProcessorFactory>;
  exporters: ReadonlyMap<string, ExporterFactory>;
}

export const registry: Registry = {
  probes: new Map(
    probeDefinitions.map((d) => [
      d.name,
      { type: d.name, configSchema: d.filterable ? filterableProbeConfigSchema : probeConfigSchema, definition: d },
    ]),
  ),
  processors: new Map(processorFactories.map((f) => [f.type, f])),
  exporters: new Map(exporterFactories.map((f) => [f.type, f])),
};
