/**
 * Insurance claims with ICD-10(-CM) diagnosis codes: about 15% of customers have 1–3 claims.
 */
import { DEMO_TIME, isoDate, secondBetween } from './calendar.ts';
import { formatCents, toCents } from './money.ts';
import { type CustomerProfile, customerProfile } from './people.ts';
import { rngFor, streamId, weightedPicker } from './random.ts';

export type ClaimStatus = 'submitted' | 'approved' | 'rejected' | 'paid';

export interface HealthClaimRow {
  id: number;
  customer_id: number;
  diagnosis_code: string;
  claim_amount: string;
  submitted_on: string;
  status: ClaimStatus;
}

interface Diagnosis {
  code: string;
  /** How common the diagnosis is among claims (relative). */
  weight: number;
  /** Typical claim amount in currency units. */
  typicalAmount: number;
  /** Diagnoses specific to one sex. */
  sex?: 'F' | 'M';
}

export const DIAGNOSES: readonly Diagnosis[] = [
  { code: 'J06.9', weight: 14, typicalAmount: 120 }, // acute upper respiratory infection
  { code: 'I10', weight: 12, typicalAmount: 300 }, // essential hypertension
  { code: 'E11.9', weight: 10, typicalAmount: 800 }, // type 2 diabetes without complications
  { code: 'M54.50', weight: 9, typicalAmount: 600 }, // low back pain
  { code: 'Z00.00', weight: 9, typicalAmount: 150 }, // general adult examination
  { code: 'E78.5', weight: 7, typicalAmount: 250 }, // hyperlipidaemia
  { code: 'J45.909', weight: 6, typicalAmount: 450 }, // asthma
  { code: 'K21.9', weight: 5, typicalAmount: 350 }, // gastro-oesophageal reflux
  { code: 'F32.1', weight: 5, typicalAmount: 1_200 }, // moderate depressive episode
  { code: 'F41.1', weight: 4, typicalAmount: 900 }, // generalised anxiety disorder
  { code: 'N39.0', weight: 4, typicalAmount: 200 }, // urinary tract infection
  { code: 'G43.909', weight: 3, typicalAmount: 400 }, // migraine
  { code: 'J18.9', weight: 3, typicalAmount: 5_000 }, // pneumonia
  { code: 'H25.9', weight: 2, typicalAmount: 3_500 }, // age-related cataract
  { code: 'S82.201A', weight: 2, typicalAmount: 6_500 }, // fracture of the tibia
  { code: 'K35.80', weight: 2, typicalAmount: 9_000 }, // acute appendicitis
  { code: 'O80', weight: 2, typicalAmount: 7_000, sex: 'F' }, // uncomplicated delivery
  { code: 'C50.911', weight: 1, typicalAmount: 25_000, sex: 'F' }, // breast cancer
  { code: 'C61', weight: 1, typicalAmount: 22_000, sex: 'M' }, // prostate cancer
  { code: 'I21.9', weight: 1, typicalAmount: 35_000 }, // acute myocardial infarction
];

export const CLAIM_AMOUNT_BOUNDS = [0, 100_000] as const;
const MAX_CLAIMS = 3;
const COUNT_STREAM = streamId('claim.count');
const CLAIM_STREAM = streamId('claim');
const pickStatus = weightedPicker<ClaimStatus>({ paid: 0.55, approved: 0.15, submitted: 0.12, rejected: 0.18 });

/** Claims filed by customer `customerIndex` (0 for about 85% of customers). */
export function claimCount(seed: number, customerIndex: number): number {
  const u = rngFor(seed, COUNT_STREAM, customerIndex).float();
  return u < 0.85 ? 0 : u < 0.94 ? 1 : u < 0.98 ? 2 : 3;
}

function diagnosesFor(gender: CustomerProfile['gender']): { list: readonly Diagnosis[]; total: number } {
  const list = DIAGNOSES.filter((diagnosis) => diagnosis.sex === undefined || diagnosis.sex === gender);
  return { list, total: list.reduce((sum, diagnosis) => sum + diagnosis.weight, 0) };
}

const DIAGNOSES_BY_GENDER = { F: diagnosesFor('F'), M: diagnosesFor('M'), X: diagnosesFor('X') } as const;

export function generateHealthClaims(
  seed: number,
  customerIndex: number,
  firstClaimId: number,
  profile: CustomerProfile = customerProfile(seed, customerIndex),
): HealthClaimRow[] {
  const claims: HealthClaimRow[] = [];
  const { list, total } = DIAGNOSES_BY_GENDER[profile.gender];
  const count = claimCount(seed, customerIndex);
  for (let ordinal = 0; ordinal < count; ordinal++) {
    const rng = rngFor(seed, CLAIM_STREAM, customerIndex * MAX_CLAIMS + ordinal);
    const u = rng.float() * total;
    let cumulative = 0;
    const diagnosis =
      list.find((candidate) => {
        cumulative += candidate.weight;
        return u < cumulative;
      }) ?? list[list.length - 1]!;
    const submitted = secondBetween(rng, Math.max(DEMO_TIME.claimsFrom, profile.createdAt), DEMO_TIME.claimsUntil);
    const [min, max] = CLAIM_AMOUNT_BOUNDS;
    claims.push({
      id: firstClaimId + ordinal,
      customer_id: customerIndex + 1,
      diagnosis_code: diagnosis.code,
      claim_amount: formatCents(toCents(rng.logNormal(diagnosis.typicalAmount, 0.6), min + 20, max)),
      submitted_on: isoDate(submitted),
      status: pickStatus(rng),
    });
  }
  return claims;
}
