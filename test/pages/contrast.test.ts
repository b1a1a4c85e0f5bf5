import { describe, expect, it } from 'vitest';
import { contrastRatio, parseHex, relativeLuminance } from '../../src/pages/contrast.ts';

describe('WCAG 2.x contrast', () => {
  it('reads #rrggbb in either case and nothing else', () => {
    expect(parseHex('#2F5bd3')).toEqual([0x2f, 0x5b, 0xd3]);
    for (const bad of ['2f5bd3', '#fff', '#2f5bd3ff', '#gggggg', ' #2f5bd3', 'red']) expect(() => parseHex(bad)).toThrow(/#rrggbb/);
  });

  it('gives the relative luminance of the WCAG definition', () => {
    expect(relativeLuminance('#000000')).toBe(0);
    expect(relativeLuminance('#ffffff')).toBeCloseTo(1, 10);
    // Pure primaries weigh by the sRGB coefficients.
    expect(relativeLuminance('#ff0000')).toBeCloseTo(0.2126, 10);
    expect(relativeLuminance('#00ff00')).toBeCloseTo(0.7152, 10);
    expect(relativeLuminance('#0000ff')).toBeCloseTo(0.0722, 10);
    // Mid grey is far below 0.5: the curve is not linear.
    expect(relativeLuminance('#808080')).toBeCloseTo(0.2159, 4);
  });

  it('gives known ratios, in either order', () => {
    expect(contrastRatio('#ffffff', '#000000')).toBeCloseTo(21, 10);
    expect(contrastRatio('#000000', '#ffffff')).toBeCloseTo(21, 10);
    expect(contrastRatio('#2f5bd3', '#2f5bd3')).toBe(1);
    // The classic just-fails grey: 4.48, below AA's 4.5.
    expect(contrastRatio('#777777', '#ffffff')).toBeCloseTo(4.48, 2);
    expect(contrastRatio('#767676', '#ffffff')).toBeGreaterThan(4.5);
    expect(contrastRatio('#ffffff', '#7b9cff')).toBeCloseTo(2.61, 2);
  });

  it('passes the default accents in every place they are used', () => {
    expect(contrastRatio('#ffffff', '#2f5bd3')).toBeGreaterThanOrEqual(4.5);
    expect(contrastRatio('#0b1020', '#8fb0ff')).toBeGreaterThanOrEqual(4.5);
    expect(contrastRatio('#8fb0ff', '#1c212b')).toBeGreaterThanOrEqual(4.5);
  });
});
