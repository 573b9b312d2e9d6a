import type { ReportTable } from './report-tables.ts';

/**
 * A report as one page, in Markdown or as self-contained HTML (inline style, no script, no external asset, every
 * value escaped): the compliance report and the incident report are both a title, a preamble and tables.
 */
export interface ReportPage {
  title: string;
  preamble: readonly string[];
  tables: readonly ReportTable[];
  /** The preamble line that says the audit chain does not verify, shown as a warning; null when it verifies. */
  brokenLine?: number | null;
}

function markdownCell(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
}

function markdownTable(table: ReportTable): string {
  if (table.rows.length === 0) return `## ${table.title}\n\n${table.empty}\n`;
  const line = (cells: readonly string[]) => `| ${cells.map(markdownCell).join(' | ')} |`;
  return [`## ${table.title}`, '', line(table.columns), line(table.columns.map(() => '---')), ...table.rows.map(line), ''].join('\n');
}

export function markdownPage(page: ReportPage): string {
  const preamble = page.preamble.map((text) => `- ${markdownCell(text)}`);
  return [`# ${page.title}`, '', ...preamble, '', ...page.tables.map(markdownTable)].join('\n');
}

function escapeHtml(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

function htmlCell(cell: string): string {
  const outcome = ['allow', 'flag', 'deny', 'withhold'].includes(cell) ? ` class="outcome ${cell}"` : '';
  return `<td${outcome}>${escapeHtml(cell)}</td>`;
}

function htmlTable(table: ReportTable): string {
  if (table.rows.length === 0) return `<h2>${escapeHtml(table.title)}</h2>\n<p class="empty">${escapeHtml(table.empty)}</p>`;
  const head = table.columns.map((column) => `<th>${escapeHtml(column)}</th>`).join('');
  const body = table.rows.map((row) => `<tr>${row.map(htmlCell).join('')}</tr>`).join('\n');
  return `<h2>${escapeHtml(table.title)}</h2>\n<table>\n<thead><tr>${head}</tr></thead>\n<tbody>\n${body}\n</tbody>\n</table>`;
}

const STYLE = `
body { font: 14px/1.45 system-ui, sans-serif; margin: 2rem; color: #1d2433; }
h1 { font-size: 1.5rem; } h2 { font-size: 1.15rem; margin-top: 2rem; }
table { border-collapse: collapse; width: 100%; } th, td { border: 1px solid #c9ced8; padding: .3rem .5rem; text-align: left; vertical-align: top; }
th { background: #eef1f6; } .empty { color: #5a6375; font-style: italic; }
.outcome.allow { color: #1b6e2e; } .outcome.flag { color: #8a5a00; font-weight: 600; } .outcome.deny, .outcome.withhold { color: #a11b1b; font-weight: 600; }
.broken { background: #fde8e8; border: 1px solid #a11b1b; padding: .5rem; }`;

export function htmlPage(page: ReportPage): string {
  const title = escapeHtml(page.title);
  const preamble = page.preamble.map((text, i) => `<li${i === page.brokenLine ? ' class="broken"' : ''}>${escapeHtml(text)}</li>`).join('\n');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${title}</title>
<style>${STYLE}</style>
</head>
<body>
<h1>${title}</h1>
<ul>
${preamble}
</ul>
${page.tables.map(htmlTable).join('\n')}
</body>
</html>
`;
}
