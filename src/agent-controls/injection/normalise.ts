import { HOMOGLYPHS, LEET } from './look-alikes.ts';
import { deleteAt, inPlace, type MappedText, rewrite } from './mapped-text.ts';

/** A way of hiding words from a plain reading that `deobfuscate` undoes. */
export type Obfuscation = 'zero_width' | 'bidi' | 'homoglyph' | 'spaced_letters' | 'leetspeak';

const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;
/**
 * Scripts whose accents and stacked marks carry no meaning for the rules (é = e, zalgo text = text). Not
 * Cyrillic: й and и are different letters there.
 */
const MARKS_DROPPABLE = /^[\p{Script=Latin}\p{Script=Greek}\p{Script=Common}]/u;
const MARK = /\p{M}/gu;
/** Characters the slow path may change beyond case: Latin and Greek letters (accents), marks, non-ASCII spaces. */
const HAS_FOLDABLE = /[^\p{ASCII}\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}\p{Script=Cyrillic}\p{P}]|\p{M}/u;
const IS_MARK = /^\p{M}$/u;

/**
 * How a reader sees the text: compatibility forms folded (NFKC: full-width letters, ligatures), accents dropped
 * from Latin and Greek letters, lower case. Invisible characters are kept: finding words only once they
 * are removed is what tells an obfuscated instruction from a plain one.
 */
export function surfaceForm(text: string): MappedText {
  if (PRINTABLE_ASCII.test(text)) return inPlace(text.toLowerCase());
  if (!HAS_FOLDABLE.test(text) && text.normalize('NFKC') === text) {
    const lower = text.toLowerCase();
    if (lower.length === text.length) return inPlace(lower);
  }
  let previousDroppable = false;
  return rewrite(inPlace(text), (codePoint) => {
    if (IS_MARK.test(codePoint)) return previousDroppable ? '' : codePoint;
    const decomposed = codePoint.normalize('NFKD');
    previousDroppable = MARKS_DROPPABLE.test(decomposed);
    const base = previousDroppable ? decomposed.replace(MARK, '') : decomposed;
    return base.normalize('NFC').toLowerCase();
  });
}

const BIDI_CONTROL = /^[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]$/u;
/** Format characters (zero-width, bidi, tags, soft hyphen) and variation selectors: nothing a reader sees. */
const INVISIBLE = /^[\p{Cf}\p{Variation_Selector}]$/u;
const TAG_CHARACTER = /^[\u{e0000}-\u{e007f}]$/u;
const ANY_INVISIBLE = /[\p{Cf}\p{Variation_Selector}]/u;

function stripInvisible(input: MappedText, undone: Set<Obfuscation>): MappedText {
  if (!ANY_INVISIBLE.test(input.text)) return input;
  return rewrite(input, (codePoint) => {
    if (!INVISIBLE.test(codePoint)) return codePoint;
    // Tag characters are read as the ASCII they encode (decodedSegments), not counted here.
    if (BIDI_CONTROL.test(codePoint)) undone.add('bidi');
    else if (!TAG_CHARACTER.test(codePoint)) undone.add('zero_width');
    return '';
  });
}

const LETTERS = /\p{L}+/gu;
const LATIN = /\p{Script=Latin}/u;
const ANY_HOMOGLYPH = new RegExp(`[${[...HOMOGLYPHS.keys()].join('')}]`, 'u');

/** Folds words that mix Latin letters with Cyrillic or Greek look-alikes, or are made of look-alikes only. */
function foldHomoglyphs(input: MappedText, undone: Set<Obfuscation>): MappedText {
  if (!ANY_HOMOGLYPH.test(input.text)) return input;
  const fold = new Set<number>();
  for (const word of input.text.matchAll(LETTERS)) {
    const letters = [...word[0]];
    const lookAlikes = letters.filter((letter) => HOMOGLYPHS.has(letter)).length;
    if (lookAlikes === 0) continue;
    if (lookAlikes === letters.length || letters.some((letter) => LATIN.test(letter))) {
      for (let k = 0; k < word[0].length; k++) fold.add(word.index + k);
    }
  }
  if (fold.size === 0) return input;
  undone.add('homoglyph');
  return rewrite(input, (codePoint, at) => (fold.has(at) ? (HOMOGLYPHS.get(codePoint) ?? codePoint) : codePoint));
}

/**
 * Three or more single letters or digits parted by one separator, the same throughout: "i g n o r e", "r.e.v.e.a.l"
 * (so in "i.g.n.o.r.e a.l.l" the space still parts two words). A longer run is joined in pieces of 41, so a run
 * that fails at its end costs a bounded retry from each letter.
 */
const SPACED_RUN = /(?<![\p{L}\p{N}])[\p{L}\p{N}]([ .\-_*·/|+~])(?:[\p{L}\p{N}]\1){1,39}[\p{L}\p{N}](?![\p{L}\p{N}])/gu;

const LETTER_OR_DIGIT = /[\p{L}\p{N}]/u;

/** Joins spaced-out letters into words; words of such letters stay apart when another separator parts them. */
function joinSpacedLetters(input: MappedText, undone: Set<Obfuscation>): MappedText {
  const separators = new Set<number>();
  for (const run of input.text.matchAll(SPACED_RUN)) {
    for (let k = 1; k < run[0].length; k++) if (!LETTER_OR_DIGIT.test(run[0][k]!)) separators.add(run.index + k);
  }
  if (separators.size > 0) undone.add('spaced_letters');
  return deleteAt(input, separators);
}

const LEET_WORD = /[\p{L}\p{N}@$!|]+/gu;
const EMAIL = /[\p{L}\p{N}._%+-]{1,64}@[\p{L}\p{N}-]{1,63}(?:\.[\p{L}\p{N}-]{1,63}){1,4}/gu;
const HAS_LETTER = /\p{L}/u;
const LETTER_BY_LEET = /\p{L}[0-9@$!|]|[0-9@$!|]\p{L}/u;

/** Reads digits and symbols as letters in words that mix them with letters ("1gn0r3"); e-mail addresses stay. */
function foldLeetspeak(input: MappedText, undone: Set<Obfuscation>): MappedText {
  if (!LETTER_BY_LEET.test(input.text)) return input;
  const inEmail = new Set<number>();
  for (const email of input.text.matchAll(EMAIL)) for (let k = 0; k < email[0].length; k++) inEmail.add(email.index + k);
  const fold = new Map<number, string>();
  for (const word of input.text.matchAll(LEET_WORD)) {
    const token = word[0];
    if (!HAS_LETTER.test(token) || inEmail.has(word.index)) continue;
    for (let k = 0; k < token.length; k++) {
      const letter = LEET.get(token[k]!);
      // "!" and "|" end sentences and part words: they stand for letters only inside a word.
      const inner = k > 0 && k < token.length - 1;
      if (letter && (inner || (token[k] !== '!' && token[k] !== '|'))) fold.set(word.index + k, letter);
    }
  }
  if (fold.size === 0) return input;
  undone.add('leetspeak');
  return rewrite(input, (codePoint, at) => fold.get(at) ?? codePoint);
}

/** The surface form with every obfuscation undone, and which of them changed anything. */
export function deobfuscate(surface: MappedText): { text: MappedText; undone: ReadonlySet<Obfuscation> } {
  const undone = new Set<Obfuscation>();
  let text = stripInvisible(surface, undone);
  text = foldHomoglyphs(text, undone);
  text = joinSpacedLetters(text, undone);
  text = foldLeetspeak(text, undone);
  return { text, undone };
}
