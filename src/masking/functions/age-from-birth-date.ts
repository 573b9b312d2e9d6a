import { z } from 'zod';
import { bandingShape, checkBanding, compileBanding } from './banding.ts';
import { defineMaskFunction } from './spec.ts';
import { calendarDateOf, parseIsoDatePrefix, type CalendarDate } from './values.ts';

const DEFAULT_WIDTH = 10;
const MS_PER_DAY = 86_400_000;

/** Whole years from birth to today; a birthday later in the year has not happened yet. Never negative. */
export function ageOn(birth: CalendarDate, today: CalendarDate): number {
  const beforeBirthday = today.month < birth.month || (today.month === birth.month && today.day < birth.day);
  return Math.max(0, today.year - birth.year - (beforeBirthday ? 1 : 0));
}

/** Today's UTC date, recomputed only when the day changes (a compiled mask can live for days). */
function utcToday(): () => CalendarDate {
  let day = -1;
  let today: CalendarDate = { year: 0, month: 0, day: 0 };
  return () => {
    const now = Date.now();
    const current = Math.floor(now / MS_PER_DAY);
    if (current !== day) {
      const date = new Date(now);
      today = { year: date.getUTCFullYear(), month: date.getUTCMonth() + 1, day: date.getUTCDate() };
      day = current;
    }
    return today;
  };
}

export const ageFromBirthDate = defineMaskFunction({
  name: 'age_from_birth_date',
  summary:
    "Replaces a birth date by the age band on `today` (default: the current UTC date): `width` years (default 10, '30-39'), the lower bound with `output: lower`, or named `bands`; a future date counts as age 0.",
  params: z
    .strictObject({
      ...bandingShape,
      today: z
        .string()
        .refine((s) => s.length === 10 && parseIsoDatePrefix(s) !== undefined, { message: "must be a date 'YYYY-MM-DD'" })
        .optional(),
    })
    .superRefine((p, ctx) => checkBanding(p, ctx, false)),
  appliesTo: ['date', 'timestamp'],
  resultType: ({ output }) => (output === 'lower' ? 'int' : 'text'),
  keyed: false,
  equalityPreserving: false,
  warnsLowEntropy: false,
  compile(params) {
    const band = compileBanding(params, DEFAULT_WIDTH);
    const fixed = params.today === undefined ? undefined : parseIsoDatePrefix(params.today);
    const today = fixed === undefined ? utcToday() : () => fixed;
    return (value) => (value == null ? null : band(ageOn(calendarDateOf('age_from_birth_date', value), today())));
  },
});
