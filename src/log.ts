import { pino, type DestinationStream, type Logger as PinoLogger } from 'pino';

export type Logger = PinoLogger;

/** JSON lines on stdout (12-factor); secrets that may show up in objects are redacted. */
export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino({
    level,
    base: undefined,
    redact: { paths: ['password', '*.password', 'client_secret', '*.client_secret', 'req.headers.authorization', 'req.headers.cookie'], censor: '[redacted]' },
  }, destination);
}
