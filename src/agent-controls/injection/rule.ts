/**
 * What a rule recognises. A signal names a category, so a mark says why a value was flagged in words an
 * operator can check against the text.
 */
export type Category =
  | 'instruction_override'
  | 'system_prompt'
  | 'role_tag'
  | 'role_play'
  | 'jailbreak'
  | 'new_instructions'
  | 'data_request'
  | 'exfiltration'
  | 'url_with_query'
  | 'markdown_image'
  | 'tool_call'
  | 'command'
  | 'authority_claim'
  | 'addresses_model'
  | 'goal_hijack'
  | 'urgency'
  | 'hidden_markup';

/**
 * One pattern over the scanner's normalised text (lower case, accents dropped from Latin letters, so patterns
 * are written that way). Its weight is how sure one match alone makes us; matches combine (see score.ts).
 */
export interface Rule {
  category: Category;
  weight: number;
  pattern: RegExp;
}

// Building blocks. Every repetition is bounded, and the parts next to a repetition take different characters
// (words, separators) so that it has few ways to match: the text comes from whoever wrote it, and a pattern that
// backtracks without bound would let them stall the broker (test/unit/injection-scan.test.ts times the worst).

/**
 * Start of a word that begins with an ASCII letter (the scanned text has its Latin accents dropped). JavaScript's
 * \b knows ASCII only, which is right here and faster than a Unicode lookbehind.
 */
export const B = '\\b';
/** Start of a word in any script (Cyrillic, Greek): \b sees no edge before a non-ASCII letter. */
export const BU = '(?<![\\p{L}\\p{N}_])';
/** End of a word. */
export const E = '(?![\\p{L}\\p{N}_])';
/** Between two words: one to three non-letters. */
export const SEP = '[^\\p{L}\\p{N}\\n]{1,3}';
/** Between two words that spaced-out letters may have joined: up to three non-letters. */
export const SEP0 = '[^\\p{L}\\p{N}\\n]{0,3}';
/** Up to `n` filler words, each followed by a separator. */
export const FILLER = (n: number) => `(?:[\\p{L}\\p{N}_'’-]{1,30}${SEP}){0,${n}}?`;
/** Up to `n` characters within one sentence. */
export const SPAN = (n: number) => `[^.!?。！？\\n]{0,${n}}?`;
/** Where an e-mail address's domain or a web address starts: what a rule that begins with an address looks for first. */
export const ADDRESS_START = '(?:@[\\p{L}\\p{N}-]{1,63}(?:\\.[\\p{L}\\p{N}-]{1,63}){1,4}|https?://)';
/** An e-mail address or a web address. */
export const ADDRESS = '(?:[\\p{L}\\p{N}._%+-]{1,64}@[\\p{L}\\p{N}-]{1,63}(?:\\.[\\p{L}\\p{N}-]{1,63}){1,4}|https?://)';

/**
 * A rule from pattern source. No capturing groups: rules are joined into one expression per group of rules
 * (rules.ts), where a group's number would change.
 */
export const rule = (category: Category, weight: number, source: string): Rule => ({ category, weight, pattern: new RegExp(source, 'gu') });

/** Alternatives as one group. */
export const anyOf = (...alternatives: string[]) => `(?:${alternatives.join('|')})`;
