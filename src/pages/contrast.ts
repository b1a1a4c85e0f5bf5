// WCAG 2.x contrast: https://www.w3.org/TR/WCAG22/#dfn-contrast-ratio and
// https://www.w3.org/TR/WCAG22/#dfn-relative-luminance (sRGB, 8 bits per channel).

export type Rgb = readonly [red: number, green: number, blue: number];

/** `#rrggbb` (either case) → channels 0-255; throws on anything else. */
export function parseHex(hex: string): Rgb {
  const match = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(hex);
  if (!match) throw new Error(`not a #rrggbb colour: ${hex}`);
  return [parseInt(match[1]!, 16), parseInt(match[2]!, 16), parseInt(match[3]!, 16)];
}

// The WCAG text still says 0.03928; the sRGB standard's 0.04045 gives the same result for
// every 8-bit value, since no channel value falls between the two.
const linear = (channel: number): number => {
  const c = channel / 255;
  return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
};

/** 0 for black, 1 for white. */
export function relativeLuminance(hex: string): number {
  const [r, g, b] = parseHex(hex);
  return 0.2126 * linear(r) + 0.7152 * linear(g) + 0.0722 * linear(b);
}

/** From 1 (the same colour) to 21 (black and white); the order of the two does not matter. */
export function contrastRatio(a: string, b: string): number {
  const [lighter, darker] = [relativeLuminance(a), relativeLuminance(b)].sort((x, y) => y - x) as [number, number];
  return (lighter + 0.05) / (darker + 0.05);
}
