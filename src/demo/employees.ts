/**
 * Employees of the demo bank. Salaries are annual, in USD equivalent (so every jurisdiction fits the
 * catalog bounds [0, 1000000]), drawn around each jurisdiction's typical pay and scaled by department.
 */
import { type Jurisdiction, LOCALES, pickJurisdiction } from './jurisdictions.ts';
import { asciiFold, personName, pickGender } from './people.ts';
import { rngFor, streamId, weightedPicker } from './random.ts';

export const DEPARTMENTS = ['retail-banking', 'insurance', 'risk', 'technology', 'operations', 'compliance'] as const;
export type Department = (typeof DEPARTMENTS)[number];

export interface EmployeeRow {
  id: number;
  full_name: string;
  email: string;
  department: Department;
  work_jurisdiction: Jurisdiction;
  salary: number;
}

export const EMPLOYEE_EMAIL_DOMAIN = 'demo-bank.example';

const pickDepartment = weightedPicker<Department>({
  'retail-banking': 30,
  insurance: 15,
  risk: 10,
  technology: 20,
  operations: 15,
  compliance: 10,
});
const DEPARTMENT_PAY: Readonly<Record<Department, number>> = {
  'retail-banking': 0.9,
  insurance: 0.95,
  risk: 1.1,
  technology: 1.15,
  operations: 0.85,
  compliance: 1.05,
};
const EMPLOYEE_STREAM = streamId('employee');

/** Employee number `index + 1`. */
export function generateEmployee(seed: number, index: number): EmployeeRow {
  const rng = rngFor(seed, EMPLOYEE_STREAM, index);
  const jurisdiction = pickJurisdiction(rng);
  const name = personName(rng, jurisdiction, pickGender(rng));
  const department = pickDepartment(rng);
  const [low, typical, high] = LOCALES[jurisdiction].salary;
  const pay = Math.min(high, Math.max(low, rng.logNormal(typical * DEPARTMENT_PAY[department], 0.35)));
  const id = index + 1;
  return {
    id,
    full_name: name.full,
    // The number keeps addresses unique, as a mail system would on a name clash.
    email: `${asciiFold(name.given)}.${asciiFold(name.family)}${id}@${EMPLOYEE_EMAIL_DOMAIN}`,
    department,
    work_jurisdiction: jurisdiction,
    salary: Math.round(pay / 100) * 100,
  };
}
