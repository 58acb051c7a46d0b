/**
 * netspan command line: run | doctor | probes | validate.
 * The environment is read here, once, and handed down.
 */
import { parseArgs } from 'node:util';
import { join } from 'node:path';
import { registry } from '../registry.js';
import { repoRoot } from '../paths.js';
import { runCommand } from './run.js';
import { doctorCommand, probesCommand } from './doctor.js';
import { validateCommand } from './validate.js';

const USAGE = `Usage:
  netspan run [--config FILE] [--duration SECONDS] [--record FILE] [--replay FILE]
  netspan doctor
  netspan probes
  netspan validate FILE

run        start the probes and pipelines (default config: pipelines/default.yaml)
doctor     check that this host can run every probe, with a fix for each problem
probes     list the probes, their kernel hooks and whether they can run here
validate   check a pipeline file and print every error with its line and key`;

export async function main(argv: string[]): Promise<number> {
  const env = process.env;
  const [cmd, ...rest] = argv;
  try {
    switch (cmd) {
      case 'run': {
        const { values } = parseArgs({
          args: rest,
          strict: true,
          options: {
            config: { type: 'string', short: 'c' },
            duration: { type: 'string', short: 'd' },
            record: { type: 'string' },
            replay: { type: 'string' },
          },
        });
        let duration: number | undefined;
        if (values.duration !== undefined) {
          duration = Number(values.duration);
          if (!Number.isFinite(duration) || duration <= 0) {
            process.stderr.write(`--duration must be a positive number of seconds, got "${values.duration}"\n`);
            return 2;
          }
        }
        return await runCommand({
          configFile: values.config ?? join(repoRoot(), 'pipelines', 'default.yaml'),
          durationS: duration,
          record: values.record,
          replay: values.replay,
          env,
          registry,
        });
      }
      case 'doctor':
        return await doctorCommand(registry, env);
      case 'probes':
        return await probesCommand(registry, env);
      case 'validate': {
        const { positionals } = parseArgs({ args: rest, strict: true, allowPositionals: true });
        if (positionals.length !== 1) {
          process.stderr.write('Usage: netspan validate FILE\n');
          return 2;
        }
        return await validateCommand(positionals[0]!, registry, env);
      }
      case undefined:
      case '-h':
      case '--help':
      case 'help':
        process.stdout.write(USAGE + '\n');
        return cmd === undefined ? 2 : 0;
      default:
        process.stderr.write(`unknown command "${cmd}"\n${USAGE}\n`);
        return 2;
    }
  } catch (e: unknown) {
    if (e instanceof TypeError && (e as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`${e.message}\n${USAGE}\n`);
      return 2;
    }
    throw e;
  }
}
