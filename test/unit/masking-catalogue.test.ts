import { describe, expect, it } from 'vitest';
import {
  compileMask,
  createMaskingKeys,
  getMaskFunction,
  maskFunctions,
  MaskParamsError,
  parseMaskParams,
  UnknownMaskFunctionError,
  type MaskValueType,
  type MaskContext,
} from '../../src/masking/mask-functions.ts';

const ctx: MaskContext = { keys: createMaskingKeys(new Uint8Array(32).fill(3), 'mk-test'), scope: 't.c' };

/** The least a steward must write for each function. */
const MINIMAL_PARAMS: Record<string, object> = {
  generalize_number: { width: 10 },
  truncate_text: { maxLength: 20 },
  noise_number: { relative: 0.1 },
  substitute: { dictionary: 'first_name' },
};

const SAMPLES: Record<MaskValueType, unknown[]> = {
  text: ['S1234567D', 'jane@example.com', '+65 9123 4567', ''],
  int: [42, 9007199254740993n],
  numeric: ['1234.50', 1234.5],
  date: ['1987-07-14'],
  timestamp: [new Date('2024-05-06T07:08:09Z')],
  boolean: [true],
};

function paramsError(name: string, params: unknown): MaskParamsError {
  try {
    parseMaskParams(name, params);
  } catch (error) {
    if (error instanceof MaskParamsError) return error;
    throw error;
  }
  throw new Error(`expected ${name} to reject ${JSON.stringify(params)}`);
}

describe('the catalogue', () => {
  it('holds the documented functions', () => {
    expect([...maskFunctions.keys()].sort()).toEqual(
      [
        'age_from_birth_date',
        'clear',
        'email',
        'generalize_date',
        'generalize_number',
        'hash',
        'noise_number',
        'nullify',
        'partial',
        'phone',
        'pseudonymize',
        'redact',
        'substitute',
        'tokenize_preserving_format',
        'truncate_postal_code',
        'truncate_text',
      ].sort(),
    );
  });

  it('documents each function in one line', () => {
    for (const spec of maskFunctions.values()) {
      expect(spec.summary, spec.name).toMatch(/^[A-Z].{20,320}[.)]$/);
      expect(spec.summary).not.toContain('\n');
      expect(spec.appliesTo.length).toBeGreaterThan(0);
    }
  });

  it('says noise_number is not differential privacy and flags hash as dictionary-reversible', () => {
    expect(getMaskFunction('noise_number').summary).toContain('NOT a differential-privacy guarantee');
    expect([...maskFunctions.values()].filter((s) => s.warnsLowEntropy).map((s) => s.name)).toEqual(['hash']);
  });

  it('marks exactly the keyed and the equality-preserving functions', () => {
    const names = (pick: (s: { keyed: boolean; equalityPreserving: boolean }) => boolean) =>
      [...maskFunctions.values()]
        .filter(pick)
        .map((s) => s.name)
        .sort();
    expect(names((s) => s.keyed)).toEqual(['noise_number', 'pseudonymize', 'substitute', 'tokenize_preserving_format']);
    expect(names((s) => s.equalityPreserving)).toEqual(['clear', 'pseudonymize', 'tokenize_preserving_format']);
  });

  it('masks a sample of every column type each function declares', () => {
    for (const spec of maskFunctions.values()) {
      const fn = compileMask(spec.name, MINIMAL_PARAMS[spec.name], ctx);
      for (const type of spec.appliesTo) {
        for (const sample of SAMPLES[type]) expect(() => fn(sample), `${spec.name} on ${type}`).not.toThrow();
      }
    }
  });

  it('types the masked value for the schema builder', () => {
    const resultType = (name: string, params: object, input: MaskValueType) => getMaskFunction(name).resultType(parseMaskParams(name, params), input);
    expect(resultType('clear', {}, 'int')).toBe('int');
    expect(resultType('partial', {}, 'int')).toBe('text');
    expect(resultType('generalize_number', { width: 10 }, 'numeric')).toBe('text');
    expect(resultType('generalize_number', { width: 10, output: 'lower' }, 'numeric')).toBe('numeric');
    expect(resultType('age_from_birth_date', { output: 'lower' }, 'date')).toBe('int');
    expect(resultType('noise_number', { absolute: 1 }, 'int')).toBe('int');
  });
});

describe('parameter validation', () => {
  it('rejects an unknown parameter on every function, naming both', () => {
    for (const name of maskFunctions.keys()) {
      const error = paramsError(name, { ...MINIMAL_PARAMS[name], colour: 'blue' });
      expect(error.param).toBe('colour');
      expect(error.message).toContain(`mask function '${name}'`);
      expect(error.message).toContain("'colour'");
    }
  });

  it('lists the allowed parameters for a misspelt one', () => {
    expect(paramsError('partial', { keepfirst: 2 }).message).toBe(
      "mask function 'partial': parameter 'keepfirst': no such parameter (allowed: keepFirst, keepLast, maskChar)",
    );
  });

  it('names the parameter of the wrong type or value', () => {
    const cases: Array<[string, unknown, string, RegExp]> = [
      ['partial', { keepFirst: '2' }, 'keepFirst', /expected number, received string/],
      ['partial', { keepLast: -1 }, 'keepLast', />=0/],
      ['partial', { maskChar: '**' }, 'maskChar', /exactly one character/],
      ['redact', { marker: 5 }, 'marker', /expected string/],
      ['email', { domain: 'drop' }, 'domain', /keep.*suffix.*hide/],
      ['phone', { keepCountryCode: 'yes' }, 'keepCountryCode', /expected boolean/],
      ['pseudonymize', { prefix: 'has space' }, 'prefix', /at most 16/],
      ['pseudonymize', { scope: '' }, 'scope', /too small/i],
      ['generalize_number', {}, 'width', /required/],
      ['generalize_number', { width: 2.5 }, 'width', /int/],
      ['generalize_number', { width: 10, bands: [{ max: 1, label: 'a' }] }, 'bands', /not both/],
      ['generalize_number', { bands: [{ label: 'all' }, { max: 5, label: 'x' }] }, 'bands.0.max', /only the last/],
      [
        'generalize_number',
        {
          bands: [
            { max: 5, label: 'a' },
            { max: 5, label: 'b' },
          ],
        },
        'bands.1.max',
        /increase/,
      ],
      ['generalize_number', { bands: [{ max: 5, label: 'a', colour: 1 }] }, 'bands.0.colour', /no such parameter/],
      ['generalize_number', { bands: [{ max: 5, label: 'a' }], output: 'lower' }, 'output', /needs width/],
      ['generalize_date', { to: 'week' }, 'to', /year.*quarter.*month/],
      ['age_from_birth_date', { today: '13/07/2026' }, 'today', /YYYY-MM-DD/],
      ['truncate_text', {}, 'maxLength', /expected number, received undefined/],
      ['truncate_text', { maxLength: 1 }, 'maxLength', /longer than the ellipsis/],
      ['noise_number', {}, 'relative', /exactly one of relative or absolute/],
      ['noise_number', { relative: -0.1 }, 'relative', />0/],
      ['substitute', { dictionary: 'pets' }, 'dictionary', /first_name/],
      ['hash', { salt: 7 }, 'salt', /expected string/],
    ];
    for (const [name, params, param, problem] of cases) {
      const error = paramsError(name, params);
      expect(error.param, `${name} ${JSON.stringify(params)}`).toBe(param);
      expect(error.message).toMatch(new RegExp(`^mask function '${name}': parameter '${param.replace(/\./g, '\\.')}': `));
      expect(error.message).toMatch(problem);
    }
  });

  it('rejects params that are not an object and accepts absent params', () => {
    expect(paramsError('partial', 'keepFirst: 2').message).toMatch(/^mask function 'partial': params expected object/);
    expect(parseMaskParams('partial', undefined)).toEqual({ keepFirst: 0, keepLast: 0, maskChar: '*' });
  });

  it('names an unknown function and lists the known ones', () => {
    expect(() => compileMask('scramble', {}, ctx)).toThrow(UnknownMaskFunctionError);
    expect(() => compileMask('scramble', {}, ctx)).toThrow(/'scramble': no such masking function \(known: clear, redact/);
  });

  it('requires a scope for keyed functions when the context has none', () => {
    for (const spec of maskFunctions.values()) {
      const compile = () => compileMask(spec.name, MINIMAL_PARAMS[spec.name], { keys: ctx.keys });
      if (spec.keyed) expect(compile).toThrow(new RegExp(`'${spec.name}': parameter 'scope'`));
      else expect(compile).not.toThrow();
    }
  });
});
