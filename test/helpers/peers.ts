/**
 * `test` and `describe` for tests that need a peer (test/helpers/peers-list.js): where it is missing they
 * skip and say why. A CI run never gets here without them: test/global-setup.js fails it first.
 */
export function testIf(available: boolean, reason: string): jest.It {
  if (available) return test;
  console.warn(`skipped: ${reason}`);
  return test.skip;
}

export function describeIf(available: boolean, reason: string): jest.Describe {
  if (available) return describe;
  console.warn(`skipped: ${reason}`);
  return describe.skip;
}
