export { NEUTRALISED_CLOSING, NEUTRALISED_OPENING, neutralise, REMOVED } from './neutralise.ts';
export { markUntrustedText, type UntrustedTextAnswer, type UntrustedTextMark } from './result-marks.ts';
export { FLAG_THRESHOLD, scanUntrustedText, type UntrustedTextScan } from './scan.ts';
export { type UntrustedFields, untrustedFieldsOf } from './untrusted-fields.ts';
