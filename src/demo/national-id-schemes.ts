/** Which national identifier each demo jurisdiction uses, for masking rules and compliance checks. */
import type { Jurisdiction } from './jurisdictions.ts';
import { isValidAadhaar, isValidChineseResidentId, isValidMyNumber, isValidNir, isValidNric, isValidSsn, isValidSteuerId, isValidTfn } from './national-ids.ts';

export interface NationalIdScheme {
  name: string;
  isValid(value: string): boolean;
}

export const NATIONAL_ID_SCHEMES: Readonly<Record<Jurisdiction, NationalIdScheme>> = {
  SG: { name: 'NRIC/FIN', isValid: isValidNric },
  'EU-DE': { name: 'Steuerliche Identifikationsnummer', isValid: isValidSteuerId },
  'EU-FR': { name: 'NIR (numéro de sécurité sociale)', isValid: isValidNir },
  'US-CA': { name: 'Social Security number', isValid: isValidSsn },
  CN: { name: 'Resident identity card number', isValid: isValidChineseResidentId },
  IN: { name: 'Aadhaar', isValid: isValidAadhaar },
  AU: { name: 'Tax File Number', isValid: isValidTfn },
  JP: { name: 'Individual Number (My Number)', isValid: isValidMyNumber },
};

export function isValidNationalId(jurisdiction: Jurisdiction, value: string): boolean {
  return NATIONAL_ID_SCHEMES[jurisdiction].isValid(value);
}
