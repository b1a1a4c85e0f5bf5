
/**
 * QR codes for TOTP enrolment. SVG keeps it crisp at any zoom, needs no canvas, and inlines as a
 * data: image, which the page CSP allows (img-src data:) while scripts and styles stay locked down.
 * Error correction M (15 %) survives a screen's glare and moiré; margin 2 modules is less than
 * the spec's quiet zone of 4, enough for phone scanners on a plain page background.
 */
export async function qrSvg(text: string): Promise<string> {
  // Loaded on the first enrolment, not at start-up: most requests never draw a QR code.
  const { default: QRCode } = await import('qrcode');
  return QRCode.toString(text, { type: 'svg', errorCorrectionLevel: 'M', margin: 2 });
}

/** The same SVG as a data: URL for `<img src>`; base64 so no character of the SVG needs escaping. */
export async function qrDataUrl(text: string): Promise<string> {
  const svg = await qrSvg(text);
  return `data:image/svg+xml;base64,${Buffer.from(svg, 'utf8').toString('base64')}`;
}
