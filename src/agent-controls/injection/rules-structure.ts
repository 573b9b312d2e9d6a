import { B, E, type Rule, rule, SEP } from './rule.ts';

// Rules that read syntax rather than words, in any language: links that carry data out, tool-call formats,
// commands, and markup that hides text from a human reviewer.

const QUERY_KEY = '[?&][\\p{L}\\p{N}_.-]{1,40}=';

export const STRUCTURE_RULES: readonly Rule[] = [
  // A markdown image is fetched by the client that renders it: its URL carries data out without a click.
  rule('markdown_image', 0.5, '!\\[[^\\]\\n]{0,100}\\]\\([^\\S\\n]{0,3}<?https?://'),
  rule('url_with_query', 0.2, `https?://[^\\s)]{0,200}?${QUERY_KEY}`),
  // A parameter left empty or holding a placeholder asks the reader to fill in the data.
  rule('exfiltration', 0.6, `https?://[^\\s)]{0,200}?${QUERY_KEY}(?:\\{[^}\\s]{1,40}\\}|\\[[^\\]\\s]{1,40}\\]|(?=[\\s)&]|$))`),
  // Function-calling formats of the common model APIs, and commands for a tool that runs them.
  rule(
    'tool_call',
    0.75,
    `["']?(?:name|function|tool|tool_name|action|recipient)["']?\\s{0,3}:\\s{0,3}["'][^"'\\n]{1,60}["']\\s{0,3},\\s{0,3}["']?(?:arguments|parameters|args|input|params)["']?\\s{0,3}:`,
  ),
  rule('tool_call', 0.75, `<[^\\S\\n]{0,3}/?[^\\S\\n]{0,3}(?:tool_call|tool_use|function_calls?|invoke|parameter)${E}`),
  rule('tool_call', 0.75, `${B}functions?\\.[\\p{L}\\p{N}_]{2,40}\\s{0,3}\\(`),
  rule('command', 0.35, `${B}select${SEP}[\\p{L}\\p{N}_*, ]{1,60}${SEP}from${SEP}[\\p{L}_]{1,40}`),
  rule('command', 0.5, `${B}(?:curl|wget)\\s{1,3}\\S{0,20}https?://`),
  rule('command', 0.4, '\\|\\s{0,3}(?:sh|bash|zsh|python3?)(?![\\p{L}\\p{N}_])'),
  // `key=value` arguments outside a URL's query.
  rule('tool_call', 0.2, `(?<![?&])${B}(?:table|sql|query|cmd|command|agent|role|reason|amount)\\s{0,2}=\\s{0,2}["'\\p{L}\\p{N}]`),
  rule(
    'hidden_markup',
    0.3,
    '<!--|-->|\\[//\\]:\\s{0,3}#|\\[comment\\]:\\s{0,3}<>|display\\s{0,3}:\\s{0,3}none|<[^\\S\\n]{0,3}\\p{L}{1,10}[^>\\n]{0,40}[^\\p{L}]hidden(?![\\p{L}])|font-size\\s{0,3}:\\s{0,3}0(?![.\\d])',
  ),
];
