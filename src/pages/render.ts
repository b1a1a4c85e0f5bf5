import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import ejs from 'ejs';

export const viewsDir = fileURLToPath(new URL('../../views/', import.meta.url));

export type PageData = Record<string, unknown> & { title: string };
export type RenderPage = (view: string, data: PageData) => string;

/**
 * Renders `views/<view>.ejs` inside `views/layout.ejs`. Templates are compiled once and kept:
 * a page render is then only string work. ejs escapes `<%= %>` output, which every view uses
 * for anything that came from a request, a client's metadata or an account.
 */
export function createPageRenderer(options: { productName: string; dir?: string }): RenderPage {
  const dir = options.dir ?? viewsDir;
  const compiled = new Map<string, ejs.TemplateFunction>();
  const template = (name: string): ejs.TemplateFunction => {
    let fn = compiled.get(name);
    if (!fn) {
      const filename = `${dir}${name}.ejs`;
      fn = ejs.compile(readFileSync(filename, 'utf8'), { filename, strict: true, localsName: 'it' });
      compiled.set(name, fn);
    }
    return fn;
  };
  return (view, data) => {
    const locals = { productName: options.productName, ...data };
    const body = template(view)(locals);
    return template('layout')({ ...locals, body });
  };
}
