/**
 * Customers of the demo bank. A customer's profile (residency, gender, birth date, segment, since when)
 * comes from its own stream so accounts and transactions can consult it cheaply; the identity fields
 * (name, contact, national ID, address) come from another.
 */
import { ADULT_AGE_SECONDS, DEMO_TIME, isoDate, isoTimestamp, secondBetween } from './calendar.ts';
import { type City, type Jurisdiction, LOCALES, pickJurisdiction, postalCode } from './jurisdictions.ts';
import {
  type Gender,
  generateAadhaar,
  generateChineseResidentId,
  generateMyNumber,
  generateNir,
  generateNric,
  generateSsn,
  generateSteuerId,
  generateTfn,
} from './national-ids.ts';
import { type Rng, rngFor, streamId, weightedPicker } from './random.ts';

export type Segment = 'retail' | 'premier' | 'business';

export interface CustomerProfile {
  residency: Jurisdiction;
  gender: Gender;
  /** 'YYYY-MM-DD' */
  birthDate: string;
  segment: Segment;
  /** Epoch seconds when the customer joined. */
  createdAt: number;
}

/** One `customers` row, keyed by column name. */
export interface CustomerRow {
  id: number;
  full_name: string;
  email: string;
  phone: string;
  national_id: string;
  birth_date: string;
  gender: Gender;
  postal_code: string;
  city: string;
  residency: Jurisdiction;
  segment: Segment;
  created_at: string;
}

const PROFILE_STREAM = streamId('customer.profile');
const IDENTITY_STREAM = streamId('customer.identity');

export const pickGender = weightedPicker<Gender>({ F: 0.49, M: 0.49, X: 0.02 });
const pickSegment = weightedPicker<Segment>({ retail: 0.75, premier: 0.18, business: 0.07 });

export function customerProfile(seed: number, index: number): CustomerProfile {
  const rng = rngFor(seed, PROFILE_STREAM, index);
  const residency = pickJurisdiction(rng);
  const gender = pickGender(rng);
  // The mean of two uniforms: more customers in mid-life than at the ends of the range.
  const birth = DEMO_TIME.birthFrom + Math.floor(((rng.float() + rng.float()) / 2) * (DEMO_TIME.birthUntil - DEMO_TIME.birthFrom));
  const segment = pickSegment(rng);
  const joinFrom = Math.max(DEMO_TIME.customersFrom, Math.ceil(birth + ADULT_AGE_SECONDS));
  const createdAt = secondBetween(rng, joinFrom, DEMO_TIME.customersUntil);
  return { residency, gender, birthDate: isoDate(birth), segment, createdAt };
}

export interface PersonName {
  given: string;
  family: string;
  full: string;
}

export function personName(rng: Rng, jurisdiction: Jurisdiction, gender: Gender): PersonName {
  const locale = LOCALES[jurisdiction];
  const givenNames = gender === 'X' ? (rng.chance(0.5) ? locale.givenNames.F : locale.givenNames.M) : locale.givenNames[gender];
  const given = rng.pick(givenNames);
  const family = rng.pick(locale.familyNames);
  return { given, family, full: locale.familyNameFirst ? `${family} ${given}` : `${given} ${family}` };
}

/** Lower-case ASCII for e-mail addresses: German umlauts as ae/oe/ue, other accents dropped. */
export function asciiFold(text: string): string {
  return text
    .toLowerCase()
    .replace(/ä/g, 'ae')
    .replace(/ö/g, 'oe')
    .replace(/ü/g, 'ue')
    .replace(/ß/g, 'ss')
    .normalize('NFD')
    .replace(/[^a-z0-9]/g, '');
}

function emailAddress(rng: Rng, jurisdiction: Jurisdiction, name: PersonName, birthDate: string): string {
  const domain = rng.pick(LOCALES[jurisdiction].emailDomains);
  // QQ mail addresses are usually the account's QQ number.
  if (domain === 'qq.com' && rng.chance(0.6)) return `${rng.int(10_000, 3_999_999_999)}@qq.com`;
  const given = asciiFold(name.given);
  const family = asciiFold(name.family);
  const local = rng.pick([
    `${given}.${family}`,
    `${given}${family}`,
    `${given[0]}.${family}`,
    `${given}_${family}`,
    `${given}.${family}${birthDate.slice(2, 4)}`,
    `${family}.${given}${rng.int(1, 999)}`,
  ]);
  return `${local}@${domain}`;
}

function nationalId(rng: Rng, profile: CustomerProfile, city: City, postal: string): string {
  switch (profile.residency) {
    case 'SG':
      return generateNric(rng, profile.birthDate);
    case 'EU-DE':
      return generateSteuerId(rng);
    case 'EU-FR':
      return generateNir(rng, profile.birthDate, profile.gender, postal.slice(0, 2));
    case 'US-CA':
      return generateSsn(rng);
    case 'CN':
      return generateChineseResidentId(rng, rng.pick(city.divisionCodes ?? ['110101']), profile.birthDate, profile.gender);
    case 'IN':
      return generateAadhaar(rng);
    case 'AU':
      return generateTfn(rng);
    case 'JP':
      return generateMyNumber(rng);
  }
}

/** Customer number `index + 1`. */
export function generateCustomer(seed: number, index: number): CustomerRow {
  const profile = customerProfile(seed, index);
  const rng = rngFor(seed, IDENTITY_STREAM, index);
  const locale = LOCALES[profile.residency];
  const name = personName(rng, profile.residency, profile.gender);
  const city = rng.pick(locale.cities);
  const postal = postalCode(rng, profile.residency, city);
  return {
    id: index + 1,
    full_name: name.full,
    email: emailAddress(rng, profile.residency, name, profile.birthDate),
    phone: locale.phone(rng, city),
    national_id: nationalId(rng, profile, city, postal),
    birth_date: profile.birthDate,
    gender: profile.gender,
    postal_code: postal,
    city: city.name,
    residency: profile.residency,
    segment: profile.segment,
    created_at: isoTimestamp(profile.createdAt),
  };
}
