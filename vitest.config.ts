import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // Quadrature and 50-digit checks of the whole catalog take seconds per test on 2 cores.
    testTimeout: 120_000,
    include: ['test/**/*.test.ts'],
  },
});
