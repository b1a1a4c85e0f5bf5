import { pino, type DestinationStream, type Logger as PinoLogger } from 'pino';

export type Logger = PinoLogger;

/** JSON lines on stdout (12-factor); secrets that may show up in objects are redacted. */
export function createLogger(level: string, destination?: DestinationStream, options: { pretty?: boolean } = {}): Logger {
  // Readable lines for a person at a terminal in development (pino-pretty is a dev dependency);
  // JSON everywhere else.
  const transport = options.pretty && !destination ? { transport: { target: 'pino-pretty', options: { translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' } } } : {};
  return pino({
    ...transport,
    level,
    base: undefined,
    redact: { paths: ['password', '*.password', 'client_secret', '*.client_secret', 'req.headers.authorization', 'req.headers.cookie'], censor: '[redacted]' },
  }, destination);
}

const isInstalled = (name: string): boolean => {
  try {
    import.meta.resolve(name);
    return true;
  } catch {
    return false;
  }
};

/** The process logger: JSON lines, or pretty ones for a developer at a terminal. */
export function createAppLogger(config: { logLevel: string; production: boolean }): Logger {
  return createLogger(config.logLevel, undefined, { pretty: !config.production && process.stdout.isTTY === true && isInstalled('pino-pretty') });
}
