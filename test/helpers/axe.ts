import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Page } from 'playwright-core';

/*
 * Accessibility checks on a page open in Chromium: axe-core's rules, and the two things axe does
 * not check, a visible focus indicator and reflow at a phone's width. Page-side code is passed
 * as strings: this project's TypeScript has no DOM types.
 */

/**
 * axe-core itself, for `context.addInitScript`: it then runs in every document before the page's
 * own scripts and outside the page's CSP (which forbids inline scripts), and V8 compiles it once
 * per renderer instead of once per page.
 */
export const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

/**
 * WCAG 2.0-2.2 A and AA, plus axe's best practices (landmarks, one h1, heading order, …): the
 * pages are small and fixed, so they can meet all of them.
 * https://github.com/dequelabs/axe-core/blob/develop/doc/API.md#axe-core-tags
 */
export const AXE_TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice'] as const;

export interface Finding {
  rule: string;
  help: string;
  /** The elements, one line each: CSS selector and axe's summary of what is wrong. */
  nodes: string[];
}

/**
 * axe's violations on the page as it is now. Without `axeSource` as an init script of the
 * context, it is added as a script tag, which the page's CSP lets in only with `bypassCSP: true`.
 */
export async function axeFindings(page: Page): Promise<Finding[]> {
  if (!(await page.evaluate('typeof globalThis.axe === "object"'))) await page.addScriptTag({ content: axeSource });
  const options = { runOnly: { type: 'tag', values: AXE_TAGS }, resultTypes: ['violations'] };
  return page.evaluate(`axe.run(document, ${JSON.stringify(options)}).then((result) => result.violations.map((violation) => ({
    rule: violation.id,
    help: violation.help,
    nodes: violation.nodes.map((node) => node.target.join(' >> ') + ': ' + (node.failureSummary || '').replace(/\\s+/g, ' ').trim()),
  })))`) as Promise<Finding[]>;
}

/**
 * Page-side helpers: `describe(el)` names an element by its stable attributes (and its form's
 * action), `behind(el)` is the first opaque background colour under it.
 */
const pageHelpers = `
  const isClear = (color) => /^rgba\\(.*,\\s*0\\)$|^transparent$/.test(color);
  const describe = (el) => {
    const form = el.closest('form');
    return (form ? 'form[action=' + form.getAttribute('action') + '] ' : '') + el.tagName.toLowerCase()
      + (el.id ? '#' + el.id : '') + (el.getAttribute('name') ? '[name=' + el.getAttribute('name') + ']' : '')
      + (el.getAttribute('type') ? '[type=' + el.getAttribute('type') + ']' : '')
      + (el.className ? '.' + String(el.className).trim().split(/\\s+/).join('.') : '')
      + (el.getAttribute('href') ? '[href=' + el.getAttribute('href') + ']' : '');
  };
  const behind = (el) => {
    for (let node = el.parentElement; node; node = node.parentElement) {
      const color = getComputedStyle(node).backgroundColor;
      if (!isClear(color)) return color;
    }
    return 'rgb(255, 255, 255)';
  };`;

/** The focus ring of the element with focus, and the colour behind it. */
interface FocusStyle {
  element: string;
  outlineStyle: string;
  outlineWidth: number;
  outlineColor: string;
  behind: string;
}

const describeFocused = `(() => {${pageHelpers}
  const el = document.activeElement;
  if (!el || el === document.body || el === document.documentElement) return null;
  const style = getComputedStyle(el);
  return { element: describe(el), outlineStyle: style.outlineStyle, outlineWidth: parseFloat(style.outlineWidth) || 0, outlineColor: style.outlineColor, behind: behind(el) };
})()`;

const countFocusable = `[...document.querySelectorAll('a[href], button:not([disabled]), input:not([type=hidden]):not([disabled]), select, textarea, [tabindex]:not([tabindex="-1"])')]
  .filter((el) => el.getClientRects().length > 0).length`;

/**
 * Tabs through the page and returns, for each element the keyboard reaches, what is wrong with
 * its focus indicator: none shown, thinner than 2 CSS px, or under 3:1 against the card behind it
 * (WCAG 2.4.7 focus visible, 1.4.11 non-text contrast). Also reports elements the keyboard never
 * reaches.
 */
export async function focusProblems(page: Page): Promise<string[]> {
  const focusable = (await page.evaluate(countFocusable)) as number;
  const problems: string[] = [];
  const seen = new Set<string>();
  await page.evaluate('document.activeElement && document.activeElement.blur()');
  // Twice round at most: Tab from the last element passes the browser's own UI before the first.
  for (let press = 0; press < focusable * 2 + 2 && seen.size < focusable; press++) {
    await page.keyboard.press('Tab');
    const style = (await page.evaluate(describeFocused)) as FocusStyle | null;
    if (!style || seen.has(style.element)) continue;
    seen.add(style.element);
    const ratio = contrastRatio(style.outlineColor, style.behind);
    if (style.outlineStyle === 'none' || style.outlineWidth < 2) problems.push(`${style.element}: no focus outline (${style.outlineStyle} ${style.outlineWidth}px)`);
    else if (ratio < 3) problems.push(`${style.element}: focus outline ${style.outlineColor} on ${style.behind} has contrast ${ratio.toFixed(2)}:1, under 3:1`);
  }
  if (seen.size < focusable) problems.push(`the keyboard reached ${seen.size} of ${focusable} focusable elements: ${[...seen].join(', ')}`);
  return problems;
}

/** How a control's edge shows: its border, its own background, and the colour around it. */
interface ControlEdge {
  element: string;
  border: string | null;
  fill: string | null;
  behind: string;
}

const controlEdges = `(() => {${pageHelpers}
  return [...document.querySelectorAll('input:not([type=hidden]), select, textarea, button')]
    .filter((el) => el.getClientRects().length > 0 && !el.classList.contains('link'))
    .map((el) => {
      const style = getComputedStyle(el);
      const bordered = style.borderTopStyle !== 'none' && parseFloat(style.borderTopWidth) >= 1 && !isClear(style.borderTopColor);
      return { element: describe(el), border: bordered ? style.borderTopColor : null, fill: isClear(style.backgroundColor) ? null : style.backgroundColor, behind: behind(el) };
    });
})()`;

/**
 * WCAG 1.4.11 non-text contrast, which axe does not check: every form field and button (but
 * those drawn as links) must stand out from what is around it at 3:1, by its border or by its
 * own background.
 */
export async function controlEdgeProblems(page: Page): Promise<string[]> {
  const edges = (await page.evaluate(controlEdges)) as ControlEdge[];
  return edges.flatMap((edge) => {
    const byBorder = edge.border ? contrastRatio(edge.border, edge.behind) : 0;
    const byFill = edge.fill ? contrastRatio(edge.fill, edge.behind) : 0;
    if (Math.max(byBorder, byFill) >= 3) return [];
    const shown = [edge.border && `border ${edge.border} ${byBorder.toFixed(2)}:1`, edge.fill && `background ${edge.fill} ${byFill.toFixed(2)}:1`].filter(Boolean).join(', ') || 'no border or background';
    return [`${edge.element}: its edge does not reach 3:1 against ${edge.behind} (${shown})`];
  });
}

/** WCAG 1.4.10 reflow: nothing wider than the viewport (no sideways scrolling at 320 CSS px and up). */
export async function overflowProblems(page: Page): Promise<string[]> {
  const { scroll, client } = (await page.evaluate('({ scroll: document.documentElement.scrollWidth, client: document.documentElement.clientWidth })')) as { scroll: number; client: number };
  if (scroll <= client) return [];
  // Name the element that sticks out furthest, so the message says what to fix.
  const widest = await page.evaluate(`(() => {
    let found = null;
    for (const element of document.body.querySelectorAll('*')) {
      const right = element.getBoundingClientRect().right;
      if (right > ${client} && (!found || right > found.right)) found = { right, name: element.tagName.toLowerCase() + (element.className ? '.' + String(element.className).split(' ').join('.') : ''), text: (element.textContent || '').trim().slice(0, 40) };
    }
    return found;
  })()`) as { right: number; name: string; text: string } | null;
  const culprit = widest ? ` (${widest.name} "${widest.text}" ends at ${Math.round(widest.right)} px)` : '';
  return [`the page is ${scroll} px wide in a ${client} px viewport: it scrolls sideways${culprit}`];
}

/** `rgb(r, g, b)` / `rgba(r, g, b, a)` as Chromium computes colours; alpha is ignored. */
function channels(color: string): [number, number, number] {
  const match = /rgba?\(\s*([\d.]+)[,\s]+([\d.]+)[,\s]+([\d.]+)/.exec(color);
  if (!match) throw new Error(`unexpected computed colour ${color}`);
  return [Number(match[1]), Number(match[2]), Number(match[3])];
}

/** https://www.w3.org/TR/WCAG22/#dfn-contrast-ratio */
export function contrastRatio(a: string, b: string): number {
  const luminance = (color: string) => {
    const [r, g, bl] = channels(color).map((value) => {
      const c = value / 255;
      return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
    }) as [number, number, number];
    return 0.2126 * r + 0.7152 * g + 0.0722 * bl;
  };
  const [light, dark] = [luminance(a), luminance(b)].sort((x, y) => y - x) as [number, number];
  return (light + 0.05) / (dark + 0.05);
}
