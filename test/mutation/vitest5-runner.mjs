// Stryker's vitest runner, made to select tests under Vitest 5, and to count a test file that fails to load.
// - The runner picks the tests that cover a mutant by a name pattern whose parts it joins with spaces ("suite
//   test"); Vitest 5 matches the pattern against names joined with " > ", so no test ran and every mutant
//   survived. This plugin hands Vitest a pattern in which each space may also be " > ". A space inside a test's
//   own title then matches " > " too: at worst an extra test runs against a mutant, which can only kill it for
//   a real failure.
// - A mutant that makes a test file throw while it is collected (code a `describe` body calls) leaves that
//   file's tests without results, and the runner reported no failure: "survived". Such a run failed.
import { declareFactoryPlugin, PluginKind } from '@stryker-mutator/api/plugin';
import { MutantRunStatus } from '@stryker-mutator/api/test-runner';
import { strykerPlugins as vitestRunnerPlugins } from '@stryker-mutator/vitest-runner';

const createVitestRunner = vitestRunnerPlugins[0].factory;

function widenNamePatterns(vitest) {
  for (const project of vitest.projects) {
    const pattern = project.config.testNamePattern;
    if (pattern instanceof RegExp) project.config.testNamePattern = new RegExp(pattern.source.replaceAll(' ', '(?: | > )'), pattern.flags);
  }
}

function createVitest5Runner(injector) {
  const runner = createVitestRunner(injector);
  const init = runner.init.bind(runner);
  const mutantRun = runner.mutantRun.bind(runner);
  runner.mutantRun = async (options) => {
    const result = await mutantRun(options);
    if (result.status !== MutantRunStatus.Survived) return result;
    const broken = runner.ctx.state.getFiles().find((file) => file.result?.state === 'fail' && (file.result.errors?.length ?? 0) > 0);
    if (!broken) return result;
    return { status: MutantRunStatus.Killed, failureMessage: `${broken.name} failed to load: ${broken.result.errors[0].message}`, killedBy: [], nrOfTests: result.nrOfTests };
  };
  runner.init = async () => {
    await init();
    const start = runner.ctx.start.bind(runner.ctx);
    runner.ctx.start = (files) => {
      widenNamePatterns(runner.ctx);
      return start(files);
    };
  };
  return runner;
}
createVitest5Runner.inject = createVitestRunner.inject;

export const strykerPlugins = [declareFactoryPlugin(PluginKind.TestRunner, 'vitest5', createVitest5Runner)];
