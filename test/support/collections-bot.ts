/** The steward: a new agent, role, purpose and policy, none of the rule sets told about the purpose. */
export const COLLECTIONS_BOT = {
  'schema/agents.yaml': (text: string) =>
    text
      .replace('  claims: Reviewing', '  debt_collection: Recovering overdue payments from customers.\n  claims: Reviewing')
      .replace('\nroles:\n', '\nroles:\n  collections: Debt-collection assistants.\n')
      .replace(
        '\nagents:\n',
        [
          '',
          'agents:',
          '  collections-bot:',
          '    description: Reminds customers of overdue payments.',
          '    role: collections',
          '    purposes: [debt_collection]',
          '    location: SG',
          '    zone: production',
          '    serves: [SG, EU-DE, EU-FR]',
          '    transferBases:',
          '      EU-DE: [standard_contractual_clauses]',
          '      EU-FR: [standard_contractual_clauses]',
          '',
        ].join('\n'),
      ),
  'schema/policies.yaml': (text: string) =>
    text.replace(
      '\npolicies:\n',
      [
        '',
        'policies:',
        '  - role: collections',
        '    purposes: [debt_collection]',
        '    subjectJurisdiction: { in: { session: agent.serves } }',
        '    tables:',
        '      customers:',
        '        access: rows',
        '        fields: [id, full_name, email, residency]',
        '',
      ].join('\n'),
    ),
};
