// Stryker's vitest runner, made to select tests under Vitest 5. The runner picks the tests that cover a mutant
// by a name pattern whose parts it joins with spaces ("suite test"); Vitest 5 matches the pattern against
// names joined with " > ", so no test ran and every mutant survived. This plugin hands Vitest a pattern in
// which each space may also be " > ". A space inside a test's own title then matches " > " too: at worst an
// extra test runs against a mutant, which can only kill it for a real failure.
import { declareFactoryPlugin, PluginKind } from '@stryker-mutator/api/plugin';
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
