import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // Quadrature and 50-digit checks of the whole catalog take seconds per test on 2 cores.
    testTimeout: 120_000,
    // Both cores: the long files (accuracy, verify, paraphrase) run side by side.
    maxWorkers: 2,
    include: ['test/**/*.test.ts'],
  },
});
