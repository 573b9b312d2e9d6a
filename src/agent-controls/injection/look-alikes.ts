/**
 * Cyrillic and Greek letters that render like Latin ones (lower case: the scanner folds case first). Only the
 * common confusables of Unicode's confusables.txt that a reader cannot tell apart in ordinary fonts.
 */
export const HOMOGLYPHS: ReadonlyMap<string, string> = new Map(
  Object.entries({
    // Cyrillic
    а: 'a',
    в: 'b',
    е: 'e',
    ё: 'e',
    һ: 'h',
    н: 'h',
    і: 'i',
    ї: 'i',
    ј: 'j',
    к: 'k',
    ӏ: 'l',
    м: 'm',
    о: 'o',
    р: 'p',
    ԛ: 'q',
    ѕ: 's',
    т: 't',
    с: 'c',
    у: 'y',
    х: 'x',
    ԁ: 'd',
    ԝ: 'w',
    // Greek
    α: 'a',
    β: 'b',
    ε: 'e',
    η: 'n',
    ι: 'i',
    κ: 'k',
    ν: 'v',
    ο: 'o',
    ρ: 'p',
    τ: 't',
    υ: 'u',
    χ: 'x',
    γ: 'y',
    // Latin letters outside ASCII that stand in for ASCII ones
    ı: 'i',
    ɡ: 'g',
    ȷ: 'j',
  }),
);

/** Digits and symbols that stand for letters in leetspeak ("1gn0r3 4ll"). */
export const LEET: ReadonlyMap<string, string> = new Map(
  Object.entries({ '0': 'o', '1': 'i', '3': 'e', '4': 'a', '5': 's', '7': 't', '@': 'a', $: 's', '!': 'i', '|': 'l' }),
);
