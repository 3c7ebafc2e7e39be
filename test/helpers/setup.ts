/**
 * Mocha root hooks (loaded by .mocharc.json for every run, whole suite or one file): every
 * test starts with the log state of a fresh process — no registered secrets, level info,
 * lines to stderr — whatever the tests before it registered, set or forgot to restore. State
 * a test needs goes in the test or a beforeEach: a suite's before() runs before this hook.
 */
import { resetLogState } from '../../agent/core/log';

export const mochaHooks = {
  beforeEach(): void {
    resetLogState();
  },
};
