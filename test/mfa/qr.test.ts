import { describe, expect, it } from 'vitest';
import QRCode from 'qrcode';
import { qrDataUrl, qrSvg } from '../../src/mfa/qr.ts';

const uri = 'otpauth://totp/Example%20IdP:ada%40example.com?issuer=Example%20IdP&secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&algorithm=SHA1&digits=6&period=30';

describe('qr', () => {
  it('renders an SVG at error correction M with a margin of 2 modules', async () => {
    const svg = await qrSvg(uri);
    expect(svg).toMatch(/^<svg [^>]*xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
    const size = Number(/viewBox="0 0 (\d+) \1"/.exec(svg)?.[1]);
    const modules = (level: 'L' | 'M' | 'H'): number => QRCode.create(uri, { errorCorrectionLevel: level }).modules.size;
    // The levels give different symbol sizes for this text, so the size pins the level.
    expect(new Set([modules('L'), modules('M'), modules('H')]).size).toBe(3);
    expect(size).toBe(modules('M') + 2 * 2);
  });

  it('wraps the same SVG in a base64 data: URL', async () => {
    const url = await qrDataUrl(uri);
    const prefix = 'data:image/svg+xml;base64,';
    expect(url.startsWith(prefix)).toBe(true);
    expect(Buffer.from(url.slice(prefix.length), 'base64').toString('utf8')).toBe(await qrSvg(uri));
  });
});
