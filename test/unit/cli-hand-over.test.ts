import { describe, expect, it } from 'vitest';
import { BROKER_COMMANDS } from '../../src/cli/admin.ts';
import { buildBrokerProgram } from '../../src/cli/broker-commands.ts';

describe('CLI hand-over to a running broker', () => {
  it('hands over exactly the commands the broker registers (the names live apart from the program)', () => {
    expect(
      buildBrokerProgram()
        .commands.map((command) => command.name())
        .sort(),
    ).toEqual([...BROKER_COMMANDS].sort());
  });
});
