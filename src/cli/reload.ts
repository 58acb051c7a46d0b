/**
 * Reload on SIGHUP and when the config file changes on disk (a mounted
 * ConfigMap is updated by swapping a symlink in its directory, so the
 * directory is watched). A new file is validated first; an invalid one is
 * logged and the running configuration stays.
 */
import { watch, type FSWatcher } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { formatError } from '../config/errors.js';
import type { Env } from '../config/env.js';
import { loadConfigText } from '../config/load.js';
import type { Registry } from '../registry.js';
import type { Service } from '../service/service.js';
import type { Logger } from '../telemetry/log.js';

export interface Reloader {
  /** Re-read and apply now; resolves to whether a new config was applied. */
  reload(reason: string): Promise<boolean>;
  close(): void;
}

export function watchConfig(
  file: string,
  service: Service,
  registry: Registry,
  env: Env,
  logger: Logger,
  initialText: string,
): Reloader {
  let lastText = initialText;
  let timer: NodeJS.Timeout | undefined;
  let chain: Promise<boolean> = Promise.resolve(false);

  const apply = async (reason: string): Promise<boolean> => {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (e: unknown) {
      logger.error(
        { file, reason, error: e instanceof Error ? e.message : String(e) },
        'cannot read the config file; keeping the running configuration',
      );
      return false;
    }
    if (text === lastText && reason !== 'SIGHUP') return false;
    const r = loadConfigText(text, file, registry, env);
    if (!r.ok) {
      logger.error(
        { file, reason, errors: r.errors.map(formatError) },
        'new configuration is invalid; keeping the running configuration',
      );
      lastText = text;
      return false;
    }
    lastText = text;
    await service.reload(r.config);
    return true;
  };

  const reload = (reason: string): Promise<boolean> => {
    chain = chain
      .then(() => apply(reason))
      .catch((e: unknown) => {
        logger.error(
          { error: e instanceof Error ? e.message : String(e) },
          'reload failed; keeping the running configuration',
        );
        return false;
      });
    return chain;
  };

  const onHup = () => void reload('SIGHUP');
  process.on('SIGHUP', onHup);
  let watcher: FSWatcher | undefined;
  try {
    watcher = watch(dirname(file), (_event, name) => {
      if (name && name !== basename(file) && !name.startsWith('..')) return;
      clearTimeout(timer);
      timer = setTimeout(() => void reload('file changed'), 300);
    });
    watcher.on('error', () => undefined);
  } catch {
    logger.warn({ file }, 'cannot watch the config file; reload with SIGHUP');
  }
  return {
    reload,
    close: () => {
      process.off('SIGHUP', onHup);
      clearTimeout(timer);
      watcher?.close();
    },
  };
}
