import { configDefaults, defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    testTimeout: 180_000, // generous: CI shares 2 cores; fuzz and end-to-end tests take tens of seconds
    hookTimeout: 120_000,
    pool: 'forks',
    fileParallelism: true,
    maxWorkers: 2,
    projects: [
      {
        extends: true,
        test: {
          name: 'node',
          include: ['packages/*/src/**/*.test.ts', 'apps/*/src/**/*.test.ts', 'apps/*/e2e/**/*.test.ts'],
          // The dashboard's own tests need Solid's JSX transform and a DOM: its project below.
          exclude: [...configDefaults.exclude, 'apps/dashboard/src/**'],
        },
      },
      'apps/dashboard/vitest.config.ts',
    ],
  },
});
