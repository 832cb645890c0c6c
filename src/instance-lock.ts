import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * One Peso per embedded data folder: PGlite is one process's database, and a second process
 * opening the same folder would abort deep in WebAssembly. `npm start` takes `peso.pid` in the
 * data folder first; a lock whose process is gone is taken over.
 */
export class InstanceLockedError extends Error {
  override name = 'InstanceLockedError';
}

export interface InstanceLock {
  /** Records the URL the running instance serves, for the message a second start prints. */
  serving(url: string): void;
  release(): void;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export function lockDataDir(dataDir: string): InstanceLock {
  mkdirSync(dataDir, { recursive: true });
  const file = join(dataDir, 'peso.pid');
  const write = (url: string | null, flag: 'wx' | 'w') =>
    writeFileSync(file, `${JSON.stringify({ pid: process.pid, url })}\n`, { flag });
  for (let attempt = 0; ; attempt++) {
    try {
      write(null, 'wx');
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 0) throw error;
      let holder: { pid?: unknown; url?: unknown } = {};
      try {
        holder = JSON.parse(readFileSync(file, 'utf8'));
      } catch {
        // Unreadable: left by a process that died while writing it.
      }
      if (typeof holder.pid === 'number' && holder.pid !== process.pid && alive(holder.pid)) {
        const where = typeof holder.url === 'string' ? ` at ${holder.url}` : '';
        throw new InstanceLockedError(
          `another Peso is running on the data folder ${dataDir} (pid ${holder.pid}${where}). ` +
            'Stop it first, or set PESO_DATA_DIR to another folder.',
        );
      }
      rmSync(file, { force: true });
    }
  }
  return {
    serving: (url) => write(url, 'w'),
    release: () => {
      try {
        const holder = JSON.parse(readFileSync(file, 'utf8'));
        if (holder.pid === process.pid) rmSync(file, { force: true });
      } catch {
        // Already gone.
      }
    },
  };
}
