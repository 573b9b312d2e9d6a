import { z } from 'zod';
import { alwaysText, defineMaskFunction } from './spec.ts';
import { calendarDateOf, type CalendarDate } from './values.ts';

const FORMATS: Record<'year' | 'quarter' | 'month', (d: CalendarDate) => string> = {
  year: (d) => String(d.year),
  quarter: (d) => `${d.year}-Q${Math.ceil(d.month / 3)}`,
  month: (d) => `${d.year}-${d.month < 10 ? '0' : ''}${d.month}`,
};

export const generalizeDate = defineMaskFunction({
  name: 'generalize_date',
  summary: "Keeps only the `to` part of a date (default year): '1987', '1987-Q3' (quarter) or '1987-07' (month); timestamptz values use their UTC date.",
  params: z.strictObject({ to: z.enum(['year', 'quarter', 'month']).default('year') }),
  appliesTo: ['date', 'timestamp'],
  resultType: alwaysText,
  keyed: false,
  equalityPreserving: false,
  warnsLowEntropy: false,
  compile({ to }) {
    const format = FORMATS[to];
    return (value) => (value == null ? null : format(calendarDateOf('generalize_date', value)));
  },
});
