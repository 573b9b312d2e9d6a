/** Errors never quote the value being masked: they end up in logs, and the value is the secret. */
export class MaskingError extends Error {
  readonly functionName: string;
  constructor(functionName: string, message: string) {
    super(`mask function '${functionName}': ${message}`);
    this.name = 'MaskingError';
    this.functionName = functionName;
  }
}

/** A rule gave a function a parameter it does not take, or a bad value for one. */
export class MaskParamsError extends MaskingError {
  /** Dotted path of the offending parameter ('' when the params as a whole are wrong). */
  readonly param: string;
  constructor(functionName: string, param: string, problem: string) {
    super(functionName, param === '' ? problem : `parameter '${param}': ${problem}`);
    this.name = 'MaskParamsError';
    this.param = param;
  }
}

/** A rule names a function the catalogue does not have. */
export class UnknownMaskFunctionError extends MaskingError {
  constructor(functionName: string, known: readonly string[]) {
    super(functionName, `no such masking function (known: ${known.join(', ')})`);
    this.name = 'UnknownMaskFunctionError';
  }
}

/** A value of a type the function does not mask: the rule is applied to the wrong column type. */
export class MaskValueError extends MaskingError {
  readonly valueType: string;
  constructor(functionName: string, value: unknown, expected: string) {
    const valueType = describeType(value);
    super(functionName, `cannot mask a value of type ${valueType}; expected ${expected}`);
    this.name = 'MaskValueError';
    this.valueType = valueType;
  }
}

function describeType(value: unknown): string {
  if (value instanceof Date) return 'Date';
  if (value instanceof Uint8Array) return 'bytes';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number' && !Number.isFinite(value)) return 'non-finite number';
  return typeof value;
}
