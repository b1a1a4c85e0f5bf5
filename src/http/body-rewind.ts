import type { IncomingMessage } from 'node:http';
import { RequestBytesError } from './request-bytes-error.ts';

/**
 * Reads a request body whole, at most `limit` bytes, and puts it back into the same stream, so
 * whoever parses next reads exactly these bytes as if nobody had: oidc-provider reads `req` with
 * `req.iterator()` while `req.readable` (and falls back, with a warning, to an already parsed
 * body otherwise), @koa/bodyparser listens for 'data' and 'end'. Keeping the same stream keeps
 * everything else about it too (headers, socket, `complete`).
 *
 * Putting back is `unshift`, which Node allows until 'end' has been emitted. The end is never
 * consumed here: `read()` is called only while bytes are buffered, and the bytes go back in the
 * same tick as the last read, so the 'end' that read may schedule finds the buffer full again
 * and waits for the next reader.
 */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (declared > limit) return Promise.reject(tooLarge(limit));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const settle = (error: Error | null) => {
      settled = true;
      req.off('readable', drain);
      req.off('error', failed);
      req.off('close', failed);
      if (error) return reject(error);
      const body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size);
      if (size > 0) req.unshift(body);
      resolve(body);
    };
    // The client went away mid-body (Node reports ECONNRESET, which must not read as an outage).
    const failed = () => settle(new RequestBytesError('request.aborted', 'The request body did not arrive whole.'));
    function drain(): void {
      while (req.readableLength > 0) {
        const chunk = req.read() as Buffer | null;
        if (chunk === null) break;
        size += chunk.length;
        if (size > limit) return settle(tooLarge(limit));
        chunks.push(chunk);
      }
      // `complete` is set before the parser pushes the end, so nothing more is coming.
      if (req.complete) settle(null);
    }
    drain();
    if (settled) return;
    // Ask for more now: a 'readable' listener added while no read is pending schedules a
    // read(0) of its own, which would consume the end if it arrives first (an empty chunked body).
    req.read(0);
    req.on('readable', drain);
    req.on('error', failed);
    req.on('close', failed);
  });
}

function tooLarge(limit: number): RequestBytesError {
  return new RequestBytesError('request.too_large', `The request body is larger than ${Math.floor(limit / 1024)} KiB.`);
}

/**
 * Replaces the body that readBody put back, before anyone has read it: the new bytes are what
 * the next reader gets, and Content-Length says their length (oidc-provider checks it).
 */
export function replaceBody(req: IncomingMessage, body: Buffer): void {
  if (!req.readable || body.length === 0) throw new Error('no unread request body to replace');
  // Same tick as the reads, as in readBody: the end stays unconsumed.
  while (req.readableLength > 0) req.read();
  req.unshift(body);
  req.headers['content-length'] = String(body.length);
}
