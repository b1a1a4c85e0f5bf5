const entities: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Escapes text for HTML element content and quoted attribute values. */
export const escapeHtml = (value: unknown): string => String(value).replace(/[&<>"']/g, (char) => entities[char]!);

/** Pretty JSON, escaped, for a <pre> block. */
export const jsonBlock = (value: unknown): string => `<pre>${escapeHtml(JSON.stringify(value, null, 2))}</pre>`;

/** A whole page. `body` is trusted HTML built with escapeHtml; the title is escaped here. */
export function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>
body { font-family: system-ui, sans-serif; max-width: 52rem; margin: 2rem auto; padding: 0 1rem; color: #1f2328; }
pre { background: #f6f8fa; padding: 0.75rem; overflow-x: auto; border-radius: 6px; }
a.button, button { display: inline-block; padding: 0.5rem 1rem; background: #1f6feb; color: #fff; border: 0; border-radius: 6px; text-decoration: none; font-size: 1rem; }
.note { color: #59636e; }
</style>
</head>
<body>
<h1>${escapeHtml(title)}</h1>
${body}
</body>
</html>`;
}
